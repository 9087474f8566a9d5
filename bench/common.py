"""What every benchmark shares: interleaved timing, JSON lines, the machine, the command.

The machine is shared and noisy (whole runs differ by up to 1.5x), so a figure is only
compared with a baseline timed in the same process, the two interleaved round by round
(in rotating order), and each reported as the median of its rounds.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from types import ModuleType

TINY = False  # set by --tiny: sizes too small for any goal to mean something
BLAS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
# comma-separated optional baselines to treat as absent (micrograd, torch): their rows skip
HIDDEN_ENV = "BPSHELL_BENCH_NO"


def chain_source(lines: int) -> str:
    """The scalar chain `h{i} = h{i-1} + 0.0001 * tanh(h{i-1})` from h0 = 0.5, one line each."""
    body = [f"h{i} = h{i - 1} + 0.0001 * tanh(h{i - 1})" for i in range(1, lines + 1)]
    return "\n".join(["h0 = 0.5", *body])


def relu_chain_source(lines: int) -> str:
    """`h{i} = h{i-1} + 0.0001 * relu(h{i-1})` from h0 = 0.5: the chain micrograd can build too
    (micrograd 0.1.0 has relu but no tanh), four nodes per line."""
    body = [f"h{i} = h{i - 1} + 0.0001 * relu(h{i - 1})" for i in range(1, lines + 1)]
    return "\n".join(["h0 = 0.5", *body])


def sigmoid_chain(depth: int) -> str:
    """Named sigmoid layers `h{i} = sigmoid(w{i}*h{i-1} + b{i})` from x: a symbolic chain."""
    lines, prev = [], "x"
    for i in range(1, depth + 1):
        lines.append(f"h{i} = sigmoid(w{i}*{prev} + b{i})")
        prev = f"h{i}"
    return "\n".join(lines)


def interleaved(jobs: dict[str, Callable[[], object]], rounds: int,
                prepare: dict[str, Callable[[], object]] | None = None) -> dict[str, float]:
    """Median seconds per call of each job, run round by round in rotating order.

    prepare[name], when given, runs untimed just before each call of that job (say, to
    put back the weights a training run changed).
    """
    names = list(jobs)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        for k in range(len(names)):
            name = names[(r + k) % len(names)]
            if prepare and name in prepare:
                prepare[name]()
            t0 = time.perf_counter()
            jobs[name]()
            times[name].append(time.perf_counter() - t0)
    return {n: statistics.median(ts) for n, ts in times.items()}


def run_command(argv: list[str]) -> None:
    """Run a command to completion with its output discarded; fail loudly if it fails."""
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])} ... exited with {done.returncode}: "
                           f"{done.stderr.decode(errors='replace')[-400:]}")


# forks and execs argv[1:], output discarded, and prints its wall seconds, exit code and
# peak RSS; see run_measured for why it sits between this process and the one measured
LAUNCHER = """
import os, sys, time
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(time.perf_counter() - t0, os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def run_measured(argv: list[str]) -> tuple[float, int]:
    """Run a command with its output discarded: its wall seconds and its own peak RSS (KiB).

    Linux counts in a process's ru_maxrss the memory of the process that exec'd it (the
    forked copy of its parent), so a command started from this process, which holds NumPy
    and SymPy, would report at least this process's size. A small launcher (bare Python,
    about 10 MiB) forks and execs the command instead and reads its rusage with os.wait4:
    the figure is that one process's peak (and its own children's), timed from fork to exit.
    """
    done = subprocess.run([sys.executable, "-S", "-c", LAUNCHER, *argv],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the launcher failed: {done.stderr[-400:]}")
    seconds, code, kib = done.stdout.split()
    if int(code) != 0:
        raise RuntimeError(f"{' '.join(argv[:3])} ... exited with {code}")
    return float(seconds), int(kib)


def peak_rss_kib() -> int:
    """This process's peak resident set so far, in KiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def optional(name: str) -> tuple[ModuleType | None, str]:
    """Import an optional baseline (micrograd, torch): the module, or None and why not.

    BPSHELL_BENCH_NO=micrograd,torch hides installed ones, so the skipping can be tested.
    """
    hidden = {n.strip() for n in os.environ.get(HIDDEN_ENV, "").split(",") if n.strip()}
    if name.split(".")[0] in hidden:
        return None, f"{name.split('.')[0]} hidden by {HIDDEN_ENV}"
    try:
        return importlib.import_module(name), ""
    except ImportError as e:
        return None, f"{name} is not installed ({e})"


def ensure_bytecode() -> None:
    """Compile bpshell's modules as an install would.

    With PYTHONDONTWRITEBYTECODE set (as on the development machines) every run would
    otherwise recompile each edited module, a cost no installed copy pays.
    """
    import compileall

    import bpshell

    if TINY:
        return
    compileall.compile_dir(os.path.dirname(bpshell.__file__), quiet=2)


def bpshell_command() -> list[str]:
    """The console script next to this Python, else on PATH, else `python -m bpshell`.

    The one beside sys.executable comes first: a `bpshell` found on PATH may be a version
    manager's shim (pyenv's is a bash script), whose own start-up is not bpshell's.
    """
    beside = os.path.join(os.path.dirname(sys.executable), "bpshell")
    if os.access(beside, os.X_OK):
        return [beside]
    found = shutil.which("bpshell")
    return [found] if found else [sys.executable, "-m", "bpshell"]


def emit(bench: str, figure: str, value: float, unit: str, baseline: str,
         baseline_value: float | None, goal: str | None = None, met: bool | None = None,
         ratio: float | None = None, **extra) -> dict:
    """Print one result as a JSON line and return it.

    ratio is value / baseline_value unless given (for ratios between two engine figures).
    """
    if TINY:
        goal = met = None
    if ratio is None and baseline_value:
        ratio = value / baseline_value
    record = {"bench": bench, "figure": figure, "value": round(value, 6), "unit": unit,
              "baseline": baseline,
              "baseline_value": None if baseline_value is None else round(baseline_value, 6),
              "ratio": None if ratio is None else round(ratio, 4), "goal": goal, "met": met,
              **extra}
    print(json.dumps(record), flush=True)
    return record


def emit_skipped(bench: str, figure: str, baseline: str, reason: str,
                 goal: str | None = None) -> dict:
    """Print the record of a row that could not be measured (its baseline is absent)."""
    record = {"bench": bench, "figure": figure, "value": None, "unit": None,
              "baseline": baseline, "baseline_value": None, "ratio": None,
              "goal": None if TINY else goal, "met": None, "skipped": reason}
    print(json.dumps(record), flush=True)
    return record


def machine() -> dict:
    """The facts a figure depends on: CPU, cores, versions, BLAS and its environment."""
    import numpy as np

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    blas = ""
    try:
        config = np.show_config(mode="dicts")
        info = config.get("Build Dependencies", {}).get("blas", {})
        blas = f"{info.get('name', '')} {info.get('version', '')}".strip()
    except (TypeError, AttributeError):
        pass
    try:
        import sympy

        sympy_version = sympy.__version__
    except ImportError:
        sympy_version = None
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {"cpu": cpu, "cores": os.cpu_count(), "load_average": load,
            "python": platform.python_version(),
            "numpy": np.__version__, "sympy": sympy_version, "blas": blas,
            "blas_env": {k: os.environ.get(k) for k in BLAS_ENV if os.environ.get(k)}}


def emit_machine(bench: str) -> None:
    """Print the machine's record (its load average included) before a benchmark's figures."""
    print(json.dumps({"bench": bench, "machine": machine()}), flush=True)


def arguments(description: str, extra: Callable[[argparse.ArgumentParser], None] | None = None
              ) -> argparse.Namespace:
    """Parse --tiny (and extra options); --tiny sets TINY for emit and ensure_bytecode."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--tiny", action="store_true",
                   help="tiny sizes and one or two rounds: checks that the benchmark runs")
    if extra is not None:
        extra(p)
    args = p.parse_args()
    global TINY
    TINY = args.tiny
    return args
