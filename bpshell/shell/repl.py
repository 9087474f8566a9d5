"""The interactive shell: a prompt_toolkit loop around the same run_source as scripts.

The parts (completer, lexer, validator, key bindings, history) each live in a shell_*
module and are assembled in one PromptSession here. The loop never dies: Ctrl-C cancels
the line being typed or interrupts the statement being run, and the session stays as it
was; Ctrl-D, `exit` and `quit` leave.
"""

from __future__ import annotations

from typing import TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.history import History
from prompt_toolkit.styles import Style as PtStyle

from bpshell import __version__
from bpshell.render.out import Output
from bpshell.runner import run_source
from bpshell.shell.complete import BpCompleter
from bpshell.shell.history import history_path, open_history
from bpshell.shell.keys import key_bindings
from bpshell.shell.lexer import STYLE, BpLexer
from bpshell.shell.validate import BpValidator

PROMPT, CONTINUATION = ">>> ", "... "


def banner(unicode: bool) -> str:
    dash = "—" if unicode else "-"
    return f"bpshell {__version__} {dash} type 'help' for help, Ctrl-D or 'exit' to leave"


UNDO_CHARS = 4 << 20  # characters the undo stack of the line being typed may hold in all


def make_prompt(session, history: History, **kwargs) -> PromptSession:
    """One PromptSession with every part of the shell (kwargs: input/output for tests)."""
    prompt = PromptSession(
        message=PROMPT,
        multiline=True,
        prompt_continuation=lambda width, line_number, wrap_count: CONTINUATION,
        history=history,
        auto_suggest=AutoSuggestFromHistory(),
        enable_history_search=False,  # Up walks history; Ctrl-R searches it
        completer=BpCompleter(session),
        complete_while_typing=False,
        lexer=BpLexer(session),
        validator=BpValidator(session.limits.max_depth),
        validate_while_typing=False,
        key_bindings=key_bindings(),
        style=PtStyle.from_dict(STYLE),
        include_default_pygments_style=False,
        **kwargs,
    )
    bound_undo(prompt.default_buffer)
    return prompt


def bound_undo(buffer, limit: int = UNDO_CHARS) -> None:
    """Cap the buffer's undo stack near `limit` characters in all, oldest states dropped.

    prompt_toolkit saves the whole text before every key press, so a 200 KB line typed
    or pasted without bracketed paste would keep 200,000 copies of a growing line
    (20 GB). Here the stack keeps limit / (the line's length) states (at least 16): while
    a line grows they are no longer than it, and when it shrinks the long ones were
    already few. Undo still steps back through the recent states.
    """
    save = buffer.save_to_undo_stack

    def bounded_save(clear_redo_stack: bool = True) -> None:
        save(clear_redo_stack)
        stack = buffer._undo_stack  # prompt_toolkit keeps it private; a list of (text, pos)
        keep = max(16, limit // max(1, len(buffer.text)))
        if len(stack) > keep:
            del stack[:len(stack) - keep]

    buffer.save_to_undo_stack = bounded_save


def interactive(session, out: Output, history: History | None = None, **prompt_kwargs) -> int:
    """Read, run and show statements until exit; returns the exit status (0)."""
    note = None
    if history is None:
        history, note = open_history(history_path(), session.limits.history_size)
    prompt = make_prompt(session, history, **prompt_kwargs)
    pager = PromptSession(**prompt_kwargs)  # Enter between the steps of `explain NAME step`
    out.note(banner(out.options.unicode))
    if note:
        out.note(note)
    session.source_name = "<input>"
    progress = Progress(out.out) if out.options.terminal else None
    session.progress = progress
    out.before_output = progress.clear if progress else None
    while True:
        try:
            text = prompt.prompt()
        except KeyboardInterrupt:
            continue  # Ctrl-C: the line is dropped, the prompt comes back
        except EOFError:
            return 0  # Ctrl-D
        if getattr(history, "note", None):  # the history file failed: said once
            out.note(history.note)
            history.note = None
        if not text.strip():
            continue
        out.echo(text, show=False)  # recorded for `export`, already on screen
        try:
            status = run_source(session, text, out, None, time_limit=0,
                                errors_to_stderr=False, show=shower(session, out, pager))
        except KeyboardInterrupt:
            out.note("interrupted")
            continue
        if status.exit:
            return 0


def shower(session, out: Output, pager: PromptSession):
    """out.show, except that `explain NAME step` walks the backward pass node by node."""

    def show(result: dict) -> None:
        if result.get("kind") == "explain" and result.get("step"):
            step_through(session, out, result, lambda: pager.prompt(
                "  Enter: next node, q: stop ") != "q")
        else:
            out.show(result)

    return show


def step_through(session, out: Output, r: dict, more) -> None:
    """Redraw the tree with the gradients known after each row, as the book's figures do.

    `tree` reuses the graph of the explain (the last grad), so node ids agree.
    """
    from bpshell.render.items.train import explain_items
    from bpshell.render.items.tree import tree_items

    tree = session.run(f"tree {r['of']}")[0]
    rows = r["rows"]
    for k in range(len(rows) + 1):
        known = {row["id"] for row in rows[:k]} | {d["id"] for row in rows[:k]
                                                   for d in row["downstream"]}
        if rows:
            known.add(rows[0]["id"])
        if tree.get("ok"):
            shown = {**tree, "root": _mask(tree["root"], known)}
            out.items(tree_items(shown, out.style))
        out.items(explain_items(r, out.style, rows_shown=k))
        if k < len(rows):
            try:
                if not more():
                    return
            except (KeyboardInterrupt, EOFError):
                return
    out.show({**r, "rows": []})


def _mask(node: dict, known: set) -> dict:
    """A copy of a tree with the gradients not yet reached hidden (iterative)."""
    top = dict(node)
    stack = [top]
    while stack:
        n = stack.pop()
        if "id" in n and n["id"] not in known:
            n["grad"], n["pending"] = None, True
        kids = [dict(c) for c in n.get("children", [])]
        n["children"] = kids
        stack.extend(kids)
    return top


class Progress:
    """A rich progress bar for `fit` on a terminal, with the loss shown live."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.bar = None
        self.task = None

    def __call__(self, step: int, total: int, loss: float, every: int = 0) -> None:
        if self.bar is None:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(TextColumn("fit"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("loss {task.fields[loss]}"), TimeRemainingColumn(),
                                console=Console(file=self.stream), transient=True)
            self.bar.start()
            self.task = self.bar.add_task("fit", total=total, loss="")
        self.bar.update(self.task, completed=step, loss=f"{loss:.6g}")

    def clear(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
