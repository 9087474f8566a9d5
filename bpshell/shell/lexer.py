"""Syntax highlighting while typing: commands, functions, names, numbers, comments.

A regular-expression scan, not the parser: it must colour half-typed, invalid input
without raising, a line at a time.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from prompt_toolkit.document import Document
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.lexers import Lexer

from bpshell.commands.registry import path_words, table, words
from bpshell.ops.table import CONSTRUCTORS, FOLDED, OPERATOR_ONLY, OPS

_TOKEN = re.compile(r"""
    (?P<comment>\#.*)
  | (?P<number>(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<space>\s+)
  | (?P<op>\*\*|==|!=|<=|>=|[-+*/^@=.,;:()\[\]<>])
  | (?P<other>.)
""", re.VERBOSE)

_OPTIONS = {w for c in table().values() for w in c.options}
FUNCTIONS = {n for n in OPS if n not in OPERATOR_ONLY} | set(CONSTRUCTORS) | set(FOLDED)

STYLE = {
    "bp.command": "bold ansimagenta",
    "bp.keyword": "ansimagenta",
    "bp.function": "ansicyan",
    "bp.name": "",
    "bp.known": "ansigreen",
    "bp.number": "ansiyellow",
    "bp.comment": "italic ansibrightblack",
    "bp.op": "ansibrightblack",
    "bp.path": "underline",
    "bp.bad": "bg:ansired ansiwhite",
    "validation-toolbar": "ansired",  # the error under the line, not a coloured bar
}


class BpLexer(Lexer):
    """Colours a line from its tokens; names the session knows are shown as known."""

    def __init__(self, session=None):
        self.session = session

    def lex_document(self, document: Document) -> Callable[[int], StyleAndTextTuples]:
        lines = document.lines
        known = set(self.session.bindings) | set(self.session.funcs) if self.session else set()

        def get_line(i: int) -> StyleAndTextTuples:
            return highlight(lines[i], known) if i < len(lines) else []

        return get_line


def highlight(text: str, known: set[str] = frozenset()) -> StyleAndTextTuples:
    """(style, text) pairs for one line of input."""
    out: StyleAndTextTuples = []
    at_start = True  # at the start of a statement
    path_rest = False
    for m in _TOKEN.finditer(text):
        kind, tok = m.lastgroup, m.group()
        if path_rest and kind != "comment":
            out.append(("class:bp.path", text[m.start():]))
            break
        style = ""
        if kind == "comment":
            style = "class:bp.comment"
        elif kind == "number":
            style = "class:bp.number"
        elif kind == "word":
            call = tok in FOLDED and text[m.end():m.end() + 1] == "("  # grad(L, W)
            if at_start and tok in words() and not call:
                style = "class:bp.command"
                path_rest = tok in path_words()
            elif tok in FUNCTIONS:
                style = "class:bp.function"
            elif tok in known or tok == "_":
                style = "class:bp.known"
            elif tok in _OPTIONS:
                style = "class:bp.keyword"
            else:
                style = "class:bp.name"
        elif kind == "op":
            style = "class:bp.op"
        elif kind == "other":
            style = "class:bp.bad"
        out.append((style, tok))
        if kind == "op" and tok == ";":
            at_start = True
        elif kind not in ("space",):
            at_start = False
    return out
