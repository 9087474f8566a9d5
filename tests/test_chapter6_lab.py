"""The book's chapter 6 as a lab: its optimizers, Dropout, BatchNormalization, the
comparison of Figure 6-8 and the activation histograms.

The oracles are the book's own code, written out here in NumPy: common/optimizer.py's six
classes, common/layers.py's Dropout and BatchNormalization (forward and backward), and
np.histogram; and central differences through `check`.
"""

from __future__ import annotations

import numpy as np
import pytest

from bpshell.render.labplots import contour_panel, hist_panel
from bpshell.session import Session

R = np.random.default_rng(11)


def lit(a) -> str:
    return repr(np.asarray(a, dtype=float).tolist())


def ok(src: str, s: Session | None = None) -> list[dict]:
    r = (s or Session()).run(src)
    assert all(x["ok"] for x in r), [x for x in r if not x["ok"]]
    return r


# ---------------------------------------------------------------- the book's optimizers


class SGD:
    def __init__(self, lr=0.01):
        self.lr = lr

    def update(self, params, grads):
        for key in params:
            params[key] -= self.lr * grads[key]


class Momentum:
    def __init__(self, lr=0.01, momentum=0.9):
        self.lr, self.momentum, self.v = lr, momentum, None

    def update(self, params, grads):
        if self.v is None:
            self.v = {key: np.zeros_like(val) for key, val in params.items()}
        for key in params:
            self.v[key] = self.momentum * self.v[key] - self.lr * grads[key]
            params[key] += self.v[key]


class Nesterov:
    def __init__(self, lr=0.01, momentum=0.9):
        self.lr, self.momentum, self.v = lr, momentum, None

    def update(self, params, grads):
        if self.v is None:
            self.v = {key: np.zeros_like(val) for key, val in params.items()}
        for key in params:
            self.v[key] *= self.momentum
            self.v[key] -= self.lr * grads[key]
            params[key] += self.momentum * self.momentum * self.v[key]
            params[key] -= (1 + self.momentum) * self.lr * grads[key]


class AdaGrad:
    def __init__(self, lr=0.01):
        self.lr, self.h = lr, None

    def update(self, params, grads):
        if self.h is None:
            self.h = {key: np.zeros_like(val) for key, val in params.items()}
        for key in params:
            self.h[key] += grads[key] * grads[key]
            params[key] -= self.lr * grads[key] / (np.sqrt(self.h[key]) + 1e-7)


class RMSprop:
    def __init__(self, lr=0.01, decay_rate=0.99):
        self.lr, self.decay_rate, self.h = lr, decay_rate, None

    def update(self, params, grads):
        if self.h is None:
            self.h = {key: np.zeros_like(val) for key, val in params.items()}
        for key in params:
            self.h[key] *= self.decay_rate
            self.h[key] += (1 - self.decay_rate) * grads[key] * grads[key]
            params[key] -= self.lr * grads[key] / (np.sqrt(self.h[key]) + 1e-7)


class Adam:
    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999):
        self.lr, self.beta1, self.beta2 = lr, beta1, beta2
        self.iter, self.m, self.v = 0, None, None

    def update(self, params, grads):
        if self.m is None:
            self.m = {key: np.zeros_like(val) for key, val in params.items()}
            self.v = {key: np.zeros_like(val) for key, val in params.items()}
        self.iter += 1
        lr_t = self.lr * np.sqrt(1.0 - self.beta2**self.iter) / (1.0 - self.beta1**self.iter)
        for key in params:
            self.m[key] += (1 - self.beta1) * (grads[key] - self.m[key])
            self.v[key] += (1 - self.beta2) * (grads[key]**2 - self.v[key])
            params[key] -= lr_t * self.m[key] / (np.sqrt(self.v[key]) + 1e-7)


BOOK = {"sgd": SGD, "momentum": Momentum, "nesterov": Nesterov, "adagrad": AdaGrad,
        "rmsprop": RMSprop, "adam": Adam}
