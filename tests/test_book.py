"""The book's worked examples and layers ("Deep Learning from Scratch", ch. 5).

The layer classes below are written the way the book writes them (forward keeps what
backward needs: Relu's mask, Sigmoid's out, Affine's x) and serve as the oracle for the
same computation written in bpshell.
"""

from __future__ import annotations

import numpy as np
import pytest

from bpshell.session import Session

# ---------------------------------------------------------------- the book's layers


class MulLayer:
    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, dout):
        return dout * self.y, dout * self.x


class AddLayer:
    def forward(self, x, y):
        return x + y

    def backward(self, dout):
        return dout * 1, dout * 1


class Relu:
    def forward(self, x):
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dout = dout.copy()
        dout[self.mask] = 0
        return dout


class Sigmoid:
    def forward(self, x):
        self.out = 1 / (1 + np.exp(-x))
        return self.out

    def backward(self, dout):
        return dout * (1.0 - self.out) * self.out


class Affine:
    def __init__(self, W, b):
        self.W, self.b = W, b

    def forward(self, x):
        self.x = x
        return np.dot(x, self.W) + self.b

    def backward(self, dout):
        dx = np.dot(dout, self.W.T)
        self.dW = np.dot(self.x.T, dout)
        self.db = np.sum(dout, axis=0)
        return dx


def softmax(x):
    x = x - np.max(x, axis=-1, keepdims=True)
    return np.exp(x) / np.sum(np.exp(x), axis=-1, keepdims=True)


def cross_entropy_error(y, t):
    if y.ndim == 1:
        t = t.reshape(1, t.size)
        y = y.reshape(1, y.size)
    if t.size == y.size:
        t = t.argmax(axis=1)
    batch_size = y.shape[0]
    return -np.sum(np.log(y[np.arange(batch_size), t] + 1e-7)) / batch_size


class SoftmaxWithLoss:
    def forward(self, x, t):
        self.t = t
        self.y = softmax(x)
        self.loss = cross_entropy_error(self.y, self.t)
        return self.loss

    def backward(self, dout=1):
        batch_size = self.t.shape[0]
        if self.t.size == self.y.size:
            dx = (self.y - self.t) / batch_size
        else:
            dx = self.y.copy()
            dx[np.arange(batch_size), self.t] -= 1
            dx = dx / batch_size
        return dx * dout


def lit(a) -> str:
    return repr(np.asarray(a, dtype=float).tolist())


def ok(results: list[dict]) -> list[dict]:
    for r in results:
        assert r["ok"], r
    return results


# ---------------------------------------------------------------- the apple examples


def test_buy_apple():
    rs = ok(Session().run("apple = 100\napple_num = 2\ntax = 1.1\n"
                          "apple_price = apple * apple_num\nprice = apple_price * tax\n"
                          "grad price"))
    g = rs[-1]
    assert g["value"] == pytest.approx(220)
    assert g["grads"]["apple"] == pytest.approx(2.2)
    assert g["grads"]["apple_num"] == pytest.approx(110)
    assert g["grads"]["tax"] == pytest.approx(200)
    assert g["grads"]["apple_price"] == pytest.approx(1.1)


def test_buy_apple_in_one_expression():
    g = ok(Session().run("apple = 100; n = 2; tax = 1.1\nprice = apple * n * tax\n"
                         "grad price"))[-1]
    assert g["value"] == pytest.approx(220)
    assert g["grads"] == {"apple": pytest.approx(2.2), "n": pytest.approx(110),
                          "tax": pytest.approx(200)}


def test_buy_apple_matches_the_books_layers():
    mul_apple, mul_tax = MulLayer(), MulLayer()
    price = mul_tax.forward(mul_apple.forward(100, 2), 1.1)
    dapple_price, dtax = mul_tax.backward(1)
    dapple, dapple_num = mul_apple.backward(dapple_price)
    g = ok(Session().run("apple = 100\napple_num = 2\ntax = 1.1\n"
                         "price = apple * apple_num * tax\ngrad price"))[-1]
    assert g["value"] == pytest.approx(price)
    assert g["grads"]["apple"] == pytest.approx(dapple)
    assert g["grads"]["apple_num"] == pytest.approx(dapple_num)
    assert g["grads"]["tax"] == pytest.approx(dtax)


