"""The types a result's fields may hold, named once for every command's declaration.

A command declares its result's fields (`fields={"of": str, "value": VALUE}`); the tests
check every result against its command's declaration, and the JSON Lines output is these
same dicts with arrays as lists and inf/nan as strings.
"""

from __future__ import annotations

import numpy as np

NONE = type(None)
VALUE = (float, np.ndarray, NONE)  # a number, an array, or None where it is symbolic
TEXT = (str, NONE)
FINDINGS = {"nonfinite_value": (dict, NONE), "nonfinite_grad": (dict, NONE), "kinks": list,
            "hints": list}  # what numeric.diagnose adds to grad and explain
COMMON = {"line": int, "column": int, "source": str, "ok": bool, "kind": str, "file": TEXT}


def problems(fields: dict, result: dict) -> list[str]:
    """What in result its declaration does not allow: unknown fields, wrong types."""
    out = []
    for key, value in result.items():
        allowed = COMMON.get(key) or fields.get(key)
        if allowed is None:
            out.append(f"undeclared field {key!r}")
        elif not isinstance(value, allowed) or isinstance(value, bool) and allowed in (
                int, float, (float, np.ndarray, NONE)):
            out.append(f"{key!r} is a {type(value).__name__}, declared {allowed}")
    return out
