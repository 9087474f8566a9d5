"""The `%bp` line magic and the `%%bp` cell magic."""

from __future__ import annotations

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class

from bpshell.notebook import session
from bpshell.notebook.cell import run_cell


@magics_class
class BpMagics(Magics):
    """bpshell statements in IPython: `%bp STATEMENTS` on a line, `%%bp` for a cell."""

    @line_cell_magic
    def bp(self, line: str, cell: str | None = None) -> None:
        """Run bpshell statements in the kernel's session and show each result.

        `%%bp` runs the lines below it; `%bp x = 2; grad y` runs the rest of its line.
        The first statement that fails stops the cell, as a script stops, with its line
        and column in the cell; the statements before it keep their effect.
        """
        if cell is None:
            run_cell(session(), line, first_line=1, name="<bp>")
            return
        if line.strip():
            raise UsageError("%%bp takes no options: write the statements on the lines "
                             "below it")
        run_cell(session(), cell, first_line=2, name="<cell>")
