"""bpshell in IPython and Jupyter: the `%%bp` magics, their displays, and the notebooks.

Oracles: the book's numbers (the apple example's 2.2, 110 and 200; apples and oranges'
650), the closed form sigmoid' = y*(1 - y), and NumPy reimplementations of the book's
layers (Affine, ReLU, Sigmoid, Softmax-with-Loss) run by the test on the data it hands to
the kernel. Pictures are read back as XML. The extension runs in-process under IPython's
InteractiveShell (fast); examples/chapter5.ipynb and a notebook made here run in a real
kernel through nbclient (slow: a kernel starts in 1-2 s and imports SymPy).

`BPSHELL_UPDATE_NOTEBOOK=1 BPSHELL_SLOW=1 python3 -m pytest tests/test_notebook.py` stores
the outputs of a fresh run in examples/chapter5.ipynb.
"""

from __future__ import annotations

import ast
import json
import math
import os
import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from test_api import book_net_grads

ROOT = Path(__file__).resolve().parents[1]
CHAPTER5 = ROOT / "examples" / "chapter5.ipynb"
SVG = "{http://www.w3.org/2000/svg}"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
APPLE = "%%bp\napple = 100\nn = 2\ntax = 1.1\nprice = apple*n*tax\ngrad price\ndraw price"


# ---------------------------------------------------------------- oracles and readers


def grads_in(text: str, of: str) -> dict[str, float]:
    """The scalar gradients of a `grad` table as text: {leaf: value}."""
    return {m[1]: float(m[2]) for m in re.finditer(rf"∂{of}/∂(\w+)\s+(\S+)\n?", text)}


def svg_texts(svg: str, cls: str) -> list[str]:
    root = ET.fromstring(svg.encode("utf-8"))
    return [t.text for t in root.iter(f"{SVG}text") if t.get("class") == cls]


def loss_line(svg: str) -> list[tuple[float, float]]:
    """The vertices of the loss curve (the path inside the group with id `loss`)."""
    root = ET.fromstring(svg.encode("utf-8"))
    group = next(g for g in root.iter(f"{SVG}g") if g.get("id") == "loss")
    d = next(p for p in group.iter(f"{SVG}path")).get("d")
    nums = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", d)]
    return list(zip(nums[0::2], nums[1::2]))


# ---------------------------------------------------------------- in-process (fast)


@pytest.fixture
def ipython(tmp_path, monkeypatch):
    """An InteractiveShell with the extension loaded, in a fresh kernel session."""
    ip_mod = pytest.importorskip("IPython.core.interactiveshell")
    import bpshell.notebook

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(bpshell.notebook, "_session", None)
    shell = ip_mod.InteractiveShell.instance()
    shell.run_line_magic("load_ext", "bpshell")
    return shell


def run_cell(shell, source: str):
    """Run a cell; returns (result, rich outputs as dicts of MIME type to data)."""
    from IPython.utils.capture import capture_output

    with capture_output() as cap:
        result = shell.run_cell(source)
    return result, [dict(o.data) for o in cap.outputs], cap.stdout


