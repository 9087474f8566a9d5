"""`grad` of a 100,001-node scalar chain as a statement, vs micrograd (and PyTorch), and memory.

The chain is `h{i} = h{i-1} + 0.0001 * relu(h{i-1})` from h0 = 0.5 (common.relu_chain_source):
four nodes a line (a constant, relu, *, +), one both engines can build, since micrograd
0.1.0 has relu but no tanh. 25,000 lines make 100,001 nodes.

- The goal (issue 17): the statement `grad h25000`, run through Session.run on a session
  that already ran the chain, within 0.2x of micrograd building the same chain of Values
  and calling backward(), timed interleaved. The first grad after building is shown too.
- PyTorch scalar tensors (float64) building the chain and calling backward(), for
  context only.
- Peak memory growth, bpshell (run the chain, then grad) vs micrograd (build, backward),
  each in a fresh process: the peak RSS at the end less the RSS after the imports, read
  from /proc/self/status (Linux). Goal: ratio <= 1.0.

Every engine's d h_n / d h_0 must agree within 1e-9 before any timing. micrograd's
backward recurses once per node, so it runs in a thread with a 512 MiB stack and a
recursion limit of 10**6. The cyclic garbage a call leaves is collected, untimed, before
the next. Rows whose baseline is not installed (or is hidden with
BPSHELL_BENCH_NO=micrograd,torch) print a record saying they were skipped and why.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from types import ModuleType

from common import (
    arguments,
    emit,
    emit_machine,
    emit_skipped,
    interleaved,
    optional,
    relu_chain_source,
)

BENCH = "scalar_grad"
STEP = 0.0001  # as in common.relu_chain_source
GOAL_TIME, GOAL_MEMORY = 0.2, 1.0
STACK = 512 * 1024 * 1024


def in_big_stack(fn: Callable[[], float]) -> float:
    """fn() in a thread whose stack and recursion limit fit micrograd's recursive backward."""
    out: dict[str, object] = {}

    def body() -> None:
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(10**6)
        try:
            out["value"] = fn()
        except BaseException as e:  # re-raised in the caller's thread
            out["error"] = e
        finally:
            sys.setrecursionlimit(old)

    old_size = threading.stack_size(STACK)
    try:
        thread = threading.Thread(target=body)
        thread.start()
    finally:
        threading.stack_size(old_size)
    thread.join()
    if "error" in out:
        raise out["error"]  # type: ignore[misc]
    return out["value"]  # type: ignore[return-value]


def micrograd_chain(engine: ModuleType, lines: int) -> float:
    """micrograd builds the chain of Values and runs backward: d h_n / d h_0."""
    def run() -> float:
        h0 = engine.Value(0.5)
        h = h0
        for _ in range(lines):
            h = h + STEP * h.relu()
        h.backward()
        return h0.grad

    return in_big_stack(run)


def torch_chain(torch: ModuleType, lines: int) -> float:
    """PyTorch builds the chain of float64 scalar tensors and runs backward: d h_n / d h_0."""
    h0 = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    h = h0
    for _ in range(lines):
        h = h + STEP * torch.relu(h)
    h.backward()
    return float(h0.grad)


def built_session(lines: int):
    """A session that has run the chain's lines (not yet any grad)."""
    from bpshell.session import Session

    session = Session()
    bad = [r for r in session.run(relu_chain_source(lines)) if not r["ok"]]
    if bad:
        raise RuntimeError(f"building the chain failed: {bad[0]['error']}")
    return session


def grad_statement(session, lines: int) -> float:
    """The statement `grad h{lines}` through Session.run: its d h_n / d h_0."""
    (result,) = session.run(f"grad h{lines}")
    if not result["ok"]:
        raise RuntimeError(f"grad h{lines} failed: {result['error']}")
    return result["grads"]["h0"]


def check(name: str, got: float, want: float) -> None:
    """Two engines' d h_n / d h_0 agree within 1e-9 (relative), or the run stops."""
    if abs(got - want) > 1e-9 * abs(want):
        raise AssertionError(f"d h_n/d h_0: {name} {got}, the reference {want}")


def measure_time(lines: int, rounds: int, baselines: dict[str, Callable[[], float]]) -> None:
    """The statement against each available baseline (micrograd, torch), interleaved."""
    nodes = 4 * lines + 1
    session = built_session(lines)
    t0 = time.perf_counter()
    reference = grad_statement(session, lines)
    first = time.perf_counter() - t0
    check("bpshell (repeated)", grad_statement(session, lines), reference)
    for name, job in baselines.items():
        check(name, job(), reference)
    jobs = {"engine": lambda: grad_statement(session, lines), **baselines}
    # micrograd's graph is cyclic (each Value's _backward closes over it): collected
    # untimed before every call, so that no engine pays for the garbage another left
    t = interleaved(jobs, rounds, prepare={name: gc.collect for name in jobs})
    figure = f"grad h{lines} statement, scalar chain of {nodes:,} nodes"
    if "micrograd" in baselines:
        ratio = t["engine"] / t["micrograd"]
        emit(BENCH, figure, t["engine"], "s", "micrograd: build + backward", t["micrograd"],
             goal=f"ratio <= {GOAL_TIME}", met=ratio <= GOAL_TIME, rounds=rounds)
        emit(BENCH, f"{figure}, the first after building", first, "s",
             "micrograd: build + backward", t["micrograd"], rounds=1)
    if "torch" in baselines:
        emit(BENCH, figure, t["engine"], "s", "PyTorch float64 scalar tensors: build + "
             "backward", t["torch"], rounds=rounds)


