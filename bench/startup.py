"""Start-up and memory of `bpshell -c 'x = 2; y = sigmoid(x); grad y'`, vs importing NumPy.

All are whole processes, run interleaved round by round. The baseline is
`python -c "import numpy"`: the goals are start-up within 1.3x of it and the one-liner's
peak RSS within 1.3x of it. `import numpy, sympy` (what the one-liner loaded before
bpshell deferred SymPy) and `bpshell --version` are shown for context. Each process's
peak RSS is its own, read with os.wait4 (common.run_measured).
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable

from common import (
    arguments,
    bpshell_command,
    emit,
    emit_machine,
    ensure_bytecode,
    interleaved,
    run_measured,
)

BENCH = "startup"
GOAL_TIME, GOAL_MEMORY = 1.3, 1.3
SMOKE = "x = 2; y = sigmoid(x); grad y"
NUMPY = 'python -c "import numpy"'
NUMPY_SYMPY = 'python -c "import numpy, sympy"'


def _recording(argv: list[str], rss: list[int]) -> Callable[[], None]:
    """A job that runs argv and keeps its peak RSS (KiB) in rss."""
    def job() -> None:
        rss.append(run_measured(argv)[1])
    return job


def measure(rounds: int) -> None:
    """Time (and weigh) the one-liner, the baselines and --version, interleaved."""
    commands = {"bpshell": [*bpshell_command(), "-c", SMOKE],
                "numpy": [sys.executable, "-c", "import numpy"],
                "numpy+sympy": [sys.executable, "-c", "import numpy, sympy"],
                "version": [*bpshell_command(), "--version"]}
    rss: dict[str, list[int]] = {name: [] for name in commands}
    t = interleaved({name: _recording(argv, rss[name]) for name, argv in commands.items()},
                    rounds)
    mib = {name: statistics.median(kib) / 1024 for name, kib in rss.items()}
    figure = f"start-up: bpshell -c '{SMOKE}'"
    ratio = t["bpshell"] / t["numpy"]
    emit(BENCH, figure, t["bpshell"], "s", NUMPY, t["numpy"],
         goal=f"ratio <= {GOAL_TIME}", met=ratio <= GOAL_TIME, rounds=rounds)
    emit(BENCH, figure, t["bpshell"], "s", NUMPY_SYMPY, t["numpy+sympy"], rounds=rounds)
    emit(BENCH, "start-up: bpshell --version", t["version"], "s", NUMPY, t["numpy"],
         rounds=rounds)
    ratio = mib["bpshell"] / mib["numpy"]
    emit(BENCH, f"memory: peak RSS of bpshell -c '{SMOKE}'", mib["bpshell"], "MiB",
         NUMPY, mib["numpy"], goal=f"ratio <= {GOAL_MEMORY}", met=ratio <= GOAL_MEMORY,
         rounds=rounds)
    emit(BENCH, f"memory: peak RSS of bpshell -c '{SMOKE}'", mib["bpshell"], "MiB",
         NUMPY_SYMPY, mib["numpy+sympy"], rounds=rounds)


def main() -> None:
    """Run the start-up figures (21 rounds; 2 with --tiny)."""
    args = arguments(__doc__.splitlines()[0])
    emit_machine(BENCH)
    ensure_bytecode()
    measure(2 if args.tiny else 21)


if __name__ == "__main__":
    main()
