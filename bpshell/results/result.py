"""`Result`: one statement's result dict, readable by attribute and shown by Jupyter.

`Session.run` returns these. A Result is the same dict the engine made (the JSON Lines
output and every front end read the same keys), with three additions for Python code:
`r.grads` reads `r["grads"]`, a notebook shows it as HTML (`_repr_html_`, and
`_repr_svg_` for a drawing), and IPython prints it as the shell would.

How a result is drawn belongs to the render stage, which sits above this one: it says so
by calling `present_with` when it is imported (`import bpshell.render.html`; the package's
`bpshell.Session` and the notebook extension do that). Until then the display methods
return None and IPython falls back to the dict's own repr.

A key that is also the name of a dict method (the assign result's `update`) is read with
`r["update"]`: attribute access only finds keys that are not attributes already.
"""

from __future__ import annotations

from collections.abc import Callable

# how the render stage draws a result, by format: "html", "svg" and "text"
_PRESENTERS: dict[str, Callable[[dict], str | None]] = {}


def present_with(fmt: str, fn: Callable[[dict], str | None]) -> None:
    """Say how results are drawn in one format (called by the render stage)."""
    _PRESENTERS[fmt] = fn


def _present(fmt: str, result: dict) -> str | None:
    fn = _PRESENTERS.get(fmt)
    return None if fn is None else fn(result)


class Result(dict):
    """One statement's result: a dict with attribute access and Jupyter display methods."""

    __slots__ = ()

    def __getattr__(self, key: str):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(f"this {self.get('kind', 'result')} result has no "
                                 f"field {key!r}") from None

    def __dir__(self):
        return sorted(set(super().__dir__()) | {k for k in self if k.isidentifier()})

    def __repr__(self) -> str:
        return f"Result({dict.__repr__(self)})"

    def _repr_html_(self) -> str | None:
        return _present("html", self)

    def _repr_svg_(self) -> str | None:
        """The drawing of a `draw` result (None for every other kind: HTML shows those)."""
        return _present("svg", self) if self.get("kind") == "draw" else None

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        text = _present("text", self)
        printer.text(repr(self) if text is None else text.rstrip("\n"))
