"""The Session: runs bpshell source and returns one result dict per statement.

Both the interactive shell and the scripted runner call `Session.run` (or `iter_run`,
which yields each result as soon as it exists). Each statement is parsed by the command
table's grammars, run by its command, and committed to the State as a whole; a failure,
a timeout or Ctrl-C rolls the State's journal back, so it changes nothing.

It is also the Python API: a result is a `Result` (a dict readable by attribute, shown
as HTML in Jupyter), `session["W"]` reads a value as NumPy, and `session["X"] = array`
binds a leaf, as the statement `X = [...]` would.
"""

from __future__ import annotations

import gc
import os
import warnings
from collections import deque
from collections.abc import Iterator

import numpy as np

from bpshell.commands.registry import Args, table, words
from bpshell.errors import BpError, FileError, LimitError, SafeModeError
from bpshell.evaluate import Evaluator
from bpshell.language.ast import Const
from bpshell.language.split import Chunk, split_statements
from bpshell.language.statements import Stmt, parse_statement
from bpshell.limits import Limits
from bpshell.numeric.passes import to_plain
from bpshell.results.result import Result
from bpshell.state import Journal, State, signals_held
from bpshell.timeout import deadline

RUN_KEEPS = 100  # results of `run FILE` kept when no front end shows them as they come
# A long script's session state (definitions, trees, graphs) lives until the end; every
# 1,000 statements of one source it is moved out of the cyclic collector's sight, which
# would otherwise re-scan all of it again and again (0.3-0.5 s of a 20,000-line script,
# in the command line and in Session.run alike).
FREEZE_EVERY = 1000


