"""Training as the book does it, each part against an oracle written here in NumPy.

grad(L, W) and the hand-written update loop against the test's own backprop of the
two-layer net; fit and step against what they may touch (parameters, never data); check
against the book's numerical_gradient; the mini-batch schedule against a reimplementation
of the loop; accuracy against the book's TwoLayerNet.accuracy; the data sets against their
definitions; decision regions against the net's classes computed here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bpshell.numeric.passes import Plan
from bpshell.session import Session

ROOT = Path(__file__).resolve().parents[1]

NET = """seed 3
X = randn(5, 3)
t = [0, 2, 1, 1, 0]
W1 = 0.5*randn(3, 4)
b1 = 0.1*randn(4)
W2 = 0.5*randn(4, 3)
b2 = 0.1*randn(3)
def net(x) = relu(x @ W1 + b1) @ W2 + b2
loss = softmax_cross_entropy(net(X), t)
"""


def ok(s: Session, src: str) -> list[dict]:
    results = s.run(src)
    bad = [r for r in results if not r["ok"]]
    assert not bad, bad[0]["error"]
    return results


def values(s: Session, *names: str) -> list[np.ndarray]:
    return [np.array(s.value_of(n), dtype=float) for n in names]


def book_grads(X, t, W1, b1, W2, b2):
    """The book's layers by hand: Affine, Relu, Affine, SoftmaxWithLoss with labels."""
    a = X @ W1 + b1
    h = np.maximum(a, 0)
    s = h @ W2 + b2
    y = np.exp(s - s.max(1, keepdims=True))
    y /= y.sum(1, keepdims=True)
    n = len(X)
    loss = -np.mean(np.log(y[np.arange(n), t.astype(int)]))
    ds = y.copy()
    ds[np.arange(n), t.astype(int)] -= 1
    ds /= n
    dW2, db2, dh = h.T @ ds, ds.sum(0), ds @ W2.T
    da = dh * (a > 0)
    return loss, {"W1": X.T @ da, "b1": da.sum(0), "W2": dW2, "b2": db2}


# ---------------------------------------------------------------- gradients as values


def test_grad_in_an_expression_is_the_books_gradient_as_a_value():
    s = Session()
    ok(s, NET + "dW1 = grad(loss, W1); db1 = grad(loss, b1); dW2 = grad(loss, W2); "
                "db2 = grad(loss, b2)")
    loss, want = book_grads(*values(s, "X", "t", "W1", "b1", "W2", "b2"))
    for name, g in want.items():
        np.testing.assert_allclose(s.value_of("d" + name), g, rtol=1e-10, atol=1e-13)
    # a value, not a live formula: it stays when W1 changes
    before = s.value_of("dW1").copy()
    ok(s, "W1 = W1 * 2")
    np.testing.assert_array_equal(s.value_of("dW1"), before)
    assert s.state.bindings["dW1"].__class__.__name__ == "Leaf"


def test_the_manual_update_loop_follows_the_books_sgd():
    s = Session()
    ok(s, NET)
    X, t, W1, b1, W2, b2 = values(s, "X", "t", "W1", "b1", "W2", "b2")
    params = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
    losses = []
    for _ in range(5):  # the book's: params[key] -= learning_rate * grads[key]
        loss, grads = book_grads(X, t, *params.values())
        losses.append(loss)
        for k in params:
            params[k] = params[k] - 0.5 * grads[k]
        # the book's order: every gradient first, then every update
        ok(s, "dW1 = grad(loss, W1); db1 = grad(loss, b1); dW2 = grad(loss, W2); "
              "db2 = grad(loss, b2)\n"
              "W1 = W1 - 0.5*dW1; b1 = b1 - 0.5*db1; W2 = W2 - 0.5*dW2; b2 = b2 - 0.5*db2")
        assert s.value_of("loss") == pytest.approx(book_grads(X, t, *params.values())[0])
    assert losses[-1] < losses[0]
    for k, want in params.items():
        np.testing.assert_allclose(s.value_of(k), want, rtol=1e-10, atol=1e-13)


