"""One cell of bpshell statements: each result shown as it completes, the first error
stopping the cell.

A result is shown as one output with HTML and plain text (what the shell prints), and its
picture, when it has one (a drawing, a plot, a fit's loss curve), as a second output of
its own image type: an untrusted notebook strips <svg> out of HTML, never an image.

A failing statement raises StatementError, whose `_render_traceback_` IPython shows in
place of a traceback: the error as bpshell writes it, with the line and column in the
cell. The cell is then marked failed, so "Run All" stops there as a script stops.
"""

from __future__ import annotations

import base64
from collections import deque

from bpshell.render.doc import DIM, Item, line
from bpshell.render.errors import error_items
from bpshell.render.html import NOTEBOOK, items_html, picture, result_items
from bpshell.render.text import to_text

RED, RESET = "\x1b[1;31m", "\x1b[0m"
TRANSCRIPT_ITEMS = 5000  # what `export` writes from a notebook: the last this many items
_transcript: deque[Item] = deque(maxlen=TRANSCRIPT_ITEMS)


class StatementError(Exception):
    """A statement of a cell failed; IPython shows these lines and no traceback."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines

    def _render_traceback_(self) -> list[str]:
        return self.lines


def run_cell(session, source: str, first_line: int = 1, name: str = "<cell>") -> None:
    """Run source in session, showing each result; raise StatementError at the first error.

    first_line: the line of the cell that source starts on (2 under `%%bp`), so the
    line an error names is the line the learner sees.
    """
    from bpshell.notebook.progress import NotebookProgress

    progress = session.progress if isinstance(session.progress, NotebookProgress) else None
    results = session.iter_run(source, time_limit=0)  # Interrupt stops a statement here
    while True:
        if progress is not None:
            progress.reset()
        try:
            r = next(results, None)
        except KeyboardInterrupt:
            raise StatementError(["interrupted: the statement was stopped and changed "
                                  "nothing; the cell stopped there"]) from None
        if r is None:
            return
        if not r["ok"]:
            if r.get("detail") is not None:  # a failed check's table, then its error
                show(r["detail"])
            raise StatementError(error_lines(r, source, first_line, name))
        kind = r["kind"]
        if kind == "export":
            r = export(r)
            if not r["ok"]:
                raise StatementError(error_lines(r, source, first_line, name))
        show(r, progress)
        if kind == "exit":
            return


def show(r: dict, progress=None) -> None:
    """A result as HTML and text, then its picture; a fit replaces its progress bar."""
    from IPython.display import display

    handle, curve = None, None
    if progress is not None and r["kind"] == "fit" and progress.handle is not None:
        handle, curve = progress.handle, [(0, r["loss_before"]), *progress.points]
    pic = picture(r, curve)
    items = result_items(r, NOTEBOOK, figure=pic is not None)
    if r["kind"] == "exit":  # nothing to leave: the cell stops, the kernel goes on
        items = [line(("exit: the rest of the cell is skipped; the kernel and its session "
                       "stay (restart the kernel to start over)", DIM))]
    _transcript.extend(items)
    bundle = {"text/html": items_html(items), "text/plain": to_text(items).rstrip("\n")}
    if handle is not None:
        handle.update(bundle, raw=True)
    else:
        display(bundle, raw=True)
    if pic is not None:
        display(picture_bundle(r, pic), raw=True)


def picture_bundle(r: dict, pic: tuple[str, str | bytes]) -> dict:
    """A picture as an output: SVG as text, PNG as base64, and a line for plain text."""
    mime, data = pic
    if isinstance(data, bytes):
        data = base64.b64encode(data).decode("ascii")
    what = {"draw": f"the drawing of {r.get('of')}", "plot": f"the plot of {r.get('expr')}",
            "fit": f"the loss curve of {r.get('of')}"}.get(r["kind"], "a picture")
    return {mime: data, "text/plain": f"[{what}]"}


def error_lines(r: dict, source: str, first_line: int, name: str) -> list[str]:
    """`<cell>:LINE:COL: error: message`, the line and a caret, with lines of the cell."""
    shift = first_line - 1
    err = dict(r["error"])
    if err.get("line"):
        err["line"] += shift
    moved = {**r, "line": r["line"] + shift, "error": err}
    items = error_items(moved, NOTEBOOK, "\n" * shift + source, name)
    _transcript.extend(items)  # `export` writes errors too, as the shell's does
    lines = to_text(items).rstrip("\n").split("\n")
    lines[0] = lines[0].replace("error: ", f"{RED}error:{RESET} ", 1)
    if len(lines) == 3:
        lines[2] = f"{RED}{lines[2]}{RESET}"
    return lines


def export(r: dict) -> dict:
    """`export FILE`: what this kernel's cells have shown, written as the shell writes it."""
    import io

    from bpshell.render.out import Options, Output

    out = Output(Options(rich=False, unicode=True), out=io.StringIO(), err=io.StringIO())
    out.transcript.extend(_transcript)
    path = r["path"]
    try:
        out.export(path)
    except OSError as e:
        return {**r, "ok": False, "kind": "error",
                "error": {"type": "file", "message": f"cannot write {path}: {e.strerror}",
                          "line": r["line"], "column": r["column"]}}
    return r
