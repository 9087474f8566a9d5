"""A Pratt parser for expressions, over the tokens of one statement.

It knows operators, comparisons, calls with declared keyword options, arrays, indexing
and `.T`, nothing about commands: the statement
grammar passes in the words an expression may not use (`keywords`) and the words that
end an expression inside a command (`stop_words`, as in `diff x*y wrt x`).
"""

from __future__ import annotations

import keyword

from bpshell.errors import ParseError
from bpshell.language.ast import (
    ArrayLit,
    Binary,
    Call,
    Expr,
    Index,
    Keyword,
    Name,
    Num,
    Transpose,
    Unary,
)
from bpshell.language.split import Pos
from bpshell.language.tokens import Token

_RESERVED_PY = set(keyword.kwlist) | set(keyword.softkwlist)
COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")
_KEYWORD_VALUES = {"True": True, "False": False, "None": None}
_INDEX_HELP = "indices are whole numbers or slices, as in x[0], x[-1], x[1:3] or x[:, 0]"


def check_name(tok: Token, what: str = "name") -> str:
    """Names become SymPy symbols and generated code: only plain identifiers pass."""
    name = tok.text
    if tok.kind != "NAME":
        raise ParseError(f"expected a {what}, found {describe(tok)}", *tok.pos)
    if name.startswith("_") and name != "_":
        raise ParseError(f"names may not start with an underscore: '{name}'", *tok.pos)
    if name in _RESERVED_PY and name not in ("match", "case", "type", "_"):
        raise ParseError(f"'{name}' is not part of the bpshell language", *tok.pos)
    return name


def describe(tok: Token) -> str:
    """A token as an error message names it."""
    if tok.kind == "END":
        return "the end of the statement"
    if tok.kind == "NUM":
        return f"the number {tok.text}"
    return f"'{tok.text}'"