def test_updates_in_one_statement_share_one_backward_pass_at_the_old_values(monkeypatch):
    s = Session()
    ok(s, NET)
    X, t, W1, b1, W2, b2 = values(s, "X", "t", "W1", "b1", "W2", "b2")
    _, g = book_grads(X, t, W1, b1, W2, b2)
    calls = []
    real = Plan.backward

    def counting(self, seed, targets=None):
        calls.append(targets)
        return real(self, seed, targets)

    monkeypatch.setattr(Plan, "backward", counting)
    ok(s, "step_all = grad(loss, W1) * 0 + sum(grad(loss, W2)) + sum(grad(loss, b1)) "
          "+ sum(grad(loss, b2))")
    assert len(calls) == 1 and len(calls[0]) == 4
    want = g["W2"].sum() + g["b1"].sum() + g["b2"].sum()
    np.testing.assert_allclose(s.value_of("step_all"), want, rtol=1e-10)


def test_grad_of_a_name_the_loss_does_not_read_is_zeros_of_its_shape():
    s = Session()
    ok(s, "w = [1, 2, 3]; v = [[1, 2]]; L = sum(w*w); g = grad(L, v)")
    np.testing.assert_array_equal(s.value_of("g"), np.zeros((1, 2)))


@pytest.mark.parametrize("src, words", [
    ("w = [1, 2]; L = w*w; g = grad(L, w)", "scalar"),
    ("w = 2; L = w*w; g = grad(L, nope)", "not defined"),
    ("w = 2; L = w*w; g = grad(L)", "grad(loss, W)"),
    ("w = 2; L = w*w; g = grad(L, 2*w)", "grad(loss, W)"),
    ("L = q*q; g = grad(L, q)", "needs values"),
    ("w = 2; L = w*w; def f(u) = grad(L, u)", "parameters"),
])
def test_grad_errors_say_why_and_bind_nothing(src, words):
    s = Session()
    r = s.run(src)[-1]
    assert not r["ok"] and words in r["error"]["message"], r
    assert "g" not in s.state.bindings


def test_grad_can_start_a_statement():
    r = Session().run("w = 3; L = w*w; grad(L, w) * 2")[-1]
    assert r["ok"] and r["kind"] == "value" and r["value"] == pytest.approx(12)


# ---------------------------------------------------------------- parameters and data

LINEAR = ("x = linspace(-1, 1, 40); t = 3*x + 0.5; w = 0; b = 0; y = w*x + b; "
          "loss = mean((y - t)**2); ")


def test_fit_without_wrt_trains_the_parameters_and_never_the_data():
    s = Session()
    ok(s, LINEAR + "xdata = x; param w, b")
    x0 = s.value_of("x").copy()
    r = ok(s, "fit loss lr 0.1 steps 1000")[-1]
    assert r["updated"] == ["w", "b"]
    np.testing.assert_array_equal(s.value_of("x"), x0)
    assert s.value_of("w") == pytest.approx(3, abs=1e-6)
    assert s.value_of("b") == pytest.approx(0.5, abs=1e-6)


def test_fit_without_wrt_or_parameters_refuses_listing_leaves_and_the_command():
    s = Session()
    ok(s, LINEAR)
    r = s.run("fit loss lr 0.1 steps 1000")[-1]
    msg = r["error"]["message"]
    assert not r["ok"]
    assert "x, w, b" in msg  # the leaves the loss reads, data included
    assert "'param w, b'" in msg and "'fit loss lr 0.1 steps 1000 wrt w, b'" in msg
    assert s.value_of("w") == 0 and s.value_of("b") == 0
    # the corrected command, typed as suggested, works
    ok(s, "fit loss lr 0.1 steps 1000 wrt w, b")
    assert s.value_of("w") == pytest.approx(3, abs=1e-6)


