"""`save FILE.bp`: the session's definitions as a script that replays to the same state."""

from __future__ import annotations

import numpy as np

from .graph import Formula, Leaf


def literal(value) -> str:
    """A value as bpshell source, exact to the last bit (repr of float64 round-trips)."""
    if np.ndim(value) == 0:
        return repr(float(value))
    a = np.asarray(value, dtype=np.float64)
    if a.size == 0:
        return "zeros(" + ", ".join(map(str, a.shape)) + ")"
    return _nested(a.tolist())


def _nested(x) -> str:
    if isinstance(x, list):
        return "[" + ", ".join(_nested(i) for i in x) + "]"
    return repr(float(x))


def session_script(session) -> str:
    lines = ["# bpshell session"]
    if session.seed is not None:
        lines.append(f"seed {session.seed}")
    for f in session.funcs.values():
        lines.append(f"def {f.name}({', '.join(f.params)}) = {f.text}")
    for name, b in session.bindings.items():
        if isinstance(b, Leaf):
            if not np.all(np.isfinite(b.value)):
                lines.append(f"# {name} held non-finite values and is written as 0")
                lines.append(f"{name} = {literal(np.nan_to_num(b.value, nan=0.0))}")
                continue
            lines.append(f"{name} = {literal(b.value)}")
        elif isinstance(b, Formula):
            lines.append(f"{name} = {b.text}")
    return "\n".join(lines) + "\n"
