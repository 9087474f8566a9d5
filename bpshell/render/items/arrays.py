"""Small arrays whole, larger ones summarized: what fits a table cell or a header."""

from __future__ import annotations

from bpshell.render.format import Style, is_array, summary, value_text

SMALL_SIDE = 6  # up to 6x6 prints whole, as the book prints its small matrices


def small(v) -> bool:
    """An array a learner reads element by element: at most 2-D, at most 6 a side."""
    shape = getattr(v, "shape", ())
    return len(shape) <= 2 and all(n <= SMALL_SIDE for n in shape)


def brief(v, style: Style, room: int | None = None) -> str:
    """One line: a small array whole if it fits the room, else its summary."""
    if not is_array(v) or not small(v):
        return summary(v, style)
    import numpy as np

    text = np.array2string(v, separator=", ", max_line_width=1 << 30).replace("\n", "")
    limit = style.width if room is None else room
    return text if len(text) <= limit or style.whole else summary(v, style)


def cell(v, style: Style) -> str:
    """For a table cell: a small array whole, row under row; else its summary."""
    if not is_array(v) or not small(v):
        return summary(v, style)
    text = value_text(v, style)
    widest = max(len(row) for row in text.split("\n"))
    return text if widest <= max(style.width // 3, 30) or style.whole else summary(v, style)