def test_parameters_are_journaled_listed_saved_and_forgotten(tmp_path):
    s = Session()
    ok(s, "w = 1; b = 2; h = w + b")
    r = s.run("param w, b; param h")  # h is a formula: the second statement fails
    assert r[0]["ok"] and not r[1]["ok"] and "formula" in r[1]["error"]["message"]
    assert list(s.state.params) == ["w", "b"]
    r = s.run("run /nonexistent/x.bp")[-1]
    assert not r["ok"]
    kinds = {v["name"]: v["kind"] for v in ok(s, "vars")[-1]["vars"]}
    assert kinds == {"w": "param", "b": "param", "h": "formula"}
    path = tmp_path / "s.bp"
    ok(s, f"save {path}")
    assert "param w, b" in path.read_text()
    s2 = Session()
    ok(s2, f"run {path}")
    assert list(s2.state.params) == ["w", "b"]
    ok(s, "del w; b = 2*w")  # deleted, and b now a formula: neither is a parameter
    assert list(s.state.params) == []


def test_a_failed_statement_leaves_the_parameters_as_they_were():
    s = Session()
    ok(s, "w = 1; v = 2")
    r = s.run("param w\nparam v, nope")
    assert r[0]["ok"] and not r[1]["ok"]
    assert list(s.state.params) == ["w"]


# ---------------------------------------------------------------- check


def numerical_gradient(f, x: np.ndarray) -> np.ndarray:
    """The book's numerical_gradient (4.4): central differences with h = 1e-4."""
    h = 1e-4
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        keep = x[idx]
        x[idx] = keep + h
        fp = f()
        x[idx] = keep - h
        fm = f()
        grad[idx] = (fp - fm) / (2 * h)
        x[idx] = keep
    return grad


def test_check_wrt_compares_like_the_books_gradient_check():
    s = Session()
    ok(s, NET)
    r = ok(s, "check loss wrt W1, b1, W2, b2")[-1]
    assert list(r["results"]) == ["W1", "b1", "W2", "b2"] and r["passed"]
    X, t, *ps = values(s, "X", "t", "W1", "b1", "W2", "b2")
    params = dict(zip(("W1", "b1", "W2", "b2"), ps))
    _, backprop = book_grads(X, t, *params.values())
    for name, res in r["results"].items():
        numeric = numerical_gradient(lambda: book_grads(X, t, *params.values())[0],
                                     params[name])
        diff = np.abs(backprop[name] - numeric)
        # the book prints the mean difference: both agree to far below 1e-6
        assert res["mean_abs_error"] < 1e-8 and diff.mean() < 1e-6
        at = tuple(res["at"])
        assert res["backprop"] == pytest.approx(backprop[name][at], abs=1e-12)
        assert res["numeric"] == pytest.approx(numeric[at], abs=1e-6)
        assert res["max_abs_error"] >= res["mean_abs_error"]


def test_check_without_wrt_checks_the_parameters_when_there_are_some():
    s = Session()
    ok(s, NET + "param W2, b2")
    assert list(ok(s, "check loss")[-1]["results"]) == ["W2", "b2"]


def test_a_failed_check_is_a_failed_statement_with_its_table(tmp_path):
    script = tmp_path / "kink.bp"
    script.write_text("x = [0, 1]\nw = 2\ny = sum(relu(x) * w)\ncheck y\nz = 1\n")
    p = subprocess.run([sys.executable, "-m", "bpshell", str(script)], capture_output=True,
                       text=True, cwd=ROOT, timeout=60)
    assert p.returncode == 1
    assert "check y: FAILED" in p.stdout and "z = 1" not in p.stdout
    # the worst element: x[0], where relu's kink gives backprop 0 and numeric w/2 = 1
    assert "x at [0] has backprop 0 and numeric 1" in p.stderr
    p = subprocess.run([sys.executable, "-m", "bpshell", "--json", str(script)],
                       capture_output=True, text=True, cwd=ROOT, timeout=60)
    last = json.loads(p.stdout.splitlines()[-1])
    assert not last["ok"] and last["detail"]["results"]["x"]["at"] == [0]


