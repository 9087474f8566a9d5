"""A script of 20,000 chain statements and a `grad`, end to end through `bpshell FILE`.

The script defines `h{i} = h{i-1} + 0.0001 * tanh(h{i-1})` line by line (each a named
definition, never one growing expression) and ends with `grad h{n}`. The console script
runs it with its output discarded, as a scripted run does. The goal (issue 17): within
2.5x of `python -c "import numpy, sympy"`, timed interleaved in the same run. For context,
without goals: 40,000 lines against 20,000 (growth) and the same session in-process.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

from common import (
    arguments,
    bpshell_command,
    chain_source,
    emit,
    emit_machine,
    ensure_bytecode,
    interleaved,
    run_command,
)

from bpshell.session import Session

BENCH = "script_session"
GOAL = 2.5
BASELINE = 'python -c "import numpy, sympy"'


def script(lines: int) -> str:
    """The chain script: one named definition per line, then the grad."""
    return f"{chain_source(lines)}\ngrad h{lines}\n"


def in_process(text: str) -> float:
    """Seconds for Session.run of the whole script, which must end in a grad."""
    t0 = time.perf_counter()
    results = Session().run(text, keep_going=False)
    elapsed = time.perf_counter() - t0
    if not results[-1]["ok"] or results[-1]["kind"] != "grad":
        raise RuntimeError(f"the script failed: {results[-1].get('error')}")
    return elapsed


def measure(small: int, rounds: int) -> None:
    """The script at small and twice small lines and the baseline, interleaved."""
    large = 2 * small
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for n in (small, large):
            paths[n] = os.path.join(tmp, f"chain{n}.bp")
            with open(paths[n], "w", encoding="utf-8") as f:
                f.write(script(n))
        command = bpshell_command()
        t = interleaved({
            "small": lambda: run_command([*command, paths[small]]),
            "large": lambda: run_command([*command, paths[large]]),
            "baseline": lambda: run_command([sys.executable, "-c", "import numpy, sympy"]),
        }, rounds)
        inside = in_process(script(small))
    ratio = t["small"] / t["baseline"]
    emit(BENCH, f"script of {small:,} lines + grad, end to end (bpshell FILE)", t["small"],
         "s", BASELINE, t["baseline"], goal=f"ratio <= {GOAL:g}", met=ratio <= GOAL,
         rounds=rounds)
    emit(BENCH, f"script of {small:,} lines + grad, in-process (Session.run, no printing)",
         inside, "s", "the same end to end", t["small"])
    growth = t["large"] / t["small"]
    emit(BENCH, f"script of {large:,} lines + grad, end to end (bpshell FILE)", t["large"],
         "s", f"the same with {small:,} lines", t["small"], ratio=growth, rounds=rounds)


def main() -> None:
    """20,000 lines, 3 rounds (100 lines, 1 round with --tiny)."""
    args = arguments(__doc__.splitlines()[0])
    emit_machine(BENCH)
    ensure_bytecode()
    if args.tiny:
        measure(100, 1)
    else:
        measure(20_000, 3)


if __name__ == "__main__":
    main()
