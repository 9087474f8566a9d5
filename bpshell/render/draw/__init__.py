"""`draw`: a computation graph as the book draws it, to an SVG, PNG or DOT file.

Nothing here imports the engine: the drawing is made from a Picture (model.py), which the
engine fills. SVG and DOT need only the standard library; PNG needs matplotlib or `dot`.
"""

from __future__ import annotations

import os
import tempfile

from bpshell.errors import FileError
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

    The content is made first, then written to a temporary file beside the target and
    moved over it, so a failure (no matplotlib, a full disk) leaves no file behind and
    never half an old one.
    """
    data = drawing_bytes(pic, path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileError(f"cannot write {path}: the folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".draw-", suffix=".tmp")
    except OSError as e:
        raise FileError(f"cannot write {path}: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, _mode(path))
        os.replace(tmp, path)
    except OSError as e:
        _remove(tmp)
        raise FileError(f"cannot write {path}: {e.strerror or e}") from None
    except BaseException:
        _remove(tmp)
        raise
    return path


def _mode(path: str) -> int:
    """The permissions of the file replaced, or rw-r--r-- (mkstemp's own are owner-only)."""
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        return 0o644


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
