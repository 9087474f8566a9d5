"""Errors flagged before Enter is accepted: the engine's parser, cursor on the error.

Only syntax is checked here (the parser is cheap and has no side effects); names and
shapes are the Session's business once the line runs. While a bracket is open the
input is incomplete, not wrong: Enter adds a line instead (see shell_keys).
"""

from __future__ import annotations

from prompt_toolkit.document import Document
from prompt_toolkit.validation import ValidationError, Validator

from bpshell.commands.registry import words
from bpshell.errors import BpError
from bpshell.language.split import is_complete, split_statements
from bpshell.language.statements import parse_statement


class BpValidator(Validator):
    def __init__(self, max_depth: int = 200):
        self.max_depth = max_depth

    def validate(self, document: Document) -> None:
        text = document.text
        if not is_complete(text):
            return
        try:
            for chunk in split_statements(text):
                parse_statement(chunk, words(), self.max_depth)
        except BpError as e:
            raise ValidationError(cursor_position=index_of(text, e.line, e.column),
                                  message=f"{e.message} (line {e.line}, column {e.column})"
                                  if "\n" in text else f"{e.message} (column {e.column})"
                                  ) from None


def index_of(text: str, line: int | None, column: int | None) -> int:
    """The string index of a 1-based line and column, clipped to the text."""
    if not line or not column:
        return len(text)
    lines = text.split("\n")
    if line > len(lines):
        return len(text)
    start = sum(len(s) + 1 for s in lines[: line - 1])
    return min(start + min(column - 1, len(lines[line - 1])), len(text))
