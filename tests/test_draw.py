"""`draw`: the book's chapter-5 figures as SVG, checked by reading the SVG back as XML.

Oracles: the book's numbers (apple 2.2, 110, 200; apple and orange 715, 650, ...), the
closed form sigmoid' = y*(1 - y), and NumPy reimplementations of the batch Affine layer and
the two-layer net. Geometry is checked from the SVG alone: text boxes from x, y, font size
and a fixed-width estimate of 0.6 em per character (the drawing uses a monospace font),
edges from their path data. Everything runs with Graphviz's `dot` off PATH.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from bpshell.errors import FileError, LimitError
from bpshell.numeric.picture import picture
from bpshell.render.draw import dot_text, png_bytes, svg_text, write_drawing
from bpshell.session import Session

NS = "{http://www.w3.org/2000/svg}"
EM = 0.6  # width of a monospace character, in font sizes


@pytest.fixture(autouse=True)
def no_dot(monkeypatch, tmp_path):
    """Graphviz absent: only the folders without a `dot` program stay on PATH."""
    keep = [d for d in os.environ.get("PATH", "").split(os.pathsep)
            if d and not os.path.exists(os.path.join(d, "dot"))]
    monkeypatch.setenv("PATH", os.pathsep.join(keep))
    assert shutil.which("dot") is None
    monkeypatch.chdir(tmp_path)


# ---------------------------------------------------------------- helpers


def drawn(source: str, name: str, **options):
    s = Session()
    results = s.run(source)
    assert all(r["ok"] for r in results), results
    plan, grads, _ = s.gradients(name)
    return picture(plan, grads, plan.graph.root, **options)


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg.encode("utf-8"))


def texts(root: ET.Element, cls: str | None = None) -> list[ET.Element]:
    return [t for t in root.iter(f"{NS}text") if cls is None or t.get("class") == cls]


def box(t: ET.Element) -> tuple[float, float, float, float]:
    size = float(t.get("font-size"))
    x, y = float(t.get("x")), float(t.get("y"))
    w = len(t.text or "") * EM * size
    anchor = t.get("text-anchor", "start")
    left = x - w / 2 if anchor == "middle" else x - w if anchor == "end" else x
    return left, y - 0.8 * size, left + w, y + 0.2 * size


def node_boxes(root: ET.Element) -> list[tuple[str, tuple[float, float, float, float]]]:
    out = []
    for c in root.iter(f"{NS}circle"):
        cx, cy, r = (float(c.get(k)) for k in ("cx", "cy", "r"))
        out.append((c.get("data-node"), (cx - r, cy - r, cx + r, cy + r)))
    for r in root.iter(f"{NS}rect"):
        if r.get("class") == "layer":
            x, y, w, h = (float(r.get(k)) for k in ("x", "y", "width", "height"))
            out.append((r.get("data-node"), (x, y, x + w, y + h)))
    return out


def overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def edge_paths(root: ET.Element) -> dict[str, list[tuple[float, float]]]:
    paths = {}
    for p in root.iter(f"{NS}path"):
        if p.get("class") == "edge":
            nums = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", p.get("d"))]
            paths[p.get("data-edge")] = list(zip(nums[::2], nums[1::2]))
    return paths


def y_at(points: list[tuple[float, float]], x: float) -> float:
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if x0 <= x <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    raise AssertionError(f"no segment of the edge under x={x}")


def check_geometry(svg: str) -> ET.Element:
    """No two text boxes overlap, no text overlaps a node it is not inside, edges run right,
    forward labels sit above their edge and gradient labels below it."""
    root = parse(svg)
    all_texts = texts(root)
    boxes = [box(t) for t in all_texts]
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not overlaps(boxes[i], boxes[j]), (all_texts[i].text, all_texts[j].text)
    for t, b in zip(all_texts, boxes):
        for node, nb in node_boxes(root):
            if t.get("class") == "node" and t.get("data-node") == node:
                assert nb[0] <= b[0] and b[2] <= nb[2], t.text  # the symbol fits its shape
                continue
            assert not overlaps(b, nb), (t.text, node)
    paths = edge_paths(root)
    for key, pts in paths.items():
        assert pts[0][0] < pts[-1][0], key
        assert all(x0 <= x1 for (x0, _), (x1, _) in zip(pts, pts[1:])), key
    for t in texts(root, "forward") + texts(root, "grad"):
        key = t.get("data-edge")
        if key is None:
            continue  # a node's sum
        left, top, right, bottom = box(t)
        line_y = y_at(paths[key], (left + right) / 2)
        if t.get("class") == "forward":
            assert bottom <= line_y, (t.text, key)
        else:
            assert top >= line_y, (t.text, key)
    return root


def label_numbers(text: str) -> tuple[tuple[int, ...], list[float]]:
    """`2x1 [[4], [6]]` -> ((2, 1), [4.0, 6.0]); `2.2` -> ((), [2.2])."""
    m = re.fullmatch(r"(\d+(?:x\d+)*) \[(.*)\]", text)
    if m:
        shape = tuple(int(n) for n in m.group(1).split("x"))
        return shape, [float(v) for v in re.findall(r"[-+0-9.e]+|nan|inf", m.group(2))]
    return (), [float(text)]


def shows(labels: list[ET.Element], value, rel: float = 1e-9) -> bool:
    """Some label shows value (a scalar or a small array) to 10 significant digits."""
    want = np.asarray(value, dtype=np.float64)
    for t in labels:
        try:
            shape, nums = label_numbers(t.text or "")
        except ValueError:
            continue
        if shape == want.shape and len(nums) == want.size and all(
                math.isclose(a, b, rel_tol=rel, abs_tol=1e-12) for a, b in
                zip(nums, want.ravel())):
            return True
    return False


def edge_of(root: ET.Element, leaf: str) -> str:
    """The data-edge key of the edge leaving the leaf with that name."""
    node = next(t.get("data-node") for t in texts(root, "leaf") if t.text == leaf)
    keys = {t.get("data-edge") for t in texts(root, "forward")}
    return next(k for k in keys if k.split("-")[0] == node)


def label_on(root: ET.Element, cls: str, key: str) -> str:
    return next(t.text for t in texts(root, cls) if t.get("data-edge") == key)


# ---------------------------------------------------------------- the book's figures

APPLE = "apple = 100\nn = 2\ntax = 1.1\nprice = apple*n*tax\n"
APPLE_ORANGE = """apple = 100
apple_num = 2
orange = 150
orange_num = 3
tax = 1.1
price = (apple*apple_num + orange*orange_num)*tax
"""


def test_apple_figure_5_16():
    pic = drawn(APPLE, "price")
    svg = svg_text(pic)
    assert svg_text(pic) == svg  # drawing leaves the picture as it was
    root = check_geometry(svg)
    forward = {t.text for t in texts(root, "forward")}
    grads = {t.text for t in texts(root, "grad")}
    assert {"100", "2", "1.1", "200", "220"} <= forward  # the book's numbers, 220 not 220.0..
    assert {"2.2", "110", "200", "1.1", "1"} <= grads
    assert label_on(root, "grad", edge_of(root, "apple")) == "2.2"
    assert label_on(root, "grad", edge_of(root, "n")) == "110"
    assert label_on(root, "grad", edge_of(root, "tax")) == "200"
    assert [t.text for t in texts(root, "node")] == ["×", "×"]
    assert [t.text for t in texts(root, "name")] == ["price"]
    assert "?" not in grads


def test_apple_and_orange_figure_5_17():
    root = check_geometry(svg_text(drawn(APPLE_ORANGE, "price")))
    forward = {t.text for t in texts(root, "forward")}
    assert {"100", "2", "150", "3", "200", "450", "650", "1.1", "715"} <= forward
    expected = {"apple": "2.2", "apple_num": "110", "orange": "3.3", "orange_num": "165",
                "tax": "650"}
    for leaf, grad in expected.items():
        assert label_on(root, "grad", edge_of(root, leaf)) == grad, leaf
    assert [t.text for t in texts(root, "grad")].count("1.1") == 3  # both products, the sum
    assert sorted(t.text for t in texts(root, "node")) == ["+", "×", "×", "×"]


@pytest.mark.parametrize("x", [0.5, -2.0, 3.0])
def test_sigmoid_from_nodes_figure_5_19(x):
    pic = drawn(f"x = {x}\ny = 1/(1 + exp(-x))\n", "y")
    root = check_geometry(svg_text(pic))
    y = 1 / (1 + math.exp(-x))
    # forward: -x, exp(-x), 1 + exp(-x), y; backward: the closed form y*(1 - y) at x
    for v in (x, -x, math.exp(-x), 1 + math.exp(-x), y):
        assert shows(texts(root, "forward"), v), v
    grad_x = label_on(root, "grad", edge_of(root, "x"))
    assert math.isclose(float(grad_x), y * (1 - y), rel_tol=1e-9)
    # the book's intermediate gradients: -1/t**2 at the division, then times exp(-x)
    t = 1 + math.exp(-x)
    for g in (1.0, -1 / t**2, -math.exp(-x) / t**2):
        assert shows(texts(root, "grad"), g), g
    assert sorted(t.text for t in texts(root, "node")) == sorted(["-", "exp", "+", "/"])
    assert [t.text for t in texts(root, "leaf")].count("1") == 2  # the constants, no grads


def test_batch_affine_figure_5_27():
    X = np.array([[1.0, 2.0], [3.0, -4.0]])
    W = np.array([[0.5], [-1.5]])
    b = np.array([0.25])
    G = np.array([[1.0], [-2.0]])  # the upstream gradient dY
    src = (f"X = {X.tolist()}\nW = {W.tolist()}\nb = {b.tolist()}\nG = {G.tolist()}\n"
           "Y = X @ W + b\nL = sum(Y * G)\n")
    root = check_geometry(svg_text(drawn(src, "L")))
    Y = X @ W + b
    for v in (X, W, b, X @ W, Y, G, float(np.sum(Y * G))):
        assert shows(texts(root, "forward"), v), v
    # dX = dY W^T, dW = X^T dY, db = the sum of dY over the batch
    for v in (G @ W.T, X.T @ G, G.sum(axis=0), G):
        assert shows(texts(root, "grad"), v), v
    assert label_on(root, "forward", edge_of(root, "X")) == "2x2 [[1, 2], [3, -4]]"


NET = """X = [[1.0, 2.0], [3.0, -1.0]]
W1 = [[0.1, 0.2, -0.3], [0.4, -0.5, 0.6]]
b1 = [0.1, -0.2, 0.1]
W2 = [[0.3, -0.2], [0.1, 0.4], [-0.5, 0.2]]
b2 = [0.0, 0.1]
t = [[1, 0], [0, 1]]
h = relu(X @ W1 + b1)
L = softmax_cross_entropy(h @ W2 + b2, t)
"""


def net_oracle() -> tuple[list, list]:
    """Forward values and gradients of NET, by the book's layer formulas in NumPy."""
    X = np.array([[1.0, 2.0], [3.0, -1.0]])
    W1 = np.array([[0.1, 0.2, -0.3], [0.4, -0.5, 0.6]])
    b1 = np.array([0.1, -0.2, 0.1])
    W2 = np.array([[0.3, -0.2], [0.1, 0.4], [-0.5, 0.2]])
    b2 = np.array([0.0, 0.1])
    t = np.array([[1.0, 0.0], [0.0, 1.0]])
    a1 = X @ W1 + b1
    h = np.maximum(a1, 0)
    a2 = h @ W2 + b2
    e = np.exp(a2 - a2.max(axis=1, keepdims=True))
    y = e / e.sum(axis=1, keepdims=True)
    loss = -np.sum(t * np.log(y)) / 2
    da2 = (y - t) / 2  # Softmax-with-Loss: (y - t) / N
    dh = da2 @ W2.T
    da1 = dh * (a1 > 0)
    forward = [X, W1, b1, a1, h, W2, b2, a2, t, loss]
    grads = [da1 @ W1.T, X.T @ da1, da1.sum(axis=0), da1, dh, h.T @ da2, da2.sum(axis=0),
             da2, 1.0]
    return forward, grads


