"""The renderers on hand-written result dicts: what a learner reads, checked line by line.

The dicts below are written out by hand in the shape the engine documents, so these
tests check the drawing against fixed expectations, not against the engine's output.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from bpshell.render.doc import Table, TreeNode, line
from bpshell.render.errors import error_items
from bpshell.render.format import Style, number, summary, unicode_ok, value_text
from bpshell.render.items import items_for
from bpshell.render.jsonl import dumps, jsonable
from bpshell.render.out import Options, Output, decide
from bpshell.render.text import table_lines, to_text, tree_lines

UNI = Style(unicode=True, whole=True)
ASC = Style(unicode=False, whole=True)


def text(result: dict, style: Style = UNI) -> str:
    return to_text(items_for(result, style), style.unicode)


def ok(kind: str, **fields) -> dict:
    return {"line": 1, "column": 1, "source": "", "ok": True, "kind": kind, **fields}


# ---------------------------------------------------------------- numbers and values


@pytest.mark.parametrize("value, shown", [
    (220.00000000000003, "220"), (110.00000000000001, "110"), (2.2, "2.2"),
    (3.3000000000000003, "3.3"), (0.0, "0"), (-0.0, "0"), (1e-7, "1e-07"),
    (float("inf"), "inf"), (float("-inf"), "-inf"), (float("nan"), "nan"),
    (1.7984414594429543, "1.798441459"),
])
def test_scalars_read_as_in_the_book(value, shown):
    assert number(value) == shown


def test_a_long_array_prints_whole_on_one_line_for_a_pipe():
    v = np.arange(300.0)
    shown = value_text(v, Style(whole=True))
    assert "\n" not in shown and "..." not in shown
    assert shown.startswith("[  0.,   1.,") and shown.endswith("299.]")


def test_an_array_past_the_whole_limit_is_summarized_for_a_pipe_too():
    from bpshell.render.format import WHOLE_LIMIT

    assert "..." not in value_text(np.zeros(WHOLE_LIMIT), Style(whole=True))
    shown = value_text(np.zeros((1000, 100)), Style(whole=True))
    assert "..." in shown and len(shown.split("\n")) == 7  # 3 rows, '...', 3 rows


def test_a_huge_array_is_summarized_for_a_terminal():
    shown = value_text(np.zeros(5000), Style(whole=False, width=80))
    assert "..." in shown
    assert max(len(s) for s in shown.split("\n")) <= 80


def test_rows_of_a_matrix_line_up_under_the_name():
    r = ok("assign", name="X", value=np.array([[1.0, 2.0], [3.0, 4.0]]), shape=[2, 2],
           expr="[[1, 2], [3, 4]]", update=False, symbols=[])
    assert text(r) == "X = [[1., 2.],\n     [3., 4.]]  # 2x2\n"


def test_summary_gives_shape_and_range_of_a_big_array():
    assert summary(np.array([1.0, 2.0, 3.0]), UNI) == "[1., 2., 3.]"
    assert summary(np.arange(12.0).reshape(3, 4) - 1, UNI) == \
        "3x4 array, min -1 mean 4.5 max 10"


# ---------------------------------------------------------------- kinds


def test_assignment_shows_name_equals_value():
    r = ok("assign", name="price", value=220.00000000000003, shape=[], expr="apple*n*tax",
           update=False, symbols=[])
    assert text(r) == "price = 220\n"


def test_symbolic_assignment_shows_the_expression_and_its_symbols():
    r = ok("assign", name="y", value=None, shape=[], expr="sigmoid(x)", update=False,
           symbols=["x"])
    assert text(r) == "y = sigmoid(x)  # symbolic in x\n"


def test_grad_is_a_table_of_partial_derivatives():
    r = ok("grad", of="price", value=220.00000000000003, shape=[], symbolic=False,
           grads={"apple": 2.2, "n": 110.00000000000001, "tax": 200.0}, nonfinite=[])
    assert text(r) == (
        "grad price  (price = 220)\n"
        "  gradient       value\n"
        "  ─────────────  ─────\n"
        "  ∂price/∂apple  2.2\n"
        "  ∂price/∂n      110\n"
        "  ∂price/∂tax    200\n")
    assert "d price/d apple  2.2" in text(r, ASC)


def test_symbolic_grad_lists_definitions_steps_and_expressions():
    r = ok("grad", of="out", value=None, shape=[], symbolic=True,
           grads={"w": "d_h*x"}, steps=[{"name": "d_h", "expr": "1 + y"}],
           definitions={"h": "w*x"})
    assert text(r) == ("grad out  # symbolic\n"
                       "  where h = w*x\n"
                       "  step  d_h = 1 + y\n"
                       "  gradient  expression\n"
                       "  ────────  ──────────\n"
                       "  ∂out/∂w   d_h*x\n")


def test_grad_findings_are_told():
    r = ok("grad", of="y", value=float("inf"), shape=[], symbolic=False,
           grads={"x": float("inf")}, nonfinite=["x"],
           nonfinite_value={"node": "y", "reason": "exp overflow"}, nonfinite_grad=None,
           kinks=[], hints=[{"pattern": "exp of a large input", "node": "y",
                             "suggest": "softplus"}])
    out = text(r)
    assert "warning: y is not finite: exp overflow" in out
    assert "hint: exp of a large input at y; instead: softplus" in out


def test_check_table_says_pass_or_fail_per_leaf():
    r = ok("check", of="loss", passed=False, eps=1e-6, atol=1e-5, rtol=1e-3,
           results={"W": {"max_abs_error": 1.5e-10, "max_rel_error": 2e-9,
                          "mean_abs_error": 1e-10, "at": [1, 0], "backprop": 0.25,
                          "numeric": 0.25, "passed": True, "elements": 6},
                    "b": {"max_abs_error": 0.5, "max_rel_error": 1.0, "mean_abs_error": 0.25,
                          "at": [2], "backprop": 0.0, "numeric": 0.5, "passed": False,
                          "elements": 3}},
           kinks=[{"node": "r", "op": "relu", "count": 2, "convention": "relu'(0) = 0"}])
    out = text(r).splitlines()
    assert out[0] == "check loss: FAILED  (eps 1e-06, atol 1e-05, rtol 0.001)"
    assert out[3].split() == ["W", "1.50e-10", "[1,", "0]", "0.25", "0.25", "1.00e-10", "6",
                              "pass"]
    assert out[4].split() == ["b", "5.00e-01", "[2]", "0", "0.5", "2.50e-01", "3", "FAIL"]
    assert "r (relu) is evaluated at 0 in 2 elements" in out[5]


def _diff(pretty_d: str, ascii_d: str) -> dict:
    return ok("diff", wrt="x", expr="sigmoid(x)", derivative="(1 - sigmoid(x))*sigmoid(x)",
              simplified="(1 - sigmoid(x))*sigmoid(x)", simplify_note=None,
              output_name="y", in_terms_of_output="y*(1 - y)",
              pretty={"derivative": pretty_d, "simplified": pretty_d,
                      "in_terms_of_output": "y⋅(1 - y)"},
              ascii={"derivative": ascii_d, "simplified": ascii_d,
                     "in_terms_of_output": "y*(1 - y)"})


def test_diff_shows_raw_simplified_and_output_form_in_unicode_or_ascii():
    r = _diff("(1 - sigmoid(x))⋅sigmoid(x)", "(1 - sigmoid(x))*sigmoid(x)")
    assert text(r) == ("diff sigmoid(x) wrt x\n"
                       "  ∂/∂x           (1 - sigmoid(x))⋅sigmoid(x)\n"
                       "  in terms of y  y⋅(1 - y)\n"
                       "                 where y = sigmoid(x)\n")
    out = text(r, ASC)
    assert "y*(1 - y)" in out and "⋅" not in out and "∂" not in out


def test_a_multiline_pretty_form_comes_with_its_plain_text():
    r = _diff("  1\n─────\n1 + x", "  1\n-----\n1 + x")
    r["derivative"] = "1/(1 + x)"
    out = text(r)
    assert "  ∂/∂x             1\n                 ─────\n                 1 + x\n" in out
    assert "as text: 1/(1 + x)" in out


def test_rules_table_aligns_one_line_per_input():
    r = ok("rules", rules=[
        {"op": "div", "kind": "elementwise", "arity": 2, "call": "a / b", "doc": "",
         "example": "", "inputs": ["a", "b"], "kink": None, "definition": "a/b",
         "derivative": ["1/b", "-a/b**2"], "output_form": [None, "-y/b"]},
        {"op": "sigmoid", "kind": "elementwise", "arity": 1, "call": "sigmoid(x)",
         "doc": "", "example": "", "inputs": ["x"], "kink": None,
         "definition": "1/(1 + exp(-x))", "derivative": ["exp(-x)/(1 + exp(-x))**2"],
         "output_form": ["y*(1 - y)"]}])
    lines = text(r).splitlines()
    assert lines[3].split() == ["a", "/", "b", "a/b", "∂/∂a:", "1/b"]
    assert lines[4].split() == ["∂/∂b:", "-a/b**2", "∂/∂b:", "-y/b"]
    assert lines[5].startswith("  sigmoid(x)") and lines[5].endswith("  y*(1 - y)")


def test_help_on_a_command_shows_its_syntax_options_and_examples():
    r = ok("help", topic="grad", names={}, entries=[{
        "name": "grad", "kind": "command", "summary": "backward pass",
        "example": "grad loss", "usage": "grad NAME [wrt a, b]", "group": "gradients",
        "examples": ["grad loss", "grad loss wrt W, b"], "notes": ["dout is 1"],
        "aliases": [], "parts": [{"usage": "wrt a, b", "doc": "only these", "keyword": True}]}])
    assert text(r).splitlines() == ["grad NAME [wrt a, b]", "  backward pass",
                                    "  wrt a, b  only these", "  examples", "    grad loss",
                                    "    grad loss wrt W, b", "  notes", "    dout is 1"]


def test_an_unknown_kind_is_shown_field_by_field():
    r = ok("someday", alpha=0.5, series=np.arange(3.0), nested={"k": [1, 2]},
           rows=[{"a": 1.0}])
    assert text(r) == ("someday\n"
                       "  alpha: 0.5\n"
                       "  series: [0., 1., 2.]\n"
                       "  nested:\n"
                       "    k: [1, 2]\n"
                       "  rows:\n"
                       "    [0]:\n"
                       "      a: 1\n")


# ---------------------------------------------------------------- trees

TREE = ok("tree", of="price", has_grads=True, root={
    "id": 4, "name": "price", "op": "mul", "label": "×", "symbol": "*", "expr": "price",
    "local": [{"to": "u1", "form": "tax", "rule": False},
              {"to": "tax", "form": "u1", "rule": False}],
    "value": 220.0, "grad": 1.0, "shape": [], "children": [
        {"id": 3, "name": None, "op": "mul", "label": "×", "symbol": "*",
         "expr": "u1", "definition": "apple*apple",
         "local": [{"to": "apple", "form": "2*apple", "rule": False}],
         "value": 200.0, "grad": 1.1, "shape": [], "children": [
             {"id": 2, "name": "apple", "op": "leaf", "expr": "apple", "local": [],
              "value": 100.0, "grad": 2.2, "shape": [], "children": []},
             {"ref": 2, "name": "apple", "op": "leaf", "expr": "apple"}]},
        {"id": 0, "name": "tax", "op": "leaf", "expr": "tax", "local": [], "value": 1.1,
         "grad": 200.0, "shape": [], "children": []}]})


def test_tree_draws_values_gradients_local_derivatives_and_references():
    assert text(TREE) == (
        "price [×] = 220   grad 1\n"
        "  ∂/∂u1: tax   ∂/∂tax: u1\n"
        "├── u1 = apple*apple [×] = 200   grad 1.1\n"
        "│     ∂/∂apple: 2*apple\n"
        "│   ├── apple = 100   grad 2.2\n"
        "│   └── ↑ see apple\n"
        "└── tax = 1.1   grad 200\n")


def test_tree_in_ascii():
    out = text(TREE, ASC)
    assert out.isascii()
    assert "|-- u1 = apple*apple [*] = 200   grad 1.1" in out and "`-- ^ see apple" in out
    assert "price [*] = 220" in out


def test_tree_without_gradients_says_how_to_get_them():
    r = dict(TREE, has_grads=False)
    out = text(r)
    assert "grad" not in out.splitlines()[0]
    assert out.endswith("(after 'grad price' the tree shows gradients too)\n")


def test_a_deep_tree_is_drawn_without_recursion():
    node = TreeNode([line("leaf")])
    for i in range(5000):
        node = TreeNode([line(f"n{i}")], [node])
    lines = tree_lines(node)
    assert len(lines) == 5001 and lines[-1].endswith("└── leaf")


def test_plain_table_cells_span_lines():
    t = Table(["a", "b"], [["x", "1\n2"], ["yy", "3"]], indent=0)
    assert table_lines(t) == ["a   b", "──  ─", "x   1", "    2", "yy  3"]


# ---------------------------------------------------------------- errors


def test_error_has_file_position_source_line_and_caret():
    r = {"line": 2, "column": 1, "source": "y = foo(x)", "ok": False, "kind": "error",
         "error": {"type": "name", "message": "unknown function 'foo'", "line": 2,
                   "column": 5}}
    out = to_text(error_items(r, UNI, "x = 1\ny = foo(x)\n", "s.bp"))
    assert out == "s.bp:2:5: error: unknown function 'foo'\n  y = foo(x)\n      ^\n"


def test_caret_follows_tabs():
    r = {"line": 1, "column": 1, "source": "x = 1 +", "ok": False, "kind": "error",
         "error": {"type": "syntax", "message": "m", "line": 1, "column": 9}}
    out = to_text(error_items(r, UNI, "\tx = 1 +", None)).splitlines()
    assert out == ["error: m", "  \tx = 1 +", "  \t       ^"]


# ---------------------------------------------------------------- output choices


@pytest.mark.parametrize("env, uni", [
    ({"LANG": "en_US.UTF-8"}, True), ({"LANG": "C"}, False),
    ({"LC_ALL": "C", "LANG": "en_US.UTF-8"}, False), ({"LC_CTYPE": "C.utf8"}, True),
    ({}, True)])
def test_unicode_follows_the_locale(env, uni):
    stream = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    assert unicode_ok(stream, env) is uni


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("color, tty, env, rich, colors", [
    ("auto", False, {}, False, False), ("auto", True, {}, True, True),
    ("auto", True, {"NO_COLOR": "1"}, True, False), ("never", True, {}, False, False),
    ("always", False, {"NO_COLOR": "1"}, True, True)])
def test_color_choice(color, tty, env, rich, colors):
    o = decide(color, _Tty() if tty else io.StringIO(), env)
    assert (o.rich, o.color) == (rich, colors)


def test_rich_output_draws_the_same_tree_and_table():
    buf = io.StringIO()
    out = Output(Options(rich=True, color=False, unicode=True, terminal=False), buf)
    out.show(TREE)
    drawn = buf.getvalue()
    assert "\x1b[" not in drawn
    assert "├── u1 = apple*apple [×] = 200   grad 1.1" in drawn and "└── ↑ see apple" in drawn


def test_rich_with_colour_and_ascii():
    buf = io.StringIO()
    out = Output(Options(rich=True, color=True, unicode=False, terminal=False), buf)
    out.show(TREE)
    drawn = buf.getvalue()
    assert "\x1b[" in drawn
    assert "├" not in drawn and "+-- " in drawn and "`-- " in drawn


def test_export_writes_what_was_shown(tmp_path):
    buf = io.StringIO()
    out = Output(Options(rich=False, unicode=True), buf)
    out.echo("tree price")
    out.show(TREE)
    out.export(str(tmp_path / "t.txt"))
    assert (tmp_path / "t.txt").read_text() == buf.getvalue()
    out.export(str(tmp_path / "t.svg"))
    svg = (tmp_path / "t.svg").read_text()
    assert svg.startswith("<svg") and "apple" in svg
    out.export(str(tmp_path / "t.html"))
    assert "grad" in (tmp_path / "t.html").read_text()


# ---------------------------------------------------------------- JSON


def test_json_lines_use_lists_and_strings_for_non_finite():
    r = {"value": np.array([[1.0, np.inf], [-np.inf, np.nan]]), "x": float("nan"),
         "n": np.int64(3), "flag": np.bool_(True), "nested": [{"g": np.float64(2.5)}]}
    assert jsonable(r) == {"value": [[1.0, "inf"], ["-inf", "nan"]], "x": "nan", "n": 3,
                           "flag": True, "nested": [{"g": 2.5}]}
    line_ = dumps({"pretty": "y⋅(1 - y)", "v": float("inf")})
    assert json.loads(line_) == {"pretty": "y⋅(1 - y)", "v": "inf"}
    assert "\n" not in line_
