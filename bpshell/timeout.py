"""Time bounds for work that has no bound of its own (SymPy's simplify, a long statement).

Deadlines nest per thread, the inner one never extending the outer, and the error says
which bound was passed (its seconds), so a statement inside `run FILE` reports the limit
of the `run` that was really exceeded. Two ways to stop the work, one per situation:

- the main thread, when SIGALRM is free: a SIGALRM timer. It also breaks a system call
  that blocks (opening a FIFO with no reader). The handler is installed while a bound is
  active and the previous one is put back when the outermost bound ends.
- any other thread, or a main thread whose host program owns SIGALRM (its own Python
  handler, or a timer of its own running): a watchdog thread raises TimeLimitError in the
  bounded thread at its next bytecode, as a signal handler would, and bpshell touches
  neither the host's handler nor its timer. A call blocked in C is not broken this way.

Where neither can work (no setitimer and no way to raise in a thread: not CPython), a
bound is refused with an error that says how to turn it off.
"""

from __future__ import annotations

import ctypes
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from bpshell.errors import LimitError, TimeLimitError

try:
    # signal's own C functions: the `signal` module wraps each handler it returns in an
    # enum lookup that fails for a function (an exception per call), which made installing
    # and restoring the alarm handler a third of a short statement's cost
    import _signal as raw_signal
except ImportError:  # another Python: the wrapped functions do the same
    raw_signal = signal  # type: ignore[assignment]

REPEAT = 0.05  # after the bound, the stop is repeated this often until the block exits


class Bound:
    """One active deadline: when it ends, and the seconds it was given (for the message)."""

    __slots__ = ("end", "seconds", "live")

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self.live = True  # False from the first instruction of the block's exit on


def expired_error(bound: Bound | None) -> TimeLimitError:
    e = TimeLimitError("took too long")
    e.seconds = None if bound is None else bound.seconds
    e.bound = bound
    return e


def _first(bounds: list[Bound]) -> Bound | None:
    """The live bound that ends first.

    A block's exit marks its bound dead with one attribute store, which Python cannot
    interrupt, before anything else: a stop that lands later in the exit (or a bound left
    behind when one does) finds nothing to enforce and stops nothing more.
    """
    live = [b for b in bounds if b.live]
    return min(live, key=lambda b: b.end) if live else None


# ---------------------------------------------------------------- SIGALRM, main thread

_main: list[Bound] = []  # the main thread's bounds under SIGALRM, innermost last
_previous: list = []  # the handler that was in place before ours, while ours is


def _signal_free() -> bool:
    """SIGALRM can be ours: main thread, setitimer exists, and the host has no handler of
    its own in Python (None: set from C) and no timer running."""
    if not hasattr(signal, "setitimer") or \
            threading.current_thread() is not threading.main_thread():
        return False
    _main[:] = [b for b in _main if b.live]
    if _main:
        return True  # ours already (a nested bound)
    handler = raw_signal.getsignal(signal.SIGALRM)
    if handler not in (signal.SIG_DFL, signal.SIG_IGN, _on_alarm):
        return False
    return signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def _arm() -> None:
    first = _first(_main)
    if first is not None:
        remaining = max(first.end - time.monotonic(), 1e-4)
        # repeating: an exception raised while Python runs a gc callback or a finalizer
        # is swallowed ("Exception ignored in ..."), so one alarm alone could be lost
        signal.setitimer(signal.ITIMER_REAL, remaining, REPEAT)
    else:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _on_alarm(signum, frame):
    first = _first(_main)
    if first is not None and time.monotonic() >= first.end - 1e-3:
        raise expired_error(first)
    _arm()  # early, or no bound left (a late alarm): re-arm or disarm


@contextmanager
def _signal_bound(bound: Bound) -> Iterator[Bound]:
    if not _main:
        _previous[:] = [raw_signal.signal(signal.SIGALRM, _on_alarm)]
    _main.append(bound)
    _arm()
    try:
        yield bound
    finally:
        bound.live = False  # first: see _first
        _main.remove(bound)
        signal.setitimer(signal.ITIMER_REAL, 0)
        if _main:
            _arm()
        elif _previous:
            raw_signal.signal(signal.SIGALRM, _previous.pop())


# ---------------------------------------------------------------- watchdog, any thread