def test_two_layer_net_with_layers():
    root = check_geometry(svg_text(drawn(NET, "L", layers=True)))
    assert [t.text for t in texts(root, "node")] == [
        "Affine", "ReLU", "Affine", "Softmax-with-Loss"]
    assert len(list(root.iter(f"{NS}circle"))) == 0
    forward, grads = net_oracle()
    for v in forward:
        assert shows(texts(root, "forward"), v), v
    for v in grads:
        assert shows(texts(root, "grad"), v), v
    # shapes on the arrows
    assert label_on(root, "forward", edge_of(root, "W1")).startswith("2x3 ")
    assert label_on(root, "forward", edge_of(root, "W2")).startswith("3x2 ")


def test_two_layer_net_without_layers_has_every_op():
    root = check_geometry(svg_text(drawn(NET, "L")))
    assert sorted(t.text for t in texts(root, "node")) == sorted(
        ["dot", "+", "ReLU", "dot", "+", "Softmax-with-Loss"])
    forward, grads = net_oracle()
    X, W1 = forward[0], forward[1]
    assert shows(texts(root, "forward"), X @ W1)  # the product before the bias
    for v in grads:
        assert shows(texts(root, "grad"), v), v


# ---------------------------------------------------------------- options


def test_steps_show_unknown_gradients_as_question_marks():
    pic = drawn(APPLE, "price", steps=1)  # only the output's × has run
    root = check_geometry(svg_text(pic))
    assert label_on(root, "grad", edge_of(root, "apple")) == "?"
    assert label_on(root, "grad", edge_of(root, "n")) == "?"
    assert label_on(root, "grad", edge_of(root, "tax")) == "200"
    assert {"1.1", "1"} <= {t.text for t in texts(root, "grad")}
    assert "0" not in {t.text for t in texts(root, "grad")}
    assert "1 of 2" in pic.note
    zero = parse(svg_text(drawn(APPLE, "price", steps=0)))
    assert sorted(t.text for t in texts(zero, "grad")) == ["1", "?", "?", "?", "?"]
    done = parse(svg_text(drawn(APPLE, "price", steps=2)))
    assert "?" not in {t.text for t in texts(done, "grad")}


