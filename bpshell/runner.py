"""One `run_source` for every front end: a script, `-c`, stdin, and each line typed at the prompt.

It feeds source to the Session, shows each result as it completes and reports errors in
one format (`FILE:LINE:COL: error: message`, the line and a caret). The result dicts are
the engine's; this module only decides where they go.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TextIO

from .render_out import Output


@dataclass
class Status:
    """How a run went: how many statements failed, and whether `exit` was run."""

    failed: int = 0
    exit: bool = False
    statements: int = 0


def run_source(session, source: str, out: Output, filename: str | None, *,
               keep_going: bool = False, echo: bool = False, json_out: TextIO | None = None,
               time_limit: float | None = None, errors_to_stderr: bool = True,
               show=None) -> Status:
    """Run source in session; stop at the first error unless keep_going."""
    status = Status()
    for result in session.iter_run(source, time_limit):
        status.statements += 1
        if result.get("ok") and result.get("kind") == "export":
            result = _export(out, result)
        if json_out is not None:
            from .jsonout import dumps

            json_out.write(dumps(result) + "\n")
            json_out.flush()
        elif echo:
            out.echo(result.get("source", ""))
        if not result.get("ok"):
            status.failed += 1
            out.error(result, source, filename, to_err=errors_to_stderr)
            if not keep_going:
                break
            continue
        if json_out is None:
            try:
                (show or out.show)(result)
            except Exception as exc:  # a drawing bug must not end the session
                status.failed += 1
                out.note(f"error: cannot show this result ({type(exc).__name__}: {exc})",
                         to_err=True)
        if result.get("kind") == "exit":
            status.exit = True
            break
    return status


def _export(out: Output, result: dict) -> dict:
    """Write the transcript; a failure becomes an ordinary error result at the statement."""
    path = result["path"]
    try:
        out.export(path)
    except OSError as e:
        failed = {k: v for k, v in result.items() if k != "path"}
        failed.update(ok=False, kind="error",
                      error={"type": "file", "message": f"cannot write {path}: {e.strerror}",
                             "line": result["line"], "column": result["column"]})
        return failed
    return result


def pipe_progress(out: Output):
    """A fit's loss line every N steps, written as it runs (for a pipe or a file)."""
    from .render_train import fit_progress_line

    def progress(step: int, total: int, loss: float, every: int) -> None:
        if every and step % every == 0:
            out.items([fit_progress_line(step, loss)])

    return progress


MAX_SCRIPT_BYTES = 64 << 20  # a script larger than this (or /dev/zero) is refused


class ScriptError(Exception):
    """A script that cannot be read as text, with the position of the problem if known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None,
                 text: str = ""):
        super().__init__(message)
        self.message, self.line, self.column, self.text = message, line, column, text


def read_script(path: str) -> str:
    """A script's text: a file, or stdin for '-'. Raises OSError or ScriptError."""
    if path == "-":
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:  # a text stream without bytes underneath (tests, embedding)
            return sys.stdin.read(MAX_SCRIPT_BYTES)
        return decode(_read_bounded(stream))
    with open(path, "rb") as f:
        return decode(_read_bounded(f))


def _read_bounded(f) -> bytes:
    data = f.read(MAX_SCRIPT_BYTES + 1)
    if len(data) > MAX_SCRIPT_BYTES:
        raise ScriptError(f"the script is larger than {MAX_SCRIPT_BYTES >> 20} MB")
    return data


def decode(data: bytes) -> str:
    """UTF-8 text (a BOM is dropped); bad bytes are an error at their line and column."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        start = data.rfind(b"\n", 0, e.start) + 1
        end = data.find(b"\n", e.start)
        line_bytes = data[start: end if end >= 0 else len(data)]
        column = len(data[start:e.start].decode("utf-8", "replace")) + 1
        raise ScriptError(f"not valid UTF-8 text (byte 0x{data[e.start]:02x})",
                          data[: e.start].count(b"\n") + 1, column,
                          line_bytes.decode("utf-8", "replace").rstrip("\r")) from None
