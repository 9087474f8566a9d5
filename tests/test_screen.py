"""What a learner sees in a real terminal: bpshell in a pseudo-terminal (pexpect), its
output fed to a terminal emulator (pyte), and the screen read back.

Each test starts a shell (2-3 s), so they are marked slow; each has a fast sibling in
test_shell.py that drives the same code through prompt_toolkit's pipe input.
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pytest

pexpect = pytest.importorskip("pexpect")
pyte = pytest.importorskip("pyte")

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


class Screen:
    """A bpshell in a terminal of rows x cols, and what that terminal shows."""

    def __init__(self, tmp: Path, rows: int = 30, cols: int = 100):
        env = {k: v for k, v in os.environ.items() if k not in ("BPSHELL_TIME_LIMIT",)}
        env.update(TERM="xterm", LC_ALL="C.UTF-8", NO_COLOR="1", PROMPT_TOOLKIT_NO_CPR="1",
                   BPSHELL_HISTORY=str(tmp / "history"), XDG_CONFIG_HOME=str(tmp / "cfg"))
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.Stream(self.screen)
        self.child = pexpect.spawn(sys.executable, ["-m", "bpshell"], env=env, cwd=str(ROOT),
                                   encoding="utf-8", dimensions=(rows, cols), timeout=30)
        self.wait_for(">>>")

    def pump(self, seconds: float = 0.3) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                self.stream.feed(self.child.read_nonblocking(100_000, timeout=0.05))
            except pexpect.TIMEOUT:
                pass
            except pexpect.EOF:
                return

    def wait_for(self, text: str, seconds: float = 20) -> str:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.pump(0.2)
            if text in self.text():
                return self.text()
        raise AssertionError(f"{text!r} never shown; the screen:\n{self.text()}")

    def send(self, keys: str, wait: float = 0.6) -> str:
        self.child.send(keys)
        self.pump(wait)
        return self.text()

    def text(self) -> str:
        return "\n".join(s.rstrip() for s in self.screen.display)

    def row(self) -> str:
        return self.screen.display[self.screen.cursor.y].rstrip()

    def close(self) -> None:
        self.child.sendcontrol("d")
        self.child.expect(pexpect.EOF)


@pytest.fixture
def term(tmp_path):
    t = Screen(tmp_path)
    yield t
    if t.child.isalive():
        t.child.terminate(force=True)


def test_screen_an_error_is_shown_under_the_line_and_typing_goes_on_at_the_end(term):
    shown = term.send("y = (2 +* 3)\r")
    lines = shown.splitlines()
    k = next(i for i, s in enumerate(lines) if s.startswith(">>> y = (2 +* 3)"))
    assert lines[k + 1] == " " * 12 + "^ expected an expression, found '*'"
    term.send("\x7f" * 4 + "3)")
    assert term.row() == ">>> y = (2 +3)"  # the cursor stayed at the end of the line
    term.send("\r")
    term.wait_for("y = 5")
    term.close()


def test_screen_step_through_marks_the_node_and_q_returns_to_the_prompt(tmp_path):
    # 46 columns: too narrow for the book's picture (50), so the tree is drawn instead
    term = Screen(tmp_path, 30, 46)
    term.send("apple = 100; n = 2; tax = 1.1; price = apple*n*tax\r")
    shown = term.send("explain price step\r", 2)
    assert "(×)" not in shown
    assert "step 1 of 3" in shown and "▶ price [×] = 220" in shown
    assert "apple = 100   grad ?" in shown and "q leave" in shown
    shown = term.send(" ", 1)
    assert "step 2 of 3" in shown and "tax = 1.1   grad 200" in shown
    assert "→ u1" in shown and "1.1 × 1 = 1.1" in shown and "apple = 100   grad ?" in shown
    shown = term.send("\x1b[D", 1)  # Left: back
    assert "step 1 of 3" in shown
    shown = term.send("q", 1.5)
    assert "explain price  (price = 220)" in shown and shown.rstrip().endswith(">>>")
    term.send("price\r")
    term.wait_for("\n220")
    term.close()


def under(lines: list[str], label: str) -> tuple[str, str]:
    """The texts over and under the line leaving label (the row of `label ──`)."""
    k = next(i for i, s in enumerate(lines) if re.search(rf"\b{label} ─", s))
    start = lines[k].index(label) + len(label)
    stop = lines[k].index("─", start)
    while stop < len(lines[k]) and lines[k][stop] == "─":
        stop += 1
    return lines[k - 1][start:stop].strip(), lines[k + 1][start:stop].strip()


def test_screen_a_large_terminal_shows_the_books_picture_and_v_switches_to_the_tree(tmp_path):
    term = Screen(tmp_path, 40, 120)
    term.send("apple = 100; n = 2; tax = 1.1; price = apple*n*tax\r")
    shown = term.send("explain price step\r", 2)
    lines = shown.splitlines()
    assert "step 1 of 3" in shown and "v picture/tree" in shown
    assert any(s.count("(×)") == 2 and s.rstrip().endswith("→ price◀") for s in lines)
    assert under(lines, "apple") == ("100", "?") and under(lines, "tax") == ("1.1", "?")
    shown = term.send("\r", 1)  # Enter: the output's × has sent its gradients back
    lines = shown.splitlines()
    assert "step 2 of 3" in shown and "(×)◀" in shown
    assert under(lines, "tax") == ("1.1", "200") and under(lines, "apple") == ("100", "?")
    shown = term.send("v", 1)  # the same step as a tree
    assert "step 2 of 3" in shown and "(×)" not in shown
    assert "▶ price [×] = 220" in shown and "tax = 1.1   grad 200" in shown
    shown = term.send("v", 1)
    assert "(×)" in shown and "▶" not in shown
    shown = term.send("\r", 1)
    assert under(shown.splitlines(), "apple") == ("100", "2.2")
    shown = term.send("q", 1.5)
    assert "explain price  (price = 220)" in shown and shown.rstrip().endswith(">>>")
    term.close()


def test_screen_the_pager_shows_a_page_and_q_stops(term):
    shown = term.send("rules\r", 2)
    assert "-- more: Space next page, Enter next line, q stop --" in shown
    assert "rules  (y is the op's output)" in shown
    shown = term.send("q", 1)
    assert "-- more" not in shown and shown.rstrip().endswith(">>>")
    term.close()


def test_screen_the_quiz_asks_checks_and_scores(term):
    term.send("quiz apple\r", 2)
    term.wait_for("[1/8]")
    term.send("tax\r", 1)
    shown = term.send("5\r", 1)
    assert "right" in shown and "not quite; hint" in shown
    term.send("\x03", 1)
    shown = term.wait_for("score: 1 of 1 right")
    assert shown.rstrip().endswith(">>>")
    term.close()
