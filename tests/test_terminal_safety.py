"""Nothing from a script, a file name, a help topic, a comment, an echoed statement or an
error message reaches the terminal as a control character: each is shown in caret
notation (ESC as `^[`, BEL as `^G`) or as `<U+202E>`, as sqlite3's shell shows them.

The oracle is the bytes themselves: the payloads below would clear the screen, set the
window title, colour a fake success line or reverse text; the tests check that none of
their control bytes is written, that the visible form is, and that --json still decodes
to the original text.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from test_cli import ROOT, bp, clean_env, console_script, default_sigint

from bpshell.render.doc import Table, TreeNode, line
from bpshell.render.errors import error_items
from bpshell.render.format import Style
from bpshell.render.safe import json_safe, visible, visible_name
from bpshell.render.text import to_text

TITLE = "\x1b]0;pwned\x07"  # OSC: set the window title
CLEAR = "\x1b[2J\x1b[H"  # CSI: clear the screen, cursor home
FAKE = "\r\x1b[32mall tests passed\x1b[0m"  # back to column 0, a green fake line
C1 = "\x9b2J"  # the one-byte CSI of C1
BIDI = "\u202e"  # right-to-left override
PAYLOADS = [TITLE, CLEAR, FAKE, C1, BIDI, "\x00\x08\x7f"]
# what may never be written: every C0 code but newline and tab, DEL, C1, bidi controls
FORBIDDEN = {chr(c) for c in range(32) if c not in (9, 10)} | {"\x7f"} | \
    {chr(c) for c in range(0x80, 0xA0)} | {"\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
                                            "\u2066", "\u2067", "\u2068", "\u2069"}


def controls(text: str) -> set[str]:
    return {ch for ch in text if ch in FORBIDDEN}


# ---------------------------------------------------------------- the escaping itself


@pytest.mark.parametrize("raw, shown", [
    ("\x1b[2J", "^[[2J"), ("\x07", "^G"), ("a\rb", "a^Mb"), ("a\r\nb", "a\nb"),
    ("\x00", "^@"), ("\x7f", "^?"), ("\x9b", "<U+009B>"), ("\u202e", "<U+202E>"),
    ("tab\tand\nnewline", "tab\tand\nnewline"), ("ünïcode ∂y/∂x", "ünïcode ∂y/∂x"),
])
def test_visible_shows_each_control_character(raw: str, shown: str) -> None:
    assert visible(raw) == shown
    assert visible(visible(raw)) == visible(raw)  # nothing left to escape


def test_names_show_newlines_too() -> None:
    assert visible_name("a\nb.bp") == "a^Jb.bp"


def test_json_escapes_keep_the_value() -> None:
    for payload in PAYLOADS:
        text = json.dumps({"s": payload}, ensure_ascii=False)
        safe = json_safe(text)
        assert not controls(safe)
        assert json.loads(safe) == {"s": payload}


def test_every_item_kind_is_escaped_in_plain_text() -> None:
    items = [line("x ", TITLE), Table(["col" + CLEAR], [[FAKE, "ok"]]),
             TreeNode([line("root" + C1)], [TreeNode([line("leaf" + BIDI)])])]
    text = to_text(items)
    assert not controls(text)
    assert "^[]0;pwned^G" in text and "^[[2J" in text and "<U+009B>2J" in text


def test_every_item_kind_is_escaped_in_rich() -> None:
    from rich.console import Console

    from bpshell.render.rich_backend import renderable

    items = [line("x ", TITLE), Table(["col" + CLEAR], [[FAKE, "ok"]]),
             TreeNode([line("root" + C1)], [TreeNode([line("leaf" + BIDI)])])]
    buf = io.StringIO()
    console = Console(file=buf, width=200, color_system=None, force_terminal=False)
    for item in items:
        console.print(renderable(item))
    assert not controls(buf.getvalue())
    assert "^[]0;pwned^G" in buf.getvalue()


def test_the_caret_moves_with_an_escaped_character() -> None:
    source = "y = \x1b(1 +)"
    r = {"ok": False, "error": {"line": 1, "column": 10, "message": "m"}}
    text = to_text(error_items(r, Style(), source, "f.bp"))
    shown, caret = text.splitlines()[1:3]
    assert shown == "  y = ^[(1 +)"
    assert shown[caret.index("^")] == ")"  # still under the character at column 10


# ---------------------------------------------------------------- through the command line


def test_a_script_cannot_write_control_characters(tmp_path: Path) -> None:
    script = tmp_path / "evil.bp"
    script.write_text(f"x = 1  # {TITLE}{CLEAR}\nhelp {FAKE}\ny = {C1} + 1\n",
                      encoding="utf-8")
    for args in ([str(script)], ["--echo", str(script)], ["--keep-going", str(script)],
                 ["--color", "always", str(script)]):
        p = bp(*args)
        assert p.returncode == 1
        everything = p.stdout + p.stderr
        if "--color" in args:  # rich's own styles are CSI codes; the payloads are not
            assert TITLE not in everything and "\x1b[2J" not in everything
            assert "\x07" not in everything and "\r" not in everything
        else:
            assert not controls(everything), (args, everything)
        assert "^M^[[32mall tests passed" in everything


def test_file_names_with_control_characters(tmp_path: Path) -> None:
    name = tmp_path / f"a{TITLE}\nb.bp"
    p = bp(str(name))  # missing
    assert p.returncode == 2 and not controls(p.stderr)
    assert "^[]0;pwned^G^Jb.bp" in p.stderr
    name.write_text("x = (1\n", encoding="utf-8")
    p = bp(str(name))
    assert p.returncode == 1 and not controls(p.stderr)
    assert p.stderr.splitlines()[0].endswith("^Jb.bp:1:5: error: this bracket is never closed")
    saved = tmp_path / f"s{CLEAR}.bp"
    p = bp("-c", f"x = 1; save {saved}")
    assert not controls(p.stdout + p.stderr)


def test_help_topics_and_errors_on_stderr() -> None:
    p = bp("-c", f"help nothing{TITLE}")
    assert p.returncode == 1 and not controls(p.stderr)
    assert "^[]0" in p.stderr


def test_argument_errors_are_escaped() -> None:
    p = bp("--bogus" + TITLE)
    assert p.returncode == 2 and not controls(p.stderr) and "^[]0;pwned" in p.stderr
    p = bp("--max-elements", CLEAR)
    assert p.returncode == 2 and not controls(p.stderr)


def test_json_lines_stay_json_and_keep_the_text(tmp_path: Path) -> None:
    script = tmp_path / "evil.bp"
    script.write_text(f"help {FAKE}{C1}{BIDI}\n", encoding="utf-8")
    p = bp("--json", str(script))
    assert p.returncode == 1 and not controls(p.stdout)
    (record,) = [json.loads(s) for s in p.stdout.splitlines()]
    # the text itself, escaped only as JSON escapes ("\r" and the CRLF rule aside)
    assert (FAKE + C1 + BIDI)[1:] in record["source"]
    raw = subprocess.run(console_script() + ["--json", "-c", "x = 1"], capture_output=True,
                         env=clean_env(), cwd=ROOT, timeout=60).stdout
    assert raw.endswith(b"\n") and raw.count(b"\n") == 1


def test_the_interactive_shell_escapes_what_a_script_prints(tmp_path: Path) -> None:
    script = tmp_path / "evil.bp"
    script.write_text(f"x = 1\nhelp nothing\x07\x1b7{C1}{BIDI}\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "BPSHELL_TIME_LIMIT"}
    env.update(TERM="xterm", LC_ALL="C.UTF-8", NO_COLOR="1", PROMPT_TOOLKIT_NO_CPR="1",
               BPSHELL_HISTORY=str(tmp_path / "history"))
    child = pexpect.spawn(sys.executable, ["-m", "bpshell"], env=env, cwd=str(ROOT),
                          encoding="utf-8", timeout=30, dimensions=(40, 200),
                          preexec_fn=default_sigint)
    seen = io.StringIO()
    child.logfile_read = seen
    child.expect(">>>")
    child.sendline(f"run {script}")
    child.expect(re.escape("nothing^G^[7<U+009B>2J<U+202E>"))
    child.expect(">>>")
    child.sendline("exit")
    child.expect(pexpect.EOF)
    assert not {"\x07", "\x9b", BIDI} & set(seen.getvalue())
