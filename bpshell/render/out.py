"""Where results go: plain text or rich on a stream, with a transcript for `export`.

Output decides the drawing once (plain or rich) and keeps every item it showed, so that
`export FILE.svg` can replay the session's output through rich's recording console.
"""

from __future__ import annotations

import io
import os
import sys
from collections import deque
from typing import TextIO

from bpshell.errors import OutputClosed
from bpshell.records import Value
from bpshell.render.doc import DIM, ERR, Item, line
from bpshell.render.errors import error_items
from bpshell.render.format import PRINT_LIMIT, Style
from bpshell.render.items import items_for
from bpshell.render.text import to_text

TRANSCRIPT_ITEMS = 5000  # what `export` can write: the last this many items
EXPORT_WIDTH = 100  # columns of an exported picture when no terminal says otherwise


class Options(Value):
    """How output is drawn: decided once from the flags, the environment and the stream."""

    __slots__ = ("rich", "color", "unicode", "terminal", "print_limit")

    rich: bool  # draw through rich (a terminal, or --color always)
    color: bool
    unicode: bool
    terminal: bool  # the stream is a terminal: summarize big arrays, wrap lines
    print_limit: float  # elements of a value printed whole

    def __init__(self, rich: bool = False, color: bool = False, unicode: bool = True,
                 terminal: bool = False, print_limit: float = PRINT_LIMIT):
        self.rich = rich
        self.color = color
        self.unicode = unicode
        self.terminal = terminal
        self.print_limit = print_limit


