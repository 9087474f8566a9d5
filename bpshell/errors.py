"""One error hierarchy, each error carrying the position a person needs to find it."""

from __future__ import annotations


class BpError(Exception):
    """An error in a bpshell statement, with a 1-based line and column where known."""

    kind = "error"
    detail: dict | None = None  # a result to show beside the error (a failed check's table)

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    def at(self, line: int | None, column: int | None) -> BpError:
        """Fill in a position if the error does not carry one yet."""
        if self.line is None:
            self.line, self.column = line, column
        return self

    def as_dict(self) -> dict:
        return {"type": self.kind, "message": self.message, "line": self.line,
                "column": self.column}


class ParseError(BpError):
    kind = "syntax"


class UnknownName(BpError):
    kind = "name"


class ShapeError(BpError):
    kind = "shape"


class MathError(BpError):
    kind = "value"


class LimitError(BpError):
    kind = "limit"


class TimeLimitError(LimitError):
    kind = "timeout"


class FileError(BpError):
    kind = "file"


class SafeModeError(BpError):
    """A statement that reads or writes a file, refused in safe mode (`--safe`)."""

    kind = "safe"


class OutputClosed(BaseException):
    """The output can no longer be written: its reader went away, or the disk is full.

    Not an Exception, so that no statement catches it as its own failure: it rolls the
    statement back like Ctrl-C and ends the run, which the command line reports once.
    """

    def __init__(self, error: OSError):
        super().__init__(error.strerror or str(error))
        self.errno = error.errno
        self.reason = error.strerror or str(error)
class CheckFailed(BpError):
    """A gradient check that did not pass: the statement fails, and its table is shown."""

    kind = "check"

    def __init__(self, message: str, detail: dict, line: int | None = None,
                 column: int | None = None):
        super().__init__(message, line, column)
        self.detail = detail
