"""A pager for output longer than the terminal, as `more` does it: the text stays on screen.

A screenful is printed, then one line asks for a key: Space the next screenful, Enter
one more line, q (or Esc, Ctrl-C) stops and the rest is not printed. Only the shell uses
it; a pipe gets every line.
"""

from __future__ import annotations

from typing import TextIO

from prompt_toolkit.application import Application
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.keys import Keys
from prompt_toolkit.layout import Layout, Window
from prompt_toolkit.layout.controls import FormattedTextControl

MORE = "-- more: Space next page, Enter next line, q stop --"


def read_key(message: str, **app_kwargs) -> str:
    """One key, with a one-line message erased after: 'space', 'enter' or 'q'."""
    kb = KeyBindings()
    answers = {"enter": "enter", "q": "q", "escape": "q", "c-c": "q", "c-d": "q",
               Keys.Any: "space"}  # any other key: the next page
    for key, answer in answers.items():
        kb.add(key)(lambda event, a=answer: event.app.exit(result=a))
    app = Application(layout=Layout(Window(FormattedTextControl([("reverse", message)]),
                                           height=1)),
                      key_bindings=kb, full_screen=False, erase_when_done=True, **app_kwargs)
    try:
        return app.run() or "q"
    except (EOFError, KeyboardInterrupt):
        return "q"


def page(text: str, stream: TextIO, rows: int, ask=None) -> int:
    """Write text to stream a screen at a time; returns the number of lines written."""
    ask = ask or (lambda: read_key(MORE))
    lines = text.rstrip("\n").split("\n")
    height = max(rows - 1, 3)  # the last row is the question
    shown = 0
    want = height
    while shown < len(lines):
        chunk = lines[shown:shown + want]
        stream.write("".join(s + "\n" for s in chunk))
        stream.flush()
        shown += len(chunk)
        if shown >= len(lines):
            break
        key = ask()
        if key == "q":
            break
        want = 1 if key == "enter" else height
    return shown
