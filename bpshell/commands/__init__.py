"""The commands, one module per family; importing the package declares every one of them.

A command is declared in its family's module (see registry.py); a new family is one more
module named here.
"""

from bpshell.commands import (  # noqa: F401
    codegen,
    data,
    draw,
    files,
    gradients,
    lab,
    meta,
    plot,
    quiz,
    settings,
    symbolic,
    training,
    values,
)
