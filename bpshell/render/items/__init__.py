"""Renderers, one function per result kind, each declared with @renders(kind) in the
module of its family; importing the package declares them all."""

from bpshell.render.items import (  # noqa: F401
    findings,
    help,
    lab,
    results,
    settings,
    steps,
    train,
    tree,
)
from bpshell.render.registry import items_for

__all__ = ["items_for"]