def test_forward_only_draws_no_gradients():
    root = check_geometry(svg_text(drawn(APPLE, "price", forward_only=True)))
    assert texts(root, "grad") == []
    assert [p for p in root.iter(f"{NS}path") if p.get("class") == "back"] == []
    assert {"100", "2", "1.1", "200", "220"} <= {t.text for t in texts(root, "forward")}


def test_a_node_used_twice_has_two_arrows_and_shows_the_sum():
    # q = x*x + x: the three edges out of x carry x, x and 1; their sum is 2x + 1
    x = 0.75
    root = check_geometry(svg_text(drawn(f"x = {x}\nq = x*x + x\n", "q")))
    node = next(t.get("data-node") for t in texts(root, "leaf") if t.text == "x")
    out = [k for k in edge_paths(root) if k.split("-")[0] == node]
    assert len(out) == 3
    shares = sorted(float(label_on(root, "grad", k)) for k in out)
    assert shares == pytest.approx([x, x, 1.0])
    sums = [t.text for t in texts(root, "grad") if t.get("data-node") == node]
    assert sums == [f"Σ {2 * x + 1:g}"]


def test_symbolic_graph_draws_expressions():
    pic = drawn("z = a*b + 1\n", "z")
    root = check_geometry(svg_text(pic))
    forward = {t.text for t in texts(root, "forward")}
    assert {"a", "b", "a*b", "a*b + 1"} <= forward
    # below the arrows, each gradient in the upstream gradient dout: d(ab)/da = b, ...
    grads = {t.text for t in texts(root, "grad")}
    assert {"dout", "b*dout", "a*dout"} <= grads
    assert "symbolic" in pic.note
    assert any("symbolic" in (t.text or "") for t in texts(root, "note"))


