"""Writing a file whole or not at all: `save`, `draw`, `codegen` and `export` share it."""

from __future__ import annotations

import os
import tempfile

from bpshell.errors import FileError


def write_atomic(path: str, data: str | bytes) -> str:
    """Write data to path through a temporary file beside it and a rename; returns path.

    An interrupted or failed write (a full disk, Ctrl-C) leaves the old file whole and no
    temporary file behind. A replaced file keeps its permissions; a new one follows the
    umask, as a file opened for writing would.
    """
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileError(f"cannot write {path}: the folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".bpshell-", suffix=".tmp")
    except (OSError, ValueError) as e:  # ValueError: a NUL byte in the path
        raise FileError(f"cannot write {path}: {getattr(e, 'strerror', None) or e}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _mode(path))
        os.replace(tmp, path)
    except (OSError, ValueError) as e:
        _remove(tmp)
        raise FileError(f"cannot write {path}: {getattr(e, 'strerror', None) or e}") from None
    except BaseException:
        _remove(tmp)
        raise
    return path


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
