"""`--json`: the engine's result dicts as JSON Lines, one object per statement.

JSON has no arrays of float64 and no infinities, so two conversions are made: NumPy
arrays become nested lists, and the non-finite floats inf, -inf and nan become the
strings "inf", "-inf" and "nan" (anywhere, inside arrays too). An array of more than a
million elements (JSON_WHOLE, or the print limit when that is higher) becomes an object
instead, `{"summary": ..., "shape": ..., "elements": ..., "note": ...}`: writing 9
million numbers would take longer and more memory than the statement that made them.
Every other value is passed through as the engine produced it, except the pictures of a
stepped `explain` (SHELL_ONLY): the records a terminal draws the walk from, one per step,
which repeat the ledger's numbers; `draw NAME steps` writes them as files.
"""

from __future__ import annotations

import json
import math
from typing import Any

from bpshell.render.safe import json_safe

JSON_WHOLE = 1_000_000  # elements of one array always written whole (20 MB of JSON)
SHELL_ONLY = frozenset({"pictures"})  # result fields left out of JSON


def jsonable(value: Any, limit: float = math.inf) -> Any:
    """The value with arrays as nested lists and non-finite floats as strings; an array
    of more than `limit` elements as a summary object."""
    if isinstance(value, dict):
        return {str(k): jsonable(v, limit) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, limit) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, float):
        return _float(value)
    if getattr(value, "size", 0) > limit:
        return _summary(value, limit)
    tolist = getattr(value, "tolist", None)  # NumPy arrays and scalars, without importing NumPy
    if tolist is not None:
        return jsonable(tolist())
    return str(value)


def _summary(value: Any, limit: float) -> dict:
    from bpshell.render.format import Style, print_limit_note, value_text

    style = Style(print_limit=limit)
    return {"summary": value_text(value, style), "shape": list(value.shape),
            "elements": int(value.size), "note": print_limit_note(value, style)}


def _float(v: float) -> float | str:
    if math.isfinite(v):
        return v
    if math.isnan(v):
        return "nan"
    return "inf" if v > 0 else "-inf"


def dumps(result: dict, print_limit: float = math.inf) -> str:
    """One result as one line of JSON (non-ASCII kept as is: the pretty forms are unicode).

    Control characters are escaped, C1 and bidi controls too, so that a terminal reading
    the JSON obeys none of them; the value decoded is the same.
    """
    limit = max(print_limit, JSON_WHOLE)
    result = {k: v for k, v in result.items() if k not in SHELL_ONLY}
    return json_safe(json.dumps(jsonable(result, limit), ensure_ascii=False,
                                allow_nan=False))