# ---------------------------------------------------------------- accuracy


def test_accuracy_is_the_books_accuracy():
    rng = np.random.default_rng(0)
    y = rng.standard_normal((50, 4))
    y[0] = [1, 3, 3, 0]  # a tie: np.argmax takes the first
    labels = rng.integers(0, 4, 50)
    labels[0] = 1
    want = np.mean(np.argmax(y, 1) == labels)
    s = Session()
    lit = json.dumps(y.tolist())
    r = ok(s, f"y = {lit}; t = {json.dumps(labels.tolist())}; a = accuracy(y, t); "
              f"b = accuracy(y, onehot(t, 4))")
    assert s.value_of("a") == pytest.approx(want) and s.value_of("b") == pytest.approx(want)
    assert r[-1]["value"] == pytest.approx(want)


def test_accuracy_has_no_gradient_and_refuses_mismatched_labels():
    s = Session()
    r = s.run("y = [[1, 2], [3, 0]]; a = accuracy(y, [1, 1, 0])")[-1]
    assert not r["ok"]
    ok(s, "w = 1; a = accuracy(w*y, [1, 0])")
    assert s.value_of("a") == 1.0
    assert ok(s, "g = grad(a, w)")[-1]["value"] == 0.0


# ---------------------------------------------------------------- mini-batches


def test_the_mini_batch_schedule_is_the_reimplemented_loop():
    # 10 rows, batches of 4: 4, 4 and the 2 left over, shuffled each epoch by the session's
    # random stream; SGD on mean((x*w + c - t)**2), written out here
    s = Session()
    ok(s, "seed 7; x = randn(10); t = randn(10); w = 0; c = 0; param w, c; "
          "loss = mean((x*w + c - t)**2)")
    x, t = values(s, "x", "t")
    rng = np.random.default_rng(7)
    rng.standard_normal(10), rng.standard_normal(10)  # the two draws above
    r = ok(s, "fit loss lr 0.1 batch 4 over x, t epochs 3")[-1]
    w = c = 0.0
    epoch_losses, sizes = [], []
    for _ in range(3):
        order = rng.permutation(10)
        seen = summed = 0.0
        for k in range(0, 10, 4):
            i = order[k:k + 4]
            sizes.append(len(i))
            e = x[i] * w + c - t[i]
            summed += np.mean(e**2) * len(i)
            seen += len(i)
            w, c = w - 0.1 * np.mean(2 * e * x[i]), c - 0.1 * np.mean(2 * e)
        epoch_losses.append(summed / seen)
    assert sizes == [4, 4, 2] * 3 and r["steps_done"] == 9
    assert s.value_of("w") == pytest.approx(w, rel=1e-12)
    assert s.value_of("c") == pytest.approx(c, rel=1e-12)
    assert [row[1] for row in r["trace"][1:]] == pytest.approx(epoch_losses, rel=1e-12)
    np.testing.assert_array_equal(s.value_of("x"), x)  # the data is whole again


def test_reports_are_measured_on_the_parameters_each_epoch_ended_with():
    s = Session()
    ok(s, "seed 1; load moons 60; W = 0.1*randn(2, 2); b = zeros(2); param W, b; "
          "loss = softmax_cross_entropy(x @ W + b, t)")
    r = ok(s, "fit loss lr 0.5 batch 16 over x, t epochs 4 report accuracy(x @ W + b, t)")[-1]
    x, t, W, b = values(s, "x", "t", "W", "b")
    assert r["reports"] == ["accuracy(x @ W + b, t)"]
    assert r["trace"][-1][2] == pytest.approx(np.mean(np.argmax(x @ W + b, 1) == t))
    assert [row[0] for row in r["trace"]] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("options, words", [
    ("batch 10", "over"),
    ("over x, t epochs 2", "batch"),
    ("batch 10 over x, t steps 5", "epochs"),
    ("batch 10 over x, t, W", "both data"),
    ("batch 0 over x, t", "at least 1"),
    ("batch 10 over x, q", "does not read"),
    ("batch 10 over x, loss", "formula"),
])
def test_mini_batch_options_that_do_not_fit_are_refused(options, words):
    s = Session()
    ok(s, "seed 1; load moons 30; W = randn(2, 2); q = zeros(3); param W; "
          "loss = softmax_cross_entropy(x @ W, t)")
    W = s.value_of("W").copy()
    r = s.run(f"fit loss lr 0.1 {options}")[-1]
    assert not r["ok"] and words in r["error"]["message"], r
    np.testing.assert_array_equal(s.value_of("W"), W)


