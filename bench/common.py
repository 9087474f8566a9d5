"""What every benchmark shares: interleaved timing, JSON lines, the machine, the command.

The machine is shared and noisy (whole runs differ by up to 1.5x), so a figure is only
compared with a baseline timed in the same process, the two interleaved round by round
(in rotating order), and each reported as the median of its rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

TINY = False  # set by --tiny: sizes too small for any goal to mean something
BLAS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")


def chain_source(lines: int) -> str:
    """The scalar chain `h{i} = h{i-1} + 0.0001 * tanh(h{i-1})` from h0 = 0.5, one line each."""
    body = [f"h{i} = h{i - 1} + 0.0001 * tanh(h{i - 1})" for i in range(1, lines + 1)]
    return "\n".join(["h0 = 0.5", *body])


def sigmoid_chain(depth: int) -> str:
    """Named sigmoid layers `h{i} = sigmoid(w{i}*h{i-1} + b{i})` from x: a symbolic chain."""
    lines, prev = [], "x"
    for i in range(1, depth + 1):
        lines.append(f"h{i} = sigmoid(w{i}*{prev} + b{i})")
        prev = f"h{i}"
    return "\n".join(lines)


def interleaved(jobs: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Median seconds per call of each job, run round by round in rotating order."""
    names = list(jobs)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        for k in range(len(names)):
            name = names[(r + k) % len(names)]
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
    """The console script, or `python -m bpshell` where it is not on PATH."""
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
    print(json.dumps({"bench": bench, "machine": machine()}), flush=True)


def arguments(description: str, extra: Callable[[argparse.ArgumentParser], None] | None = None
              ) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--tiny", action="store_true",
                   help="tiny sizes and one or two rounds: checks that the benchmark runs")
    if extra is not None:
        extra(p)
    args = p.parse_args()
    global TINY
    TINY = args.tiny
    return args