class Parser:
    """A Pratt parser over one statement's tokens, with a bound on nesting depth."""

    BINARY = {"+": (10, 11), "-": (10, 11), "*": (20, 21), "/": (20, 21), "@": (20, 21),
              "**": (41, 40), "^": (41, 40), **{c: (5, 6) for c in COMPARISONS}}
    PREFIX_BP = 30

    def __init__(self, tokens: list[Token], max_depth: int = 200, *,
                 keywords: frozenset[str] = frozenset(),
                 stop_words: frozenset[str] = frozenset()):
        self.toks = tokens
        self.i = 0
        self.depth = 0
        self.max_depth = max_depth
        self.keywords = keywords  # command names: they only start a statement
        self.stop_words = stop_words  # end an expression inside a command

    # -- token helpers
    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def next(self) -> Token:
        t = self.toks[self.i]
        if t.kind != "END":
            self.i += 1
        return t

    def at(self, kind: str, text: str | None = None) -> bool:
        t = self.tok
        return t.kind == kind and (text is None or t.text == text)

    def accept(self, kind: str, text: str | None = None) -> Token | None:
        return self.next() if self.at(kind, text) else None

    def expect(self, kind: str, text: str, why: str = "") -> Token:
        if self.at(kind, text):
            return self.next()
        raise ParseError(f"expected '{text}'{why}, found {describe(self.tok)}", *self.tok.pos)

    def end(self) -> None:
        if not self.at("END"):
            t = self.tok
            if t.kind == "OP" and t.text == "=":
                raise ParseError("only a name can be assigned to: 'name = expression'", *t.pos)
            if t.kind == "OP" and t.text in ")]":
                raise ParseError(f"unmatched '{t.text}'", *t.pos)
            raise ParseError(f"unexpected {describe(t)}", *t.pos)

    # -- expressions
    def expr(self, min_bp: int = 0) -> Expr:
        self.depth += 1
        if self.depth > self.max_depth:
            raise ParseError(f"expression nested too deeply (more than {self.max_depth} "
                             "levels; BPSHELL_MAX_DEPTH or --max-depth raises the limit)",
                             *self.tok.pos)
        left = self.prefix()
        while True:
            t = self.tok
            if t.kind == "OP" and t.text in self.BINARY:
                lbp, rbp = self.BINARY[t.text]
                if lbp < min_bp:
                    break
                self.next()
                op = "**" if t.text == "^" else t.text
                right = self.expr(rbp)
                if op in COMPARISONS and self.tok.text in COMPARISONS:
                    raise ParseError("comparisons do not chain; write (a < b) * (b < c)",
                                     *self.tok.pos)
                left = Binary(op, left, right, t.pos)
            elif t.kind == "OP" and t.text == ".":
                self.next()
                attr = self.tok
                if attr.kind == "NAME" and attr.text == "T":
                    self.next()
                    left = Transpose(left, t.pos)
                else:
                    raise ParseError(_attribute_message(left, attr), *attr.pos)
            elif t.kind == "OP" and t.text == "(":
                raise ParseError("only a function name can be called", *t.pos)
            elif t.kind == "OP" and t.text == "[":
                self.next()
                left = Index(left, self.index_key(t), t.pos)
            elif t.kind in ("NUM", "NAME") and min_bp == 0 and t.text not in self.stop_words:
                raise ParseError(f"missing operator before {describe(t)}", *t.pos)
            else:
                break
        self.depth -= 1
        return left

    def prefix(self) -> Expr:
        t = self.next()
        if t.kind == "NUM":
            return Num(float(t.text), t.pos, t.text)
        if t.kind == "NAME":
            name = check_name(t)
            if self.at("OP", "("):
                return self.call(name, t.pos)
            if name in self.keywords:
                raise ParseError(f"'{name}' is a command and can only start a statement", *t.pos)
            return Name(name, t.pos)
        if t.kind == "OP":
            if t.text in ("-", "+"):
                operand = self.expr(self.PREFIX_BP)
                return Unary("neg" if t.text == "-" else "pos", operand, t.pos)
            if t.text == "(":
                inner = self.expr()
                self.expect("OP", ")", " to close the '(' at column %d" % t.pos[1])
                return inner
            if t.text == "[":
                return self.array(t)
            if t.text == "*" and (self.i < 2 or self.toks[self.i - 2].text in "(,="):
                raise ParseError("starred expressions are not part of the language", *t.pos)
        if t.kind == "END":
            raise ParseError("expected an expression, found the end of the statement", *t.pos)
        raise ParseError(f"expected an expression, found {describe(t)}", *t.pos)

    def call(self, name: str, pos: Pos) -> Call:
        """`f(a, b, axis=1)`: positional arguments, then keyword options (which op takes
        which is checked where the call is built, against the op's declaration)."""
        open_ = self.next()
        args: list[Expr] = []
        keywords: list[Keyword] = []
        if not self.at("OP", ")"):
            while True:
                if self.at("NAME") and self.toks[self.i + 1].text == "=":
                    kw = self.keyword()
                    if any(k.name == kw.name for k in keywords):
                        raise ParseError(f"'{kw.name}' is given twice", *kw.pos)
                    keywords.append(kw)
                elif keywords:
                    raise ParseError("an argument without a name cannot follow "
                                     f"'{keywords[-1].name}='", *self.tok.pos)
                else:
                    args.append(self.expr())
                if not self.accept("OP", ","):
                    break
        self.expect("OP", ")", f" to close the call of {name} at column {open_.pos[1]}")
        return Call(name, args, pos, tuple(keywords))

    def keyword(self) -> Keyword:
        """`axis=1`, `keepdims=True`: a plain value, read now and never evaluated."""
        tok = self.next()
        name = check_name(tok, "keyword")
        self.next()  # '='
        v = self.tok
        if v.kind == "NAME" and v.text in _KEYWORD_VALUES:
            self.next()
            return Keyword(name, _KEYWORD_VALUES[v.text], tok.pos, v.text)
        if v.kind == "NUM" or v.kind == "OP" and v.text == "-" and \
                self.toks[self.i + 1].kind == "NUM":
            value = self.number(f"'{name}'")
            return Keyword(name, value, tok.pos, ("-" if v.text == "-" else "") +
                           self.toks[self.i - 1].text)
        raise ParseError(f"'{name}=' takes a number, True, False or None, found "
                         f"{describe(v)}", *v.pos)

    def index_key(self, open_: Token) -> tuple:
        """The key of `x[...]` after its '[': whole numbers and slices, comma-separated."""
        key: list = []
        while True:
            key.append(self.index_item())
            if not self.accept("OP", ","):
                break
        self.expect("OP", "]", f" to close the index at column {open_.pos[1]}")
        return tuple(key)

    def index_item(self) -> int | slice:
        parts: list[int | None] = [self.index_number()]
        while len(parts) < 3 and self.accept("OP", ":"):
            parts.append(self.index_number())
        if len(parts) == 1:
            if parts[0] is None:
                raise ParseError(_INDEX_HELP, *self.tok.pos)
            return parts[0]
        if len(parts) == 3 and parts[2] == 0:
            raise ParseError("a slice's step cannot be 0", *self.toks[self.i - 1].pos)
        return slice(*parts)

    def index_number(self) -> int | None:
        """A signed whole number, or None where a slice leaves it out (`x[:2]`)."""
        t = self.tok
        if t.kind == "OP" and t.text in ":,]":
            return None
        if not (t.kind == "NUM" or t.kind == "OP" and t.text == "-"):
            raise ParseError(_INDEX_HELP, *t.pos)
        v = self.number("an index")
        if not abs(v) < 2**63 or v != int(v):
            raise ParseError(_INDEX_HELP, *t.pos)
        return int(v)

    def array(self, open_: Token) -> ArrayLit:
        items = []
        if not self.at("OP", "]"):
            while True:
                items.append(self.expr())
                if not self.accept("OP", ","):
                    break
                if self.at("OP", "]"):
                    break
        self.expect("OP", "]", f" to close the '[' at column {open_.pos[1]}")
        return ArrayLit(items, open_.pos)

    def name_list(self) -> list[str]:
        names = [check_name(self.next())]
        while self.accept("OP", ","):
            names.append(check_name(self.next()))
        return names

    def number(self, what: str) -> float:
        sign = -1.0 if self.accept("OP", "-") else 1.0
        t = self.next()
        if t.kind != "NUM":
            raise ParseError(f"expected a number for {what}, found {describe(t)}", *t.pos)
        return sign * float(t.text)

    def integer(self, what: str) -> int:
        t = self.tok
        v = self.number(what)
        if not abs(v) < 2**63 or v != int(v):
            raise ParseError(f"{what} must be a whole number below 2**63", *t.pos)
        return int(v)


def _attribute_message(left: Expr, attr: Token) -> str:
    """`.T` is the only attribute; for a Python habit (np.exp, y.backward) say what to type."""
    from bpshell.language.habits import method_hint
    from bpshell.language.printer import to_text

    hint = method_hint(to_text(left), attr.text) if attr.kind == "NAME" else None
    if hint is None:
        return "the only attribute is .T (transpose)"
    return f"the only attribute is .T (transpose); did you mean {hint}?"
