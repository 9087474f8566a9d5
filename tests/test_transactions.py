"""A failed, timed-out or interrupted statement changes nothing.

Each case runs the same history in two sessions, makes one of them fail a statement, and
compares what a person can see of both afterwards: `vars`, `_`, the random stream,
`tree` and `rules`. The untouched twin is the oracle.
"""

from __future__ import annotations

import numpy as np
import pytest

from bpshell.errors import TimeLimitError
from bpshell.session import Session
from bpshell.state import State

HISTORY = ("seed 3\nx = 2\ndef f(u) = u*2\ny = f(x) + 1\nz = y * x\nnoise = randn(2)\n"
           "grad z\n")


def visible(s: Session) -> dict:
    """What a person can observe of a session, as plain data."""
    out = {}
    v = s.run("vars")[-1]
    out["vars"] = [(e["name"], e["kind"], e["expr"], _plain(e["value"])) for e in v["vars"]]
    out["functions"] = [(f["name"], tuple(f["params"]), f["expr"]) for f in v["functions"]]
    out["tree"] = _strip_ids(s.run("tree z")[-1])
    out["rules"] = [r["call"] for r in s.run("rules")[-1]["rules"]]
    out["last"] = _plain(s.run("_")[-1].get("value"))
    out["random"] = _plain(s.run("randn(3)")[-1]["value"])  # last: it draws
    return out


def _plain(v):
    return np.asarray(v).tolist() if v is not None else None


def _strip_ids(r: dict):
    if not r["ok"]:
        return r["error"]["message"]
    def walk(n):
        return (n.get("name"), n.get("op"), _plain(n.get("value")), _plain(n.get("grad")),
                tuple(walk(c) for c in n.get("children", ())))
    return r["has_grads"], walk(r["root"])


def twins() -> tuple[Session, Session]:
    a, b = Session(), Session()
    for s in (a, b):
        assert all(r["ok"] for r in s.run(HISTORY))
    return a, b


def test_twins_agree_to_begin_with():
    a, b = twins()
    assert visible(a) == visible(b)
    assert visible(a)["tree"][0] is True  # grad z left gradients for tree


def test_failed_run_that_redefines_a_function_changes_nothing(tmp_path):
    a, b = twins()
    script = tmp_path / "bad.bp"
    # f now reads y, so y = f(x) + 1 would read itself; then a statement fails
    script.write_text("def f(u) = u + 100\nreset\nseed 9\nq = randn(5)\nnope(1)\n")
    r = a.run(f"run {script}")[-1]
    assert not r["ok"] and "bad.bp:5:1" in r["error"]["message"]
    assert visible(a) == visible(b)
    assert a.run("w = y + 1")[-1]["value"] == pytest.approx(2 * 2 + 1 + 1)


def test_del_of_a_name_twice_deletes_nothing():
    a, b = twins()
    r = a.run("del x, x")[-1]
    assert not r["ok"] and "named twice" in r["error"]["message"]
    assert visible(a) == visible(b)


def test_check_with_eps_zero_leaves_no_gradients_behind():
    a, b = Session(), Session()
    for s in (a, b):
        assert all(r["ok"] for r in s.run("x = 2; y = x*x"))
    r = a.run("check y eps 0")[-1]
    assert not r["ok"] and "eps" in r["error"]["message"]
    tree = a.run("tree y")[-1]
    assert tree["has_grads"] is False and tree["root"]["grad"] is None
    assert _strip_ids(tree) == _strip_ids(b.run("tree y")[-1])


@pytest.mark.parametrize("exc", [TimeLimitError("took too long"), KeyboardInterrupt()],
                         ids=["timeout", "ctrl-c"])
def test_a_statement_stopped_while_committing_changes_nothing(exc, monkeypatch):
    a, b = twins()
    original = State.invalidate

    def stopped(self, name):  # the alarm lands while dependents are being invalidated
        original(self, name)
        raise exc

    monkeypatch.setattr(State, "invalidate", stopped)
    if isinstance(exc, KeyboardInterrupt):
        with pytest.raises(KeyboardInterrupt):
            a.run("x = 5")
    else:
        r = a.run("x = 5")[-1]
        assert not r["ok"] and r["error"]["type"] == "timeout"
    monkeypatch.setattr(State, "invalidate", original)
    assert visible(a) == visible(b)
    assert a.run("z")[-1]["value"] == pytest.approx((2 * 2 + 1) * 2)


def test_a_failed_statement_does_not_consume_random_numbers():
    a, b = twins()
    r = a.run("r = randn(4) @ [1, 2]")[-1]
    assert not r["ok"]
    assert visible(a) == visible(b)


def test_reset_inside_a_failed_run_is_undone(tmp_path):
    a, b = twins()
    script = tmp_path / "reset.bp"
    script.write_text("reset\nx = 1\n1 @ 2\n")
    assert not a.run(f"run {script}")[-1]["ok"]
    assert visible(a) == visible(b)


def test_a_successful_run_commits_everything(tmp_path):
    a = Session()
    script = tmp_path / "ok.bp"
    script.write_text("seed 1\nx = 3\ndef g(u) = u*u\ny = g(x)\n")
    assert a.run(f"run {script}")[-1]["ok"]
    assert a.run("y")[-1]["value"] == 9.0
    fresh = Session()
    fresh.run("seed 1")
    assert a.run("randn(2)")[-1]["value"].tolist() == fresh.run("randn(2)")[-1]["value"].tolist()