class Session:
    """One bpshell session: its State, the Evaluator over it, and its limits."""

    # callable(step, total, loss, every) a front end sets to draw fit progress
    progress = None
    # callable(result) a front end sets to show each statement inside `run FILE` as it
    # completes; without one, the run's result keeps the last RUN_KEEPS of them
    nested = None
    # the settings the front end loaded (bpshell.settings.Settings); `set` changes them
    settings = None

    def __init__(self, limits: Limits | None = None, seed: int | None = None):
        self.limits = limits or Limits.from_env()
        self.journal = Journal()
        self.state = State(seed, self.journal)
        self.ev = Evaluator(self.state, self.limits)
        self.source_name = "<input>"
        self._running: set[str] = set()  # scripts being run by `run`, against self-runs

    # ------------------------------------------------------------ reading the state
    @property
    def bindings(self) -> dict:
        return self.state.bindings

    @property
    def funcs(self) -> dict:
        return self.state.funcs

    @property
    def last(self):
        return self.state.last

    def value_of(self, name: str):
        return self.ev.value_of(name)

    def full_plan(self, name: str):
        return self.ev.full_plan(name)

    def builder(self, frozen: bool):
        return self.ev.builder(frozen)

    def gradients(self, name: str, wrt: list[str] | None = None, with_ast=None):
        return self.ev.gradients(name, wrt, with_ast)

    def replace_state(self) -> None:
        """`reset`: a new State in place of the old, journaled so a failed run puts it back."""
        old = self.state
        self.journal.record(("attr", self, "state", old))
        self.journal.record(("attr", self.ev, "state", old))
        object.__setattr__(self, "state", State(None, self.journal))
        self.ev.state = self.state

    # ------------------------------------------------------------ running
    def run(self, source: str, keep_going: bool = True) -> list[Result]:
        """Run every statement of source; stop after the first error unless keep_going."""
        results = []
        for r in self.iter_run(source):
            results.append(r)
            if not r["ok"] and not keep_going:
                break
        return results

    def iter_run(self, source: str, time_limit: float | None = None, *,
                 nested: bool = False) -> Iterator[Result]:
        """Yield one result dict per statement, as each completes.

        nested: the statements of `run FILE`, already inside the run's own savepoint. They
        open none of their own, since any failure rolls the whole run back; so the journal
        keeps one old value per name for the whole run, not one per statement (a script
        that rebinds `x` to a new array a thousand times keeps one, not a thousand).
        """
        limit = self.limits.time_limit if time_limit is None else time_limit
        for count, chunk in enumerate(split_statements(source), start=1):
            if count % FREEZE_EVERY == 0:
                gc.freeze()
            yield self._run_chunk(chunk, limit, nested)

    def _run_chunk(self, chunk: Chunk, limit: float, nested: bool = False) -> Result:
        text = chunk.text.strip()
        if len(chunk.text) > self.limits.max_statement_chars:
            e = LimitError(f"statement of {len(chunk.text):,} characters is over the limit of "
                           f"{self.limits.max_statement_chars:,} "
                           "(BPSHELL_MAX_STATEMENT_CHARS raises it)", chunk.line, chunk.column)
            return error_result(e, text[:200], chunk.line, chunk.column)
        mark = None if nested else self.journal.savepoint()
        done = False
        try:
            with deadline(limit), warnings.catch_warnings():
                # inf and nan are reported per node by diagnose; NumPy's warnings would only
                # repeat them, to stderr, out of order
                warnings.simplefilter("ignore", RuntimeWarning)
                stmt = parse_statement(chunk, words(), self.limits.max_depth)
                if self.limits.safe:
                    refuse_files(stmt)
                self.state.serial += 1
                result = self._execute(stmt)
            if mark is not None:
                with signals_held():
                    self.journal.release(mark)
            done = True
        except BaseException as exc:
            if not done and mark is not None:
                with signals_held():
                    self.journal.rollback(mark)
            if not isinstance(exc, Exception):
                raise  # Ctrl-C and exit belong to the front end
            e = as_error(exc, limit)
            return error_result(e, text, chunk.line, chunk.column)
        base = Result(line=chunk.line, column=chunk.column, source=text, ok=True)
        base.update(result)
        return base

    def _execute(self, stmt: Stmt) -> dict:
        cmd = table()[stmt.kind]
        return cmd.run(self, Args(stmt.args), stmt)

    def run_file(self, text: str, path: str, pos) -> tuple[list[dict], int]:
        """`run FILE`: every statement of text, as one statement of this session.

        Returns the results kept (none when `nested` shows them, else the last RUN_KEEPS)
        and how many statements ran. A fit interrupted inside stops the whole run, which
        the caller rolls back like any interrupted statement.
        """
        key = os.path.realpath(path)
        if key in self._running:
            raise FileError(f"{path} is already running: a script cannot run itself", *pos)
        if len(self._running) >= self.limits.max_depth:
            raise LimitError(f"'run' nested {len(self._running) + 1} scripts deep, over the "
                             f"limit of {self.limits.max_depth:g} (BPSHELL_MAX_DEPTH or "
                             "--max-depth raises it)", *pos)
        self._running.add(key)
        kept: deque[dict] = deque(maxlen=RUN_KEEPS)
        count = 0
        try:
            for r in self.iter_run(text, time_limit=0, nested=True):
                r["file"] = path
                count += 1
                if not r["ok"]:
                    err = r["error"]
                    # the whole script is one statement here: the caller rolls it all back;
                    # the error keeps its type (a timeout inside is the run's timeout)
                    e = BpError(f"{path}:{err['line']}:{err['column']}: {err['message']}",
                                *pos)
                    e.kind = err["type"]
                    raise e
                if r.get("kind") == "fit" and r.get("interrupted"):
                    raise KeyboardInterrupt
                if self.nested is not None:
                    self.nested(r)
                else:
                    kept.append(r)
        finally:
            self._running.discard(key)
        return list(kept), count

    # ------------------------------------------------------------ values from Python
    def __contains__(self, name: object) -> bool:
        return name in self.state.bindings

    def __getitem__(self, name: str):
        """A name's value as NumPy (a copy: changing it changes nothing here), or, while it
        has none, its definition as a SymPy expression. An unknown name is a KeyError."""
        if name not in self.state.bindings:
            raise KeyError(self.ev.unknown(name) if isinstance(name, str) else name)
        try:
            value = self.ev.value_of(name)
        except BpError as e:  # a formula its inputs no longer fit
            raise ValueError(f"{name}: {e.message}") from None
        if value is not None:
            return np.float64(value) if np.ndim(value) == 0 else np.array(value)
        from bpshell.symbolic.expr import SympyBuilder

        try:
            return SympyBuilder(self.state.bindings, self.state.funcs, set(),
                                self.limits.max_exponent).name(name)
        except BpError as e:
            raise ValueError(f"{name} has no value yet and is not a scalar expression "
                             f"SymPy can show ({e.message})") from None

    def __setitem__(self, name: str, value) -> None:
        """Bind name to a value from Python (a NumPy array, a list, a number), as the
        statement `name = [...]` would: the same checks, journaled, all or nothing.

        A value that is not real numbers is a TypeError; a name that cannot be bound (a
        command, a function, `_x`) or a value over the element limit, a ValueError.
        """
        leaf = python_value(value, self.limits.max_elements)
        if not (isinstance(name, str) and name.isascii() and name.isidentifier()):
            raise ValueError(f"{name!r} is not a bpshell name (letters, digits and _)")
        mark = self.journal.savepoint()
        try:
            # parsed as `name = 0` is: a command word, a keyword or `_x` is refused the same
            stmt = parse_statement(Chunk(f"{name} = 0", 1, 1), words(), self.limits.max_depth)
            stmt.args["expr"] = Const(leaf, stmt.pos, "")
            stmt.text = f"{name} = (from Python)"
            self.state.serial += 1
            self._execute(stmt)
        except BaseException as exc:
            with signals_held():
                self.journal.rollback(mark)
            if isinstance(exc, BpError):
                raise ValueError(f"cannot bind {name}: {exc.message}") from None
            raise
        with signals_held():
            self.journal.release(mark)

    def script(self) -> str:
        """The session's definitions as a script that replays to the same state."""
        from bpshell.commands.save_script import session_script

        return session_script(self.state)


