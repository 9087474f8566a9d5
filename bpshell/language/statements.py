"""One statement, parsed: a command (read by its declared grammar), a `def`, an assignment,
or an expression alone.

The commands are passed in (word -> an object with `.name` and `.grammar`), so this stage
knows the shape of a grammar but no command: the command table lives above it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bpshell.errors import ParseError
from bpshell.language.grammar import Expr, is_raw, option_words, parse_arguments, parse_raw
from bpshell.language.parser import Parser, check_name
from bpshell.language.split import Chunk
from bpshell.language.tokens import tokenize
from bpshell.ops.table import FOLDED
from bpshell.records import Value

Pos = tuple[int, int]


class Stmt(Value):
    """A parsed statement: its command's name, its arguments by grammar key, its text."""

    __slots__ = ("kind", "pos", "args", "text")

    kind: str
    pos: Pos
    args: dict[str, Any]
    text: str

    def __init__(self, kind: str, pos: Pos, args: dict[str, Any] | None = None,
                 text: str = ""):
        self.kind = kind
        self.pos = pos
        self.args = {} if args is None else args
        self.text = text


_STOP_CACHE: dict[int, frozenset[str]] = {}


def _stop_words(commands: Mapping) -> frozenset[str]:
    """Words that end an expression inside a command (`diff x*y wrt x`)."""
    key = id(commands)
    words = _STOP_CACHE.get(key)
    if words is None:
        words = frozenset(w for c in commands.values() for w in option_words(c.grammar))
        _STOP_CACHE[key] = words
    return words


def parse_statement(chunk: Chunk, commands: Mapping, max_depth: int = 200) -> Stmt:
    """Parse one statement chunk with the given commands' grammars."""
    pos = (chunk.line, chunk.column)
    if chunk.open_bracket is not None:
        raise ParseError("this bracket is never closed", *chunk.open_bracket)
    text = chunk.text.strip()
    first = chunk.text.lstrip().split(None, 1)
    word = first[0] if first else ""
    cmd = commands.get(word)
    if cmd is not None and is_raw(cmd.grammar):
        # file names and help topics are taken as written, never tokenized as expressions
        rest = first[1] if len(first) > 1 else ""
        if rest.strip().startswith("="):
            raise ParseError(f"'{word}' is a command; choose another name", *pos)
        return Stmt(cmd.name, pos, parse_raw(cmd.grammar, rest), text)
    p = Parser(tokenize(chunk), max_depth, keywords=frozenset(commands),
               stop_words=_stop_words(commands))
    stmt = _statement(p, pos, commands)
    stmt.text = text
    return stmt


def _statement(p: Parser, pos: Pos, commands: Mapping) -> Stmt:
    t = p.tok
    nxt = p.toks[p.i + 1] if p.i + 1 < len(p.toks) else t
    if t.kind == "NAME" and t.text in commands and not (
            t.text in FOLDED and nxt.kind == "OP" and nxt.text == "("):  # grad(L, W) * 2
        if nxt.kind == "OP" and nxt.text == "=":
            raise ParseError(f"'{t.text}' is a command; choose another name", *t.pos)
        if nxt.kind == "OP" and nxt.text == "(" and not _takes_expression(commands[t.text]):
            raise ParseError(_called_like_a_function(p, t.text), *nxt.pos)
        p.next()
        cmd = commands[t.text]
        if is_raw(cmd.grammar):  # `save.bp`: the word runs into what follows it
            raise ParseError(f"'{t.text}' is a command: put a space after it, as in "
                             f"'{t.text} {cmd.grammar[0].meta}'", *nxt.pos)
        return Stmt(cmd.name, t.pos, parse_arguments(p, t.text, cmd.grammar))
    if t.kind == "NAME" and nxt.kind == "OP" and nxt.text == "=":
        name = check_name(t)
        if name == "_":
            raise ParseError("'_' holds the last value and cannot be assigned", *t.pos)
        p.next()
        p.next()
        expr = p.expr()
        p.end()
        return Stmt("assign", t.pos, {"name": name, "expr": expr})
    expr = p.expr()
    if p.at("OP", "="):
        raise ParseError("only a name can be assigned to: 'name = expression'", *p.tok.pos)
    if p.at("OP", ":"):
        raise ParseError("':' is not part of the language", *p.tok.pos)
    p.end()
    return Stmt("value", pos, {"expr": expr})


def _takes_expression(cmd) -> bool:
    """Whether a command starts with an expression (`diff (a + b)*x wrt x`)."""
    return bool(cmd.grammar) and cmd.grammar[0].word is None and \
        isinstance(cmd.grammar[0], Expr)


def _called_like_a_function(p: Parser, word: str) -> str:
    """`grad(price)`: a command is a word, with its arguments after a space."""
    inner, depth = [], 0
    for tok in p.toks[p.i + 2:]:
        if tok.kind == "END" or (tok.text == ")" and depth == 0):
            break
        depth += {"(": 1, ")": -1}.get(tok.text, 0) if tok.kind == "OP" else 0
        inner.append(tok.text)
    args = " ".join(inner).replace(" ,", ",") or "NAME"
    return (f"'{word}' is a command, not a function: write it with a space, "
            f"'{word} {args}'")