def test_buy_apple_orange():
    rs = ok(Session().run(
        "apple = 100\napple_num = 2\norange = 150\norange_num = 3\ntax = 1.1\n"
        "apple_price = apple * apple_num\norange_price = orange * orange_num\n"
        "all_price = apple_price + orange_price\nprice = all_price * tax\ngrad price"))
    g = rs[-1]
    assert g["value"] == pytest.approx(715)
    expected = {"apple_num": 110, "apple": 2.2, "orange": 3.3, "orange_num": 165, "tax": 650,
                "all_price": 1.1, "apple_price": 1.1, "orange_price": 1.1}
    for name, v in expected.items():
        assert g["grads"][name] == pytest.approx(v), name


def test_buy_apple_orange_matches_the_books_layers():
    ma, mo, add, mt = MulLayer(), MulLayer(), AddLayer(), MulLayer()
    price = mt.forward(add.forward(ma.forward(100, 2), mo.forward(150, 3)), 1.1)
    dall, dtax = mt.backward(1)
    dap, dop = add.backward(dall)
    dorange, dorange_num = mo.backward(dop)
    dapple, dapple_num = ma.backward(dap)
    g = ok(Session().run("apple = 100; apple_num = 2; orange = 150; orange_num = 3\n"
                         "tax = 1.1\nprice = (apple * apple_num + orange * orange_num) * tax\n"
                         "grad price"))[-1]
    assert g["value"] == pytest.approx(price)
    for name, v in [("apple", dapple), ("apple_num", dapple_num), ("orange", dorange),
                    ("orange_num", dorange_num), ("tax", dtax)]:
        assert g["grads"][name] == pytest.approx(v), name


def test_buy_apple_tree_carries_values_and_gradients():
    s = Session()
    ok(s.run("apple = 100\napple_num = 2\ntax = 1.1\napple_price = apple * apple_num\n"
             "price = apple_price * tax\ngrad price"))
    t = ok(s.run("tree price"))[-1]
    root = t["root"]
    assert root["name"] == "price" and root["op"] == "mul"
    assert root["value"] == pytest.approx(220) and root["grad"] == pytest.approx(1)
    by_name = {c["name"]: c for c in root["children"]}
    assert set(by_name) == {"apple_price", "tax"}
    assert by_name["tax"]["grad"] == pytest.approx(200)
    assert by_name["apple_price"]["value"] == pytest.approx(200)
    assert by_name["apple_price"]["grad"] == pytest.approx(1.1)
    leaves = {c["name"]: c for c in by_name["apple_price"]["children"]}
    assert leaves["apple"]["grad"] == pytest.approx(2.2)
    assert leaves["apple_num"]["grad"] == pytest.approx(110)


def test_buy_apple_price_follows_new_values():
    rs = ok(Session().run("apple = 100\nn = 2\ntax = 1.1\nprice = apple * n * tax\n"
                          "n = 3\nprice\ngrad price"))
    assert rs[-2]["value"] == pytest.approx(330)
    assert rs[-1]["grads"]["apple"] == pytest.approx(3.3)
    assert rs[-1]["grads"]["n"] == pytest.approx(110)
    assert rs[-1]["grads"]["tax"] == pytest.approx(300)


# ---------------------------------------------------------------- activation layers


def test_relu_layer_mask():
    x = np.array([[1.0, -0.5], [-2.0, 3.0], [0.0, 0.25]])
    dout = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    layer = Relu()
    out = layer.forward(x)
    dx = layer.backward(dout)
    np.testing.assert_array_equal(layer.mask, [[False, True], [True, False], [True, False]])
    rs = ok(Session().run(f"x = {lit(x)}\ny = relu(x)\ngrad y with {lit(dout)}"))
    np.testing.assert_array_equal(rs[1]["value"], out)
    np.testing.assert_array_equal(rs[-1]["grads"]["x"], dx)


def test_relu_layer_with_ones_upstream_is_the_mask():
    x = np.array([[1.0, -0.5], [-2.0, 3.0]])
    g = ok(Session().run(f"x = {lit(x)}\ny = relu(x)\ngrad y"))[-1]
    np.testing.assert_array_equal(g["grads"]["x"], (~(x <= 0)).astype(float))


def test_sigmoid_layer():
    x = np.array([[-1.0, 0.0, 2.0], [0.5, -3.0, 1.0]])
    dout = np.array([[1.0, -2.0, 0.5], [2.0, 1.0, -1.0]])
    layer = Sigmoid()
    out = layer.forward(x)
    dx = layer.backward(dout)
    rs = ok(Session().run(f"x = {lit(x)}\ny = sigmoid(x)\ngrad y with {lit(dout)}"))
    np.testing.assert_allclose(rs[1]["value"], out, rtol=1e-12)
    np.testing.assert_allclose(rs[-1]["grads"]["x"], dx, rtol=1e-12)


