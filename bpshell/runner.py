"""One `run_source` for every front end: a script, `-c`, stdin, and each line typed at the prompt.

It feeds source to the Session, shows each result as it completes and reports errors in
one format (`FILE:LINE:COL: error: message`, the line and a caret). The result dicts are
the engine's; this module only decides where they go.

Showing a result is part of its statement: in a script it runs under the same time
limit, and `export` writes its file atomically under it too. The results of the
statements inside `run FILE` are shown as each completes and then dropped, so a long
script run inside a session keeps none of them.
"""

from __future__ import annotations

from typing import TextIO

from bpshell.errors import BpError, OutputClosed
from bpshell.records import Value
from bpshell.render.out import Output
from bpshell.timeout import deadline


class Status(Value):
    """How a run went: how many statements failed, whether `exit` was run or a `fit` was
    interrupted (which ends a script with status 130, as Ctrl-C anywhere else does)."""

    __slots__ = ("failed", "exit", "statements", "interrupted")

    failed: int
    exit: bool
    statements: int
    interrupted: bool

    def __init__(self, failed: int = 0, exit: bool = False, statements: int = 0,
                 interrupted: bool = False):
        self.failed = failed
        self.exit = exit
        self.statements = statements
        self.interrupted = interrupted


def run_source(session, source: str, out: Output, filename: str | None, *,
               keep_going: bool = False, echo: bool = False, json_out: TextIO | None = None,
               time_limit: float | None = None, errors_to_stderr: bool = True,
               show=None) -> Status:
    """Run source in session; stop at the first error unless keep_going."""
    status = Status()
    bound = session.limits.time_limit if time_limit is None else time_limit
    shower = _Shower(out, show or out.show, bound)
    session.nested = shower.nested if json_out is None else None
    try:
        for result in session.iter_run(source, time_limit):
            status.statements += 1
            if result.get("ok") and result.get("kind") == "export":
                result = _export(out, result, bound)
            if json_out is not None:
                _write_json(json_out, result, session.limits.max_print_elements)
            elif echo:
                out.echo(result.get("source", ""))
            if not result.get("ok"):
                status.failed += 1
                if result.get("detail") is not None and json_out is None:
                    shower(result["detail"])  # a failed check's table, before its error
                out.error(result, source, filename, to_err=errors_to_stderr)
                if keep_going:
                    continue
                break
            if json_out is None:
                status.failed += shower(result)
            status.exit = result.get("kind") == "exit"
            status.interrupted = result.get("kind") == "fit" and bool(result.get("interrupted"))
            if status.exit or status.interrupted:
                break
    finally:
        session.nested = None
    return status


class _Shower:
    """Shows one result within the time bound; a drawing bug is reported, never fatal."""

    def __init__(self, out: Output, show, bound: float):
        self.out, self.show, self.bound = out, show, bound

    def __call__(self, result: dict) -> int:
        """Show result; 1 if it could not be shown, else 0."""
        try:
            with deadline(self.bound):
                self.show(result)
        except BpError:  # the time bound
            self.out.note(f"error: showing this result took longer than {self.bound:g} s "
                          "(a lower --max-print-elements shows big values shorter)",
                          to_err=True)
            return 1
        except Exception as exc:  # a drawing bug must not end the session
            self.out.note(f"error: cannot show this result ({type(exc).__name__}: {exc})",
                          to_err=True)
            return 1
        return 0

    def nested(self, result: dict) -> None:
        """A result of a statement inside `run FILE`, shown as soon as it exists."""
        self.out.show(result)


def _write_json(stream: TextIO, result: dict, print_limit: float) -> None:
    from bpshell.render.jsonl import dumps

    text = dumps(result, print_limit)
    try:
        stream.write(text + "\n")
        stream.flush()
    except OSError as e:  # the reader went away, a full disk
        raise OutputClosed(e) from None


def _export(out: Output, result: dict, bound: float) -> dict:
    """Write the transcript atomically, within the time bound; a failure becomes an ordinary
    error result at the statement."""
    try:
        with deadline(bound):
            out.export(result["path"])
    except BpError as e:
        message = e.message
        if e.kind == "timeout":
            message = (f"cannot write {result['path']}: it took longer than {bound:g} s "
                       "(BPSHELL_TIME_LIMIT or --time-limit changes the bound)")
        failed = {k: v for k, v in result.items() if k != "path"}
        failed.update(ok=False, kind="error",
                      error={"type": "file", "message": message,
                             "line": result["line"], "column": result["column"]})
        return failed
    return result


def pipe_progress(out: Output):
    """A fit's loss line every N steps, written as it runs (for a pipe or a file)."""
    from bpshell.render.items.train import fit_progress_line

    def progress(step: int, total: int, loss: float, every: int) -> None:
        if every and step % every == 0:
            out.items([fit_progress_line(step, loss)])

    return progress
