"""The hardening of user names, def shapes, edge gradients and plots, seen in a real
terminal: the interactive shell in a pseudo-terminal (pexpect), with the rich renderer."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

pexpect = pytest.importorskip("pexpect")

ROOT = Path(__file__).resolve().parents[1]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.mark.slow
def test_the_shell_shows_edge_cases_without_an_internal_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BPSHELL_")}
    env.update(TERM="xterm", LC_ALL="C.UTF-8", PROMPT_TOOLKIT_NO_CPR="1", NO_COLOR="1",
               BPSHELL_HISTORY=str(tmp_path / "history"), PYTHONPATH=str(ROOT))
    child = pexpect.spawn(sys.executable, ["-m", "bpshell"], env=env, cwd=str(tmp_path),
                          encoding="utf-8", timeout=60, dimensions=(50, 120))
    child.expect(">>>")
    steps = [
        # a user function named like what relu' calls: relu(2)*greater(2) = 12, y' = 12
        ("def greater(u) = 3*u", r"elementwise"),
        ("x = 2", r"x = 2"),
        ("y = relu(x)*greater(x)", r"y = 12"),
        ("grad y", r"∂y/∂x\s+12"),
        # a body that cancels its parameter keeps the argument's shape
        ("def f(u) = u - u", r"elementwise"),
        ("f([1, 2, 3])", r"\[0\., 0\., 0\.\]"),
        # relu's flat side stops an infinite gradient
        ("z = sqrt(relu(-x))", r"z = 0"),
        ("grad z", r"∂z/∂x\s+0"),
        # a curve with nothing finite is shown, with what was left out
        ("plot log(x) wrt x from -2 to -1", r"left out of the plot: log\(x\): all 201"),
    ]
    for command, expected in steps:
        child.sendline(command)
        child.expect([expected, "internal error", "Traceback"])
        assert child.match.re.pattern == expected, (command, ANSI.sub("", child.before))
    child.expect(">>>")
    child.sendline("exit")
    child.expect(pexpect.EOF)