def test_importing_bpshell_loads_neither_ipython_nor_sympy():
    code = ("import sys, bpshell, bpshell.notebook; "
            "print(sorted(m for m in ('IPython', 'sympy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.strip() == "[]"


def test_a_cell_shows_html_text_and_the_drawing(ipython):
    result, outputs, _ = run_cell(ipython, APPLE)
    assert result.success
    grad = next(o for o in outputs if "grad price" in o.get("text/plain", ""))
    assert grads_in(grad["text/plain"], "price") == pytest.approx(
        {"apple": 2.2, "n": 110, "tax": 200})
    cells = re.findall(r"<td[^>]*>(.*?)</td>", grad["text/html"])
    text = [re.sub(r"<[^>]+>", "", c) for c in cells]
    assert text == ["∂price/∂apple", "2.2", "∂price/∂n", "110", "∂price/∂tax", "200"]
    svg = next(o["image/svg+xml"] for o in outputs if "image/svg+xml" in o)
    assert svg_texts(svg, "grad") == svg_texts(
        Path("price.svg").read_text(encoding="utf-8"), "grad")
    assert {"2.2", "110", "200", "1.1"} <= set(svg_texts(svg, "grad"))  # Figure 5-16


def test_cells_share_one_session_with_python_code(ipython):
    import bpshell.notebook

    run_cell(ipython, "%%bp\nx = 2")
    bp = bpshell.notebook.session()
    assert bp["x"] == 2.0
    bp["x"] = np.array([1.0, 3.0])
    _, outputs, _ = run_cell(ipython, "%bp y = x*x; grad y wrt x with [1, 1]")
    text = outputs[-1]["text/plain"]
    assert "[2., 6.]" in text  # 2x at x = 1 and 3
    assert bp.run("y")[0].value.tolist() == [1.0, 9.0]


def test_an_error_names_its_line_and_column_in_the_cell_and_stops_it(ipython):
    import bpshell.notebook

    result, outputs, stdout = run_cell(ipython, "%%bp\nx = 2\ny = x + nope(x)\nz = 1")
    assert not result.success
    lines = ANSI.sub("", stdout).rstrip("\n").split("\n")
    # line 3 of the cell (the %%bp line is line 1), column 9 where `nope` starts
    assert lines[0] == "<cell>:3:9: error: unknown function 'nope'; 'help functions' lists them"
    assert lines[1:] == ["  y = x + nope(x)", "          ^"]
    assert "Traceback" not in stdout
    bp = bpshell.notebook.session()
    assert "x" in bp and "y" not in bp and "z" not in bp  # before it ran; after it, nothing
    assert [o["text/plain"] for o in outputs] == ["x = 2"]


def test_the_line_magic_reports_columns_in_its_line(ipython):
    result, _, stdout = run_cell(ipython, "%bp a = 1; b = a @ a")
    assert not result.success
    assert ANSI.sub("", stdout).startswith("<bp>:1:")
    assert "a = 1; b = a @ a" in stdout


def test_an_interrupted_statement_changes_nothing_and_stops_the_cell(ipython, monkeypatch):
    import bpshell.notebook
    from bpshell.session import Session

    run_cell(ipython, "%%bp\nx = 1")
    real = Session._execute

    def interrupted(self, stmt):
        if stmt.kind == "assign" and stmt.args["name"] == "y":
            real(self, stmt)  # the change is made, then Ctrl-C arrives
            raise KeyboardInterrupt
        return real(self, stmt)

    monkeypatch.setattr(Session, "_execute", interrupted)
    result, outputs, stdout = run_cell(ipython, "%%bp\nx = 2\ny = x\nz = 3")
    assert not result.success and stdout.startswith("interrupted: ")
    bp = bpshell.notebook.session()
    assert bp["x"] == 2.0 and "y" not in bp and "z" not in bp


def test_export_writes_what_the_cells_showed_and_exit_ends_the_cell(ipython, tmp_path):
    import bpshell.notebook

    result, outputs, _ = run_cell(ipython, "%%bp\nx = 0.5\ny = sigmoid(x)\nw = x + nope(x)\n")
    result, outputs, _ = run_cell(ipython, "%%bp\nexport t.txt\nexit\nz = 3")
    assert result.success
    assert outputs[-1]["text/plain"].startswith("exit: the rest of the cell")
    assert "z" not in bpshell.notebook.session()
    lines = (tmp_path / "t.txt").read_text(encoding="utf-8").split("\n")
    i = lines.index("x = 0.5")
    assert lines[i:i + 5] == ["x = 0.5", "y = 0.6224593312",
                              "<cell>:4:9: error: unknown function 'nope'; 'help functions' "
                              "lists them", "  w = x + nope(x)", "          ^"]


def test_cell_magic_takes_no_options(ipython):
    result, _, _ = run_cell(ipython, "%%bp --fast\nx = 1")
    assert not result.success and "takes no options" in str(result.error_in_exec)


def test_fit_updates_one_progress_output_then_shows_the_loss_curve(ipython):
    pytest.importorskip("matplotlib")
    from IPython.utils.capture import capture_output

    src = ("%%bp\nx = linspace(-1, 1, 40)\nt = 3*x + 0.5\nw = 0\nb = 0\n"
           "loss = mean((w*x + b - t)**2)\nfit loss lr 0.1 steps 200 wrt w, b")
    with capture_output() as cap:
        assert ipython.run_cell(src).success
    fit = [o for o in cap.outputs if "fit" in o.data.get("text/plain", "")]
    assert fit[0].data["text/plain"].startswith("fit: step 1/200") and not fit[0].update
    assert all(o.update for o in fit[1:])  # the same output, replaced in place
    assert fit[-1].data["text/plain"].startswith("fit loss: 3.403846154 → ")
    curve = loss_line(cap.outputs[-1].data["image/svg+xml"])
    assert len(curve) == 201  # the loss before and after each of the 200 steps
    xs = [x for x, _ in curve]
    ys = [y for _, y in curve]
    assert xs == sorted(xs) and ys[-1] > ys[0]  # the loss falls: SVG's y grows downward


def test_results_returned_from_python_display_as_html(ipython):
    import bpshell

    s = bpshell.Session()
    (r,) = s.run("x = 0.5; y = sigmoid(x); explain y")[2:]
    html = r._repr_html_()
    assert r.kind == "explain" and "<table" in html
    y = 1 / (1 + math.exp(-0.5))
    assert f"{y * (1 - y):.10g}" in html  # the ledger's local derivative y*(1 - y)
    assert r._repr_svg_() is None
    (d,) = s.run("draw y")
    assert svg_texts(d._repr_svg_(), "grad")[0] == f"{y * (1 - y):.10g}"


# ---------------------------------------------------------------- chapter 5


def output_text(cell) -> str:
    parts = []
    for o in cell.get("outputs", []):
        if o["output_type"] == "stream":
            parts.append(o["text"])
        elif "data" in o:
            parts.append(o["data"].get("text/plain", ""))
        elif o["output_type"] == "error":
            parts.append(ANSI.sub("", "\n".join(o["traceback"])))
    return "\n".join(parts)


def cell_with(nb, text: str):
    return next(c for c in nb.cells if c.cell_type == "code" and text in c.source)


def svgs(cell) -> list[str]:
    return [o["data"]["image/svg+xml"] for o in cell.outputs
            if "image/svg+xml" in o.get("data", {})]


def check_chapter5(nb) -> None:
    """The notebook's outputs against the book: every number is recomputed here."""
    apple = output_text(cell_with(nb, "price = apple*n*tax"))
    assert grads_in(apple, "price") == pytest.approx({"apple": 2.2, "n": 110, "tax": 200})
    (svg,) = svgs(cell_with(nb, "draw price"))
    assert {"2.2", "110", "1.1", "200"} <= set(svg_texts(svg, "grad"))
    both = output_text(cell_with(nb, "total = all_price*tax"))
    assert grads_in(both, "total") == pytest.approx(
        {"apple": 2.2, "n": 110, "tax": 650, "orange": 3.3, "orange_num": 165,
         "apple_price": 1.1, "orange_price": 1.1, "all_price": 1.1})  # Figure 5-17
    relu = output_text(cell_with(nb, "out = relu(x)"))
    assert re.search(r"∂out/∂x\s+2x2\s+\[\[10\.,\s+0\.\],\s+\[\s*0\.,\s+40\.\]\]", relu)
    sig = output_text(cell_with(nb, "explain s"))
    s = 1 / (1 + math.exp(-0.5))
    assert "y⋅(1 - y)" in sig and f"{s * (1 - s):.10g}" in sig
    affine = output_text(cell_with(nb, "Y = X @ W + B"))
    X = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert re.search(r"∂Y/∂W\s+2x3\s+\[\[ 9\.,\s+9\.,\s+9\.\],\s+\[12\.,\s+12\.,\s+12\.\]\]",
                     affine)
    assert (X.T @ np.ones((3, 3))).tolist() == [[9.0] * 3, [12.0] * 3]
    softmax = output_text(cell_with(nb, "largest difference"))
    assert float(softmax.split(":")[1]) < 1e-15
    check = output_text(cell_with(nb, "check loss"))
    assert "check loss: passed" in check
    (drawing,) = svgs(cell_with(nb, "check loss"))
    root = ET.fromstring(drawing.encode("utf-8"))
    boxes = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "node"]
    assert boxes == ["Affine", "ReLU", "Affine", "Softmax-with-Loss"]
    mine = ast.literal_eval(output_text(cell_with(nb, "mine = {")))
    assert set(mine) == {"W1", "b1", "W2", "b2"} and max(mine.values()) < 1e-12
    fit = output_text(cell_with(nb, "fit loss lr 0.5"))
    before, after = map(float, re.search(r"fit loss: (\S+) → (\S+) in 300 steps", fit).groups())
    assert after < 0.1 * before
    if svgs(cell_with(nb, "fit loss lr 0.5")):
        curve = loss_line(svgs(cell_with(nb, "fit loss lr 0.5"))[0])
        assert len(curve) == 301 and curve[-1][1] > curve[0][1]
    accuracy = output_text(cell_with(nb, "accuracy ="))
    assert float(re.search(r"accuracy: (\d+)%", accuracy)[1]) >= 95
    err = cell_with(nb, "oops = W1 @ W1")
    (out,) = [o for o in err.outputs if o["output_type"] == "error"]
    text = output_text({"outputs": [out]}).split("\n")
    assert text[0].startswith("<cell>:3:") and "error:" in text[0]
    col = int(text[0].split(":")[2])
    assert text[1] == "  oops = W1 @ W1" and text[2] == " " * (col + 1) + "^"
    assert "Traceback" not in "\n".join(out["traceback"])