# Figure 6-8's learning rates, and the other two at a rate that converges
LRS = {"sgd": 0.95, "momentum": 0.1, "nesterov": 0.1, "adagrad": 1.5, "rmsprop": 0.3,
       "adam": 0.3}


def book_path(name: str, lr: float, steps: int = 30) -> np.ndarray:
    """optimizer_compare_naive.py: f = x**2/20 + y**2 from (-7, 2), df = (x/10, 2y)."""
    params = {"x": np.array(-7.0), "y": np.array(2.0)}
    opt = BOOK[name](lr=lr)
    path = [(-7.0, 2.0)]
    for _ in range(steps):
        grads = {"x": params["x"] / 10.0, "y": 2.0 * params["y"]}
        opt.update(params, grads)
        path.append((float(params["x"]), float(params["y"])))
    return np.array(path)


@pytest.mark.parametrize("name", list(BOOK))
def test_fit_follows_the_books_optimizer_step_for_step(name):
    s = Session()
    ok("x = -7; y = 2; f = x**2/20 + y**2", s)
    want = book_path(name, LRS[name])
    for k in (1, 2, 3, 30):  # a fit of k steps, each from the start
        ok("x = -7; y = 2", s)
        r = ok(f"fit f lr {LRS[name]} steps {k} {name} wrt x, y; x; y", s)
        assert r[0]["optimizer"] == name
        np.testing.assert_allclose([r[1]["value"], r[2]["value"]], want[k], rtol=1e-12,
                                   atol=1e-14)


@pytest.mark.parametrize("name", list(BOOK))
def test_compare_paths_are_the_books_trajectories(name):
    r = ok(f"f = x**2/20 + y**2; compare f from -7, 2 steps 30 {name} {LRS[name]}")[-1]
    (run,) = r["runs"]
    np.testing.assert_allclose(run["path"], book_path(name, LRS[name]), rtol=1e-12,
                               atol=1e-14)
    f = [x**2 / 20 + y**2 for x, y in book_path(name, LRS[name])]
    np.testing.assert_allclose(run["loss"], f, rtol=1e-12, atol=1e-15)


def test_the_old_spellings_still_work_and_the_option_sets_the_momentum():
    s = Session()
    ok("x = -7; y = 2; f = x**2/20 + y**2", s)
    r = ok("fit f lr 0.1 steps 5 momentum 0.5 wrt x, y; x", s)
    params = {"x": np.array(-7.0), "y": np.array(2.0)}
    opt = Momentum(lr=0.1, momentum=0.5)
    for _ in range(5):
        opt.update(params, {"x": params["x"] / 10.0, "y": 2.0 * params["y"]})
    assert r[1]["value"] == pytest.approx(float(params["x"]), rel=1e-12)
    r = ok("x = -7; y = 2; step f lr 0.3 adam wrt x, y; x", s)
    assert r[-1]["value"] == pytest.approx(book_path("adam", 0.3, 1)[1][0], rel=1e-12)


def test_an_optimizer_without_an_option_refuses_a_number():
    r = Session().run("x = 1; f = x**2; step f lr 0.1 adagrad 0.5 wrt x")[-1]
    assert not r["ok"] and "takes no number" in r["error"]["message"]


def test_help_writes_each_rule_out():
    r = ok("help fit")[-1]
    (entry,) = r["entries"]
    text = "\n".join(entry["notes"])
    for rule in ("p -= lr*g", "h += g*g; p -= lr*g/(sqrt(h) + 1e-7)",
                 "h = decay*h + (1 - decay)*g*g", "sqrt(1 - 0.999**t)/(1 - 0.9**t)",
                 "v = momentum*v - lr*g; p += v", "Kingma"):
        assert rule in text, rule


# ---------------------------------------------------------------- Dropout


def test_dropout_draws_the_books_mask_from_the_sessions_seed():
    r = ok("seed 3; x = ones(4, 5); h = dropout(x, 0.5)")[-1]
    mask = np.random.default_rng(3).random((4, 5)) > 0.5  # Dropout.forward's mask
    np.testing.assert_array_equal(r["value"], mask.astype(float))


