"""Reading a script: bounded (a stream like /dev/zero is refused), UTF-8 with positions.

Shared by the command line (a script, stdin) and the engine's `run FILE`.
"""

from __future__ import annotations

import sys

MAX_SCRIPT_BYTES = 64 << 20  # a script larger than this (or /dev/zero) is refused


class ScriptError(Exception):
    """A script that cannot be read as text, with the position of the problem if known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None,
                 text: str = ""):
        super().__init__(message)
        self.message, self.line, self.column, self.text = message, line, column, text


def read_script(path: str) -> str:
    """A script's text: a file, or stdin for '-'. Raises OSError or ScriptError."""
    if path == "-":
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:  # a text stream without bytes underneath (tests, embedding)
            return sys.stdin.read(MAX_SCRIPT_BYTES)
        return decode(_read_bounded(stream))
    with open(path, "rb") as f:
        return decode(_read_bounded(f))


def _read_bounded(f) -> bytes:
    data = f.read(MAX_SCRIPT_BYTES + 1)
    if len(data) > MAX_SCRIPT_BYTES:
        raise ScriptError(f"the script is larger than {MAX_SCRIPT_BYTES >> 20} MB")
    return data


def decode(data: bytes) -> str:
    """UTF-8 text (a BOM is dropped); bad bytes are an error at their line and column."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        start = data.rfind(b"\n", 0, e.start) + 1
        end = data.find(b"\n", e.start)
        line_bytes = data[start: end if end >= 0 else len(data)]
        column = len(data[start:e.start].decode("utf-8", "replace")) + 1
        raise ScriptError(f"not valid UTF-8 text (byte 0x{data[e.start]:02x})",
                          data[: e.start].count(b"\n") + 1, column,
                          line_bytes.decode("utf-8", "replace").rstrip("\r")) from None
