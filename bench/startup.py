"""Goal 5: start-up, `bpshell -c 'x = 2; y = sigmoid(x); grad y'` vs importing NumPy and SymPy.

Both are whole processes run from the shell, interleaved round by round: the baseline is
`python -c "import numpy, sympy"`, the least any run of bpshell must load.
"""

from __future__ import annotations

import sys

from common import (
    arguments,
    bpshell_command,
    emit,
    emit_machine,
    ensure_bytecode,
    interleaved,
    run_command,
)

BENCH = "startup"
GOAL = 1.2
SMOKE = "x = 2; y = sigmoid(x); grad y"


def measure(rounds: int) -> None:
    bpshell = [*bpshell_command(), "-c", SMOKE]
    baseline = [sys.executable, "-c", "import numpy, sympy"]
    version = [*bpshell_command(), "--version"]
    t = interleaved({"bpshell": lambda: run_command(bpshell),
                     "baseline": lambda: run_command(baseline),
                     "version": lambda: run_command(version)}, rounds)
    ratio = t["bpshell"] / t["baseline"]
    emit(BENCH, f"start-up: bpshell -c '{SMOKE}'", t["bpshell"], "s",
         'python -c "import numpy, sympy"', t["baseline"], goal=f"ratio <= {GOAL}",
         met=ratio <= GOAL, rounds=rounds)
    emit(BENCH, "start-up: bpshell --version", t["version"], "s",
         'python -c "import numpy, sympy"', t["baseline"], rounds=rounds)


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    emit_machine(BENCH)
    ensure_bytecode()
    measure(2 if args.tiny else 21)


if __name__ == "__main__":
    main()
