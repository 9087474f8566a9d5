"""Files: `save` the session as a script, `run` a script inside it, `export` the output."""

from __future__ import annotations

import os

from bpshell.commands.registry import Args, command, lookup
from bpshell.commands.save_script import large_arrays, npz_bytes, npz_path, session_script
from bpshell.errors import FileError
from bpshell.fileio import write_all
from bpshell.language.grammar import RawText
from bpshell.language.source import ScriptError, read_script


@command("save", RawText("path", required=True, doc="the script to write (.bp)"),
         summary="write the session's definitions as a script that replays to the same state",
         examples=("save session.bp",), group="files",
         notes=("The file is written beside and renamed into place, so an interrupted save "
                "leaves the old file whole.",),
         files=True,
         fields={"path": str, "statements": int})
def save(session, args: Args, stmt) -> dict:
    path = _path(args, "save", stmt)
    text = save_files(session.state, path, npz=lookup("load") is not None)
    statements = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
    return {"kind": "save", "path": path, "statements": statements}


def save_files(state, path: str, npz: bool) -> str:
    """Write the script to path, and its large arrays to the companion .npz when npz and
    there are any."""
    arrays = large_arrays(state) if npz else {}
    companion = npz_path(path) if arrays else None
    text = session_script(state, companion, tuple(arrays))  # in the session's order
    # both renamed with signals held: never a new .npz beside an old script
    write_all(([(companion, npz_bytes(arrays))] if companion else []) + [(path, text)])
    return text


@command("run", RawText("path", required=True, doc="the script to run"),
         summary="run a script inside this session, all or nothing",
         examples=("run examples/apple.bp",), group="files", files=True,
         notes=("If any statement of the script fails, the session is left as it was "
                "before 'run'.",),
         fields={"path": str, "results": list, "statements": int})
def run(session, args: Args, stmt) -> dict:
    path = _path(args, "run", stmt)
    text = read_source(path, stmt.pos)
    results, count = session.run_file(text, path, stmt.pos)
    return {"kind": "run", "path": path, "results": results, "statements": count}


@command("export", RawText("path", required=True, doc="the file to write: .svg, .html or .txt"),
         summary="write the output so far as shown (.svg, .html or .txt)",
         examples=("export session.svg", "export session.txt"), group="files",
         files=True,
         fields={"path": str})
def export(session, args: Args, stmt) -> dict:
    path = _path(args, "export", stmt)
    if not path.endswith((".svg", ".html", ".txt")):
        raise FileError("export writes .svg, .html or .txt files", *stmt.pos)
    return {"kind": "export", "path": path}


def read_source(path: str, pos=(None, None)) -> str:
    """A script's text for `run FILE`; unreadable or non-UTF-8 files are FileErrors."""
    try:
        return read_script(path)
    except (OSError, ValueError) as e:  # ValueError: a NUL byte in the path
        reason = getattr(e, "strerror", None) or str(e)
        raise FileError(f"cannot read {path}: {reason}", *pos) from None
    except ScriptError as e:
        where = f" at line {e.line}, column {e.column}" if e.line else ""
        raise FileError(f"cannot read {path}: {e.message}{where}", *pos) from None


def _path(args: Args, command: str, stmt) -> str:
    if not args.path:
        raise FileError(f"'{command}' needs a file name: '{command} FILE'", *stmt.pos)
    return os.path.expanduser(args.path)


