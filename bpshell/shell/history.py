"""The shell's history: one file in the user's state directory, appended entry by entry.

Each entry is appended as it is accepted, so a crash loses nothing typed before it. The
file is written in prompt_toolkit's FileHistory format (`# time`, then `+line`s), with
more care than FileHistory takes:

- it is read only if it is a regular file (a FIFO would block, /dev/zero never ends),
  and only its last READ_BYTES, so a huge file costs no more than that;
- it keeps the last `size` entries (the `history_size` setting, 10,000 by default): a
  longer file is rewritten to that many when the shell starts or the file has grown past
  READ_BYTES;
- an entry is appended with one write under an exclusive lock, so two shells at once
  never interleave their entries, however long (and a file replaced by the other
  shell's rewrite is reopened first);
- if the file cannot be written (the directory went away, the disk is full, it became
  read-only), the shell says so once and keeps the history in memory.
"""

from __future__ import annotations

import datetime
import fcntl
import os
import stat
from collections.abc import Iterable

from prompt_toolkit.history import History, InMemoryHistory

READ_BYTES = 8 << 20  # the most of the file read at start-up, from its end
MAX_ENTRY = 1 << 20  # a longer entry (a pasted blob) is kept for this session only


def history_path(environ=None) -> str:
    """BPSHELL_HISTORY, else $XDG_STATE_HOME/bpshell/history (~/.local/state by default)."""
    env = os.environ if environ is None else environ
    if env.get("BPSHELL_HISTORY"):
        return os.path.expanduser(env["BPSHELL_HISTORY"])
    state = env.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                      "state")
    return os.path.join(state, "bpshell", "history")


def open_history(path: str, size: float = 10_000) -> tuple[History, str | None]:
    """The history for path, and a note when it has to be kept in memory instead."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as e:
        return InMemoryHistory(), _memory_note(path, e.strerror or str(e))
    if mode is not None and not stat.S_ISREG(mode):
        return InMemoryHistory(), _memory_note(path, "it is not a regular file")
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o600))
    except OSError as e:
        return InMemoryHistory(), _memory_note(path, e.strerror or str(e))
    return BoundedFileHistory(path, size), None


def _memory_note(path: str, reason: str) -> str:
    return f"history kept in memory only: cannot write {_name(path)} ({reason})"


class BoundedFileHistory(History):
    """A history file read with a bound, capped at `size` entries, appended under a lock."""

    def __init__(self, path: str, size: float = 10_000) -> None:
        super().__init__()
        self.path = path
        self.size = size
        self.note: str | None = None  # set once when writing fails; the shell shows it
        self.failed = False

    # ------------------------------------------------------------ reading
    def load_history_strings(self) -> Iterable[str]:
        """The entries, newest first (what prompt_toolkit expects)."""
        entries, whole = self._read()
        if entries and (len(entries) > self.size or not whole):
            self._rewrite()  # with history_size 0, the file is emptied
        return list(reversed(self._last(entries)))

    def _last(self, entries: list[str]) -> list[str]:
        if self.size <= 0:
            return []
        return entries[-int(self.size):] if self.size < len(entries) else entries

    def _read(self, fd: int | None = None) -> tuple[list[str], bool]:
        """The entries in the last READ_BYTES of the file, and whether that was all of it.

        No entries when the file does not look like a history file (a line that starts
        with neither `+` nor `#`): it is then never rewritten, only appended to.
        """
        own = fd is None
        try:
            if own:
                fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return [], True
            start = max(0, info.st_size - READ_BYTES)
            os.lseek(fd, start, os.SEEK_SET)
            data = _read_all(fd, READ_BYTES)
        except OSError:
            return [], True
        finally:
            if own and fd is not None:
                os.close(fd)
        text = data.decode("utf-8", "replace")
        if start:  # the first entry may be cut: start at the next whole one
            cut = text.find("\n#")
            text = text[cut:] if cut >= 0 else ""
        return parse_entries(text), start == 0

    # ------------------------------------------------------------ writing
    def store_string(self, string: str) -> None:
        if self.failed or len(string) > MAX_ENTRY or self.size <= 0:
            return
        data = format_entry(string).encode("utf-8", "replace")
        try:
            grown = self._append(data)
        except OSError as e:
            self.failed = True
            self.note = ("history kept in memory only from now on: cannot write "
                         f"{_name(self.path)} ({e.strerror or e})")
            return
        if grown > READ_BYTES:
            self._rewrite()

    def _append(self, data: bytes) -> int:
        """Append data in one locked write; returns the file's size after it."""
        for _ in range(3):  # the file may be replaced by another shell's rewrite meanwhile
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK,
                         0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                if os.fstat(fd).st_ino != os.stat(self.path).st_ino:
                    continue
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                return os.fstat(fd).st_size
            finally:
                os.close(fd)  # closing releases the lock
        raise OSError(0, "the file keeps being replaced")

    def _rewrite(self) -> None:
        """Keep the last `size` entries, read and replaced atomically under the lock."""
        from bpshell.errors import FileError
        from bpshell.fileio import write_atomic

        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            entries, _ = self._read(fd)
            if entries:  # none: empty, or not a history file, which is never rewritten
                write_atomic(self.path, "".join(format_entry(e) for e in self._last(entries)))
        except (OSError, FileError):
            pass  # the old file stays; the next start tries again
        finally:
            os.close(fd)


def format_entry(string: str) -> str:
    """One entry as FileHistory writes it: a blank line, `# time`, then `+line`s."""
    lines = "".join(f"+{line}\n" for line in string.split("\n"))
    return f"\n# {datetime.datetime.now()}\n{lines}"


def parse_entries(text: str) -> list[str]:
    """Entries oldest first, from FileHistory's format (a `+` starts each line of one);
    none if a line is not of that format, so that no other file is taken for one."""
    entries: list[str] = []
    lines: list[str] = []
    for line in text.split("\n"):
        if line.startswith("+"):
            lines.append(line[1:])
            continue
        if line and not line.startswith("#"):
            return []
        if lines:
            entries.append("\n".join(lines))
            lines = []
    if lines:
        entries.append("\n".join(lines))
    return entries


def _read_all(fd: int, limit: int) -> bytes:
    chunks, total = [], 0
    while total < limit:
        chunk = os.read(fd, min(1 << 20, limit - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _name(path: str) -> str:
    from bpshell.render.safe import visible_name

    return visible_name(path)
