"""Tokens of one statement: numbers, names, operators, each with its line and column.

Any character outside the language stops here, with a message that says what the
language offers instead.
"""

from __future__ import annotations

import re

from bpshell.errors import ParseError
from bpshell.language.split import Chunk, Pos
from bpshell.records import Value


class Token(Value):
    __slots__ = ("kind", "text", "pos")

    kind: str  # NUM, NAME, OP, END
    text: str
    pos: Pos

    def __init__(self, kind: str, text: str, pos: Pos):
        self.kind = kind
        self.text = text
        self.pos = pos


_TOKEN = re.compile(r"""
    (?P<ws>[ \t\r\f\v]+)
  | (?P<nl>\n)
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\*\*|==|!=|<=|>=|[-+*/^@()\[\],=.:<>])
""", re.VERBOSE)


def tokenize(chunk: Chunk) -> list[Token]:
    """Tokens of one statement; any character outside the language is an error at its column."""
    text, line = chunk.text, chunk.line
    line_start = -chunk.column + 1  # offset such that column = i - line_start + 1
    out: list[Token] = []
    i, n = 0, len(text)
    match = _TOKEN.match
    while i < n:
        m = match(text, i)
        if m is None:
            raise ParseError(_bad_char(text[i]), line, i - line_start + 1)
        kind = m.lastgroup
        if kind == "nl":
            line, line_start = line + 1, m.end()
        elif kind != "ws":
            pos = (line, i - line_start + 1)
            if kind == "num":
                j = m.end()
                if j < n and (text[j].isalpha() or text[j] == "_"):
                    raise ParseError(f"a number cannot run into a name: "
                                     f"'{text[i:j + 1]}'", *pos)
                out.append(Token("NUM", m.group(), pos))
            elif kind == "name":
                if m.group().startswith("_") and m.group() != "_":
                    # flagged here, before anything later on the line, so the error points
                    # at `__import__`, not at the string after it
                    raise ParseError(f"names may not start with an underscore: "
                                     f"'{m.group()}'", *pos)
                out.append(Token("NAME", m.group(), pos))
            else:
                out.append(Token("OP", m.group(), pos))
        i = m.end()
    out.append(Token("END", "", (line, i - line_start + 1)))
    return out


def _bad_char(ch: str) -> str:
    if ch in "'\"":
        return "strings are not part of the bpshell language"
    if ch == "`":
        return "backquotes are not part of the bpshell language"
    if ch in "{}":
        return "braces are not part of the bpshell language; arrays are written [1, 2]"
    if ord(ch) > 127:
        return (f"unexpected character '{ch}' (U+{ord(ch):04X}); "
                "bpshell reads plain ASCII names and operators")
    if ch == "\x00":
        return "unexpected NUL byte"
    if not ch.isprintable():
        return f"unexpected control character U+{ord(ch):04X}"
    return f"unexpected character '{ch}'"