def test_sigmoid_layer_as_its_computation_graph():
    # the book draws sigmoid as *-1, exp, +1, /: backprop through those nodes gives y(1-y)
    x = np.array([-1.0, 0.0, 2.0])
    y = 1 / (1 + np.exp(-x))
    g = ok(Session().run(f"x = {lit(x)}\ny = 1 / (1 + exp(-x))\ngrad y"))[-1]
    np.testing.assert_allclose(g["grads"]["x"], y * (1 - y), rtol=1e-12)


def test_affine_layer_batch():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((4, 2))
    W = rng.standard_normal((2, 3))
    b = rng.standard_normal(3)
    dout = rng.standard_normal((4, 3))
    layer = Affine(W, b)
    out = layer.forward(X)
    dx = layer.backward(dout)
    rs = ok(Session().run(f"X = {lit(X)}\nW = {lit(W)}\nb = {lit(b)}\nY = X @ W + b\n"
                          f"grad Y with {lit(dout)}"))
    assert rs[3]["shape"] == [4, 3]
    np.testing.assert_allclose(rs[3]["value"], out, rtol=1e-12)
    g = rs[-1]["grads"]
    np.testing.assert_allclose(g["X"], dx, rtol=1e-12)
    np.testing.assert_allclose(g["W"], layer.dW, rtol=1e-12)
    np.testing.assert_allclose(g["b"], layer.db, rtol=1e-12)
    assert g["b"].shape == (3,)


def test_affine_book_numbers():
    # the book's bias example: X.W = [[0,0,0],[10,10,10]], B = [1,2,3]
    rs = ok(Session().run("XW = [[0, 0, 0], [10, 10, 10]]\nB = [1, 2, 3]\nY = XW + B\n"
                          "grad Y with [[1, 2, 3], [4, 5, 6]]"))
    np.testing.assert_array_equal(rs[2]["value"], [[1, 2, 3], [11, 12, 13]])
    np.testing.assert_array_equal(rs[-1]["grads"]["B"], [5, 7, 9])


# ---------------------------------------------------------------- softmax with loss


@pytest.mark.parametrize("labels", [False, True], ids=["one-hot", "labels"])
def test_softmax_with_loss_layer(labels):
    rng = np.random.default_rng(9)
    x = rng.standard_normal((4, 3)) * 2
    lab = np.array([2, 0, 1, 2])
    t = lab if labels else np.eye(3)[lab]
    layer = SoftmaxWithLoss()
    loss = layer.forward(x, t)
    dx = layer.backward()
    rs = ok(Session().run(f"x = {lit(x)}\nt = {lit(t)}\nL = softmax_cross_entropy(x, t)\n"
                          "grad L"))
    # the book adds 1e-7 inside the log; the engine computes through log-softmax
    assert rs[2]["value"] == pytest.approx(loss, rel=1e-6)
    np.testing.assert_allclose(rs[-1]["grads"]["x"], dx, rtol=1e-10, atol=1e-15)
    if labels:
        assert "t" not in rs[-1]["grads"]


def test_softmax_with_loss_book_example():
    # the book: y = [0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0], t = 2 -> 0.51
    y = np.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0])
    r = ok(Session().run(f"cross_entropy({lit(y)}, 2)\n"
                         f"cross_entropy({lit(y)}, onehot([2], 10))"))
    assert r[0]["value"] == pytest.approx(0.510825457099338, rel=1e-9)
    assert r[1]["value"] == pytest.approx(0.510825457099338, rel=1e-9)


def test_softmax_then_cross_entropy_equals_softmax_with_loss():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4))
    lab = [1, 0, 3]
    rs = ok(Session().run(f"x = {lit(x)}\nL1 = cross_entropy(softmax(x), {lab})\n"
                          f"L2 = softmax_cross_entropy(x, {lab})\ngrad L1\ngrad L2"))
    layer = SoftmaxWithLoss()
    layer.forward(x, np.array(lab))
    dx = layer.backward()
    np.testing.assert_allclose(rs[-1]["grads"]["x"], dx, rtol=1e-10)
    # with the 1e-7 delta the two differ by about 1e-7 relative
    np.testing.assert_allclose(rs[-2]["grads"]["x"], dx, rtol=1e-5, atol=1e-8)


# ---------------------------------------------------------------- a two-layer net