def test_the_backward_pass_reuses_the_forward_mask():
    s = Session()
    x = R.standard_normal((3, 4))
    c = R.standard_normal((3, 4))
    r = ok(f"seed 9; x = {lit(x)}; c = {lit(c)}; h = dropout(x, 0.3); L = sum(h*c); grad L",
           s)
    mask = np.random.default_rng(9).random((3, 4)) > 0.3
    np.testing.assert_allclose(r[3]["value"], x * mask)
    np.testing.assert_allclose(r[-1]["grads"]["x"], c * mask)  # dout * self.mask
    # the value, a second gradient and a gradient check all see the same mask
    r = ok("h; grad L; check L", s)
    np.testing.assert_allclose(r[0]["value"], x * mask)
    np.testing.assert_allclose(r[1]["grads"]["x"], c * mask)
    assert r[2]["passed"]


def test_eval_mode_scales_by_one_minus_the_ratio_and_train_brings_the_mask_back():
    s = Session()
    r = ok("seed 2; x = [[1, 2, 3], [4, 5, 6]]; h = dropout(x, 0.25); L = sum(h); mode eval; "
           "h; "
           "grad L; vars; mode train; h", s)
    x = np.array([[1.0, 2, 3], [4, 5, 6]])
    mask = np.random.default_rng(2).random((2, 3)) > 0.25
    assert r[4]["kind"] == "mode" and r[4]["mode"] == "eval"
    np.testing.assert_allclose(r[5]["value"], x * 0.75)
    np.testing.assert_allclose(r[6]["grads"]["x"], np.full((2, 3), 0.75))
    assert r[7]["mode"] == "eval"
    np.testing.assert_allclose(r[9]["value"], x * mask)


def test_each_training_step_draws_a_new_mask_and_steps_with_it():
    s = Session()
    r = ok("seed 4; x = ones(2, 3); w = zeros(2, 3); L = sum(dropout(x, 0.5) * w); "
           "fit L lr 0.1 steps 3 wrt w; w", s)
    rng = np.random.default_rng(4)
    rng.random((2, 3))  # the mask drawn when L was defined
    masks = [rng.random((2, 3)) > 0.5 for _ in range(3)]  # one per step
    np.testing.assert_allclose(r[-1]["value"], -0.1 * sum(m.astype(float) for m in masks))


def test_a_failed_fit_leaves_the_mask_and_the_random_stream_as_they_were():
    s = Session()
    ok("seed 5; x = ones(2, 3); w = ones(2, 3); h = dropout(x, 0.5); L = sum(exp(h * w))", s)
    before = ok("h", s)[0]["value"]
    r = s.run("fit L lr -1000 steps 50 wrt w")[-1]  # ascent: exp overflows
    assert not r["ok"] and "loss became" in r["error"]["message"]
    np.testing.assert_array_equal(ok("h", s)[0]["value"], before)
    rng = np.random.default_rng(5)
    rng.random((2, 3))
    np.testing.assert_array_equal(ok("randn(2)", s)[0]["value"], rng.standard_normal(2))


@pytest.mark.parametrize("src, words", [
    ("x = ones(3); h = dropout(x, 1.5)", "at least 0 and below 1"),
    ("x = ones(3); h = dropout(x, r)", "must be a number written in the call"),
])
def test_dropout_errors(src, words):
    r = Session().run(src)[-1]
    assert not r["ok"] and words in r["error"]["message"]


# ---------------------------------------------------------------- BatchNormalization