def test_forty_deep_chain_and_unrolled_net_do_not_overlap():
    chain = "h0 = 0.5\n" + "".join(f"h{i} = tanh(h{i - 1}) + 0.1\n" for i in range(1, 41))
    root = check_geometry(svg_text(drawn(chain, "h40")))
    assert len(texts(root, "name")) == 40  # the names h1..h39 and the output's h40
    rows = "".join(f"x{i} = {0.1 * i}\ny{i} = sigmoid(x{i} * w + b)\n" for i in range(30))
    total = " + ".join(f"y{i}" for i in range(30))
    root = check_geometry(svg_text(drawn("w = 0.5\nb = -0.2\n" + rows + f"L = {total}\n",
                                         "L")))
    assert len(texts(root, "node")) > 100


def test_a_larger_graph_is_refused_with_the_setting_named():
    chain = "h0 = 0.5\n" + "".join(f"h{i} = h{i - 1}*1.01\n" for i in range(1, 300))
    with pytest.raises(LimitError, match="max_nodes"):
        drawn(chain, "h299")
    assert drawn(chain, "h299", max_nodes=1000).nodes


# ---------------------------------------------------------------- files


def test_dot_output_has_every_node_and_edge():
    text = dot_text(drawn(APPLE_ORANGE, "price"))
    assert text.lstrip().splitlines()[1].startswith("digraph")
    nodes = re.findall(r"^\s*n\d+ \[", text, re.M)
    edges = re.findall(r"^\s*n\d+ -> n\d+ ", text, re.M)
    assert len(nodes) == 5 + 4 + 1  # five leaves, four ops, the output
    assert len(edges) == 9
    assert "650" in text and "715" in text
    assert text.count("{") == text.count("}")


