"""The grammar of a command, declared as parts, and the one parser that reads any of them.

A command's declaration lists its parts (`Target()`, `Names("wrt")`, `Expr("with")`,
`Number("lr", required=True)`, ...). The statement parser, `help`, the completer and the
shell's lexer all read these same parts, so a command's syntax is written down once.
Positional parts (no keyword) come first, in order; keyword parts follow in any order.
"""

from __future__ import annotations

from bpshell.errors import ParseError
from bpshell.language.parser import Parser, check_name, describe
from bpshell.records import Frozen


class Part(Frozen):
    """One piece of a command's syntax; `word` introduces it (None: positional).

    A part is frozen once made. Its options are class attributes with their defaults,
    which a subclass overrides or adds to; the constructor takes the key and the word
    positionally and any option by name. (Plain classes rather than dataclasses: making
    the fourteen dataclasses took about 6 ms of every start-up.)
    """

    key: str = ""
    word: str | None = None
    required: bool = False
    meta: str = ""  # how help writes its value: NAME, X, EXPR, FILE
    why: str = ""  # the error when a required part is missing
    doc: str = ""  # what it does, for `help COMMAND` and `help WORD`

    def __init__(self, key: str | None = None, word: str | None = None, **options):
        if key is not None:
            options["key"] = key
        if word is not None:
            options["word"] = word
        for name, value in options.items():
            if name.startswith("_") or not hasattr(type(self), name) or \
                    callable(getattr(type(self), name)):
                raise TypeError(f"{type(self).__name__} has no option {name!r}")
            object.__setattr__(self, name, value)

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and vars(other) == vars(self)

    def __hash__(self) -> int:
        return hash((type(self), tuple(sorted(vars(self).items(), key=lambda kv: kv[0]))))

    def __repr__(self) -> str:
        given = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({given})"

    @property
    def usage(self) -> str:
        return " ".join(w for w in (self.word, self.meta) if w)

    @property
    def words(self) -> tuple[str, ...]:
        """The words that introduce this part (a choice has several)."""
        return (self.word,) if self.word else ()

    def parse(self, p: Parser, command: str):
        raise NotImplementedError

    def default(self):
        return None


class Target(Part):
    """The name a command acts on: `grad NAME`."""

    key: str = "name"
    required: bool = True
    meta: str = "NAME"

    def parse(self, p: Parser, command: str) -> str:
        if p.at("END"):
            raise ParseError(f"'{command}' needs a name: '{command} NAME'", *p.tok.pos)
        return check_name(p.next())


class OneName(Part):
    """One name after a keyword: `diff EXPR wrt x`."""

    meta: str = "NAME"

    def parse(self, p: Parser, command: str) -> str:
        return check_name(p.next())


class Names(Part):
    """A comma-separated list of names: `wrt W, b`."""

    meta: str = "a, b"
    optional: bool = False  # a positional list that may be left out (`rules [OP, ...]`)

    def parse(self, p: Parser, command: str) -> list[str]:
        if self.word is None and p.at("END"):
            if self.optional:
                return []
            raise ParseError(f"'{command}' needs a name: '{command} NAME'", *p.tok.pos)
        return p.name_list()

    def default(self):
        return []


class Expr(Part):
    """An expression: `diff EXPR`, `with EXPR`."""

    meta: str = "EXPR"

    def parse(self, p: Parser, command: str):
        return p.expr()


class Exprs(Part):
    """Comma-separated expressions: `report accuracy(y, t), accuracy(y2, t2)`."""

    meta: str = "EXPR, ..."

    def parse(self, p: Parser, command: str) -> list:
        items = [p.expr()]
        while p.accept("OP", ","):
            items.append(p.expr())
        return items

    def default(self):
        return []


class Number(Part):
    """A number after its keyword (`lr 0.1`); whole and at least `minimum` if asked."""

    meta: str = "X"
    integer: bool = False
    minimum: float | None = None

    def parse(self, p: Parser, command: str):
        if self.word is None and p.at("END"):
            raise ParseError(self.why or f"'{command}' needs a number", *p.tok.pos)
        tok = p.tok
        value = p.integer(self.word or self.key) if self.integer else p.number(self.word)
        if self.minimum is not None and value < self.minimum:
            bound = "negative" if self.minimum == 0 else f"below {self.minimum:g}"
            raise ParseError(f"the {self.word or self.key} must not be {bound}", *tok.pos)
        return value


class Flag(Part):
    """A word on its own: `adam`, `step`."""

    def parse(self, p: Parser, command: str) -> bool:
        return True

    def default(self):
        return False


