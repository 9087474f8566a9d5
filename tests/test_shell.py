"""The interactive shell, driven for real: keystrokes through prompt_toolkit's pipe input,
and a pseudo-terminal (pexpect) running `python -m bpshell` as a user would.
"""

from __future__ import annotations

import io
import os
import re
import sys
import threading
import time
from pathlib import Path

import pexpect
import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory, InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from prompt_toolkit.validation import ValidationError
from test_cli import default_sigint

from bpshell.render.out import Options, Output
from bpshell.session import Session
from bpshell.shell.complete import BpCompleter
from bpshell.shell.history import history_path, open_history
from bpshell.shell.lexer import highlight
from bpshell.shell.repl import interactive
from bpshell.shell.validate import BpValidator, index_of

ROOT = Path(__file__).resolve().parents[1]
UP, CTRL_C, CTRL_D, TAB = "\x1b[A", "\x03", "\x04", "\t"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def drive(keys: list[str], session: Session | None = None, history=None,
          pause: float = 0.0) -> tuple[str, Session, int]:
    """Type keys into the shell (Enter is \\r), then close the input; returns what it showed."""
    session = session or Session()
    buf = io.StringIO()
    out = Output(Options(), buf)
    with create_pipe_input() as pipe:
        def typist():
            for k in keys:
                time.sleep(pause)
                pipe.send_text(k)
            time.sleep(pause)
            pipe.close()

        t = threading.Thread(target=typist)
        t.start()
        code = interactive(session, out, history=history or InMemoryHistory(), input=pipe,
                           output=DummyOutput())
        t.join()
    return buf.getvalue(), session, code


# ---------------------------------------------------------------- pipe input


def test_statements_run_and_the_banner_says_how_to_get_help():
    shown, session, code = drive(["x = 2\r", "y = x**3\r", "_ + 1\r"])
    lines = shown.splitlines()
    assert "'help'" in lines[0] and len([s for s in lines if "help" in s]) == 1
    assert lines[1:] == ["x = 2", "y = 8", "9"]
    assert code == 0


def test_an_open_bracket_continues_on_the_next_line():
    shown, session, _ = drive(["y = sigmoid(\r", "  0\r", ")\r"])
    assert shown.splitlines()[1:] == ["y = 0.5"]


def test_the_validator_keeps_an_error_from_running_and_ctrl_c_drops_the_line():
    shown, session, _ = drive(["z = 1 +\r", CTRL_C, "w = 5\r"])
    assert shown.splitlines()[1:] == ["w = 5"]
    assert "z" not in session.bindings


def test_errors_found_by_the_engine_are_shown_and_the_session_goes_on():
    shown, session, _ = drive(["a = 1\r", "b = nope(a)\r", "a + 1\r"])
    lines = shown.splitlines()
    assert lines[2].startswith("error: ") and "nope" in lines[2]
    assert lines[3:5] == ["  b = nope(a)", "      ^"]
    assert lines[5] == "2"


def test_exit_and_ctrl_d_leave():
    shown, session, code = drive(["x = 1\r", "exit\r", "x = 2\r"])
    assert code == 0 and session.bindings["x"].value == 1.0
    _, _, code = drive([CTRL_D])
    assert code == 0


def test_history_is_written_as_you_go_and_read_back(tmp_path):
    path = tmp_path / "state" / "history"
    history, note = open_history(str(path))
    assert note is None
    drive(["apple = 100\r", "apple*2\r"], history=history)
    text = path.read_text()
    assert "+apple = 100" in text and "+apple*2" in text
    shown, _, _ = drive([UP, UP, "\r"], history=FileHistory(str(path)), pause=0.3)
    assert shown.splitlines()[1:] == ["apple = 100"]


def test_ctrl_r_searches_the_history():
    history = InMemoryHistory()
    for entry in ("apple = 100", "x = 1", "y = 2"):
        history.append_string(entry)
    shown, _, _ = drive(["\x12", "appl", "\r", "\r"], history=history, pause=0.2)
    assert shown.splitlines()[1:] == ["apple = 100"]


