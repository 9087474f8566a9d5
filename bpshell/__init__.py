"""bpshell: a REPL for symbolic and numeric backpropagation.

From Python: `bpshell.Session().run("x = 2; y = sigmoid(x); grad y")`. In IPython or
Jupyter: `%load_ext bpshell`, then `%%bp` cells. Importing the package loads neither
SymPy nor IPython: each is imported when first used.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["Session", "__version__", "load_ipython_extension", "unload_ipython_extension"]


def __getattr__(name: str):
    # imported lazily so that `bpshell --version` does not load SymPy
    if name == "Session":
        import bpshell.render.html  # noqa: F401  (results shown as HTML when returned)
        from bpshell.session import Session

        return Session
    raise AttributeError(name)


def load_ipython_extension(ipython) -> None:
    """`%load_ext bpshell`: the %bp and %%bp magics, with one session for the kernel."""
    from bpshell.notebook import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython) -> None:
    from bpshell.notebook import unload_ipython_extension as unload

    unload(ipython)
