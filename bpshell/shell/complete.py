"""Tab completion: commands, functions, and the names of the running session.

Everything comes from the tables the engine already has (the command table, OPS,
CONSTRUCTORS)
and from the session itself, so a new op or a new `def` completes with no change here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document

from bpshell.commands.help import KINDS
from bpshell.commands.registry import GROUPS, options_of, path_words, table, words
from bpshell.ops.table import CONSTRUCTORS, FOLDED, OPERATOR_ONLY, OPS

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class BpCompleter(Completer):
    """Completes the word before the cursor from what is valid where it stands."""

    def __init__(self, session):
        self.session = session
        self.paths = PathCompleter(expanduser=True)

    def get_completions(self, document: Document,
                        complete_event: CompleteEvent) -> Iterable[Completion]:
        statement = _current_statement(document.text_before_cursor)
        words = statement.split()
        first = words[0] if words else ""
        if first in path_words() and (len(words) > 1 or statement.endswith(" ")):
            path = statement.split(None, 1)[1] if len(words) > 1 else ""
            yield from self.paths.get_completions(Document(path, len(path)), complete_event)
            return
        if "#" in statement:
            return  # inside a comment
        # after a space prompt_toolkit's word-with-pattern is the whole text: no word yet
        before = document.text_before_cursor
        word = "" if not before or before[-1].isspace() else \
            document.get_word_before_cursor(pattern=_WORD)
        at_start = statement.strip() == word
        if first == "help" and not at_start:
            yield from _matching(word, self._help_topics())
            return
        for text, meta in self._candidates(at_start, first):
            if text.startswith(word) and text != word:
                yield Completion(text, start_position=-len(word), display_meta=meta)

    def _candidates(self, at_start: bool, first: str) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        if at_start:
            out += [(w, c.summary) for w, c in words().items()]
        else:
            out += [(w, f"{first} option") for w in options_of(first)]
        out += [(n, self._describe(n)) for n in self.session.bindings]
        out += [(f, "function") for f in self.session.funcs]
        out += [(name, "function") for name in OPS if name not in OPERATOR_ONLY]
        out += [(name, "constructor") for name in CONSTRUCTORS]
        out += [(name, "function") for name in FOLDED]
        seen: set[str] = set()
        unique = []
        for text, meta in out:
            if text not in seen:
                seen.add(text)
                unique.append((text, meta))
        return unique

    def _describe(self, name: str) -> str:
        b = self.session.bindings.get(name)
        return f"= {b.text}" if b is not None and getattr(b, "text", None) else "name"

    def _help_topics(self) -> list[tuple[str, str]]:
        topics = [(g, "help group") for g in (*KINDS, *GROUPS)]
        topics += [(w, "command") for w in words()]
        topics += [(w, "option") for c in table().values() for w in c.options]
        topics += [(n, "operator") for n in OPERATOR_ONLY if n != "id"]
        topics += [(n, "function") for n in OPS if n not in OPERATOR_ONLY]
        topics += [(n, "constructor") for n in CONSTRUCTORS]
        topics += [(f, "function") for f in self.session.funcs]
        return topics


def _matching(word: str, candidates: list[tuple[str, str]]) -> Iterable[Completion]:
    for text, meta in candidates:
        if text.startswith(word) and text != word:
            yield Completion(text, start_position=-len(word), display_meta=meta)


def _current_statement(text: str) -> str:
    """The text since the last statement separator (`;` or a newline outside brackets)."""
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]" and depth:
            depth -= 1
        elif ch in ";\n" and depth == 0:
            start = i + 1
    return text[start:].lstrip()
