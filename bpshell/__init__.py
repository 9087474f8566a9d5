"""bpshell: a REPL for symbolic and numeric backpropagation."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["Session", "__version__"]


def __getattr__(name: str):
    # imported lazily so that `bpshell --version` does not load SymPy
    if name == "Session":
        from bpshell.session import Session

        return Session
    raise AttributeError(name)