def _status_kib(field: str) -> int:
    """A field of /proc/self/status in KiB (VmRSS now, VmHWM the peak of this process)."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def memory_child(engine: str, lines: int) -> None:
    """In a fresh process: print the peak RSS growth (KiB) of one engine on the chain.

    VmHWM is this process's own peak: ru_maxrss would count the parent it was forked from.
    """
    module = None
    if engine == "bpshell":
        import bpshell.session  # noqa: F401  (imported before the start figure)
    else:
        module, why = optional("micrograd.engine")
        if module is None:
            raise RuntimeError(why)
    start = _status_kib("VmRSS")
    if module is None:
        grad_statement(built_session(lines), lines)
    else:
        micrograd_chain(module, lines)
    print(_status_kib("VmHWM") - start)


def measure_memory(lines: int, rounds: int) -> None:
    """bpshell's and micrograd's peak RSS growth, each in fresh processes, alternating."""
    growth: dict[str, list[int]] = {"bpshell": [], "micrograd": []}
    for r in range(rounds):
        for engine in (("bpshell", "micrograd") if r % 2 == 0 else ("micrograd", "bpshell")):
            done = subprocess.run([sys.executable, __file__, "--child", engine,
                                   "--lines", str(lines)], capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"the {engine} memory child failed: {done.stderr[-400:]}")
            growth[engine].append(int(done.stdout.split()[-1]))
    mib = {k: statistics.median(v) / 1024 for k, v in growth.items()}
    ratio = mib["bpshell"] / mib["micrograd"]
    emit(BENCH, f"peak RSS growth: chain of {4 * lines + 1:,} nodes + grad (fresh process)",
         mib["bpshell"], "MiB", "micrograd: build + backward (fresh process)",
         mib["micrograd"], goal=f"ratio <= {GOAL_MEMORY:g}", met=ratio <= GOAL_MEMORY,
         rounds=rounds)


def skip_rows(lines: int, micrograd_why: str, torch_why: str) -> None:
    """The records of the rows whose baseline is absent."""
    figure = f"grad h{lines} statement, scalar chain of {4 * lines + 1:,} nodes"
    if micrograd_why:
        emit_skipped(BENCH, figure, "micrograd: build + backward", micrograd_why,
                     goal=f"ratio <= {GOAL_TIME}")
        emit_skipped(BENCH, f"{figure}, the first after building",
                     "micrograd: build + backward", micrograd_why)
        emit_skipped(BENCH, f"peak RSS growth: chain of {4 * lines + 1:,} nodes + grad "
                     "(fresh process)", "micrograd: build + backward (fresh process)",
                     micrograd_why, goal=f"ratio <= {GOAL_MEMORY:g}")
    if torch_why:
        emit_skipped(BENCH, figure, "PyTorch float64 scalar tensors: build + backward",
                     torch_why)


def _options(p: argparse.ArgumentParser) -> None:
    """--child ENGINE runs one memory measurement (used by measure_memory); --lines N."""
    p.add_argument("--child", choices=("bpshell", "micrograd"), help=argparse.SUPPRESS)
    p.add_argument("--lines", type=int, default=25_000, help="chain lines (4 nodes each)")


def main() -> None:
    """The timing rows, then the memory row; rows without their baseline are skipped."""
    args = arguments(__doc__.splitlines()[0], _options)
    if args.child:
        memory_child(args.child, args.lines)
        return
    emit_machine(BENCH)
    lines, rounds, memory_rounds = (250, 2, 1) if args.tiny else (args.lines, 7, 3)
    micrograd, micrograd_why = optional("micrograd.engine")
    torch, torch_why = optional("torch")
    baselines: dict[str, Callable[[], float]] = {}
    if micrograd is not None:
        baselines["micrograd"] = lambda: micrograd_chain(micrograd, lines)
    if torch is not None:
        baselines["torch"] = lambda: torch_chain(torch, lines)
    if baselines:
        measure_time(lines, rounds, baselines)
    if micrograd is not None:
        measure_memory(lines, memory_rounds)
    skip_rows(lines, micrograd_why, torch_why)


if __name__ == "__main__":
    main()
