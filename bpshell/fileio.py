"""Writing a file whole or not at all: `save`, `draw`, `codegen` and `export` share it."""

from __future__ import annotations

import errno
import fcntl
import os
import signal
import stat
import tempfile
import threading
from contextlib import contextmanager

from bpshell.errors import FileError


def write_atomic(path: str, data: str | bytes) -> str:
    """Write data to path through a temporary file beside it and a rename; returns path.

    An interrupted or failed write (a full disk, Ctrl-C, SIGTERM) leaves the old file
    whole and no temporary file behind. A replaced file keeps its permissions; a new one
    follows the umask, as a file opened for writing would. A symbolic link is written
    through: the file it points to is replaced and the link stays. A FIFO or a character
    device (/dev/null, a terminal) is written to as it is, since there is nothing to
    replace; a block device, a socket or a directory is refused. No device or link is
    ever replaced by a regular file.
    """
    write_all([(path, data)])
    return path


def write_all(files: list[tuple[str, str | bytes]]) -> None:
    """Write several files as write_atomic writes one, so that no signal leaves some new
    and some old: each is written to a temporary file first, then all are renamed with
    Ctrl-C, SIGTERM, SIGHUP and the time-limit alarm held (`save` and its .npz)."""
    staged: list[tuple[str, str, str]] = []  # (temporary file, target, path as given)
    try:
        for path, data in files:
            raw = data.encode("utf-8") if isinstance(data, str) else data
            kind = _kind(path)
            if kind == "stream":
                _write_through(path, raw)
            elif kind is not None:
                raise FileError(f"cannot write {path}: it is a {kind}, not a file")
            else:
                staged.append(_stage(path, raw))
        with _signals_held():
            for tmp, target, path in staged:
                try:
                    os.replace(tmp, target)
                except OSError as e:
                    raise FileError(f"cannot write {path}: {e.strerror or e}") from None
    finally:
        for tmp, _, _ in staged:
            _remove(tmp)  # renamed already, or left by a failure: gone either way


def _stage(path: str, raw: bytes) -> tuple[str, str, str]:
    """The data in a temporary file beside path's target (a link's target, so the link
    itself stays), with the target's permissions; (temporary file, target, path)."""
    try:
        target = os.path.realpath(path)
    except (OSError, ValueError) as e:  # ValueError: a NUL byte in the path
        raise FileError(f"cannot write {path}: {getattr(e, 'strerror', None) or e}") from None
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise FileError(f"cannot write {path}: the folder {os.path.dirname(os.path.abspath(path))}"
                        " does not exist")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".bpshell-", suffix=".tmp")
    except (OSError, ValueError) as e:
        raise FileError(f"cannot write {path}: {getattr(e, 'strerror', None) or e}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _mode(target))
    except (OSError, ValueError) as e:
        _remove(tmp)
        raise FileError(f"cannot write {path}: {getattr(e, 'strerror', None) or e}") from None
    except BaseException:
        _remove(tmp)
        raise
    return tmp, target, path


@contextmanager
def _signals_held():
    """Signals that end or interrupt bpshell wait until the renames are done (main thread
    only; they are delivered right after)."""
    held = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGALRM}
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _kind(path: str) -> str | None:
    """None for a regular file or none yet; "stream" for a FIFO or a character device;
    else what the path is (written into the error that refuses it)."""
    try:
        mode = os.stat(path).st_mode  # through links: what a write would reach
    except (OSError, ValueError):
        return None  # missing (or unreadable: the write will say why)
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode):
        return "stream"
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISBLK(mode):
        return "block device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"


def _write_through(path: str, raw: bytes) -> None:
    """Write to a FIFO or a device in place. A FIFO no process reads is an error at once
    (opened without blocking); a slow reader is bounded by the statement's time limit."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        why = "no process is reading it" if e.errno == errno.ENXIO else e.strerror
        raise FileError(f"cannot write {path}: {why}") from None
    try:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
        view = memoryview(raw)
        while view:
            view = view[os.write(fd, view):]
    except OSError as e:
        raise FileError(f"cannot write {path}: {e.strerror or e}") from None
    finally:
        os.close(fd)


def _mode(path: str) -> int:
    """The permissions of the file replaced, or those the umask gives a new file."""
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