class TwoLayerNet:
    """The book's TwoLayerNet: Affine1 -> Relu1 -> Affine2 -> SoftmaxWithLoss."""

    def __init__(self, W1, b1, W2, b2):
        self.affine1, self.relu, self.affine2 = Affine(W1, b1), Relu(), Affine(W2, b2)
        self.last = SoftmaxWithLoss()

    def loss(self, x, t):
        h = self.relu.forward(self.affine1.forward(x))
        return self.last.forward(self.affine2.forward(h), t)

    def gradient(self, x, t):
        self.loss(x, t)
        d = self.last.backward(1)
        d = self.affine2.backward(d)
        d = self.relu.backward(d)
        self.affine1.backward(d)
        return {"W1": self.affine1.dW, "b1": self.affine1.db, "W2": self.affine2.dW,
                "b2": self.affine2.db}


NET = ("seed 0\nX = randn(5, 4)\nW1 = 0.5 * randn(4, 6)\nb1 = 0.1 * randn(6)\n"
       "W2 = 0.5 * randn(6, 3)\nb2 = zeros(3)\n")


@pytest.mark.parametrize("labels", [False, True], ids=["one-hot", "labels"])
def test_two_layer_net_check_passes(labels):
    target = "t = [0, 2, 1, 1, 0]" if labels else "t = onehot([0, 2, 1, 1, 0], 3)"
    s = Session()
    rs = ok(s.run(NET + target + "\nh = relu(X @ W1 + b1)\nL = softmax_cross_entropy("
                  "h @ W2 + b2, t)\ncheck L"))
    r = rs[-1]
    assert r["kind"] == "check" and r["passed"] is True
    expected = {"X", "W1", "b1", "W2", "b2"} | (set() if labels else {"t"})
    assert set(r["results"]) == expected
    for name, res in r["results"].items():
        assert res["passed"] is True, name
        assert res["max_abs_error"] < 1e-6, name


@pytest.mark.parametrize("labels", [False, True], ids=["one-hot", "labels"])
def test_two_layer_net_matches_the_books_net(labels):
    target = "t = [0, 2, 1, 1, 0]" if labels else "t = onehot([0, 2, 1, 1, 0], 3)"
    s = Session()
    rs = ok(s.run(NET + target + "\nh = relu(X @ W1 + b1)\nL = softmax_cross_entropy("
                  "h @ W2 + b2, t)\ngrad L"))
    vals = {r["name"]: r["value"] for r in rs if r["kind"] == "assign"}
    net = TwoLayerNet(vals["W1"], vals["b1"], vals["W2"], vals["b2"])
    t = np.asarray(vals["t"])
    t = t.astype(int) if labels else t
    expected_loss = net.loss(vals["X"], t)
    grads = net.gradient(vals["X"], t)
    g = rs[-1]
    assert g["value"] == pytest.approx(expected_loss, rel=1e-6)
    for name, v in grads.items():
        np.testing.assert_allclose(g["grads"][name], v, rtol=1e-9, atol=1e-12, err_msg=name)


def test_two_layer_net_gradient_check_like_the_book():
    # the book's gradient_check: numerical_gradient (central, h = 1e-4) vs backprop
    s = Session()
    rs = ok(s.run(NET + "t = [0, 2, 1, 1, 0]\nh = relu(X @ W1 + b1)\n"
                  "L = softmax_cross_entropy(h @ W2 + b2, t)\ngrad L"))
    vals = {r["name"]: r["value"] for r in rs if r["kind"] == "assign"}
    t = np.asarray(vals["t"]).astype(int)
    params = {k: np.array(vals[k]) for k in ("W1", "b1", "W2", "b2")}

    def loss():
        return TwoLayerNet(**params).loss(vals["X"], t)

    for name, p in params.items():
        numeric = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            old = p[i]
            p[i] = old + 1e-4
            fp = loss()
            p[i] = old - 1e-4
            fm = loss()
            p[i] = old
            numeric[i] = (fp - fm) / 2e-4
        assert np.mean(np.abs(rs[-1]["grads"][name] - numeric)) < 1e-7, name


def test_two_layer_sigmoid_net_check_and_training_step():
    s = Session()
    ok(s.run(NET + "t = onehot([0, 2, 1, 1, 0], 3)\nh = sigmoid(X @ W1 + b1)\n"
                   "L = softmax_cross_entropy(h @ W2 + b2, t)"))
    r = ok(s.run("check L"))[-1]
    assert r["passed"] is True
    g = ok(s.run("grad L wrt W2"))[-1]
    before = g["value"]
    dW2 = g["grads"]["W2"]
    # an update written in the language: W2 = W2 - lr * dW2 (dW2 bound by value)
    rs = ok(s.run(f"dW2 = {lit(dW2)}\nW2 = W2 - 0.5 * dW2\nL"))
    assert rs[-1]["value"] < before