class BatchNormalization:
    """common/layers.py's, for 2-D input."""

    def __init__(self, gamma, beta, momentum=0.9):
        self.gamma, self.beta, self.momentum = gamma, beta, momentum
        self.running_mean = self.running_var = None

    def forward(self, x, train_flg=True):
        if self.running_mean is None:
            _, D = x.shape
            self.running_mean, self.running_var = np.zeros(D), np.zeros(D)
        if train_flg:
            mu = x.mean(axis=0)
            xc = x - mu
            var = np.mean(xc**2, axis=0)
            std = np.sqrt(var + 10e-7)
            xn = xc / std
            self.batch_size, self.xc, self.xn, self.std = x.shape[0], xc, xn, std
            self.running_mean = self.momentum * self.running_mean + (1 - self.momentum) * mu
            self.running_var = self.momentum * self.running_var + (1 - self.momentum) * var
        else:
            xc = x - self.running_mean
            xn = xc / np.sqrt(self.running_var + 10e-7)
        return self.gamma * xn + self.beta

    def backward(self, dout):
        dbeta = dout.sum(axis=0)
        dgamma = np.sum(self.xn * dout, axis=0)
        dxn = self.gamma * dout
        dxc = dxn / self.std
        dstd = -np.sum((dxn * self.xc) / (self.std * self.std), axis=0)
        dvar = 0.5 * dstd / self.std
        dxc += (2.0 / self.batch_size) * self.xc * dvar
        dmu = np.sum(dxc, axis=0)
        dx = dxc - dmu / self.batch_size
        return dx, dgamma, dbeta


def test_batchnorm_forward_and_backward_are_the_books():
    x, g, b = R.standard_normal((5, 3)) * 3 + 1, R.standard_normal(3), R.standard_normal(3)
    G = R.standard_normal((5, 3))
    r = ok(f"x = {lit(x)}; g = {lit(g)}; b = {lit(b)}; y = batchnorm(x, g, b); "
           f"grad y with {lit(G)}")
    layer = BatchNormalization(g, b)
    np.testing.assert_allclose(r[3]["value"], layer.forward(x), rtol=1e-12)
    dx, dgamma, dbeta = layer.backward(G)
    got = r[-1]["grads"]
    np.testing.assert_allclose(got["x"], dx, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got["g"], dgamma, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got["b"], dbeta, rtol=1e-10, atol=1e-12)


def test_batchnorm_backward_agrees_with_the_composed_elementary_ops():
    x, g, b = R.standard_normal((6, 4)), R.standard_normal(4), R.standard_normal(4)
    c = R.standard_normal((6, 4))
    defs = f"x = {lit(x)}; g = {lit(g)}; b = {lit(b)}; c = {lit(c)}; "
    fused = ok(defs + "L = sum(batchnorm(x, g, b) * c); grad L")[-1]["grads"]
    composed = ok(defs + "mu = mean(x, axis=0); xc = x - mu; v = mean(xc**2, axis=0); "
                  "sd = sqrt(v + 10e-7); xn = xc / sd; L = sum((g*xn + b) * c); "
                  "grad L wrt x, g, b")[-1]["grads"]
    for k in ("x", "g", "b"):
        np.testing.assert_allclose(fused[k], composed[k], rtol=1e-9, atol=1e-12)
    assert ok(defs + "L = sum(batchnorm(x, g, b) * c); check L")[-1]["passed"]


def test_explain_shows_figure_6_17_and_its_backward_agrees():
    x, g, b = R.standard_normal((4, 3)), R.standard_normal(3), R.standard_normal(3)
    r = ok(f"x = {lit(x)}; g = {lit(g)}; b = {lit(b)}; y = batchnorm(x, g, b); "
           f"L = sum(y*y); explain L")[-1]
    (row,) = [row for row in r["rows"] if row["op"] == "batchnorm"]
    c = row["composed"]
    assert [s["op"] for s in c["rows"]] == ["add", "mul", "div", "sqrt", "add", "mean", "pow",
                                           "sub", "mean"]  # Figure 6-17 right to left
    assert c["gap"] < 1e-12
    shapes = {s["node"]: s["shape"] for s in c["rows"]}
    assert shapes["mu"] == [3] and shapes["xc"] == [4, 3] and shapes["std"] == [3]