def decide(color: str, stream: TextIO, environ=None, ascii_only: bool = False,
           print_limit: float = PRINT_LIMIT) -> Options:
    """--color auto|always|never, NO_COLOR and whether the stream is a terminal."""
    from bpshell.render.format import unicode_ok

    env = os.environ if environ is None else environ
    tty = _isatty(stream)
    use_rich = color == "always" or (color == "auto" and tty)
    colors = color == "always" or (color == "auto" and tty and not env.get("NO_COLOR"))
    uni = not ascii_only and unicode_ok(stream, env)
    return Options(rich=use_rich, color=colors, unicode=uni, terminal=tty,
                   print_limit=print_limit)


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class Output:
    """Shows results on out (errors on err), plain or rich, and records what it showed."""

    def __init__(self, options: Options, out: TextIO | None = None, err: TextIO | None = None):
        self.options = options
        self.out = out if out is not None else sys.stdout
        self.err = err if err is not None else sys.stderr
        self.transcript: deque[Item] = deque(maxlen=TRANSCRIPT_ITEMS)
        self._console = None
        self.before_output = None  # called before anything is written (clears progress)
        width = self._width()
        self.style = Style(unicode=options.unicode, whole=not options.terminal, width=width,
                           print_limit=options.print_limit)

    # ------------------------------------------------------------ showing
    def show(self, result: dict) -> None:
        if result.get("kind") == "set" and result.get("ok", True):
            self.reconfigure(result.get("changed") or {})
        self.items(items_for(result, self.style))

    def reconfigure(self, changed: dict) -> None:
        """`set color ...` and `set ascii ...` take effect from the next result on."""
        if "color" in changed:
            tty = self.options.terminal
            mode = changed["color"]
            self.options.rich = mode == "always" or (mode == "auto" and tty)
            self.options.color = mode == "always" or (
                mode == "auto" and tty and not os.environ.get("NO_COLOR"))
            self._console = None
        if "ascii" in changed:
            from bpshell.render.format import unicode_ok

            self.options.unicode = not changed["ascii"] and unicode_ok(self.out)
            self._console = None
        self.style = Style(unicode=self.options.unicode, whole=self.style.whole,
                           width=self.style.width)

    def items(self, items: list[Item], record: bool = True, stream: TextIO | None = None,
              plain: bool = False) -> None:
        if record:
            self.transcript.extend(items)
        if not items:
            return
        if self.before_output is not None:
            self.before_output()
        target = stream if stream is not None else self.out
        try:
            if self.options.rich and not plain and target is self.out:
                console = self.console()
                from bpshell.render.rich_backend import renderable

                for item in items:
                    console.print(renderable(item, self.options.unicode))
            else:
                target.write(to_text(items, self.options.unicode))
                target.flush()
        except OSError as e:  # the reader went away (| head), a full disk: stop the run
            raise OutputClosed(e) from None

    def render(self, items: list[Item]) -> str:
        """Items as the terminal would show them (ANSI codes when drawn by rich), unwritten."""
        if not self.options.rich:
            return to_text(items, self.options.unicode)
        from rich.console import Console

        from bpshell.render.rich_backend import renderable

        buf = io.StringIO()
        console = Console(file=buf if self.options.unicode else _AsciiStream(buf),
                          width=self.style.width, force_terminal=True,
                          highlight=False, no_color=not self.options.color,
                          color_system="auto" if self.options.color else None)
        for item in items:
            console.print(renderable(item, self.options.unicode))
        return buf.getvalue()

    def echo(self, source: str, show: bool = True) -> None:
        """The statement as typed, `>>> x = 2`, before its result (--echo, and transcripts)."""
        item = line((">>> ", DIM), source.replace("\n", "\n... "))
        if show:
            self.items([item])
        else:
            self.transcript.append(item)

    def error(self, result: dict, source: str | None, filename: str | None,
              to_err: bool = True) -> None:
        """FILE:LINE:COL: error: message, the line and a caret: on stderr in scripts."""
        items = error_items(result, self.style, source, filename)
        if to_err:
            self.transcript.extend(items)
            self.items(items, record=False, stream=self.err, plain=True)
        else:
            self.items(items)

    def note(self, text: str, to_err: bool = False) -> None:
        items = [line((text, ERR if to_err else DIM))]
        self.items(items, stream=self.err if to_err else None, plain=to_err)

    # ------------------------------------------------------------ rich
    def console(self):
        if self._console is None:
            self._console = make_console(self.options, self.out)
        return self._console

    def _width(self) -> int:
        if not self.options.terminal:
            return EXPORT_WIDTH
        try:
            return os.get_terminal_size(self.out.fileno()).columns
        except (OSError, AttributeError, ValueError, io.UnsupportedOperation):
            return EXPORT_WIDTH

    # ------------------------------------------------------------ export
    def export(self, path: str) -> None:
        """Write the transcript to path whole or not at all (raises FileError)."""
        from bpshell.fileio import write_atomic

        write_atomic(path, self.export_text(path))

    def export_text(self, path: str) -> str:
        """The transcript as path's kind of file: .svg and .html through rich, .txt as shown.

        """
        items = list(self.transcript)
        if path.endswith(".txt") and not self.options.rich:
            return to_text(items, self.options.unicode)
        from rich.console import Console

        from bpshell.render.rich_backend import renderable

        width = self._width() if self.options.terminal else EXPORT_WIDTH
        rec = Console(record=True, file=io.StringIO(), width=width, force_terminal=True,
                      color_system="truecolor", highlight=False)
        for item in items:
            rec.print(renderable(item, self.options.unicode))
        if path.endswith(".svg"):
            return rec.export_svg(title="bpshell")
        if path.endswith(".html"):
            return rec.export_html()
        return rec.export_text()


def make_console(options: Options, stream: TextIO):
    """A rich Console for stream: never wraps a pipe's lines, colours only when wanted."""
    from rich.console import Console

    kwargs: dict = {"file": _AsciiStream(stream) if not options.unicode else stream,
                    "highlight": False, "no_color": not options.color,
                    "color_system": "auto" if options.color else None,
                    "force_terminal": options.color or None}
    if not options.terminal:
        kwargs["width"] = 100_000  # a pipe: a value prints whole, never wrapped
        kwargs["soft_wrap"] = True
    return Console(**kwargs)


class _AsciiStream:
    """A stream that tells rich its encoding is ASCII, so it draws ASCII boxes and guides."""

    encoding = "ascii"

    def __init__(self, stream: TextIO):
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return _isatty(self._stream)

    def fileno(self) -> int:
        return self._stream.fileno()


__all__ = ["Options", "Output", "decide", "make_console", "DIM"]