class Choice(Part):
    """One of several words, each with an optional number after it: the optimizer of
    `step` and `fit` (`adam`, `momentum 0.9`, `rmsprop 0.99`). Its value is (word, number
    or None)."""

    choices: tuple[str, ...] = ()
    meta: str = "X"

    @property
    def words(self) -> tuple[str, ...]:
        return self.choices

    @property
    def usage(self) -> str:
        return "|".join(self.choices) + f" [{self.meta}]"

    def parse(self, p: Parser, command: str) -> tuple[str, float | None]:
        word = p.toks[p.i - 1].text
        if p.at("NUM") or p.at("OP", "-") and p.toks[p.i + 1].kind == "NUM":
            return word, p.number(word)
        return word, None


class Numbers(Part):
    """Comma-separated numbers after a keyword: `from -7, 2`."""

    meta: str = "A, B"

    def parse(self, p: Parser, command: str) -> list[float]:
        values = [p.number(self.word or self.key)]
        while p.accept("OP", ","):
            values.append(p.number(self.word or self.key))
        return values


class Range(Part):
    """`from A to B`."""

    meta: str = "A to B"

    def parse(self, p: Parser, command: str) -> tuple[float, float]:
        lo = p.number("from")
        p.expect("NAME", "to", ": 'from A to B'")
        return lo, p.number("to")


class RestPath(Part):
    """The rest of the statement as a file name (`plot ... to FILE`)."""

    meta: str = "FILE"

    def parse(self, p: Parser, command: str) -> str:
        parts = []
        while not p.at("END"):
            parts.append(p.next().text)
        if not parts:
            raise ParseError("expected a file name after 'to'", *p.tok.pos)
        return "".join(parts)


class RawText(Part):
    """The rest of the line exactly as written, never tokenized (file names, help topics)."""

    meta: str = "FILE"

    def parse(self, p: Parser, command: str):  # read from the text by parse_raw instead
        raise NotImplementedError


Grammar = tuple[Part, ...]


def parse_raw(grammar: Grammar, rest: str) -> dict:
    """Arguments of a command whose one part is the raw rest of the line."""
    (part,) = grammar
    return {part.key: rest.strip() or None}


def is_raw(grammar: Grammar) -> bool:
    return len(grammar) == 1 and isinstance(grammar[0], RawText)


def parse_arguments(p: Parser, command: str, grammar: Grammar) -> dict:
    """The arguments of one command from its tokens, by its declared parts."""
    args = {part.key: part.default() for part in grammar}
    keyword = {w: part for part in grammar for w in part.words}
    for part in grammar:
        if part.word is None and not part.words:
            args[part.key] = part.parse(p, command)
    seen: set[str] = set()
    while not p.at("END"):
        tok = p.next()
        part = keyword.get(tok.text) if tok.kind == "NAME" else None
        if part is None or part.key in seen:
            raise ParseError(_unexpected(tok, command, grammar), *tok.pos)
        seen.add(part.key)
        args[part.key] = part.parse(p, command)
        if isinstance(part, RestPath):
            break
    for part in grammar:
        if part.required and part.word and part.key not in seen:
            raise ParseError(part.why.format(command=command) if part.why else
                             f"'{command}' needs '{part.usage}'", *p.tok.pos)
    p.end()
    return args


def _unexpected(tok, command: str, grammar: Grammar) -> str:
    options = [f"'{part.usage}'" for part in grammar if part.words]
    if not options:
        return f"unexpected {describe(tok)}"
    if len(options) <= 3:
        listed = options[0] if len(options) == 1 else \
            ", ".join(options[:-1]) + " or " + options[-1]
        return f"expected {listed}"
    return f"unexpected {describe(tok)} in '{command}'; it takes " + ", ".join(options)


def usage(name: str, grammar: Grammar) -> str:
    """The syntax line help shows: `grad NAME [wrt a, b] [with EXPR]`."""
    out = [name]
    for part in grammar:
        text = part.usage or part.key.upper()
        optional = not part.required and (bool(part.words) or isinstance(
            part, RawText) or getattr(part, "optional", False))  # raw: optional unless required
        out.append(f"[{text}]" if optional else text)
    return " ".join(out)


def option_words(grammar: Grammar) -> tuple[str, ...]:
    """The keywords a command takes, for completion and highlighting."""
    words = [w for part in grammar for w in part.words]
    words += ["to" for part in grammar if isinstance(part, Range)]
    return tuple(dict.fromkeys(words))


class Signature(Part):
    """`name(params) = body`, the whole of a `def`."""

    key: str = "signature"
    required: bool = True
    meta: str = "NAME(PARAMS) = EXPR"

    def parse(self, p: Parser, command: str) -> tuple[str, list[str], object]:
        tok = p.next()
        name = check_name(tok, "function name")
        if name in p.keywords:
            raise ParseError(f"'{name}' is a command; choose another name", *tok.pos)
        p.expect("OP", "(", " after the function name")
        params: list[str] = []
        if not p.at("OP", ")"):
            params = p.name_list()
        p.expect("OP", ")", " to close the parameter list")
        if len(set(params)) != len(params):
            raise ParseError("a parameter is named twice", *tok.pos)
        p.expect("OP", "=", ": 'def name(params) = expression'")
        return name, params, p.expr()
