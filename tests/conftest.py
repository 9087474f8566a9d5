"""Fixtures shared by the engine tests, and the `slow` marker's default skip.

Tests marked `slow` (the large fuzz runs, the 100,000-node chain, the CLI sweeps) are
skipped on a developer's machine so that `python3 -m pytest` stays under two minutes;
CI sets CI=true and runs them all. BPSHELL_SLOW=1 (or BPSHELL_LONG=1) runs them locally.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import pytest

from bpshell.session import Session

SLOW_SKIP = "slow test: run with BPSHELL_SLOW=1 (CI=true runs it too)"


def _run_slow(environ: Mapping[str, str]) -> bool:
    """CI (CI=true, as CI services set it) or BPSHELL_SLOW=1 asks for the slow tests;
    so does BPSHELL_LONG=1, whose long fuzz profile only the slow fuzz tests use."""
    ci = environ.get("CI", "").strip().lower() in ("1", "true", "yes")
    return ci or any(environ.get(v, "").strip() == "1" for v in ("BPSHELL_SLOW", "BPSHELL_LONG"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the tests marked slow unless CI or BPSHELL_SLOW asks for them."""
    if _run_slow(os.environ):
        return
    skip = pytest.mark.skip(reason=SLOW_SKIP)
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)


def _run(src: str, session: Session | None = None) -> list[dict]:
    return (session if session is not None else Session()).run(src)


@pytest.fixture
def run():
    """run(src[, session]) -> one result dict per statement (a fresh Session by default)."""
    return _run


@pytest.fixture
def last():
    """last(src[, session]) -> the result of the last statement, which must have succeeded."""

    def _last(src: str, session: Session | None = None) -> dict:
        r = _run(src, session)[-1]
        assert r["ok"], r
        return r

    return _last
