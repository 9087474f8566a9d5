"""`load`: data to train on, bound to names as leaves.

`load digits` binds the book's names x_train, t_train, x_test, t_test; `load moons 200`
(circles, xor, spiral) draws a 2-D toy set from the session's random stream into x and t;
`load FILE.npz` binds each array by its name, and `load FILE.npy as NAME` or
`load FILE.csv as NAME` binds one. Either everything is bound or, on any error, nothing.
"""

from __future__ import annotations

import os
import re

import numpy as np

from bpshell.commands.registry import Args, command, words
from bpshell.errors import BpError, ParseError
from bpshell.evaluate import shape_of
from bpshell.graph.build import Leaf
from bpshell.language.grammar import RawText
from bpshell.ops.table import CONSTRUCTORS, FOLDED, OPERATOR_ONLY, OPS

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_FILE_KINDS = (".npz", ".npy", ".csv")


def reads_a_file(args) -> bool:
    """Whether a `load` reads a file of the user's (what safe mode refuses); the data sets
    are made here or shipped with bpshell."""
    from bpshell.numeric.datasets import TOYS

    first = (args.get("source") or "").split(None, 1)
    return not first or first[0] not in ("digits", *TOYS)


@command("load", RawText("source", required=True, meta="SOURCE",
                        doc="a data set name with its size, or a .npz, .npy or .csv file"),
         summary="bind data: 'load digits', 'load moons 200', 'load FILE.npz', "
                 "'load FILE.csv as NAME'",
         examples=("load moons 200", "load digits"), group="values", files=reads_a_file,
         notes=("'load digits' binds x_train (1442x64), t_train, x_test (355x64) and t_test: "
                "the 1,797 8x8 handwritten digits shipped with bpshell (UCI, CC BY 4.0), "
                "pixels scaled to [0, 1], integer labels 0..9; every fifth image of each "
                "digit is a test image.",
                "'load moons N', 'circles N', 'xor N', 'spiral N' bind x (N x 2) and t "
                "(N integer labels), drawn with the session's seed; 'noise X' sets the "
                "noise (moons 0.1, circles 0.05, xor 0, spiral 0.2).",
                "'as a, b' binds other names. Files: .npz binds every array by its name; "
                ".npy and .csv need 'as NAME'. Objects are never unpickled, and a file "
                "that cannot be read whole binds nothing.",
                "A file named like a data set is loaded as './digits'."),
         fields={"source": str, "arrays": list, "note": str})
def load(session, args: Args, stmt) -> dict:
    from bpshell.numeric.datasets import TOYS

    text = " ".join((args.source or "").split())
    if not text:
        raise ParseError("'load' needs a source: 'load digits', 'load moons 200' or "
                         "'load FILE.npz'", *stmt.pos)
    first = text.split(" ", 1)[0]
    if first == "digits":
        arrays, note = _digits(text, stmt)
    elif first in TOYS:
        arrays, note = _toy(session, text, stmt)
    else:
        arrays, note = _file(session, args.source.strip(), stmt)
    state = session.state
    for name, value in arrays.items():
        _check_name(session, name, stmt)
        state.bind(name, Leaf(value, f"load {text}", state.serial, stmt.pos[0]), None)
    return {"kind": "load", "source": text,
            "arrays": [{"name": n, "shape": shape_of(v)} for n, v in arrays.items()],
            "note": note}


def _renamed(names: tuple[str, ...], words_after_as: str | None, stmt) -> tuple[str, ...]:
    if words_after_as is None:
        return names
    given = tuple(n.strip() for n in words_after_as.split(","))
    if len(given) != len(names):
        raise ParseError(f"'as' needs {len(names)} names here, one each for "
                         f"{', '.join(names)}", *stmt.pos)
    return given


def _split_as(text: str) -> tuple[str, str | None]:
    head, sep, tail = text.rpartition(" as ")
    return (head, tail) if sep else (text, None)


def _digits(text: str, stmt) -> tuple[dict, str]:
    from bpshell.numeric.datasets import DIGITS_NAMES, DIGITS_NOTE, load_digits

    head, names = _split_as(text)
    if head != "digits":
        raise ParseError("'load digits' takes no options but 'as a, b, c, d'", *stmt.pos)
    data = load_digits()
    return dict(zip(_renamed(DIGITS_NAMES, names, stmt), data.values())), DIGITS_NOTE


def _toy(session, text: str, stmt) -> tuple[dict, str]:
    from bpshell.numeric.datasets import TOYS, make_toy

    head, names = _split_as(text)
    parts = head.split(" ")
    name = parts[0]
    if len(parts) not in (2, 4) or len(parts) == 4 and parts[2] != "noise":
        raise ParseError(f"expected 'load {name} N' or 'load {name} N noise X'", *stmt.pos)
    n = _number(parts[1], "N", stmt)
    noise = _number(parts[3], "the noise", stmt) if len(parts) == 4 else None
    if n != int(n) or not 1 <= n <= session.limits.max_elements // 2:
        raise BpError(f"N must be a whole number from 1 to "
                      f"{session.limits.max_elements // 2:,}", *stmt.pos)
    if noise is not None and not 0 <= noise < 1e6:
        raise BpError("the noise must be 0 or more", *stmt.pos)
    x, t = make_toy(name, int(n), noise, session.state.rng)
    toy = TOYS[name]
    scale = toy.noise if noise is None else noise
    note = f"{toy.doc}; noise {scale:g}"
    return dict(zip(_renamed(("x", "t"), names, stmt), (x, t))), note


def _number(word: str, what: str, stmt) -> float:
    try:
        value = float(word)
    except ValueError:
        raise ParseError(f"expected a number for {what}, found '{word}'", *stmt.pos) from None
    if not np.isfinite(value):
        raise ParseError(f"{what} must be finite", *stmt.pos)
    return value


def _file(session, source: str, stmt) -> tuple[dict, str]:
    from bpshell.numeric.datafiles import read_csv, read_npy, read_npz

    path, name = _split_as(source)
    path = os.path.expanduser(path.strip())
    kind = os.path.splitext(path)[1].lower()
    if kind not in _FILE_KINDS:
        raise BpError(f"'load' reads the data sets digits, moons, circles, xor, spiral, or "
                      f".npz, .npy and .csv files; not '{source}'", *stmt.pos)
    limit = session.limits.max_elements
    try:
        if kind == ".npz":
            if name is not None:
                raise BpError("a .npz file binds each array by its own name; 'as' is for "
                              ".npy and .csv files", *stmt.pos)
            return read_npz(path, limit), f"the arrays of {path}"
        if name is None:
            raise BpError(f"name the array: 'load {path} as NAME'", *stmt.pos)
        read = read_npy if kind == ".npy" else read_csv
        return {name.strip(): read(path, limit)}, f"read from {path}"
    except BpError as e:
        raise e.at(*stmt.pos) from None


def _check_name(session, name: str, stmt) -> None:
    """A name the language can read back, that no command or function owns."""
    if not _NAME.match(name):
        raise BpError(f"'{name}' cannot be a name: a letter, then letters, digits or _",
                      *stmt.pos)
    builtin = name in OPS and name not in OPERATOR_ONLY or name in CONSTRUCTORS \
        or name in FOLDED or name in words()
    if builtin or name in session.state.funcs:
        raise BpError(f"'{name}' is a command or function; load it 'as' another name",
                      *stmt.pos)
