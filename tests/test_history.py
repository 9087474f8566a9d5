"""The shell's history file, in every state a file can be in.

A FIFO, /dev/zero or a directory is never opened for reading; a huge file is read only
at its end; the history keeps `history_size` entries; two shells appending at once
never interleave an entry, however long; when the file can no longer be written the
shell says so once and goes on with the history in memory. Entries are checked against
the strings written here.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from test_cli import ROOT, clean_env, default_sigint

from bpshell.render.out import Options, Output
from bpshell.session import Session
from bpshell.shell import history as hist
from bpshell.shell.history import BoundedFileHistory, format_entry, open_history, parse_entries
from bpshell.shell.repl import interactive

ROOT_USER = hasattr(os, "geteuid") and os.geteuid() == 0


def write_entries(path: Path, entries: list[str]) -> None:
    path.write_text("".join(format_entry(e) for e in entries), encoding="utf-8")


def loaded(history) -> list[str]:
    """Newest first, as prompt_toolkit loads them."""
    return list(history.load_history_strings())


def test_entries_round_trip_through_the_file_format():
    entries = ["x = 1", "y = sigmoid(x\n)", "# not a comment", "", "z = 3"]
    text = "".join(format_entry(e) for e in entries)
    assert parse_entries(text) == entries


@pytest.mark.parametrize("kind", ["fifo", "dev_zero", "directory"])
def test_a_path_that_is_no_regular_file_is_never_read(kind, tmp_path):
    if kind == "fifo":
        path = tmp_path / "history"
        os.mkfifo(path)  # opening it for reading would block forever
    elif kind == "dev_zero":
        if not os.path.exists("/dev/zero"):
            pytest.skip("needs /dev/zero")
        path = Path("/dev/zero")
    else:
        path = tmp_path / "history"
        path.mkdir()
    history, note = open_history(str(path))
    assert isinstance(history, InMemoryHistory)
    assert note is not None and "history kept in memory only" in note


def test_a_huge_file_is_read_only_at_its_end(tmp_path, monkeypatch):
    monkeypatch.setattr(hist, "READ_BYTES", 64 << 10)
    path = tmp_path / "history"
    entries = [f"x{k} = {k}" + " " * 200 for k in range(2000)]  # about 460 KB
    write_entries(path, entries)
    history = BoundedFileHistory(str(path), size=10_000)
    got = loaded(history)
    assert 100 < len(got) < 400  # what fits in 64 KB, all of them whole
    assert got == list(reversed(entries))[:len(got)]
    # and the file was cut to what was read, so the next start reads all of it
    assert parse_entries(path.read_text()) == entries[-len(got):]


def test_the_history_keeps_its_size(tmp_path):
    path = tmp_path / "history"
    entries = [f"e{k}" for k in range(25)]
    write_entries(path, entries)
    history = BoundedFileHistory(str(path), size=10)
    assert loaded(history) == [f"e{k}" for k in range(24, 14, -1)]
    assert parse_entries(path.read_text()) == entries[-10:]
    history.store_string("new")
    assert parse_entries(path.read_text()) == entries[-10:] + ["new"]


def test_a_file_that_is_not_a_history_is_never_rewritten(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("my notes\n+ a plus line\nmore notes\n" * 50)
    before = path.read_text()
    history = BoundedFileHistory(str(path), size=1)
    assert loaded(history) == []
    assert path.read_text() == before


def test_a_folder_that_disappears_is_said_once_and_history_stays(tmp_path):
    folder = tmp_path / "state"
    history, note = open_history(str(folder / "history"))
    assert note is None
    history.append_string("a = 1")
    (folder / "history").unlink()
    folder.rmdir()
    history.append_string("b = 2")
    assert history.note is not None and "in memory only from now on" in history.note
    history.note = None
    history.append_string("c = 3")
    assert history.note is None  # said once
    assert list(history.get_strings()) == ["a = 1", "b = 2", "c = 3"]


@pytest.mark.skipif(ROOT_USER, reason="root writes a read-only file all the same")
def test_a_read_only_file_is_said_at_start(tmp_path):
    path = tmp_path / "history"
    path.write_text("")
    path.chmod(0o400)
    history, note = open_history(str(path))
    assert isinstance(history, InMemoryHistory) and "cannot write" in note


def test_the_shell_says_once_that_history_went_to_memory(tmp_path):
    folder = tmp_path / "state"
    history, _ = open_history(str(folder / "history"))
    (folder / "history").unlink()
    folder.rmdir()
    buf = io.StringIO()
    with create_pipe_input() as pipe:
        def typist():
            for keys in ("x = 1\r", "y = 2\r", "x + y\r"):
                time.sleep(0.2)
                pipe.send_text(keys)
            time.sleep(0.2)
            pipe.close()

        t = threading.Thread(target=typist)
        t.start()
        interactive(Session(), Output(Options(), buf), history=history, input=pipe,
                    output=DummyOutput())
        t.join()
    shown = buf.getvalue().splitlines()
    assert sum("history kept in memory only" in s for s in shown) == 1
    assert shown[-1] == "3"


def test_a_huge_entry_stays_in_memory_only(tmp_path):
    path = tmp_path / "history"
    history, _ = open_history(str(path))
    blob = "x = " + "1 + " * (hist.MAX_ENTRY // 4) + "1"
    history.append_string(blob)
    history.append_string("y = 2")
    assert parse_entries(path.read_text()) == ["y = 2"]
    assert list(history.get_strings())[0] == blob


_APPENDER = """
import sys
from bpshell.shell.history import BoundedFileHistory
h = BoundedFileHistory(sys.argv[1], size=10_000)
tag = sys.argv[2]
for k in range(60):
    h.store_string(f"{tag}{k} = " + "\\n".join([tag * 10_000] * 5))
"""


def test_two_shells_appending_at_once_never_interleave(tmp_path):
    # entries of five 10 KB lines: prompt_toolkit's FileHistory writes line by line and
    # mixes two shells' entries here; one locked write per entry does not
    path = tmp_path / "history"
    path.write_text("")
    procs = [subprocess.Popen([sys.executable, "-c", _APPENDER, str(path), tag],
                              env=clean_env(PYTHONPATH=str(ROOT)), cwd=ROOT,
                              preexec_fn=default_sigint) for tag in ("a", "b")]
    for p in procs:
        assert p.wait(timeout=120) == 0
    entries = parse_entries(path.read_text())
    expected = {f"{tag}{k} = " + "\n".join([tag * 10_000] * 5) for tag in "ab"
                for k in range(60)}
    assert len(entries) == 120 and set(entries) == expected
