"""A statement's memory is bounded before it is spent.

Every value a statement computes is kept for its backward pass, so `x + x + ... + x` on a
large x holds every partial sum: BPSHELL_MAX_STATEMENT_ELEMENTS bounds them together,
next to BPSHELL_MAX_ELEMENTS for one array. The oracle for "before it is spent" is the
peak of Python's own allocation tracer (NumPy reports its arrays to it) during the
refused statement.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from bpshell.language.split import split_statements
from bpshell.limits import Limits
from bpshell.session import Session

MB = 1 << 20


def session(**limits) -> Session:
    return Session(limits=Limits.from_env({}, **limits), seed=0)


def peak_of(fn) -> tuple[object, int]:
    """fn()'s result and the most memory it held at once, in bytes."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        out = fn()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return out, peak


def refused(r: dict, setting: str) -> None:
    assert r["ok"] is False, r
    assert r["error"]["type"] == "limit", r["error"]
    assert setting in r["error"]["message"], r["error"]
    assert r["error"]["line"] is not None and r["error"]["column"] is not None


def test_a_long_sum_of_large_arrays_is_refused_before_it_fills_memory() -> None:
    s = session(max_statement_elements=1_000_000)
    assert s.run("x = zeros(300, 300)")[-1]["ok"]  # 90,000 elements, 0.7 MB
    before = dict(s.bindings)
    src = "y = sum(" + " + ".join(["x"] * 40) + ")"  # 39 sums: 3.5 million elements
    r, peak = peak_of(lambda: s.run(src)[-1])
    refused(r, "BPSHELL_MAX_STATEMENT_ELEMENTS")
    assert peak < 1_000_000 * 8 + 4 * MB, peak  # the bound, not 39 partial sums (28 MB)
    assert dict(s.bindings) == before


def test_a_sum_within_the_bound_runs_and_has_gradients() -> None:
    s = session(max_statement_elements=1_000_000)
    r = s.run("x = ones(300, 300); y = sum(" + " + ".join(["x"] * 10) + "); grad y")[-1]
    assert r["ok"], r
    assert r["value"] == 10 * 90_000
    assert np.array_equal(r["grads"]["x"], np.full((300, 300), 10.0))


def test_the_bound_counts_each_pass_afresh() -> None:
    # a training loop runs the same plan again and again: each pass is within the bound
    s = session(max_statement_elements=200_000)
    for r in s.run("seed 0; x = randn(200, 100); w = 0.5; y = mean((x*w - x)*(x*w - x))\n"
                   "fit y lr 0.1 steps 20 wrt w"):
        assert r["ok"], r
    assert abs(s.run("w")[-1]["value"] - 1.0) < 0.5


@pytest.mark.parametrize("term", ["zeros(300, 300)", "ones(300, 300)", "randn(300, 300)",
                                  "linspace(0, 1, 90000)"])
def test_values_made_by_constructors_count_too(term: str) -> None:
    s = session(max_statement_elements=1_000_000)
    src = "y = sum(" + " + ".join([term] * 15) + ")"
    r, peak = peak_of(lambda: s.run(src)[-1])
    refused(r, "BPSHELL_MAX_STATEMENT_ELEMENTS")
    assert peak < 1_000_000 * 8 + 4 * MB, peak


@pytest.mark.slow
def test_a_500_character_statement_stays_within_the_default_bound() -> None:
    # default bound: 50,000,000 elements (400 MB). 9 million-element x, 120 terms in a
    # 500-character statement: 1.1 billion elements (8.6 GB) without the bound
    s = session()
    assert s.run("x = zeros(3000, 3000)")[-1]["ok"]
    src = "y = sum(" + "+".join(["x"] * 120) + ")"
    assert len(src) < 500
    r, peak = peak_of(lambda: s.run(src)[-1])
    refused(r, "BPSHELL_MAX_STATEMENT_ELEMENTS")
    assert peak < 450 * MB, peak / MB


def test_onehot_with_many_classes_makes_only_its_rows() -> None:
    # the answer has 2 x 2,000,000 elements (32 MB); np.eye(2000000)[labels] would make a
    # 2,000,000 x 2,000,000 matrix first (29 TB)
    s = session()
    r, peak = peak_of(lambda: s.run("t = onehot([1, 1999999], 2000000); sum(t)")[-1])
    assert r["ok"], r
    assert r["value"] == 2.0
    assert peak < 3 * 32 * MB, peak / MB
    t = s.value_of("t")
    assert t.shape == (2, 2_000_000) and t[0, 1] == 1 and t[1, 1_999_999] == 1


