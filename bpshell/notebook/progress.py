"""`fit` in a notebook: one output updated in place, and the losses kept for the curve.

A terminal progress bar redraws itself with control codes, which a notebook shows as
garbage; here an HTML <progress> element is replaced through a display handle, at most
every UPDATE_SECONDS, so a fast fit does not flood the browser with messages.
"""

from __future__ import annotations

import time
from html import escape

UPDATE_SECONDS = 0.2
MAX_POINTS = 2000  # losses kept for the curve; a longer fit keeps every k-th step


class NotebookProgress:
    """Session.progress for a notebook: called after each step of a fit."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget the last fit (called before each statement of a cell)."""
        self.handle = None
        self.points: list[tuple[int, float]] = []
        self.stride = 1
        self.shown_at = 0.0

    def __call__(self, step: int, total: int, loss: float, every: int = 0) -> None:
        from IPython.display import display

        if self.handle is None or step == 1:
            self.reset()
            self.stride = max(1, total // MAX_POINTS)
            self.handle = display(bar(step, total, loss), raw=True, display_id=True)
            self.shown_at = time.monotonic()
        if step % self.stride == 0 or step == total:
            self.points.append((step, loss))
        now = time.monotonic()
        if now - self.shown_at >= UPDATE_SECONDS or step == total:
            self.handle.update(bar(step, total, loss), raw=True)
            self.shown_at = now


def bar(step: int, total: int, loss: float) -> dict:
    """The progress of a fit as HTML with a plain-text fallback."""
    text = f"fit: step {step}/{total}, loss {loss:.6g}"
    html = (f'<div style="font-family:monospace">fit <progress value="{step}" '
            f'max="{total}" style="width:20em;vertical-align:middle"></progress> '
            f"{escape(text[5:])}</div>")
    return {"text/html": html, "text/plain": text}
