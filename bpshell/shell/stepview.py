"""`explain NAME step` in a terminal: a small full-screen view, redrawn in place.

Enter, Space, Right (or n, j, Down) show the next node; Left (or p, b, k, Up) the one
before; q, Esc or Ctrl-C leave. Any other key leaves too and is not lost: it becomes the
start of the next line at the prompt, so a statement typed at the wrong moment arrives
whole instead of being taken as "next".

A frame is drawn through rich at the terminal's size into ANSI text, which
prompt_toolkit shows as it is; the items come from render/items/steps.py, the same that
a pipe prints one after another.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from prompt_toolkit.application import Application
from prompt_toolkit.application.current import get_app
from prompt_toolkit.formatted_text import ANSI
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.keys import Keys
from prompt_toolkit.layout import Layout, Window
from prompt_toolkit.layout.controls import FormattedTextControl

from bpshell.render.format import Style

NEXT_KEYS = ("enter", "c-j", " ", "right", "n", "j", "down")
BACK_KEYS = ("left", "p", "b", "k", "up")
LEAVE_KEYS = ("q", "escape", "c-c", "c-d")
HELP = "Enter/Space/→ next · ← back · q leave"
HELP_ASCII = "Enter/Space/-> next, <- back, q leave"


class StepView:
    """Shows frames 0..count-1; `run()` returns the text of a key that left it, or ""."""

    def __init__(self, count: int, frame: Callable[[int, Style, int], list],
                 unicode: bool = True, color: bool = True, **app_kwargs):
        self.count = count
        self.frame = frame  # frame(k, style, rows) -> items
        self.unicode = unicode
        self.color = color
        self.k = 0
        self.app = Application(layout=Layout(Window(FormattedTextControl(self._text),
                                                    wrap_lines=False)),
                               key_bindings=self._keys(), full_screen=True, **app_kwargs)

    def run(self) -> str:
        return self.app.run() or ""

    def _keys(self) -> KeyBindings:
        kb = KeyBindings()

        def step(by: int):
            def handler(event) -> None:
                if self.k + by >= self.count:
                    event.app.exit(result="")  # past the last frame: done
                else:
                    self.k = max(0, self.k + by)
            return handler

        for key in NEXT_KEYS:
            kb.add(key)(step(1))
        for key in BACK_KEYS:
            kb.add(key)(step(-1))
        for key in LEAVE_KEYS:
            kb.add(key)(lambda event: event.app.exit(result=""))

        @kb.add(Keys.Any)
        def _(event) -> None:
            """Any other key leaves, and what it typed goes on to the prompt."""
            text = event.data if event.data.isprintable() else ""
            event.app.exit(result=text)

        return kb

    def _text(self) -> ANSI:
        size = get_app().output.get_size()
        rows, cols = size.rows, max(size.columns, 20)
        style = Style(unicode=self.unicode, whole=False, width=cols - 1)
        items = self.frame(self.k, style, rows - 2)
        foot = HELP if self.unicode else HELP_ASCII
        return ANSI(to_ansi(items, cols, self.unicode, self.color) +
                    f"\n\x1b[2m  {foot}\x1b[0m")


def to_ansi(items: list, width: int, unicode: bool, color: bool) -> str:
    """Items drawn by rich at this width, as ANSI text (plain when colour is off)."""
    from rich.console import Console

    from bpshell.render.rich_backend import renderable

    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=True, highlight=False,
                      color_system="standard" if color else None, no_color=not color,
                      legacy_windows=False)
    for item in items:
        console.print(renderable(item, unicode))
    return buf.getvalue().rstrip("\n")
