"""One `run_source` for every front end: a script, `-c`, stdin, and each line typed at the prompt.

It feeds source to the Session, shows each result as it completes and reports errors in
one format (`FILE:LINE:COL: error: message`, the line and a caret). The result dicts are
the engine's; this module only decides where they go.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from typing import TextIO

from bpshell.render.out import Output

# A long script's session state (definitions, trees, graphs) lives until the end; every
# 1,000 statements it is moved out of the cyclic collector's sight, which would otherwise
# re-scan all of it in each full collection (0.3-0.4 s of a 20,000-line script).
FREEZE_EVERY = 1000


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
        if status.statements % FREEZE_EVERY == 0:
            gc.freeze()
        if result.get("ok") and result.get("kind") == "export":
            result = _export(out, result)
        if json_out is not None:
            from bpshell.render.jsonl import dumps

            json_out.write(dumps(result) + "\n")
            json_out.flush()
        elif echo:
            out.echo(result.get("source", ""))
        if not result.get("ok"):
            status.failed += 1
            if result.get("detail") is not None and json_out is None:
                (show or out.show)(result["detail"])
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
    from bpshell.render.items.train import fit_progress_line

    def progress(step: int, total: int, loss: float, every: int) -> None:
        if every and step % every == 0:
            out.items([fit_progress_line(step, loss)])

    return progress