class _Watched:
    """A thread with bounds under the watchdog."""

    __slots__ = ("ident", "bounds", "held", "next_stop")

    def __init__(self, ident: int):
        self.ident = ident
        self.bounds: list[Bound] = []
        self.held = 0  # a commit or rollback is running: no stop now
        self.next_stop = 0.0


# reentrant: a stop may surface in the bounded thread while it holds the lock
_cond = threading.Condition(threading.RLock())
_watched: dict[int, _Watched] = {}
_watchdog: list[threading.Thread] = []


def _set_async_exc():
    """CPython's PyThreadState_SetAsyncExc, or None where there is none."""
    api = getattr(ctypes, "pythonapi", None)
    fn = getattr(api, "PyThreadState_SetAsyncExc", None)
    if fn is not None:
        fn.argtypes = (ctypes.c_ulong, ctypes.py_object)
        fn.restype = ctypes.c_int
    return fn


_ASYNC = _set_async_exc()


class _Stopped(TimeLimitError):
    """What the watchdog raises in a thread: it is made there with no arguments, and
    reads which of that thread's bounds ran out."""

    def __init__(self, *args):
        w = _watched.get(threading.get_ident())  # only this thread changes its bounds
        bound = _first(w.bounds) if w is not None else None
        super().__init__("took too long")
        self.seconds = None if bound is None else bound.seconds
        self.bound = bound


def _clear_pending(ident: int) -> None:
    """Drop a stop raised in the thread that has not surfaced yet (call under _cond)."""
    _ASYNC(ident, ctypes.py_object())  # NULL: clears it


def _watch() -> None:
    with _cond:
        while True:
            now = time.monotonic()
            wake = None
            for w in _watched.values():
                first = _first(w.bounds)
                if first is None:
                    continue
                if now < first.end:
                    at = first.end
                elif w.held or now < w.next_stop:
                    at = max(w.next_stop, now + REPEAT / 5)
                else:
                    _ASYNC(w.ident, _Stopped)
                    w.next_stop = at = now + REPEAT
                wake = at if wake is None else min(wake, at)
            _cond.wait(None if wake is None else max(wake - now, 1e-4))


@contextmanager
def _watched_bound(bound: Bound) -> Iterator[Bound]:
    ident = threading.get_ident()
    with _cond:
        if not _watchdog:
            t = threading.Thread(target=_watch, name="bpshell-time-limit", daemon=True)
            _watchdog.append(t)
            t.start()
        w = _watched.setdefault(ident, _Watched(ident))
        w.bounds[:] = [b for b in w.bounds if b.live]
        w.bounds.append(bound)
        _cond.notify()
    try:
        yield bound
    finally:
        bound.live = False  # first: see _first
        _leave(ident, bound)


def _leave(ident: int, bound: Bound) -> None:
    with _cond:
        w = _watched.get(ident)
        if w is not None:
            w.bounds[:] = [b for b in w.bounds if b.live]
            if not w.bounds and not w.held:
                del _watched[ident]
        _clear_pending(ident)
        _cond.notify()


@contextmanager
def held() -> Iterator[None]:
    """No watchdog stop inside the block (a commit or a rollback): a stop due meanwhile
    comes right after it. (SIGALRM is held by the signal mask, in state.signals_held.)"""
    ident = threading.get_ident()
    with _cond:
        w = _watched.get(ident)
        if w is not None:
            w.held += 1
            _clear_pending(ident)
    try:
        yield
    finally:
        if w is not None:
            with _cond:
                w.held -= 1
                if not w.bounds and not w.held:
                    _watched.pop(ident, None)
                _cond.notify()


# ---------------------------------------------------------------- the one entry point


@contextmanager
def deadline(seconds: float | None) -> Iterator[Bound | None]:
    """Raise TimeLimitError inside the block once `seconds` have passed (0 or None: no
    bound). Yields the bound, so a caller can tell its own expiry from an outer one's."""
    if not seconds or seconds <= 0:
        yield None
        return
    bound = Bound(seconds)
    if _signal_free():
        manager = _signal_bound(bound)
    elif _ASYNC is not None:
        manager = _watched_bound(bound)
    else:
        raise LimitError(f"a time limit of {seconds:g} s cannot be kept here (no SIGALRM "
                         "in this thread, and no way to stop a thread); set the limit to 0 "
                         "(BPSHELL_TIME_LIMIT=0, --time-limit 0 or Limits(time_limit=0))")
    with manager:
        yield bound
