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
        validator=BpValidator(session.limits, len(PROMPT)),
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
    settings = session.settings
    if history is None:
        history, note = open_history(history_path(), session.limits.history_size)
    prompt = make_prompt(session, history, **prompt_kwargs)
    out.note(banner(out.options.unicode))
    if note:
        out.note(note)
    session.source_name = "<input>"
    progress = Progress(out.out) if out.options.terminal else None
    session.progress = progress
    out.before_output = progress.clear if progress else None
    front = Front(session, out, prompt, prompt_kwargs)
    if settings is not None and settings["startup"]:
        run_startup(session, out, settings["startup"], front)
    while True:
        try:
            text = prompt.prompt(default=front.take_pending())
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
                                errors_to_stderr=False, show=front.show)
        except KeyboardInterrupt:
            out.note("interrupted")
            continue
        if status.exit:
            return 0


def run_startup(session, out: Output, path: str, front) -> None:
    """The start-up script from the settings, before the first prompt; its errors are shown
    and the shell starts anyway."""
    import os

    from bpshell.language.source import ScriptError, read_script

    path = os.path.expanduser(path)
    try:
        source = read_script(path)
    except (OSError, ScriptError) as e:
        out.note(f"start-up script {path} not run: {getattr(e, 'strerror', None) or e}")
        return
    run_source(session, source, out, path, time_limit=0, errors_to_stderr=False,
               show=front.show)


class Front:
    """How the shell shows a result: `explain NAME step` as a full-screen walk, `quiz` as
    questions, output taller than the terminal through the pager, the rest as scripts do."""

    def __init__(self, session, out: Output, prompt: PromptSession, app_kwargs: dict):
        self.session, self.out, self.prompt = session, out, prompt
        self.app_kwargs = app_kwargs  # input and output for tests; the terminal otherwise
        self.pending = ""  # a key typed to leave the step-through, for the next prompt

    def take_pending(self) -> str:
        text, self.pending = self.pending, ""
        return text

    def rows(self) -> int:
        return self.prompt.app.output.get_size().rows

    def show(self, result: dict) -> None:
        kind = result.get("kind")
        if kind == "explain" and result.get("step"):
            self.step_through(result)
        elif kind == "quiz":
            from bpshell.shell.quiz import run_quiz

            run_quiz(result, self.out, self.ask_answer)
        else:
            self.paged(result)

    def paged(self, result: dict) -> None:
        from bpshell.render.items import items_for

        out = self.out
        if result.get("kind") == "set":
            out.reconfigure(result.get("changed") or {})
        items = items_for(result, out.style)
        if not out.options.terminal:
            out.items(items)
            return
        text = out.render(items)
        rows = self.rows()
        if text.count("\n") < rows - 1:
            out.items(items)
            return
        from bpshell.shell.pager import MORE, page, read_key

        out.transcript.extend(items)
        if out.before_output is not None:
            out.before_output()
        page(text, out.out, rows, ask=lambda: read_key(MORE, **self.app_kwargs))

    def step_through(self, r: dict) -> None:
        """The walk, full screen; then the whole ledger, so it stays in the scrollback."""
        from bpshell.render.items.steps import frame_count, frame_items
        from bpshell.shell.stepview import StepView

        tree = self.session.run(f"tree {r['of']}")[0]
        view = StepView(frame_count(r),
                        lambda k, style, rows, shown: frame_items(r, k, style, tree, rows,
                                                                  shown),
                        unicode=self.out.options.unicode, color=self.out.options.color,
                        **self.app_kwargs)
        try:
            self.pending = view.run()
        except (KeyboardInterrupt, EOFError):
            self.pending = ""
        self.out.show({**r, "step": False})

    def ask_answer(self, question: str) -> str | None:
        """One answer typed at a prompt of its own; None when the learner leaves."""
        from prompt_toolkit import PromptSession as Ask

        try:
            return Ask(**self.app_kwargs).prompt(question)
        except (KeyboardInterrupt, EOFError):
            return None


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
