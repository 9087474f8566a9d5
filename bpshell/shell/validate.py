"""Errors flagged before Enter is accepted: the engine's parser, shown under the line.

Only syntax is checked here (the parser is cheap and has no side effects); names and
shapes are the Session's business once the line runs. While a bracket is open the
input is incomplete, not wrong: Enter adds a line instead (see keys.py).

The message is drawn right under the line typed, with a caret under the error's column
(`    ^ expected an expression`); the cursor stays where it was, so what is typed next
goes where the learner expects, and the message goes away with the next key.
"""

from __future__ import annotations

from prompt_toolkit.document import Document
from prompt_toolkit.validation import ValidationError, Validator

from bpshell.commands.registry import words
from bpshell.errors import BpError
from bpshell.language.split import is_complete, split_statements
from bpshell.language.statements import parse_statement


class BpValidator(Validator):
    """max_depth: a number, or the session's Limits (read at each check, so `set` counts)."""

    def __init__(self, max_depth=200, margin: int = 4):
        self.max_depth = max_depth
        self.margin = margin  # the prompt's width: the caret lines up with the text typed

    def validate(self, document: Document) -> None:
        text = document.text
        if not is_complete(text):
            return
        depth = getattr(self.max_depth, "max_depth", self.max_depth)
        try:
            for chunk in split_statements(text):
                parse_statement(chunk, words(), depth)
        except BpError as e:
            raise ValidationError(cursor_position=index_of(text, e.line, e.column),
                                  message=under_the_line(text, e, self.margin)) from None


def under_the_line(text: str, e: BpError, margin: int) -> str:
    """`    ^ message` under a one-line input; `line 2, column 5: message` under several."""
    if "\n" in text or not e.column:
        return f"line {e.line}, column {e.column}: {e.message}"
    return " " * (margin + e.column - 1) + "^ " + e.message


def index_of(text: str, line: int | None, column: int | None) -> int:
    """The string index of a 1-based line and column, clipped to the text."""
    if not line or not column:
        return len(text)
    lines = text.split("\n")
    if line > len(lines):
        return len(text)
    start = sum(len(s) + 1 for s in lines[: line - 1])
    return min(start + min(column - 1, len(lines[line - 1])), len(text))
