"""Numbers, arrays and shapes as text, the same way everywhere.

Scalars print with 10 significant digits, so that 220.00000000000003 (float rounding in
100*2*1.1) reads 220 as in the book. Arrays print through NumPy with commas, so that a
printed array can be pasted back as an array literal. For a pipe an array prints whole on
unwrapped lines, up to the print limit (`max_print_elements`); for a terminal it is
summarized past a thousand elements. Past the print limit a value is summarized
everywhere, so that showing a result stays within the statement's bounds: NumPy's
printing is quadratic in the length of a line and of the whole text (100,000 elements
take about 10 s, 9 million would take days). --json writes every element up to a million
(JSON_WHOLE, or the print limit if that is higher).
"""

from __future__ import annotations

import os
import re
import sys

from bpshell.records import FrozenValue

WHOLE_WIDTH = 1 << 30  # NumPy's line width for a pipe: rows are never wrapped
# past this many elements (NumPy's own threshold) a pipe gets NumPy's summary, corners and
# '...', too: the book's 1000 x 100 batch printed whole is 100,000 numbers no reader wants
PRINT_LIMIT = 1000  # elements of one value printed whole (Limits.max_print_elements)
WHOLE_LIMIT = PRINT_LIMIT
TERMINAL_THRESHOLD = 1000  # a terminal summarizes past this many elements, as NumPy does


class Style(FrozenValue):
    """How values are written: unicode or ASCII, whole or summarized arrays."""

    __slots__ = ("unicode", "whole", "width", "print_limit")

    unicode: bool
    whole: bool  # pipes: every element, no wrapping
    width: int  # a terminal's width, for NumPy's line breaks when not whole
    print_limit: float  # elements printed whole; a summary beyond (inf: all)

    def __init__(self, unicode: bool = True, whole: bool = True, width: int = 100,
                 print_limit: float = PRINT_LIMIT):
        put = object.__setattr__
        put(self, "unicode", unicode)
        put(self, "whole", whole)
        put(self, "width", width)
        put(self, "print_limit", print_limit)

    def sym(self, uni: str, ascii_: str) -> str:
        return uni if self.unicode else ascii_

    def d(self, of: str, wrt: str) -> str:
        """∂of/∂wrt, or `d of/d wrt` in ASCII."""
        wrt = wrt if _atomic(wrt) else f"({wrt})"
        if self.unicode:
            return f"∂{of}/∂{wrt}"
        return f"d {of}/d {wrt}" if of else f"d/d {wrt}"


def _atomic(text: str) -> bool:
    return text.replace("_", "a").isalnum()


def number(v: float) -> str:
    """A scalar with 10 significant digits: 2.2, 110, 1.798441459, 1e-07, inf, nan."""
    v = float(v)
    if v == 0:
        return "0"
    return f"{v:.10g}"


def shape_text(shape) -> str:
    return "x".join(str(n) for n in shape) if shape else "scalar"


def is_array(v) -> bool:
    return getattr(v, "ndim", 0) > 0


def value_text(v, style: Style, prefix: str = "") -> str:
    """A value in full (scalars, or arrays as NumPy prints them); prefix aligns later rows."""
    if v is None:
        return "?"
    if isinstance(v, str):
        return v
    if not is_array(v):
        return number(v)
    import numpy as np

    if style.whole and v.size <= style.print_limit:
        return _whole(v, prefix)
    if style.whole:  # over the print limit: the summary, on unwrapped lines
        return np.array2string(v, separator=", ", prefix=prefix, threshold=0,
                               max_line_width=WHOLE_WIDTH)
    return np.array2string(v, separator=", ", prefix=prefix,
                           threshold=min(TERMINAL_THRESHOLD, style.print_limit),
                           max_line_width=max(style.width - len(prefix), 40))


def _whole(v, prefix: str) -> str:
    """Every element, each row on one line, in time linear in the row's length.

    NumPy builds a row by adding to one string, which is quadratic in its length; with
    short lines it is not, so rows are printed wrapped and joined again. A wrapped row
    goes on after a comma, a newline and exactly the indent of its elements (a new row
    starts after `],`), so putting back `, ` gives NumPy's own unwrapped text.
    """
    import numpy as np

    indent = len(prefix) + v.ndim
    text = np.array2string(v, separator=", ", prefix=prefix, threshold=sys.maxsize,
                           max_line_width=indent + 200)
    return re.sub(r"(?<!\]),\n" + " " * indent, ", ", text)


def print_limit_note(v, style: Style) -> str | None:
    """What a summarized value's line says: that it was cut short, and how to see all."""
    size = getattr(v, "size", 1)
    if size <= style.print_limit:
        return None
    if not style.whole and style.print_limit >= TERMINAL_THRESHOLD:
        return None  # a terminal's usual summary, as NumPy's: a pipe shows every element
    return (f"summarized: over the print limit of {style.print_limit:,} elements "
            "(--max-print-elements inf prints all)")


def summary(v, style: Style) -> str:
    """A short form for one line of a tree: small arrays whole, others by shape and range."""
    if v is None:
        return "?"
    if isinstance(v, str):
        return v
    if not is_array(v):
        return number(v)
    import numpy as np

    if v.size <= 6:
        return np.array2string(v, separator=", ", max_line_width=WHOLE_WIDTH).replace("\n", "")
    with np.errstate(all="ignore"):
        lo, mean, hi = np.min(v), np.mean(v), np.max(v)
    return (f"{shape_text(v.shape)} array, min {_short(lo)} mean {_short(mean)} "
            f"max {_short(hi)}")


def _short(v) -> str:
    v = float(v)
    return "0" if v == 0 else f"{v:.4g}"


def unicode_ok(stream=None, environ=None) -> bool:
    """Whether the output can show unicode: the locale says UTF-8 and so does the stream.

    The locale (LC_ALL, then LC_CTYPE, then LANG) decides when set, because Python itself
    switches a C locale to UTF-8 and the stream's encoding alone would say yes.
    """
    env = os.environ if environ is None else environ
    for var in ("LC_ALL", "LC_CTYPE", "LANG"):
        val = env.get(var)
        if val:
            low = val.lower().replace("-", "")
            if "utf8" not in low:
                return False
            break
    enc = getattr(stream if stream is not None else sys.stdout, "encoding", None) or "utf-8"
    return enc.lower().replace("-", "").startswith("utf")