def test_chapter5_stored_outputs_agree_with_the_book():
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(CHAPTER5, as_version=4)
    assert all(c.outputs for c in nb.cells if c.cell_type == "code" and
               not c.source.startswith("%load_ext")), "run the slow test to store outputs"
    check_chapter5(nb)


def test_the_readme_shows_the_error_the_notebook_stored():
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(CHAPTER5, as_version=4)
    (out,) = [o for o in cell_with(nb, "oops = W1 @ W1").outputs if o["output_type"] == "error"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"counting the `%%bp` line.*?```\n(.*?)```", readme, flags=re.S)[1]
    shown = textwrap.dedent(block).rstrip().split("\n")  # the block sits in a list item
    assert shown == [ANSI.sub("", s) for s in out["traceback"]]


@pytest.fixture
def kernel(tmp_path, monkeypatch):
    """nbclient with a kernel of this interpreter, importing this checkout's bpshell."""
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    spec = tmp_path / "jupyter" / "kernels" / "bpshell-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "bpshell test", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + (os.pathsep + path if path else ""))
    work = tmp_path / "work"
    work.mkdir()

    def execute(nb):
        from nbclient import NotebookClient

        NotebookClient(nb, kernel_name="bpshell-test", timeout=300, record_timing=False,
                       resources={"metadata": {"path": str(work)}}).execute()
        return nb

    execute.cwd = work
    return execute


