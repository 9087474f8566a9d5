"""How `set` is shown: what changed, or every setting with its value and where it came from."""

from __future__ import annotations

from bpshell.render.doc import DIM, HEAD, NAME, NUM, Item, Table, line
from bpshell.render.format import Style
from bpshell.render.registry import renders


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int):
        return f"{value:,}".replace(",", "_")
    return str(value) if value != "" else '""'


@renders("set")
def set_items(r: dict, style: Style) -> list[Item]:
    if r["changed"]:
        return [line(("set ", DIM), (name, NAME), " = ", (_text(value), NUM),
                     ("  (this session)", DIM)) for name, value in r["changed"].items()]
    rows = [[s["name"], _text(s["value"]), s["source"], s["doc"]] for s in r["settings"]]
    return [line(("settings", HEAD), ("  'set NAME VALUE' changes one; config.toml keeps "
                                      "it", DIM)),
            Table(["setting", "value", "from", "what it bounds or does"], rows,
                  styles=[NAME, NUM, DIM, DIM])]
