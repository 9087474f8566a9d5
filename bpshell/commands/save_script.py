"""`save FILE.bp`: the session's definitions as a script that replays to the same state.

Arrays are written as literals, exact to the last bit. An array of more than
NPZ_ELEMENTS elements goes instead into a companion FILE.npz beside the script, read
back by a `load FILE.npz` line, when the session has a `load` command that reads one:
a literal of millions of numbers would be hundreds of megabytes of text, past the
statement length limit, and slow to parse back.
"""

from __future__ import annotations

import io
import os

import numpy as np

from bpshell.graph.build import Formula, Leaf
from bpshell.language.printer import to_text


def literal(value) -> str:
    """A value as bpshell source, exact to the last bit (repr of float64 round-trips).

    inf and nan, which have no literal, are written as expressions that make them.
    """
    if np.ndim(value) == 0:
        return _number(float(value))
    a = np.asarray(value, dtype=np.float64)
    if a.size == 0:
        return "zeros(" + ", ".join(map(str, a.shape)) + ")"
    return _nested(a.tolist())


def _nested(x) -> str:
    if isinstance(x, list):
        return "[" + ", ".join(_nested(i) for i in x) + "]"
    return {float("inf"): "1e400", float("-inf"): "-1e400"}.get(x, repr(float(x)))


def _number(v: float) -> str:
    if v != v:
        return "(0*1e400)"
    if v in (float("inf"), float("-inf")):
        return "1e400" if v > 0 else "(-1e400)"
    return repr(v) if v >= 0 else f"({v!r})"


NPZ_ELEMENTS = 1000  # a larger array goes into the companion .npz (when `load` exists)


def npz_path(path: str) -> str:
    """The companion file of a saved script: session.bp -> session.npz."""
    root, ext = os.path.splitext(path)
    return (root if ext == ".bp" else path) + ".npz"


def large_arrays(session) -> dict[str, np.ndarray]:
    """The leaves too large to write as literals, by name, in the session's order."""
    return {name: np.asarray(b.value, dtype=np.float64)
            for name, b in session.bindings.items()
            if isinstance(b, Leaf) and np.size(b.value) > NPZ_ELEMENTS}


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """The arrays as one .npz file (plain float64, nothing pickled)."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def session_script(session, npz: str | None = None, in_npz: tuple[str, ...] = ()) -> str:
    """The script; leaves named in in_npz are read from the file npz by one `load` line."""
    lines = ["# bpshell session"]
    if session.seed is not None:
        lines.append(f"seed {session.seed}")
    for f in session.funcs.values():
        lines.append(f"def {f.name}({', '.join(f.params)}) = {f.text}")
    # formulas first: their inputs are still symbols then, so nothing is evaluated and a
    # formula that its inputs no longer fit is restored as it is, not refused
    for name, b in session.bindings.items():
        if isinstance(b, Formula):
            lines.append(f"{name} = {to_text(b.expr, literal=literal)}")
    loaded = _digits_as_loaded(session)
    if loaded:
        lines.append("load digits")
    if npz is not None and in_npz:
        lines.append(f"load {npz}  # {', '.join(in_npz)}")
    for name, b in session.bindings.items():
        if isinstance(b, Leaf) and name not in loaded and name not in in_npz:
            if np.ndim(b.value) and np.isnan(b.value).any():
                # an array literal holds numbers only: nan is written as 0, and said so
                lines.append(f"# {name} held nan, written here as 0")
                lines.append(f"{name} = {literal(np.nan_to_num(b.value, nan=0.0))}")
                continue
            lines.append(f"{name} = {literal(b.value)}")
    params = [n for n in session.params if isinstance(session.bindings.get(n), Leaf)]
    if params:
        lines.append(f"param {', '.join(params)}")
    return "\n".join(lines) + "\n"


def _digits_as_loaded(session) -> set[str]:
    """The names `load digits` bound, if all four still hold what it gives: then the
    script says `load digits` instead of some 100,000 numbers."""
    from bpshell.numeric.datasets import DIGITS_NAMES, load_digits

    held = [session.bindings.get(n) for n in DIGITS_NAMES]
    if not all(isinstance(b, Leaf) and b.text == "load digits" for b in held):
        return set()
    fresh = load_digits()
    if all(np.array_equal(b.value, fresh[n]) for n, b in zip(DIGITS_NAMES, held)):
        return set(DIGITS_NAMES)
    return set()