@pytest.mark.parametrize("labels,k", [("[0, 2]", 3), ("[[0, 2], [1, 1]]", 3), ("2", 4),
                                      ("[3, 0, 3]", 4)])
def test_onehot_rows_match_the_identity_matrix(labels: str, k: int) -> None:
    s = session()
    r = s.run(f"onehot({labels}, {k})")[-1]
    assert r["ok"], r
    expected = np.eye(k)[np.asarray(eval_labels(labels), dtype=np.int64)]
    assert np.array_equal(np.asarray(r["value"]), expected)


def eval_labels(text: str):
    """The labels of the test table as Python lists (parsed with json, no eval)."""
    import json

    return json.loads(text)


@pytest.mark.parametrize("source", [
    "a = ones(5000, 1); b = ones(1, 5000); mse(a, b)",
    "a = ones(5000, 1); b = ones(1, 5000); cross_entropy(a, b)",
    "a = ones(5000, 1); b = ones(1, 5000); softmax_cross_entropy(a, b)",
    "a = ones(5000, 1); b = ones(1, 5000); def f(u, v) = v*v; f(a, b)",
    "a = ones(5000, 1); b = ones(1, 5000); def f(u, v) = u - u; f(a, b)",
    "a = ones(5000, 1); b = ones(1, 5000); def g(u, v) = sum(u*v); g(a, b)",
    "a = ones(5000, 1); b = ones(1, 5000); w = 2; def h(u, v) = u*v*w; h(a, b)",
])
def test_losses_and_user_functions_that_broadcast_respect_the_element_limit(
        source: str) -> None:
    s = session()
    r, peak = peak_of(lambda: s.run(source)[-1])
    refused(r, "BPSHELL_MAX_ELEMENTS")
    assert peak < 16 * MB, peak / MB  # 25 million elements would be 200 MB


# ---------------------------------------------------------------- bracket floods


def test_a_flood_of_open_brackets_costs_megabytes_not_gigabytes() -> None:
    src = "x = 1\n" + "[" * 2_000_000 + "\n"
    chunks, peak = peak_of(lambda: list(split_statements(src)))
    assert len(chunks) == 2 and chunks[1].open_bracket is not None
    assert peak < 16 * MB, peak / MB  # a stack of 2 million positions was 300 MB
    s = session()
    results, peak = peak_of(lambda: s.run(src))
    assert results[0]["ok"]
    refused(results[1], "BPSHELL_MAX_STATEMENT_CHARS")
    assert peak < 24 * MB, peak / MB


def test_brackets_are_matched_as_before() -> None:
    # runs of brackets are taken whole; a closing bracket of the wrong kind is skipped
    cases = {
        "x = ([1]); y = 2": ["x = ([1])", "y = 2"],
        "x = ([1)]); y = 2": ["x = ([1)])", "y = 2"],
        "z = ([\n1]\n)\nw = 3": ["z = ([\n1]\n)", "w = 3"],
        "a = [[[1]]]]]; b = 1": ["a = [[[1]]]]]", "b = 1"],
        "c = ((((2))))": ["c = ((((2))))"],
    }
    for src, texts in cases.items():
        assert [c.text.strip() for c in split_statements(src)] == texts, src
    last = list(split_statements("x = [1,\n [2, (3\n"))[-1]
    assert last.open_bracket == (2, 6)  # the innermost bracket left open


@pytest.mark.parametrize("flood", [
    ("[" * 300 + "1" + "]" * 300 + "\n") * 300,
    "x = [\n" + "1,\n" * 350_000 + "]\n",
    ("(" * 250 + "x" + ")" * 250 + "; ") * 300,
], ids=["nested-arrays", "long-array", "nested-parentheses"])
def test_bracket_floods_in_a_long_script_are_refused_cheaply(flood: str) -> None:
    s = session()
    results, peak = peak_of(lambda: s.run(flood, keep_going=False))
    assert not results[-1]["ok"]
    assert results[-1]["error"]["type"] in ("syntax", "limit"), results[-1]["error"]
    assert peak < 64 * MB, peak / MB
