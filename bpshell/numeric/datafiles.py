"""Arrays from files: .npz, .npy and .csv, read without ever unpickling anything.

A .npy header says the array's dtype and shape before any data is read, so an array too
large for the element limit, or of objects (which only pickle could make), is refused
before it is allocated; the data itself is read with allow_pickle=False. A CSV must be
numbers separated by commas, with at most one header line of names.
"""

from __future__ import annotations

import os
import zipfile
from typing import BinaryIO

import numpy as np

from bpshell.errors import FileError, LimitError

MAX_FILE_BYTES = 64 * 1024 * 1024  # as `run FILE`: a larger file is refused unread


def _limit(count: int, max_elements: int, what: str) -> None:
    if count > max_elements:
        raise LimitError(f"{what} has {count:,} elements, over the limit of "
                         f"{max_elements:,} (BPSHELL_MAX_ELEMENTS raises it)")


def _read_npy(f: BinaryIO, what: str, max_elements: int) -> np.ndarray:
    """One .npy array from an open file: header checked first, never unpickled."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = fmt.read_array_header_1_0(f)
        else:
            shape, _, dtype = fmt.read_array_header_2_0(f)
    except (ValueError, OSError, EOFError) as e:
        raise FileError(f"{what} is not a NumPy .npy array ({e})") from None
    if dtype.hasobject or dtype.kind not in "biuf":
        raise FileError(f"{what} holds {dtype} values; bpshell reads numbers only "
                        "(booleans, integers, floats), and never unpickles objects")
    _limit(int(np.prod(shape, dtype=np.int64)), max_elements, what)
    f.seek(0)
    try:
        array = fmt.read_array(f, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise FileError(f"{what} is cut short or damaged ({e})") from None
    return np.asarray(array, dtype=np.float64)


def _size_checked(path: str) -> None:
    try:
        size = os.path.getsize(path)
    except (OSError, ValueError) as e:
        raise FileError(f"cannot read {path}: {getattr(e, 'strerror', None) or e}") from None
    if size > MAX_FILE_BYTES:
        raise LimitError(f"{path} is {size:,} bytes, over the {MAX_FILE_BYTES:,} bytes a "
                         "data file may have")


def read_npy(path: str, max_elements: int) -> np.ndarray:
    _size_checked(path)
    try:
        with open(path, "rb") as f:
            return _read_npy(f, path, max_elements)
    except OSError as e:
        raise FileError(f"cannot read {path}: {e.strerror}") from None


def read_npz(path: str, max_elements: int) -> dict[str, np.ndarray]:
    """Each array of a .npz archive by its name, in the archive's order."""
    _size_checked(path)
    out: dict[str, np.ndarray] = {}
    total = 0
    try:
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                if not info.filename.endswith(".npy"):
                    raise FileError(f"{path} holds {info.filename}, which is not a .npy "
                                    "array")
                if info.file_size > MAX_FILE_BYTES:  # a small archive that unpacks huge
                    raise LimitError(f"{info.filename} in {path} unpacks to "
                                     f"{info.file_size:,} bytes, over {MAX_FILE_BYTES:,}")
                with z.open(info) as f:
                    array = _read_npy(f, f"{info.filename} in {path}", max_elements)
                total += array.size
                _limit(total, max_elements, path)
                out[info.filename[:-4]] = array
    except (zipfile.BadZipFile, zipfile.LargeZipFile) as e:
        raise FileError(f"{path} is not a .npz archive ({e})") from None
    except OSError as e:
        raise FileError(f"cannot read {path}: {e.strerror or e}") from None
    if not out:
        raise FileError(f"{path} holds no arrays")
    return out


def read_csv(path: str, max_elements: int) -> np.ndarray:
    """Numbers separated by commas, one row per line; a first line of names is skipped.

    A single column gives a 1-D array (labels, say); more give rows x columns.
    """
    _size_checked(path)
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except UnicodeDecodeError:
        raise FileError(f"{path} is not a UTF-8 text file") from None
    except OSError as e:
        raise FileError(f"cannot read {path}: {e.strerror}") from None
    rows = [(k, line.split(",")) for k, line in enumerate(lines, 1) if line.strip()]
    if rows and not any(_is_number(c) for c in rows[0][1]):
        rows = rows[1:]  # a header line of names
    if not rows:
        raise FileError(f"{path} holds no numbers")
    width = len(rows[0][1])
    _limit(width * len(rows), max_elements, path)
    data = np.empty((len(rows), width))
    for r, (k, cells) in enumerate(rows):
        if len(cells) != width:
            raise FileError(f"{path}:{k}: {len(cells)} values where the first row has "
                            f"{width}")
        for c, cell in enumerate(cells):
            if not _is_number(cell):
                raise FileError(f"{path}:{k}: value {c + 1}, {cell.strip()[:40]!r}, is "
                                "not a number")
            data[r, c] = float(cell)
    return data[:, 0] if width == 1 else data


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