def test_fit_curves_are_saved_as_an_image(tmp_path):
    pytest.importorskip("matplotlib")
    s = Session()
    ok(s, "seed 1; load xor 40; W = randn(2, 2); param W; loss = softmax_cross_entropy(x @ W, t)")
    png = tmp_path / "curves.png"
    r = ok(s, f"fit loss lr 0.1 batch 8 over x, t epochs 2 report accuracy(x @ W, t) plot "
              f"to {png}")[-1]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and r["file"] == str(png)


# ---------------------------------------------------------------- data sets


def test_load_digits_binds_the_books_names_with_a_fixed_stratified_split():
    import gzip

    s = Session()
    r = ok(s, "load digits")[-1]
    shapes = {a["name"]: a["shape"] for a in r["arrays"]}
    assert shapes == {"x_train": [1442, 64], "t_train": [1442], "x_test": [355, 64],
                      "t_test": [355]}
    with gzip.open(ROOT / "bpshell" / "data" / "digits.csv.gz", "rt") as f:
        table = np.loadtxt(f, delimiter=",")
    assert table.shape == (1797, 65)
    test = np.zeros(1797, bool)
    for c in range(10):  # every fifth image of each digit
        test[np.flatnonzero(table[:, 64] == c)[4::5]] = True
    np.testing.assert_array_equal(s.value_of("x_test"), table[test, :64] / 16)
    np.testing.assert_array_equal(s.value_of("t_train"), table[~test, 64])
    x = s.value_of("x_train")
    assert x.min() == 0 and x.max() == 1


def test_toy_sets_follow_their_definitions_and_the_seed():
    s = Session()
    ok(s, "seed 0; load moons 101 noise 0")
    x, t = values(s, "x", "t")
    outer, inner = x[t == 0], x[t == 1]
    assert len(outer) == 50 and len(inner) == 51
    np.testing.assert_allclose(np.hypot(*outer.T), 1)  # the upper half circle
    np.testing.assert_allclose(np.hypot(inner[:, 0] - 1, inner[:, 1] - 0.5), 1)
    ok(s, "seed 0; load xor 200; load circles 50 noise 0 as p, q; load spiral 90 as a, b")
    x, t = values(s, "x", "t")
    np.testing.assert_array_equal(t, (x[:, 0] * x[:, 1] < 0).astype(float))
    p, q = values(s, "p", "q")
    np.testing.assert_allclose(np.hypot(*p.T), np.where(q == 0, 1, 0.5))
    assert sorted(np.unique(s.value_of("b"))) == [0, 1, 2]
    a, b = Session(), Session()
    ok(a, "seed 5; load moons 20")
    ok(b, "seed 5; load moons 20")
    np.testing.assert_array_equal(a.value_of("x"), b.value_of("x"))


