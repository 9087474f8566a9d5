"""Text from outside bpshell made safe for a terminal: control characters shown, never obeyed.

A script, a file name, a help topic, a comment or an error message quoting them can hold
ESC, BEL, CSI/OSC sequences and other control codes. Written raw, they clear the screen,
rename the window, move the cursor to print a fake line, or reverse text with bidi
overrides. Every writer (plain text, rich, stderr, the command line's own messages)
passes its text through `visible`, which shows each such character instead, the way
sqlite3's shell does: C0 codes and DEL in caret notation (ESC is `^[`, BEL `^G`, a
lone carriage return `^M`), C1 codes and Unicode's invisible direction and line
controls as `<U+202E>`. Newlines and tabs are kept (except in names, where a newline is
shown too); CRLF is a newline. JSON Lines keep every character, escaped as JSON allows.
"""

from __future__ import annotations

import re

# C0 but tab and newline, DEL, C1; the bidi embeddings, overrides, isolates and marks
# (the "Trojan Source" characters); and the Unicode line and paragraph separators
_UNSAFE = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069"
_UNSAFE_TEXT = re.compile(f"[{_UNSAFE}]")
_UNSAFE_NAME = re.compile(f"[\n{_UNSAFE}]")
# and lone surrogates (bytes that were not UTF-8), which no stream could encode
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069"
                          "\ud800-\udfff]")


def _shown(match: re.Match) -> str:
    ch = match.group()
    code = ord(ch)
    if code < 0x20:
        return "^" + chr(code + 0x40)
    if code == 0x7F:
        return "^?"
    return f"<U+{code:04X}>"


def visible(text: str) -> str:
    """text with every control character shown as printable text (newlines and tabs kept)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    if _UNSAFE_TEXT.search(text) is None:
        return text
    return _UNSAFE_TEXT.sub(_shown, text)


def visible_name(text: str) -> str:
    """A file name or other one-line text: as `visible`, and a newline is shown as `^J`."""
    if _UNSAFE_NAME.search(text) is None:
        return text
    return _UNSAFE_NAME.sub(_shown, text)


def json_safe(line: str) -> str:
    """A line of JSON whose non-ASCII control characters are \\u escapes (same JSON value).

    json.dumps escapes C0 codes itself, but with ensure_ascii=False it writes DEL, C1 codes
    and bidi controls raw (and lone surrogates, which a stream cannot encode); outside
    strings JSON is ASCII, so escaping them anywhere is safe.
    """
    if _JSON_UNSAFE.search(line) is None:
        return line
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", line)
