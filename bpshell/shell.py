"""The interactive shell: a prompt_toolkit loop around the same run_source as scripts.

The parts (completer, lexer, validator, key bindings, history) each live in a shell_*
module and are assembled in one PromptSession here. The loop never dies: Ctrl-C cancels
the line being typed or interrupts the statement being run, and the session stays as it
was; Ctrl-D, `exit` and `quit` leave.
"""

from __future__ import annotations

import time
from typing import TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.history import History
from prompt_toolkit.styles import Style as PtStyle

from . import __version__
from .render_out import Output
from .runner import run_source
from .shell_complete import BpCompleter
from .shell_history import history_path, open_history
from .shell_keys import key_bindings
from .shell_lexer import STYLE, BpLexer
from .shell_validate import BpValidator

PROMPT, CONTINUATION = ">>> ", "... "


def banner(unicode: bool) -> str:
    dash = "—" if unicode else "-"
    return f"bpshell {__version__} {dash} type 'help' for help, Ctrl-D or 'exit' to leave"


def make_prompt(session, history: History, **kwargs) -> PromptSession:
    """One PromptSession with every part of the shell (kwargs: input/output for tests)."""
    return PromptSession(
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


def interactive(session, out: Output, history: History | None = None, **prompt_kwargs) -> int:
    """Read, run and show statements until exit; returns the exit status (0)."""
    note = None
    if history is None:
        history, note = open_history(history_path())
    prompt = make_prompt(session, history, **prompt_kwargs)
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
        if not text.strip():
            continue
        out.echo(text, show=False)  # recorded for `export`, already on screen
        try:
            status = run_source(session, text, out, None, time_limit=0,
                                errors_to_stderr=False)
        except KeyboardInterrupt:
            out.note("interrupted")
            continue
        if status.exit:
            return 0


class Progress:
    """One line of `fit` progress on a terminal, redrawn at most ten times a second."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.last = 0.0
        self.shown = False

    def __call__(self, step: int, total: int, loss: float) -> None:
        now = time.monotonic()
        if now - self.last < 0.1:
            return
        self.last = now
        self.shown = True
        self.stream.write(f"\r  step {step}/{total}  loss {loss:.6g}\x1b[K")
        self.stream.flush()

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False
