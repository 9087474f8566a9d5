"""Which renderer draws which kind of result.

Each renderer is declared where it is written, `@renders("grad")`, in a module of
bpshell.render.items (importing that package declares them all). A kind with no
renderer is shown as `key: value` lines, so a newer engine never breaks a front end.
"""

from __future__ import annotations

from collections.abc import Callable

from bpshell.render.doc import DIM, HEAD, Item, line
from bpshell.render.format import Style, is_array, value_text

Renderer = Callable[[dict, Style], list[Item]]
RENDERERS: dict[str, Renderer] = {}


def renders(*kinds: str) -> Callable[[Renderer], Renderer]:
    """Declare fn as the renderer of these result kinds."""

    def register(fn: Renderer) -> Renderer:
        for kind in kinds:
            if kind in RENDERERS:
                raise ValueError(f"two renderers for {kind!r}")
            RENDERERS[kind] = fn
        return fn

    return register


def items_for(result: dict, style: Style) -> list[Item]:
    """The items that show one result."""
    if not result.get("ok", True):
        from bpshell.render.errors import error_items

        return error_items(result, style)
    return RENDERERS.get(result.get("kind", ""), generic)(result, style)


def generic(r: dict, style: Style) -> list[Item]:
    """Any kind this front end does not know yet: its fields as `key: value` lines."""
    skip = {"line", "column", "source", "ok", "kind"}
    out: list[Item] = [line((r.get("kind", "result"), HEAD))]
    for key, value in r.items():
        if key not in skip:
            out.extend(_field(key, value, style, 2))
    return out


def _field(key: str, value, style: Style, indent: int) -> list[Item]:
    """`key: value`, with dicts and lists of dicts opened up one level deeper."""
    label = f"{key}: "
    if isinstance(value, dict) and value:
        out: list[Item] = [line((label, DIM), indent=indent)]
        for k, v in value.items():
            out.extend(_field(str(k), v, style, indent + 2))
        return out
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        out = [line((label, DIM), indent=indent)]
        for i, v in enumerate(value):
            out.extend(_field(f"[{i}]", v, style, indent + 2))
        return out
    return [line((label, DIM), _plain(value, style, " " * (indent + len(label))),
                 indent=indent)]


def _plain(value, style: Style, prefix: str) -> str:
    if isinstance(value, float) or is_array(value):
        return value_text(value, style, prefix)
    if isinstance(value, list):
        return "[" + ", ".join(_plain(v, style, "") for v in value) + "]"
    if value is None:
        return "none"
    return str(value)
