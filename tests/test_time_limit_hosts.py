"""The time limit when bpshell is a library: in a thread, next to a host that owns
SIGALRM, inside `run FILE`, and against scripts that reset and run themselves.

Main thread with SIGALRM free: a SIGALRM timer, its handler put back afterwards. Another
thread, or a host with its own SIGALRM handler or timer: a watchdog thread, and the
host's handler and timer are never touched.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import pytest

from bpshell.limits import Limits
from bpshell.session import Session

# about a second of NumPy work per pass on this machine's class of hardware, well over
# the 0.5 s bound, in statements of a few milliseconds each (so a stop lands quickly)
SLOW = "seed 1\nW = randn(300, 300)\nL = sum(tanh(W @ W))\ncheck L"
needs_alarm = pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="no SIGALRM here")


def session(limit: float) -> Session:
    return Session(limits=Limits.from_env({}, time_limit=limit), seed=0)


def stopped(limit: float = 0.5) -> tuple[dict, float, Session]:
    s = session(limit)
    t = time.monotonic()
    r = s.run(SLOW)[-1]
    return r, time.monotonic() - t, s


def assert_stopped_after(r: dict, elapsed: float, limit: float) -> None:
    assert r["ok"] is False and r["error"]["type"] == "timeout", r
    assert f"took longer than {limit:g} s" in r["error"]["message"], r["error"]
    assert elapsed < limit + 2.0, elapsed


def still_works(s: Session) -> None:
    """Statements after a timeout run, for longer than the old bound, with nothing stray
    stopping them; the session is as before the stopped statement."""
    assert "L" in s.bindings and s.run("W")[-1]["shape"] == [300, 300]
    t = time.monotonic()
    while time.monotonic() - t < 0.8:
        r = s.run("q = sum(tanh(W)) + 1")[-1]
        assert r["ok"], r


def in_thread(fn):
    out: list = []
    t = threading.Thread(target=lambda: out.append(fn()))
    t.start()
    t.join(60)
    assert not t.is_alive()
    return out[0]


def test_the_time_limit_works_in_a_thread() -> None:
    def work():
        r, elapsed, s = stopped(0.5)
        assert_stopped_after(r, elapsed, 0.5)
        still_works(s)
        return True

    assert in_thread(work)


def test_two_threads_each_keep_their_own_limit() -> None:
    results: dict[float, tuple] = {}

    def work(limit: float) -> None:
        r, elapsed, _ = stopped(limit)
        results[limit] = (r, elapsed)

    threads = [threading.Thread(target=work, args=(lim,)) for lim in (0.4, 1.5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for limit, (r, elapsed) in results.items():
        if r["ok"]:  # the long bound may let a fast machine finish: then it is a result
            assert limit == 1.5
            continue
        assert_stopped_after(r, elapsed, limit)
    assert not results[0.4][0]["ok"]


@needs_alarm
def test_a_host_sigalrm_handler_is_never_replaced() -> None:
    calls: list[int] = []

    def host(signum, frame):
        calls.append(signum)

    old = signal.signal(signal.SIGALRM, host)
    try:
        r, elapsed, s = stopped(0.5)
        assert_stopped_after(r, elapsed, 0.5)
        assert signal.getsignal(signal.SIGALRM) is host
        still_works(s)
        assert calls == []  # bpshell's bound never went through the host's handler
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        time.sleep(0.3)
        assert calls == [signal.SIGALRM]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@needs_alarm
def test_a_host_timer_keeps_running() -> None:
    calls: list[int] = []
    old = signal.signal(signal.SIGALRM, lambda signum, frame: calls.append(signum))
    try:
        signal.setitimer(signal.ITIMER_REAL, 30.0)
        r, elapsed, _ = stopped(0.5)
        assert_stopped_after(r, elapsed, 0.5)
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 25.0 < remaining <= 30.0  # the host's timer, untouched
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@needs_alarm
@pytest.mark.parametrize("before", [signal.SIG_DFL, signal.SIG_IGN], ids=["default", "ignore"])
def test_the_handler_bpshell_installs_is_put_back(before) -> None:
    old = signal.signal(signal.SIGALRM, before)
    try:
        r, elapsed, _ = stopped(0.5)
        assert_stopped_after(r, elapsed, 0.5)
        assert signal.getsignal(signal.SIGALRM) == before
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    finally:
        signal.signal(signal.SIGALRM, old)


def test_a_nested_run_reports_the_real_limit(tmp_path: Path) -> None:
    slow = tmp_path / "slow.bp"
    slow.write_text(SLOW + "\n", encoding="utf-8")
    s = session(0.5)
    t = time.monotonic()
    r = s.run(f"run {slow}")[-1]
    elapsed = time.monotonic() - t
    assert r["ok"] is False and r["error"]["type"] == "timeout", r
    msg = r["error"]["message"]
    assert "0.5 s" in msg and "took longer than 0 s" not in msg, msg
    assert f"{slow}:4:1" in msg and "BPSHELL_TIME_LIMIT" in msg
    assert elapsed < 2.5
    assert "W" not in s.bindings  # the whole run is undone


def test_the_statement_bound_is_not_taken_for_simplify_s(tmp_path: Path) -> None:
    # simplify has 30 s of its own, the statement 0.5 s: the statement's bound stops the
    # diff, which does not report it as simplify's and carry on
    s = Session(limits=Limits.from_env({}, time_limit=0.5, simplify_seconds=30), seed=0)
    chain = "sigmoid(" * 12 + "x" + ")" * 12
    t = time.monotonic()
    r = s.run(f"diff {chain} wrt x")[-1]
    if r["ok"]:  # a fast machine may finish: then simplify finished within bounds
        assert r["simplify_note"] is None
        return
    assert r["error"]["type"] == "timeout" and "0.5 s" in r["error"]["message"]
    assert time.monotonic() - t < 2.5


@pytest.mark.parametrize("text", ["reset\nrun {self}\n", "x = 1\nreset\nseed 3\nrun {self}\n"])
def test_a_script_that_resets_and_runs_itself_is_caught(tmp_path: Path, text: str) -> None:
    me = tmp_path / "me.bp"
    me.write_text(text.format(self=me), encoding="utf-8")
    s = session(2.0)
    assert s.run("keep = 5")[-1]["ok"]
    t = time.monotonic()
    r = s.run(f"run {me}")[-1]
    assert time.monotonic() - t < 2.0
    assert r["ok"] is False and "cannot run itself" in r["error"]["message"]
    assert s.run("keep")[-1]["value"] == 5.0  # the reset inside was undone


def test_scripts_that_reset_and_run_each_other_are_caught(tmp_path: Path) -> None:
    a, b = tmp_path / "a.bp", tmp_path / "b.bp"
    a.write_text(f"reset\nrun {b}\n", encoding="utf-8")
    b.write_text(f"reset\nrun {a}\n", encoding="utf-8")
    s = session(0)  # no time bound at all: the cycle is caught by itself
    r = s.run(f"run {a}")[-1]
    assert r["ok"] is False and "cannot run itself" in r["error"]["message"]


def test_runs_nested_past_the_depth_bound_name_it(tmp_path: Path) -> None:
    # distinct files, each running the next: bounded like nesting
    for i in range(8):
        (tmp_path / f"s{i}.bp").write_text(f"run {tmp_path / f's{i + 1}.bp'}\n",
                                            encoding="utf-8")
    (tmp_path / "s8.bp").write_text("x = 1\n", encoding="utf-8")
    s = Session(limits=Limits.from_env({}, max_depth=5), seed=0)
    r = s.run(f"run {tmp_path / 's0.bp'}")[-1]
    assert r["ok"] is False and r["error"]["type"] == "limit"
    assert "BPSHELL_MAX_DEPTH" in r["error"]["message"]
    s = Session(limits=Limits.from_env({}, max_depth=20), seed=0)
    assert s.run(f"run {tmp_path / 's0.bp'}")[-1]["ok"]


def test_where_no_bound_can_be_kept_it_is_refused_clearly(monkeypatch) -> None:
    # a Python without a way to stop a thread (not CPython): in a thread the bound is
    # refused with how to turn it off, and nothing runs unbounded silently
    from bpshell import timeout

    monkeypatch.setattr(timeout, "_ASYNC", None)

    def work():
        s = session(0.5)
        r = s.run("x = 1")[-1]
        ok = session(0).run("x = 1")[-1]
        return r, ok

    r, ok = in_thread(work)
    assert r["ok"] is False and r["error"]["type"] == "limit"
    assert "BPSHELL_TIME_LIMIT=0" in r["error"]["message"]
    assert ok["ok"]
