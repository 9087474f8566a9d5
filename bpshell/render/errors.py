"""Errors as a person reads them: `FILE:LINE:COL: error: message`, the line and a caret."""

from __future__ import annotations

from bpshell.render.doc import ERR, HEAD, Item, Line, line
from bpshell.render.format import Style
from bpshell.render.safe import visible, visible_name


def error_items(r: dict, style: Style, source: str | None = None,
                filename: str | None = None) -> list[Item]:
    """`FILE:LINE:COL: error: message` (or `error: message`), the line and a caret.

    source is the whole text the statement came from (a file, a -c argument, one entry
    typed at the prompt), so the line shown is the line the error's position is in.
    """
    err = r["error"]
    ln, col = err.get("line") or r.get("line"), err.get("column") or r.get("column")
    head = Line()
    if filename is not None:
        head.add(f"{visible_name(filename)}:{ln}:{col}: ", HEAD)
    head.add("error: ", ERR).add(err["message"])
    out: list[Item] = [head]
    text = _source_line(source, ln) if source is not None else None
    if text is not None and col and 1 <= col <= len(text) + 1:
        # shown as visible text: an escaped control character is wider, and the caret
        # moves with it
        out.append(line(visible(text), indent=2))
        out.append(line((caret_prefix(visible(text[:col - 1])) + "^", ERR),
                        indent=2))
    return out


def _source_line(source: str | None, ln: int | None) -> str | None:
    if source is None or not ln:
        return None
    # found by scanning, not by splitting: a 64 MB script of short lines would become
    # millions of strings just to show one of them
    start = 0
    for _ in range(ln - 1):
        start = source.find("\n", start) + 1
        if start == 0:
            return None
    end = source.find("\n", start)
    return source[start: end if end >= 0 else len(source)].rstrip("\r")


def caret_prefix(text: str, offset: int | None = None) -> str:
    """Spaces (and the source's own tabs) up to offset (all of text), so the caret lines up."""
    return "".join("\t" if ch == "\t" else " " for ch in text[:offset])