def refuse_files(stmt: Stmt) -> None:
    """Safe mode: a statement that would read or write a file is an error before it runs."""
    paths = table()[stmt.kind].paths(stmt.args)
    if paths:
        raise SafeModeError(f"'{stmt.kind}' would use the file {paths[0]}, and safe mode "
                            "(--safe, BPSHELL_SAFE) refuses every statement that reads or "
                            "writes a file", *stmt.pos)


def python_value(value, max_elements: int):
    """A value from Python as a leaf holds it: a float, or a float64 array of its own.

    Real numbers only (bool and integer arrays are converted); inf and nan are kept, as
    bpshell keeps them. The array is copied, so changing the caller's array later does not
    change the session behind its journal.
    """
    try:
        a = np.asarray(value)
    except (TypeError, ValueError) as e:
        raise TypeError(f"a bpshell value is an array of real numbers: {e}") from None
    if a.dtype.kind not in "biuf":
        raise TypeError(f"a bpshell value is an array of real numbers, not {a.dtype} "
                        f"({type(value).__name__})")
    if a.size > max_elements:
        raise ValueError(f"{a.size:,} elements is over the limit of {max_elements:,} "
                         "(BPSHELL_MAX_ELEMENTS raises it)")
    return to_plain(np.array(a, dtype=np.float64))


def as_error(exc: Exception, limit: float) -> BpError:
    """Every failure as a BpError; a bug becomes an 'internal' error, not a crash."""
    if isinstance(exc, BpError):
        if exc.kind == "timeout" and exc.message == "took too long":
            exc.message = timeout_message(getattr(exc, "seconds", None) or limit, limit)
        return exc
    if isinstance(exc, RecursionError):
        return LimitError("the expression is nested too deeply to compute "
                          "(BPSHELL_MAX_DEPTH or --max-depth bounds how deep expressions "
                          "and functions may nest)")
    if isinstance(exc, MemoryError):
        return LimitError("out of memory")
    if isinstance(exc, ValueError) and "integer string conversion" in str(exc):
        # an exact number SymPy built past Python's 4300 printable digits
        return LimitError("an exact number here has more than 4300 digits "
                          "(BPSHELL_MAX_EXPONENT bounds the exponents of exact powers)")
    e = BpError(f"internal error ({type(exc).__name__}: {exc}); the session is unchanged")
    e.kind = "internal"
    return e


def timeout_message(seconds: float, limit: float) -> str:
    """The bound that was passed: this statement's own, or (inside `run FILE`, whose
    statements have none of their own) the bound of the `run` statement around it."""
    how = "(BPSHELL_TIME_LIMIT or --time-limit changes the bound)"
    if limit and seconds == limit:
        return f"the statement took longer than {seconds:g} s and was stopped {how}"
    return (f"stopped here: the statement that runs this script took longer than "
            f"{seconds:g} s {how}")


def error_result(e: BpError, text: str, line: int, column: int) -> Result:
    e.at(line, column)
    out = Result(line=line, column=column, source=text, ok=False, kind="error",
                 error=e.as_dict())
    if e.detail is not None:  # what the failed statement found, shown before the error
        out["detail"] = e.detail
    return out


__all__ = ["Session"]
