"""Numbers, arrays and shapes as text, the same way everywhere.

Scalars print with 10 significant digits, so that 220.00000000000003 (float rounding in
100*2*1.1) reads 220 as in the book. Arrays print through NumPy with commas, so that a
printed array can be pasted back as an array literal. For a pipe an array prints whole on
unwrapped lines; for a terminal it is summarized past a thousand elements.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

WHOLE_WIDTH = 1 << 30  # NumPy's line width for a pipe: rows are never wrapped
# past this many elements (NumPy's own threshold) a pipe gets NumPy's summary, corners and
# '...', too: the book's 1000 x 100 batch printed whole is 100,000 numbers no reader wants
WHOLE_LIMIT = 1000


@dataclass(frozen=True)
class Style:
    """How values are written: unicode or ASCII, whole or summarized arrays."""

    unicode: bool = True
    whole: bool = True  # pipes: every element, no wrapping
    width: int = 100  # a terminal's width, for NumPy's line breaks when not whole

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

    if style.whole:
        return np.array2string(v, separator=", ", prefix=prefix,
                               threshold=sys.maxsize if v.size <= WHOLE_LIMIT else 1000,
                               max_line_width=WHOLE_WIDTH)
    return np.array2string(v, separator=", ", prefix=prefix, threshold=1000,
                           max_line_width=max(style.width - len(prefix), 40))


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
