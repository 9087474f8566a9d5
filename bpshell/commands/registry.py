"""The command table: each command declared once, with everything other layers read.

A command is one decorated function: `@command("grad", Target(), Names("wrt"), ...)`.
The statement parser reads its grammar, `help` its summary, examples and notes, the
completer and the lexer its option words, the renderers its result kind, and a test
checks that each has a renderer, a runnable example and a README row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bpshell.language.grammar import Grammar, RawText, RestPath, is_raw, option_words
from bpshell.records import FrozenValue

GROUPS = ("values", "gradients", "symbolic", "training", "files", "session")


class Args:
    """A statement's arguments by the keys its grammar declares; a typo is an error."""

    __slots__ = ("_values",)

    def __init__(self, values: dict[str, Any]):
        self._values = values

    def __getattr__(self, key: str) -> Any:
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(key) from None

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)


class Command(FrozenValue):
    """One command: its syntax, its help, what runs it and what kind of result it gives."""

    __slots__ = ("name", "grammar", "summary", "examples", "run", "group", "aliases", "notes",
                 "kind", "files", "hidden", "fields", "default_file")

    name: str
    grammar: Grammar
    summary: str
    examples: tuple[str, ...]
    run: Callable[..., dict]
    group: str
    aliases: tuple[str, ...]
    notes: tuple[str, ...]
    kind: str  # the result kind its renderer draws; the name unless told
    files: bool | Callable[[Mapping[str, Any]], bool]  # it reads or writes files
    # (a callable says whether one statement's arguments do: 'load moons' reads none)
    hidden: bool  # a statement form (assignment, value) rather than a command word
    fields: Mapping[str, object]  # the result's fields, typed
    default_file: str  # the file written when none is given ('{name}.svg'), if any

    def __init__(self, name: str, grammar: Grammar, summary: str, examples: tuple[str, ...],
                 run: Callable[..., dict], group: str, aliases: tuple[str, ...] = (),
                 notes: tuple[str, ...] = (), kind: str = "",
                 files: bool | Callable[[Mapping[str, Any]], bool] = False,
                 hidden: bool = False, fields: Mapping[str, object] | None = None,
                 default_file: str = ""):
        put = object.__setattr__
        put(self, "name", name)
        put(self, "grammar", grammar)
        put(self, "summary", summary)
        put(self, "examples", examples)
        put(self, "run", run)
        put(self, "group", group)
        put(self, "aliases", aliases)
        put(self, "notes", notes)
        put(self, "kind", kind)
        put(self, "files", files)
        put(self, "hidden", hidden)
        put(self, "fields", {} if fields is None else fields)
        put(self, "default_file", default_file)

    @property
    def options(self) -> tuple[str, ...]:
        return option_words(self.grammar)

    def paths(self, args: Mapping[str, Any]) -> list[str]:
        """The file names a statement of this command gives (`save F`, `draw y to F`):
        what safe mode refuses. A command that touches no file gives none."""
        if not self.files or callable(self.files) and not self.files(args):
            return []
        given = [args[p.key] for p in self.grammar
                 if isinstance(p, (RawText, RestPath)) and args.get(p.key)]
        return given or ([self.default_file.format(**args)] if self.default_file else [])


COMMANDS: dict[str, Command] = {}  # by name, in declaration order
_WORDS: dict[str, Command] = {}  # names and aliases, filled once every module is loaded


def command(name: str, *grammar, summary: str, examples: tuple[str, ...] | list[str],
            group: str, aliases: tuple[str, ...] = (), notes: tuple[str, ...] = (),
            kind: str = "", files: bool | Callable[[Mapping[str, Any]], bool] = False,
            hidden: bool = False,
            fields: Mapping[str, object] | None = None, default_file: str = ""):
    """Declare a command; the decorated function runs it as fn(session, args, stmt)."""
    if group not in GROUPS:
        raise ValueError(f"unknown help group {group!r}")

    def register(fn: Callable[..., dict]) -> Callable[..., dict]:
        if name in COMMANDS:
            raise ValueError(f"command {name!r} declared twice")
        COMMANDS[name] = Command(name, tuple(grammar), summary, tuple(examples), fn, group,
                                 aliases, tuple(notes), kind or name, files, hidden,
                                 dict(fields or {}), default_file)
        return fn

    return register


def table() -> dict[str, Command]:
    """Every command, by name, in declaration order."""
    if not _WORDS:  # the package's __init__ has imported every command module by now
        for c in COMMANDS.values():
            if not c.hidden:
                _WORDS.update(dict.fromkeys((c.name, *c.aliases), c))
    return COMMANDS


def in_groups() -> list[Command]:
    """The commands in help's order: by group, then as declared."""
    return sorted(table().values(), key=lambda c: GROUPS.index(c.group))


def words() -> dict[str, Command]:
    """Each word that starts a command (names and aliases) with its command."""
    table()
    return _WORDS


def lookup(word: str) -> Command | None:
    return words().get(word)


def path_words() -> frozenset[str]:
    """Words whose rest of line is a file name (completed as paths, never as names)."""
    return frozenset(w for w, c in words().items()
                     if c.files and is_raw(c.grammar) and c.grammar[0].key == "path")


def options_of(word: str) -> tuple[str, ...]:
    """The option words of the command a word starts, () for anything else."""
    c = words().get(word)
    return c.options if c is not None else ()
