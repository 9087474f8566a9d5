"""`--json`: the engine's result dicts as JSON Lines, one object per statement.

JSON has no arrays of float64 and no infinities, so two conversions are made and nothing
else: NumPy arrays become nested lists, and the non-finite floats inf, -inf and nan
become the strings "inf", "-inf" and "nan" (anywhere, inside arrays too). Every other
value is passed through as the engine produced it.
"""

from __future__ import annotations

import json
import math
from typing import Any


def jsonable(value: Any) -> Any:
    """The value with arrays as nested lists and non-finite floats as strings."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, float):
        return _float(value)
    tolist = getattr(value, "tolist", None)  # NumPy arrays and scalars, without importing NumPy
    if tolist is not None:
        return jsonable(tolist())
    return str(value)


def _float(v: float) -> float | str:
    if math.isfinite(v):
        return v
    if math.isnan(v):
        return "nan"
    return "inf" if v > 0 else "-inf"


def dumps(result: dict) -> str:
    """One result as one line of JSON (non-ASCII kept as is: the pretty forms are unicode)."""
    return json.dumps(jsonable(result), ensure_ascii=False, allow_nan=False)