def test_running_averages_move_once_per_training_step_and_eval_uses_them():
    x, g, b = R.standard_normal((8, 3)) * 2 + 3, np.ones(3), np.zeros(3)
    c = R.standard_normal((8, 3))
    s = Session()
    ok(f"x = {lit(x)}; g = {lit(g)}; b = {lit(b)}; c = {lit(c)}; "
       "y = batchnorm(x, g, b); L = sum(y * c)", s)
    r = ok("grad L; check L; fit L lr 0.01 steps 4 wrt b; mode eval; y", s)
    layer = BatchNormalization(g, ok("b", s)[0]["value"])
    for _ in range(4):  # the book's forward in training, once per step
        layer.forward(x, train_flg=True)
    np.testing.assert_allclose(r[-1]["value"], layer.forward(x, train_flg=False), rtol=1e-12)
    # evaluation's backward: the running statistics are constants
    G = np.ones((8, 3))
    r = ok(f"grad y with {lit(G)}", s)
    np.testing.assert_allclose(r[0]["grads"]["x"],
                               np.broadcast_to(g / np.sqrt(layer.running_var + 1e-6), (8, 3)),
                               rtol=1e-12)


def test_batchnorm_refuses_what_is_not_a_batch():
    r = Session().run("x = [1, 2, 3]; y = batchnorm(x, 1, 0)")[-1]
    assert not r["ok"] and "one row per sample" in r["error"]["message"]


# ---------------------------------------------------------------- compare, drawn


def read_panel(lines: list[str], width: int) -> dict[str, list[tuple[int, int]]]:
    """(row, column) of each mark inside a contour panel's frame."""
    body = [ln.split("|", 1)[1].ljust(width) for ln in lines[1:] if "|" in ln]
    marks: dict[str, list[tuple[int, int]]] = {}
    for r, row in enumerate(body):
        for c, ch in enumerate(row):
            marks.setdefault(ch, []).append((r, c))
    return marks


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_a_contour_panel_puts_each_step_where_the_path_went(name):
    r = ok(f"f = x**2/20 + y**2; compare f from -7, 2 steps 30 {name} {LRS[name]}")[-1]
    run, grid = r["runs"][0], r["grid"]
    W, H = 40, 15
    marks = read_panel(contour_panel(run, grid, W, H), W)
    x0, x1, y0, y1 = grid["x"][0], grid["x"][-1], grid["y"][0], grid["y"][-1]

    def where(p):  # the cell a point falls in, computed here from the axes
        return (H - 1 - round((p[1] - y0) / (y1 - y0) * (H - 1)),
                round((p[0] - x0) / (x1 - x0) * (W - 1)))

    path = book_path(name, LRS[name])
    assert marks["S"] == [where(path[0])]
    cells = {where(p) for p in path[1:]}
    assert set(marks["o"]) <= cells and set(marks["o"]) | {where(path[0])} >= cells - {
        where(path[0])}
    # the lowest grid point is marked, near the true minimum (0, 0)
    (low,) = marks["+"]
    assert abs(low[0] - where((0, 0))[0]) <= 1 and abs(low[1] - where((0, 0))[1]) <= 1
    assert len(marks["·"]) > W  # contour lines are drawn


def test_compare_draws_every_panel_and_the_loss_curves_and_changes_nothing(tmp_path):
    s = Session()
    ok("f = x**2/20 + y**2", s)
    r = ok(f"compare f from -7, 2 steps 30 sgd 0.95 momentum 0.1 adagrad 1.5 adam 0.3 "
           f"to {tmp_path}/fig.png", s)[-1]
    assert [run["optimizer"] for run in r["runs"]] == ["sgd", "momentum", "adagrad", "adam"]
    assert ok("vars", s)[0]["vars"][0]["kind"] == "symbolic"  # x, y still symbols
    pytest.importorskip("matplotlib")
    assert (tmp_path / "fig.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_compare_in_a_pipe_shows_four_panels_and_a_legend():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "bpshell", "-c",
                          "f = x**2/20 + y**2; compare f from -7, 2 steps 30 sgd 0.95 "
                          "momentum 0.1 adagrad 1.5 adam 0.3"], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    for title in ("SGD (lr 0.95)", "Momentum (lr 0.1)", "AdaGrad (lr 1.5)", "Adam (lr 0.3)"):
        assert title in out
    assert out.count("S") >= 4 and "f at each step" in out