def test_load_files_npz_npy_csv(tmp_path):
    np.savez(tmp_path / "d.npz", xs=np.arange(6.0).reshape(3, 2), labels=np.array([0, 1, 1]))
    np.save(tmp_path / "w.npy", np.eye(2, dtype=np.float32))
    (tmp_path / "c.csv").write_text("a,b\n1,2\n3,4.5\n")
    s = Session()
    r = ok(s, f"load {tmp_path}/d.npz\nload {tmp_path}/w.npy as W\n"
              f"load {tmp_path}/c.csv as C")
    assert [a["name"] for a in r[0]["arrays"]] == ["xs", "labels"]
    np.testing.assert_array_equal(s.value_of("xs"), np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal(s.value_of("W"), np.eye(2))
    np.testing.assert_array_equal(s.value_of("C"), [[1, 2], [3, 4.5]])


def test_bad_files_give_a_clear_error_and_bind_nothing(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    np.save(tmp_path / "big.npy", np.zeros(50))
    np.save(tmp_path / "text.npy", np.array(["a", "b"]))
    (tmp_path / "bad.csv").write_text("1,2\n3,x\n")
    (tmp_path / "ragged.csv").write_text("1,2\n3\n")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    (tmp_path / "junk.npy").write_bytes(b"\x93NUMPY junk")
    np.savez(tmp_path / "badname.npz", **{"_x": np.zeros(2)})
    cases = [("obj.npy as A", "never unpickles"), ("big.npy as A", "limit"),
             ("text.npy as A", "numbers only"), ("bad.csv as A", "not a number"),
             ("ragged.csv as A", "first row has 2"), ("junk.npz", "not a .npz"),
             ("junk.npy as A", "not a NumPy"), ("missing.npy as A", "cannot read"),
             ("w.npy", "as NAME"), ("badname.npz", "cannot be a name"),
             ("data.txt as A", "not")]
    from bpshell.limits import Limits

    for rest, words in cases:
        s = Session(limits=Limits(max_elements=40))
        r = s.run(f"load {tmp_path}/{rest}")[-1]
        assert not r["ok"] and words in r["error"]["message"], (rest, r)
        assert s.state.bindings == {}, rest


# ---------------------------------------------------------------- decision regions


def test_decision_regions_are_the_nets_classes_on_the_grid():
    from bpshell.render.format import Style
    from bpshell.render.items import items_for
    from bpshell.render.text import to_text

    s = Session()
    ok(s, "seed 2; load moons 40; W = randn(2, 2); b = [0.1, -0.1]")
    r = ok(s, "plot x @ W + b wrt x data t")[-1]
    x, t, W, b = values(s, "x", "t", "W", "b")
    gx, gy = np.meshgrid(r["x"], r["y"])
    want = np.argmax(np.stack([gx.ravel(), gy.ravel()], 1) @ W + b, 1).reshape(gx.shape)
    np.testing.assert_array_equal(r["regions"], want)
    assert r["x"][0] < x[:, 0].min() and r["y"][-1] > x[:, 1].max()
    lines = to_text(items_for(r, Style(unicode=True, whole=True, width=80)), True).splitlines()
    picture = [line.strip() for line in lines[1:]]
    assert len(picture) == 24 and set("".join(picture)) <= set(".+01")
    top_left = want[-1, 0]
    assert picture[0][0] in (".+"[top_left], "0", "1")


# ---------------------------------------------------------------- the examples


def _run_json(name: str) -> list[dict]:
    p = subprocess.run([sys.executable, "-m", "bpshell", "--json", f"examples/{name}"],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in p.stdout.splitlines()]


@pytest.mark.slow
def test_the_digits_net_reaches_95_percent_test_accuracy():
    rows = _run_json("mnist_like.bp")
    (fit,) = [r for r in rows if r["kind"] == "fit"]
    assert fit["updated"] == ["W1", "b1", "W2", "b2"] and fit["epochs"] == 30
    final = [r for r in rows if r["kind"] == "value"][-1]["value"]
    assert final >= 0.95 and fit["trace"][-1][3] == pytest.approx(final)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"It reaches {final:.1%} test accuracy" in readme  # what the README says


def test_a_short_digits_fit_learns_and_matches_the_books_loop():
    # three epochs: the fit and the book's loop, from the same weights over the same
    # batches (bench/digits_fit.py runs the full 30), agree on every accuracy
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import digits_fit
    finally:
        sys.path.pop(0)
    s = digits_fit.prepared()
    book = digits_fit.book_fit(digits_fit.prepared(), 3)
    mine = digits_fit.engine_fit(s, 3)
    assert mine == pytest.approx(book) and mine > 0.8
