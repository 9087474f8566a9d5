"""Fixtures shared by the engine tests: run bpshell source through a Session."""

from __future__ import annotations

import pytest

from bpshell.session import Session


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