@pytest.mark.parametrize("src, words", [
    ("f = x**2 + y**2; compare f from 1 sgd 0.1", "1 values for 2 inputs"),
    ("f = x**2 + y**2; compare f from 1, 2", "name at least one optimizer"),
    ("x = 1; compare x from 1 sgd 0.1", "must be a formula"),
    ("f = x**2 + y**2; compare f sgd 0.1", "needs a start"),
])
def test_compare_errors(src, words):
    r = Session().run(src)[-1]
    assert not r["ok"] and words in r["error"]["message"], r


# ---------------------------------------------------------------- hist


def test_hist_counts_are_numpys_and_the_bars_read_back_to_them(tmp_path):
    s = Session()
    a = R.standard_normal(500)
    r = ok(f"a = {lit(a)}; b = sigmoid(a); hist a, b bins 12 from -1 to 1 "
           f"to {tmp_path}/h.png", s)[-1]
    edges = np.linspace(-1, 1, 13)
    for name, values in (("a", a), ("b", 1 / (1 + np.exp(-a)))):
        counts, _ = np.histogram(values, bins=edges)
        k = r["names"].index(name)
        assert r["counts"][k] == counts.tolist()
        assert r["outside"][k] == int(np.sum((values < -1) | (values > 1)))
        panel = hist_panel(name, r["counts"][k], edges, height=8)
        blocks = " ▁▂▃▄▅▆▇█"
        heights = [sum(blocks.index(row[1 + c]) for row in panel[1:9]) for c in range(12)]
        want = [round(c / counts.max() * 64) for c in counts]
        assert heights == want
    pytest.importorskip("matplotlib")
    assert (tmp_path / "h.png").read_bytes()[:4] == b"\x89PNG"


def test_the_init_weight_experiment_shows_the_books_shapes():
    # Figure 6-10 (std 1): activations pile up at 0 and 1; Figure 6-11 (std 0.01): at 0.5;
    # Figure 6-13 (Xavier): spread between
    src = ("seed 0; x = randn(1000, 100); W1 = randn(100, 100) * {s}; "
           "W2 = randn(100, 100) * {s}; a1 = sigmoid(x @ W1); a2 = sigmoid(a1 @ W2); "
           "hist a2 bins 10 from 0 to 1")
    big = ok(src.format(s=1))[-1]["counts"][0]
    small = ok(src.format(s=0.01))[-1]["counts"][0]
    xavier = ok(src.format(s="sqrt(1/100)"))[-1]["counts"][0]
    assert big[0] + big[-1] > 0.5 * sum(big)
    assert small[4] + small[5] == sum(small)
    assert max(xavier) < 0.5 * sum(xavier) and xavier[0] + xavier[-1] < 0.1 * sum(xavier)


def test_the_optimizers_example_is_figure_6_8(tmp_path):
    import json
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    pytest.importorskip("matplotlib")
    root = Path(__file__).resolve().parents[1]
    (tmp_path / "docs" / "figures").mkdir(parents=True)
    shutil.copy(root / "examples" / "optimizers.bp", tmp_path / "optimizers.bp")
    out = subprocess.run([sys.executable, "-m", "bpshell", "--json", "optimizers.bp"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120, check=True)
    (r,) = [json.loads(s) for s in out.stdout.splitlines() if '"compare"' in s]
    for run in r["runs"]:
        np.testing.assert_allclose(run["path"], book_path(run["optimizer"], run["lr"]),
                                   rtol=1e-12, atol=1e-14)
    assert [(run["optimizer"], run["lr"]) for run in r["runs"]] == [
        ("sgd", 0.95), ("momentum", 0.1), ("adagrad", 1.5), ("adam", 0.3)]
    assert (tmp_path / "docs" / "figures" / "optimizers.png").exists()


def test_the_mode_is_train_or_eval_and_names_stay_free():
    r = Session().run("mode test")[-1]
    assert not r["ok"] and "train or eval" in r["error"]["message"]
    # train and eval remain names a learner may use for data
    assert ok("train = [1, 2]; eval = 3")[-1]["value"] == 3.0
