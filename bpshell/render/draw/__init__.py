"""`draw`: a computation graph as the book draws it, to an SVG, PNG or DOT file.

Nothing here imports the engine: the drawing is made from a Picture (model.py), which the
engine fills. SVG and DOT need only the standard library; PNG needs matplotlib or `dot`.
"""

from __future__ import annotations

import os

from bpshell.fileio import write_atomic
from bpshell.render.draw.dot import dot_text
from bpshell.render.draw.png import png_bytes
from bpshell.render.draw.svg import svg_text
from bpshell.results.picture import PENDING, PicEdge, PicNode, Picture

__all__ = ["PENDING", "PicEdge", "PicNode", "Picture", "FORMATS", "dot_text", "png_bytes",
           "svg_text", "write_drawing"]

FORMATS = (".svg", ".png", ".dot")


def drawing_bytes(pic: Picture, path: str) -> bytes:
    """The file's content for the format its extension names."""
    ext = os.path.splitext(path)[1].lower()
    if ext == ".svg":
        return svg_text(pic).encode("utf-8")
    if ext == ".dot":
        return dot_text(pic).encode("utf-8")
    if ext == ".png":
        return png_bytes(pic)
    shown = f"'{ext}'" if ext else "no extension"
    raise ValueError(f"cannot draw to {path}: {shown}; the file name must end in "
                     ".svg, .png or .dot")


def write_drawing(pic: Picture, path: str) -> str:
    """Write the drawing to path, whole or not at all; returns the path written.

    The content is made first (a missing matplotlib fails before anything is written).
    """
    return write_atomic(path, drawing_bytes(pic, path))
