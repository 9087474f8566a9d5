"""bpshell in IPython and Jupyter: `%load_ext bpshell`, then `%%bp` cells and `%bp` lines.

Every cell of a kernel runs in one session, which Python code in the same kernel reaches
with `bpshell.notebook.session()`: load data with NumPy (`session()["X"] = X`), train with
bpshell, read the gradients back (`session()["W"]`, or a `grad` result's `.grads`).

Importing this package imports neither IPython nor SymPy; the magics (magics.py) import
IPython when the extension is loaded, and the session imports SymPy when first made.
"""

from __future__ import annotations

_session = None  # the kernel's session, made on first use


def session():
    """The kernel's bpshell session: the one `%%bp` cells and `%bp` lines run in."""
    global _session
    if _session is None:
        import bpshell.render.html  # noqa: F401  (results shown as HTML when returned)
        from bpshell.notebook.progress import NotebookProgress
        from bpshell.session import Session

        made = Session()
        made.progress = NotebookProgress()
        made.source_name = "<cell>"
        _session = made
    return _session


def load_ipython_extension(ipython) -> None:
    """Register the magics; loading the extension twice changes nothing."""
    from bpshell.notebook.magics import BpMagics

    ipython.register_magics(BpMagics)


def unload_ipython_extension(ipython) -> None:
    """Remove the magics (the session stays: its values are still there on a reload)."""
    magics = ipython.magics_manager.magics
    magics["line"].pop("bp", None)
    magics["cell"].pop("bp", None)


__all__ = ["session", "load_ipython_extension", "unload_ipython_extension"]