def test_write_drawing_by_extension(tmp_path):
    pic = drawn(APPLE, "price")
    assert write_drawing(pic, "price.svg") == "price.svg"
    parse((tmp_path / "price.svg").read_text(encoding="utf-8"))
    write_drawing(pic, str(tmp_path / "price.dot"))
    assert "digraph" in (tmp_path / "price.dot").read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["price.dot", "price.svg"]


def test_png_by_matplotlib(tmp_path):
    pytest.importorskip("matplotlib")
    data = png_bytes(drawn(APPLE, "price"))
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    write_drawing(drawn(APPLE, "price"), str(tmp_path / "p.png"))
    assert (tmp_path / "p.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_png_without_matplotlib_or_dot_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    with pytest.raises(FileError, match=r"pip install -e '\.\[plot\]'"):
        write_drawing(drawn(APPLE, "price"), str(tmp_path / "p.png"))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["price.jpg", "price", "price.svg.txt"])
def test_unknown_extension_writes_nothing(tmp_path, name):
    with pytest.raises(ValueError, match=r"\.svg, \.png or \.dot"):
        write_drawing(drawn(APPLE, "price"), str(tmp_path / name))
    assert list(tmp_path.iterdir()) == []


def test_unwritable_path_writes_nothing(tmp_path):
    with pytest.raises(FileError, match="does not exist"):
        write_drawing(drawn(APPLE, "price"), str(tmp_path / "no" / "price.svg"))
    (tmp_path / "a_folder.svg").mkdir()
    with pytest.raises(FileError, match="cannot write"):
        write_drawing(drawn(APPLE, "price"), str(tmp_path / "a_folder.svg"))
    assert [p.name for p in tmp_path.iterdir()] == ["a_folder.svg"]
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(FileError, match="cannot write"):
            write_drawing(drawn(APPLE, "price"), str(locked / "price.svg"))
        assert list(locked.iterdir()) == []


def test_text_is_escaped_as_xml():
    # an expression label with characters XML must escape still parses
    pic = drawn("z = a/b + 1\n", "z")
    pic.edges[0].value = "a < b & c"
    root = parse(svg_text(pic))
    assert "a < b & c" in {t.text for t in texts(root, "forward")}


def test_a_huge_graph_is_refused_before_it_is_walked():
    chain = "h0 = 0.5\n" + "".join(f"h{i} = h{i - 1}*1.01\n" for i in range(1, 3000))
    with pytest.raises(LimitError, match=r"more than 22 nodes.*max_nodes"):
        drawn(chain, "h2999", layers=True, max_nodes=10)


def test_drawing_a_leaf_alone():
    root = check_geometry(svg_text(drawn("a = 3\n", "a")))
    assert [t.text for t in texts(root, "forward")] == ["3"]
    assert [t.text for t in texts(root, "grad")] == ["1"]


def test_sigmoid_layer_collapses_after_affine():
    src = "X = [[1.0, -2.0]]\nW = [[0.5], [0.25]]\nb = [0.1]\ny = sum(sigmoid(X @ W + b))\n"
    root = check_geometry(svg_text(drawn(src, "y", layers=True)))
    assert [t.text for t in texts(root, "node")] == ["Affine", "Sigmoid", "sum"]
    a = 1.0 * 0.5 - 2.0 * 0.25 + 0.1
    s = 1 / (1 + math.exp(-a))
    assert shows(texts(root, "forward"), [[s]])
    assert shows(texts(root, "grad"), [[s * (1 - s)]])  # into the Sigmoid box: dy * y(1-y)


