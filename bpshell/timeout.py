"""Time bounds for work that has no bound of its own (SymPy's simplify, a long statement).

A SIGALRM timer raises TimeLimitError in the main thread; deadlines nest, the inner one
never extending the outer. Off the main thread (or without SIGALRM) no bound applies.
"""

from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager

from bpshell.errors import TimeLimitError

_active: list[float] = []  # absolute deadlines, innermost last
_installed: list[bool] = []  # the handler is in place (checking it costs an enum per call)


def _usable() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


REPEAT = 0.05  # after the bound, the alarm fires again this often until the block exits


def _arm() -> None:
    if _active:
        remaining = max(min(_active) - time.monotonic(), 1e-4)
        # repeating: an exception raised while Python runs a gc callback or a finalizer
        # is swallowed ("Exception ignored in ..."), so one alarm alone could be lost
        signal.setitimer(signal.ITIMER_REAL, remaining, REPEAT)
    else:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _on_alarm(signum, frame):
    now = time.monotonic()
    if _active and now >= min(_active) - 1e-3:
        raise TimeLimitError("took too long")
    _arm()


@contextmanager
def deadline(seconds: float | None):
    """Raise TimeLimitError inside the block once `seconds` have passed (0 or None: no bound)."""
    if not seconds or seconds <= 0 or not _usable():
        yield
        return
    if not _installed:
        # installed once and left in place: it acts only while a deadline is active
        signal.signal(signal.SIGALRM, _on_alarm)
        _installed.append(True)
    _active.append(time.monotonic() + seconds)
    _arm()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)  # no alarm while the bookkeeping runs
        _active.pop()
        _arm()
