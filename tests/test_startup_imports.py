"""What a scripted run imports: NumPy and bpshell, and none of the modules it does not need.

Issue 17's one-liner starts within a few tenths of `import numpy`; each of these modules
would cost milliseconds of every run (dataclasses and inspect), or much more (SymPy,
rich, prompt_toolkit), or is needed only when there is a config file (tomllib). This
checks what is imported, never how long it takes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SMOKE = "x = 2; y = sigmoid(x); grad y"
UNWANTED = {"dataclasses", "inspect", "sympy", "rich", "prompt_toolkit", "tomllib"}


def imported(args: list[str], cwd: Path, stdin: str | None = None) -> set[str]:
    """The top-level packages a fresh `python -X importtime ARGS` imports."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BPSHELL_")}
    env.update(PYTHONPATH=str(ROOT), XDG_CONFIG_HOME=str(cwd))  # no config file
    done = subprocess.run([sys.executable, "-X", "importtime", *args], input=stdin,
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [r for r in done.stderr.splitlines() if r.startswith("import time:")]
    return {r.rsplit("|", 1)[1].strip().split(".")[0] for r in rows[1:]}  # [0]: heading


@pytest.mark.parametrize("mode", ["-c", "FILE", "stdin"])
def test_a_scripted_run_imports_nothing_it_does_not_need(mode, tmp_path):
    script = tmp_path / "smoke.bp"
    script.write_text(SMOKE.replace("; ", "\n") + "\n")
    args, stdin = {"-c": (["-c", SMOKE], None), "FILE": ([str(script)], None),
                   "stdin": ([], SMOKE)}[mode]
    loaded = imported(["-m", "bpshell", *args], tmp_path, stdin)
    assert "bpshell" in loaded and "numpy" in loaded
    # NumPy 2 imports inspect itself: what `import numpy` loads is not bpshell's to avoid
    numpy_own = imported(["-c", "import numpy"], tmp_path)
    assert (loaded & UNWANTED) - numpy_own == set()
