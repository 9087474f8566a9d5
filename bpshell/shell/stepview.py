"""`explain NAME step` in a terminal: a small full-screen view, redrawn in place.

Enter, Space, Right (or n, j, Down) show the next node; Left (or p, b, k, Up) the one
before; v switches between the book's picture and the tree; q, Esc or Ctrl-C leave. Any
other key leaves too and is not lost: it becomes the start of the next line at the
prompt, so a statement typed at the wrong moment arrives whole instead of being taken as
"next".

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
VIEW_KEYS = ("v",)
VIEWS = ("draw", "tree")  # the book's picture where it fits, else the tree; or the tree
HELP = "Enter/Space/→ next · ← back · v picture/tree · q leave"
HELP_ASCII = "Enter/Space/-> next, <- back, v picture/tree, q leave"
SHORT = "Enter next · ← back · v view · q leave"  # for a narrow terminal
SHORT_ASCII = "Enter next, <- back, v view, q leave"


class StepView:
    """Shows frames 0..count-1; `run()` returns the text of a key that left it, or ""."""

    def __init__(self, count: int, frame: Callable[[int, Style, int, str], list],
                 unicode: bool = True, color: bool = True, **app_kwargs):
        self.count = count
        self.frame = frame  # frame(k, style, rows, view) -> items
        self.unicode = unicode
        self.color = color
        self.k = 0
        self.view = VIEWS[0]
        self.drawn: dict[tuple, str] = {}  # a frame is laid out once per size and view
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
        for key in VIEW_KEYS:
            kb.add(key)(lambda event: self.switch())

        @kb.add(Keys.Any)
        def _(event) -> None:
            """Any other key leaves, and what it typed goes on to the prompt."""
            text = event.data if event.data.isprintable() else ""
            event.app.exit(result=text)

        return kb

    def switch(self) -> None:
        self.view = VIEWS[(VIEWS.index(self.view) + 1) % len(VIEWS)]

    def _text(self) -> ANSI:
        size = get_app().output.get_size()
        rows, cols = size.rows, max(size.columns, 20)
        key = (self.k, self.view, rows, cols)
        if key not in self.drawn:
            style = Style(unicode=self.unicode, whole=False, width=cols - 1)
            items = self.frame(self.k, style, rows - 2, self.view)
            self.drawn[key] = to_ansi(items, cols, self.unicode, self.color)
        return ANSI(self.drawn[key] + f"\n\x1b[2m  {self.footer(cols - 3)}\x1b[0m")

    def footer(self, room: int) -> str:
        """The keys, in the short form when the long one would be cut off."""
        foot = HELP if self.unicode else HELP_ASCII
        if len(foot) > room:
            foot = SHORT if self.unicode else SHORT_ASCII
        return foot


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
