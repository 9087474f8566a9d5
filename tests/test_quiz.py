"""Practice mode: the questions follow the backward pass from the output down, and answers
are checked against oracles written here (the book's numbers, NumPy's Affine backward,
central differences, SymPy's own diff)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import sympy as sp

from bpshell.render.out import Options, Output
from bpshell.session import Session
from bpshell.shell.quiz import run_quiz
from bpshell.shell.script import script_show


def quiz(source: str) -> dict:
    r = Session(seed=0).run(source)[-1]
    assert r["ok"], r.get("error")
    return r


def answers(*texts: str):
    it = iter(texts)
    return lambda question: next(it, None)


def test_apple_asks_from_the_output_down_and_accepts_the_book_numbers():
    r = quiz("quiz apple")
    q = r["questions"]
    # the unnamed product apple*n is u1 in every formula, and the question says so
    assert [x["to"] for x in q[:4]] == ["u1", "u1", "tax", "tax"]
    assert "u1 = apple*n" in q[0]["prompt"]
    check = r["checker"].check
    # fig. 5-16: price = (apple*n) * tax; d/d(apple*n) = tax = 1.1, d/dtax = 200
    assert check(0, "1.1")[0] and check(0, "tax")[0] and not check(0, "2")[0]
    assert check(1, "1.1*1")[0] and check(3, "200")[0]
    down = {x["to"]: k for k, x in enumerate(q) if x["ask"] == "downstream"}
    assert check(down["apple"], "2.2")[0] and check(down["n"], "110")[0]
    assert check(down["n"], "apple*tax")[0]


def test_an_answer_that_is_no_expression_does_not_count():
    check = quiz("quiz apple")["checker"].check
    ok, say = check(0, "tax +")
    assert ok is None and "not an answer" in say
    ok, say = check(0, "grad price")
    assert ok is None
    ok, say = check(0, "zzz")
    assert ok is None and "name without a value" in say


def test_sigmoid_graph_node_by_node_matches_the_book():
    # fig. 5-19: the / node sends -y**2 down, exp sends down exp(-x) times its upstream
    r = quiz("quiz sigmoid")
    x = 0.5
    y = 1 / (1 + np.exp(-x))
    check = r["checker"].check
    q = r["questions"]
    assert q[0]["node"] == "y" and q[0]["op"] == "div"
    assert check(0, "-y**2 / 1")[0] and check(0, "-1/(1 + exp(-x))**2")[0]
    last = max(k for k, x_ in enumerate(q) if x_["ask"] == "downstream")
    assert check(last, repr(float(y * (1 - y))))[0]  # what reaches x is sigmoid'(x)
    assert check(last, "y*(1 - y)")[0]


def test_affine_answers_are_arrays_checked_against_numpy():
    r = quiz("quiz affine")
    X = np.array([[1, 2], [3, 4], [5, 6]], float)
    W = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    dY = np.ones((3, 3))
    q = r["questions"]
    k = {(x["to"], x["ask"]): i for i, x in enumerate(q)}
    check = r["checker"].check
    assert check(k["X", "downstream"], "dY @ W.T")[0]
    assert check(k["W", "downstream"], "X.T @ dY")[0]
    assert check(k["b", "downstream"], "sum(dY, 0)")[0]
    ok, say = check(k["W", "downstream"], "dY @ W.T")
    assert ok is False and "shape" in say
    # the oracle: the book's Affine backward in NumPy
    assert np.allclose((dY @ W.T), r["checker"].questions[k["X", "downstream"]].expected)
    assert np.allclose(X.T @ dY, r["checker"].questions[k["W", "downstream"]].expected)


def test_symbolic_answers_are_checked_with_sympy_in_any_equivalent_form():
    r = quiz("y = sigmoid(w*x + b); quiz y")
    assert r["symbolic"]
    check = r["checker"].check
    assert check(0, "y*(1 - y)")[0]
    assert check(0, "exp(-(w*x + b))/(1 + exp(-(w*x + b)))**2")[0]
    assert check(0, "sigmoid(w*x+b) - sigmoid(w*x+b)**2")[0]
    assert not check(0, "y*(1 + y)")[0]
    # the last gradient sent to x is SymPy's own d/dx of the whole expression
    q = r["questions"]
    k = max(i for i, x in enumerate(q) if x["to"] == "x" and x["ask"] == "downstream")
    w, x, b = sp.symbols("w x b", real=True)
    oracle = sp.diff(1 / (1 + sp.exp(-(w * x + b))), x)
    assert check(k, str(oracle).replace("**", "^"))[0]


def forward(text: str, env: dict, limits) -> float:
    """The graph's value at env, by the forward pass alone (no gradient involved)."""
    from bpshell.commands.quizzing import evaluate_with, parse_answer

    return float(evaluate_with(parse_answer(text, 200), env, {}, limits))


def test_random_graphs_agree_with_central_differences():
    for seed in range(5):
        s = Session(seed=seed)
        r = s.run("quiz random")[-1]
        assert r["ok"], r.get("error")
        text = r["definitions"][r["of"]]
        values = {n: float(v) for n, v in r["definitions"].items() if n != r["of"]}
        for leaf in values:
            # the gradients sent down to a leaf, summed, are dL/d(leaf)
            sent = [q.expected for q in r["checker"].questions
                    if q.ask == "downstream" and q.to == leaf]
            h = 1e-6
            up = forward(text, {**values, leaf: values[leaf] + h}, s.limits)
            down = forward(text, {**values, leaf: values[leaf] - h}, s.limits)
            assert sum(sent) == pytest.approx((up - down) / (2 * h), rel=1e-4, abs=1e-6)


def test_a_wrong_answer_gets_the_rule_then_the_answer_and_a_score():
    r = quiz("quiz apple")
    buf = io.StringIO()
    right, asked = run_quiz(r, Output(Options(), buf), answers("2", "3", "1.1", "q"))
    text = buf.getvalue()
    assert "hint: the rule for a * b" in text and "the answer: tax" in text
    assert (right, asked) == (1, 2)
    assert "score: 1 of 2 right (1 at the first try); 6 not asked" in text


def test_a_script_reads_its_answers_from_stdin():
    s = Session()
    buf = io.StringIO()
    out = Output(Options(), buf)
    show = script_show(s, out, io.StringIO("tax\n1.1\n"))
    for r in s.iter_run("quiz apple"):
        show(r)
    text = buf.getvalue()
    assert text.count("  right") == 2 and "(no more answers on stdin)" in text
    assert "score: 2 of 2 right" in text