def test_the_render_side_does_not_import_the_engine():
    import subprocess

    code = ("import sys, bpshell.render.draw as d; "
            "print(sorted(m for m in sys.modules if m.split('.')[:2] in "
            "[['bpshell', p] for p in ('session', 'graph', 'numeric', 'symbolic', 'ops', "
            "'evaluate', 'state')]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert out.stdout.strip() == "[]"


FIGURES = {"apple.bp": "apple.svg", "add_mul.bp": "apple_orange.svg",
           "sigmoid.bp": "sigmoid.svg", "sigmoid_nodes.bp": "sigmoid_nodes.svg",
           "affine.bp": "affine.svg", "two_layer_net.bp": "two_layer_net.svg"}


@pytest.mark.parametrize("script, figure", sorted(FIGURES.items()))
def test_the_committed_figures_are_what_the_examples_draw(script, figure, tmp_path,
                                                          monkeypatch):
    # the README shows docs/figures/apple.svg: it must be what its own command draws
    root = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs" / "figures").mkdir(parents=True)
    results = Session().run((root / "examples" / script).read_text(encoding="utf-8"))
    assert all(r["ok"] for r in results)
    drawn = (tmp_path / "docs" / "figures" / figure).read_text(encoding="utf-8")
    assert drawn == (root / "docs" / "figures" / figure).read_text(encoding="utf-8")


def test_draw_steps_writes_one_picture_per_backward_step(tmp_path):
    s = Session()
    s.run("apple = 100; n = 2; tax = 1.1; price = apple*n*tax")
    r = s.run(f"draw price steps to {tmp_path}/apple.svg")[-1]
    assert r["ok"] and [Path(p).name for p in r["paths"]] == [
        "apple-0.svg", "apple-1.svg", "apple-2.svg"]
    grads = []
    for p in r["paths"]:
        texts = [t.text for t in ET.parse(p).getroot().iter("{http://www.w3.org/2000/svg}text")
                 if (t.get("class") or "") == "grad"]
        grads.append(texts)
    # before any step only the output's own gradient (1) is known; after the last, all
    assert grads[0].count("?") == len(grads[0]) - 1
    assert "?" not in grads[-1] and {"2.2", "110", "200", "1.1"} <= set(grads[-1])
    assert grads[1].count("?") == 2  # after the output's node: 1.1 and 200 known, not 2.2, 110


def test_draw_steps_that_cannot_all_be_written_leaves_none(tmp_path):
    s = Session()
    s.run("apple = 100; n = 2; tax = 1.1; price = apple*n*tax")
    r = s.run(f"draw price steps to {tmp_path}/apple.gif")[-1]
    assert not r["ok"] and ".svg" in r["error"]["message"]
    assert list(tmp_path.iterdir()) == []


def test_a_symbolic_graph_is_drawn_as_figure_5_20(tmp_path):
    # the sigmoid from nodes with x unbound: forward expressions above the arrows, and
    # below each the gradient in terms of dout, as the book's Figure 5-20 writes them
    import sympy as sp

    s = Session()
    r = s.run(f"y = 1/(1 + exp(-x)); draw y to {tmp_path}/fig.svg")[-1]
    assert r["ok"] and "Figure 5-20" in r["note"]
    texts = [t for t in ET.parse(tmp_path / "fig.svg").getroot().iter(
        "{http://www.w3.org/2000/svg}text") if (t.get("class") or "") == "grad"]
    grads = {t.text for t in texts}
    assert {"dout", "-dout*y**2", "-dout*y**2*exp(-x)", "dout*y**2*exp(-x)"} <= grads
    # the one x receives is the sigmoid's own rule, dout*y*(1 - y), checked numerically
    x, y, dout = sp.symbols("x y dout")
    at = {x: 0.7, dout: 1.3, y: 1 / (1 + sp.exp(-0.7))}
    got = sp.sympify("dout*y**2*exp(-x)").subs(at)  # the test's own reading of the label
    assert float(got) == pytest.approx(float((dout * y * (1 - y)).subs(at)))