@pytest.mark.slow
def test_chapter5_runs_in_a_kernel_and_agrees_with_the_book(kernel):
    import nbformat

    nb = nbformat.read(CHAPTER5, as_version=4)
    for c in nb.cells:
        if c.cell_type == "code":
            c.outputs, c.execution_count = [], None
    kernel(nb)
    check_chapter5(nb)
    if os.environ.get("BPSHELL_UPDATE_NOTEBOOK") == "1":
        nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)",
                                     "language": "python", "name": "python3"}
        nbformat.write(nb, CHAPTER5)


@pytest.mark.slow
def test_data_from_numpy_in_gradients_back_in_a_kernel(kernel, tmp_path):
    from nbformat.v4 import new_code_cell, new_notebook

    rng = np.random.default_rng(3)
    data = {"X": rng.standard_normal((6, 4)), "t": np.eye(3)[[0, 2, 1, 1, 0, 2]],
            "W1": rng.standard_normal((4, 5)), "b1": rng.standard_normal(5),
            "W2": rng.standard_normal((5, 3)), "b2": rng.standard_normal(3)}
    np.savez(tmp_path / "data.npz", **data)
    out = tmp_path / "grads.npz"
    error = new_code_cell("%%bp\nW1\nW1 @ W1")
    error.metadata["tags"] = ["raises-exception"]
    nb = new_notebook(cells=[
        new_code_cell("%load_ext bpshell"),
        new_code_cell("import numpy as np, bpshell.notebook\nbp = bpshell.notebook.session()\n"
                      f"for k, v in np.load({str(tmp_path / 'data.npz')!r}).items():\n"
                      "    bp[k] = v"),
        new_code_cell("%%bp\nh = sigmoid(X @ W1 + b1)\n"
                      "loss = softmax_cross_entropy(h @ W2 + b2, t)\ngrad loss wrt W1, b1, W2, b2"),
        new_code_cell("g = bp.run('grad loss wrt W1, b1, W2, b2')[0].grads\n"
                      f"np.savez({str(out)!r}, **g)"),
        new_code_cell(APPLE), error,
        new_code_cell("bp.run('grad price')[0]"),
    ])
    kernel(nb)
    got = np.load(out)
    want = book_net_grads(**data, act="sigmoid")
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-10, atol=1e-13)
    apple = nb.cells[4]
    assert grads_in(output_text(apple), "price") == pytest.approx(
        {"apple": 2.2, "n": 110, "tax": 200})
    (svg,) = svgs(apple)
    assert {"2.2", "110", "1.1", "200"} <= set(svg_texts(svg, "grad"))
    assert (kernel.cwd / "price.svg").exists()
    (err,) = [o for o in nb.cells[5].outputs if o["output_type"] == "error"]
    first = ANSI.sub("", err["traceback"][0])
    assert first.startswith("<cell>:3:4: error: ") and "W1 @ W1" in err["traceback"][1]
    shown = nb.cells[6].outputs[0]["data"]
    assert "<table" in shown["text/html"]  # the Result's _repr_html_
    assert grads_in(shown["text/plain"], "price") == pytest.approx(
        {"apple": 2.2, "n": 110, "tax": 200})