def test_history_falls_back_to_memory_when_it_cannot_be_written(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    history, note = open_history(str(blocker / "history"))
    assert isinstance(history, InMemoryHistory) and "in memory" in note


def test_history_path_follows_the_environment(tmp_path):
    assert history_path({"BPSHELL_HISTORY": "/x/h"}) == "/x/h"
    assert history_path({"XDG_STATE_HOME": "/s"}) == "/s/bpshell/history"
    assert history_path({"HOME": str(tmp_path)}).endswith(".local/state/bpshell/history")


def test_ctrl_c_during_a_computation_keeps_the_session(monkeypatch):
    session = Session()
    real = session.iter_run

    def slow(source, time_limit=None):
        if source.startswith("slow"):
            raise KeyboardInterrupt  # what SIGINT does in the middle of a statement
        return real(source, time_limit)

    monkeypatch.setattr(session, "iter_run", slow)
    shown, session, _ = drive(["x = 7\r", "slow\r", "x\r"], session=session)
    assert shown.splitlines()[1:] == ["x = 7", "interrupted", "7"]


# ---------------------------------------------------------------- the parts


def complete(text: str, session: Session | None = None) -> list[str]:
    c = BpCompleter(session or Session())
    return [x.text for x in c.get_completions(Document(text), CompleteEvent(True))]


def test_completion_of_commands_functions_and_session_names():
    s = Session()
    s.run("weight = 2; def swish(u) = u*sigmoid(u)")
    assert "grad" in complete("gr", s)
    assert complete("sigm", s) == ["sigmoid"]
    assert complete("y = we", s) == ["weight"]
    assert complete("y = sw", s) == ["swish"]
    assert "softmax_cross_entropy" in complete("loss = softmax_c", s)
    assert complete("grad weight w", s) == ["wrt", "with", "weight", "where"]
    assert complete("x = 1; gr", s) == ["grad"]
    assert "functions" in complete("help fun", s)
    assert complete("x = 1  # gr", s) == []


def test_path_completion_after_save_run_export(tmp_path, monkeypatch):
    (tmp_path / "session.bp").write_text("")
    monkeypatch.chdir(tmp_path)
    assert complete("run sess") == ["ion.bp"]


def test_validator_puts_the_cursor_on_the_error():
    v = BpValidator()
    with pytest.raises(ValidationError) as e:
        v.validate(Document("x = 2\ny = (3 +* 4)"))
    assert e.value.cursor_position == len("x = 2\ny = (3 +")
    v.validate(Document("y = sigmoid(x"))  # incomplete: not an error yet
    v.validate(Document("grad y wrt x"))
    assert index_of("ab\ncd", 2, 2) == 4


def test_highlighting_tells_commands_functions_names_and_numbers_apart():
    styled = dict((tok, style) for style, tok in highlight("grad y  # c", {"y"}))
    assert styled["grad"] == "class:bp.command" and styled["y"] == "class:bp.known"
    assert styled["# c"] == "class:bp.comment"
    styled = dict((tok, style) for style, tok in highlight("z = sigmoid(2.5) @ w"))
    assert styled["sigmoid"] == "class:bp.function" and styled["2.5"] == "class:bp.number"
    assert styled["z"] == "class:bp.name"
    assert "".join(t for _, t in highlight("save my file.bp")) == "save my file.bp"


# ---------------------------------------------------------------- a real terminal


def spawn(*args: str, env_extra: dict | None = None, tmp: Path) -> pexpect.spawn:
    env = {k: v for k, v in os.environ.items() if k not in ("BPSHELL_TIME_LIMIT",)}
    env.update(TERM="xterm", LC_ALL="C.UTF-8", NO_COLOR="1", PROMPT_TOOLKIT_NO_CPR="1",
               BPSHELL_HISTORY=str(tmp / "history"))
    env.update(env_extra or {})
    child = pexpect.spawn(sys.executable, ["-m", "bpshell", *args], env=env, cwd=str(ROOT),
                          encoding="utf-8", timeout=30, dimensions=(40, 120),
                          preexec_fn=default_sigint)
    child.expect(">>>")
    return child


def test_pty_session_with_completion_multiline_and_history(tmp_path):
    child = spawn(tmp=tmp_path)
    child.sendline("x = 2")
    child.expect("x = 2\r\n")
    child.send("y = sigm")
    child.send(TAB)
    time.sleep(0.5)
    child.send("(x")
    child.send("\r")
    child.expect(r"\.\.\.")  # the bracket is open: a continuation line
    child.send(")\r")
    child.expect(r"y = 0\.880797078")
    child.sendline("quit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    history = (tmp_path / "history").read_text()
    assert "+x = 2" in history and "+y = sigmoid(x\n+)" in history


@pytest.mark.slow
def test_pty_ctrl_c_interrupts_a_long_computation_and_keeps_the_session(tmp_path):
    child = spawn(tmp=tmp_path)
    child.sendline("seed 0; X = randn(200, 200); W = randn(200, 200); loss = sum(X @ W)")
    child.expect(r"loss = ([-0-9.e+]+)\r\n")
    value = child.match.group(1)
    child.expect(">>>")
    started = time.monotonic()
    child.sendline("check loss")
    time.sleep(1.5)
    child.sendintr()
    child.expect("interrupted")
    assert time.monotonic() - started < 6  # the check alone takes several seconds
    child.expect(">>>")
    child.sendline("loss")
    child.expect(re.escape(value) + "\r\n")
    child.sendline("W @ W.T")
    child.expect("# 200x200")
    child.expect(">>>")
    time.sleep(0.2)
    child.sendcontrol("d")
    child.expect(pexpect.EOF)


def test_pty_dash_i_runs_a_script_then_stays(tmp_path):
    child = spawn("-i", "examples/apple.bp", tmp=tmp_path)
    assert "price = 220" in ANSI.sub("", child.before)
    child.sendline("price / 2")
    child.expect("110")
    child.sendline("exit")
    child.expect(pexpect.EOF)


@pytest.mark.slow
def test_pty_history_in_xdg_state_home(tmp_path):
    child = spawn(tmp=tmp_path, env_extra={"BPSHELL_HISTORY": "",
                                           "XDG_STATE_HOME": str(tmp_path / "xdg")})
    child.sendline("z = 5")
    child.expect("z = 5\r\n")
    child.sendline("exit")
    child.expect(pexpect.EOF)
    assert "+z = 5" in (tmp_path / "xdg" / "bpshell" / "history").read_text()
    child = spawn(tmp=tmp_path, env_extra={"BPSHELL_HISTORY": "",
                                           "XDG_STATE_HOME": str(tmp_path / "xdg")})
    time.sleep(0.3)
    child.send(UP + UP)  # past `exit`, the last entry
    time.sleep(0.3)
    child.send("\r")
    child.expect("z = 5\r\n")
    child.sendline("exit")
    child.expect(pexpect.EOF)


def run_in_pty(*args: str, env_extra: dict | None = None) -> tuple[str, int]:
    """A scripted run whose stdout is a terminal: what a user sees, and the exit status."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env.update(TERM="xterm-256color", LC_ALL="C.UTF-8", **(env_extra or {}))
    child = pexpect.spawn(sys.executable, ["-m", "bpshell", *args], env=env, cwd=str(ROOT),
                          encoding="utf-8", timeout=30, dimensions=(40, 120),
                          preexec_fn=default_sigint)
    child.expect(pexpect.EOF)
    child.close()
    return child.before, child.exitstatus


def test_pty_colours_a_terminal_unless_no_color():
    shown, code = run_in_pty("-c", "price = 220")
    assert code == 0 and "\x1b[1;36mprice\x1b[0m" in shown
    shown, _ = run_in_pty("-c", "price = 220", env_extra={"NO_COLOR": "1"})
    assert "price = 220" in shown and "\x1b[1;36m" not in shown


def test_pty_json_needs_a_script():
    shown, code = run_in_pty("--json")
    assert code == 2 and "--json needs a script" in shown


# ---------------------------------------------------------------- learners' shell


APPLE = "apple = 100; n = 2; tax = 1.1; price = apple*n*tax\r"


def test_an_error_leaves_the_cursor_where_it_was_so_typing_goes_on_at_the_end():
    # `y = 2 3` fails at column 7; two backspaces and `+ 3` then make `y = 2+ 3`, which
    # they would not if the cursor had jumped to the error (it would make `y = + 33`)
    shown, session, _ = drive(["y = 2 3\r", "\x7f\x7f", "+ 3\r"], pause=0.2)
    assert session.bindings["y"].value == 5.0


def test_the_error_is_drawn_under_the_line_with_a_caret():
    from bpshell.errors import BpError
    from bpshell.shell.validate import under_the_line

    e = BpError("missing operator before the number 3", 1, 7)
    assert under_the_line("y = 2 3", e, 4) == "          ^ missing operator before the number 3"
    assert under_the_line("y = 2\nz = 2 3", BpError("m", 2, 7), 4) == "line 2, column 7: m"


def test_the_step_through_leaves_with_q_and_shows_the_whole_ledger():
    shown, session, _ = drive([APPLE, "explain price step\r", " ", " ", "q", "x = 1\r"],
                              pause=0.3)
    assert shown.count("explain price  (price = 220)") == 1  # the header once
    assert "∂/∂apple: n = 2" in shown and shown.rstrip().endswith("x = 1")


def test_v_switches_the_view_and_stays_in_the_step_through():
    shown, session, _ = drive([APPLE, "explain price step\r", "v", " ", "v", "q", "x = 1\r"],
                              pause=0.3)
    assert shown.count("explain price  (price = 220)") == 1
    assert shown.rstrip().endswith("x = 1") and session.bindings["x"].value == 1.0


def test_v_switches_the_step_views_view_and_no_other_key_is_taken_for_it():
    from bpshell.shell.stepview import StepView

    def frame(k, style, rows, view):
        return []

    for keys, want in (("v q", (1, "tree", "")), ("vv q", (1, "draw", "")),
                       ("vt", (0, "tree", "t"))):
        with create_pipe_input() as pipe:
            view = StepView(3, frame, input=pipe, output=DummyOutput())
            pipe.send_text(keys)
            assert view.run() == want[2]
        assert (view.k, view.view) == want[:2]


def test_a_statement_typed_during_the_step_through_reaches_the_prompt_whole():
    shown, _, _ = drive([APPLE, "explain price step\r", "diff tanh(x) wrt x\r"], pause=0.3)
    assert "diff tanh(x) wrt x" in shown and "1 - y**2" in shown.replace("⋅", "*")


def test_long_output_goes_through_the_pager_and_q_stops_it():
    session = Session()
    buf = io.StringIO()
    out = Output(Options(terminal=True), buf)  # rows: DummyOutput's 40
    with create_pipe_input() as pipe:
        def typist():
            for k in ("rules\r", "q", "x = 3\r"):
                time.sleep(0.4)
                pipe.send_text(k)
            time.sleep(0.4)
            pipe.close()

        t = threading.Thread(target=typist)
        t.start()
        interactive(session, out, history=InMemoryHistory(), input=pipe,
                    output=DummyOutput())
        t.join()
    lines = buf.getvalue().splitlines()
    full = len(to_text_of("rules").splitlines())
    assert full > 39 and len(lines) == 1 + 39 + 1  # the banner, one page, then `x = 3`
    assert lines[-1] == "x = 3"


def to_text_of(source: str) -> str:
    from bpshell.render.format import Style
    from bpshell.render.items import items_for
    from bpshell.render.text import to_text

    return to_text(items_for(Session().run(source)[-1], Style()))


def test_the_quiz_asks_in_the_shell_and_q_leaves_with_the_score():
    shown, session, _ = drive(["quiz apple\r", "tax\r", "7\r", "1.1\r", "q\r", "x = 2\r"],
                              pause=0.3)
    assert shown.count("  right") == 2 and "hint: the gradient sent down" in shown
    assert "score: 2 of 2 right (1 at the first try); 6 not asked" in shown
    assert shown.rstrip().endswith("x = 2") and "price" not in session.bindings
