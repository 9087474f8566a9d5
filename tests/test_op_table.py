"""The op table is the one place an op is declared, and every stage reads it from there.

Checked here: every op declares its inputs, growth and label; the table loads without
SymPy; the element limit holds through every op that can grow (losses and user functions
included), with NumPy's own result sizes as the oracle for the size rule; and no module
outside bpshell/ops writes onto an op.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bpshell.limits import Limits
from bpshell.ops.table import GROWTHS, OPS, Op, output_size
from bpshell.session import Session

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "bpshell"
LOSSES = ("cross_entropy", "softmax_cross_entropy", "mse")


# ---------------------------------------------------------------- declarations


@pytest.mark.parametrize("name", list(OPS))
def test_every_op_declares_inputs_growth_and_label(name):
    op = OPS[name]
    assert op.inputs and all(n.isidentifier() for n in op.inputs), name
    assert len(set(op.inputs)) == len(op.inputs) == op.arity, name
    assert op.grows in GROWTHS, name
    assert isinstance(op.label, str) and op.label.strip(), name
    assert set(op.label_inputs) <= set(op.inputs), name
    if op.elementwise:
        assert op.define is not None, name  # its derivative is derived from this
    else:
        assert len(op.vjps) == len(op.rule_text) == op.arity, name


def test_an_op_missing_a_declaration_is_refused_when_made():
    with pytest.raises(ValueError, match="growth"):
        Op("bad", ("x",), np.exp, "doc", "bad(x)", "bad", "sometimes", lambda sp, x: x)
    with pytest.raises(ValueError, match="label"):
        Op("bad", ("x",), np.exp, "doc", "bad(x)", "", "broadcast", lambda sp, x: x)


def test_ops_are_frozen_and_carry_no_free_dict():
    assert "meta" not in Op.FIELDS and not hasattr(OPS["exp"], "__dict__")
    with pytest.raises(AttributeError, match="cannot assign to field 'label'"):
        OPS["exp"].label = "e^x"  # type: ignore[misc]


def test_the_op_table_loads_without_sympy():
    code = ("import sys, bpshell.ops.table; "
            "print(sorted(m for m in sys.modules if m == 'sympy' or "
            "m.startswith('bpshell.symbolic')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------- the size rule


def _inputs(op: Op, shapes) -> list:
    return [np.full(s, 0.5) for s in shapes]


BROADCASTING = [((3, 1), (1, 4)), ((2, 3), (3,)), ((5,), ()), ((4, 1, 2), (3, 1))]


@pytest.mark.parametrize("name", [n for n, o in OPS.items() if o.grows == "broadcast"
                                  and o.elementwise])
@pytest.mark.parametrize("shapes", BROADCASTING)
def test_broadcast_size_is_what_numpy_allocates(name, shapes):
    op = OPS[name]
    xs = _inputs(op, (shapes + ((),) * op.arity)[: op.arity])  # where's third input: scalar
    with np.errstate(all="ignore"):
        out = op.forward(*xs)
    assert output_size(op, xs) == np.size(out)


@pytest.mark.parametrize("sa, sb", [((3, 4), (4, 5)), ((4,), (4, 2)), ((3, 4), (4,)),
                                    ((4,), (4,)), ((2, 3, 4), (4, 6)), ((5, 1, 3, 4), (2, 4, 1))])
def test_matmul_size_is_what_numpy_allocates(sa, sb):
    a, b = np.ones(sa), np.ones(sb)
    assert output_size(OPS["matmul"], [a, b]) == np.matmul(a, b).size


def test_matmul_size_refuses_shapes_that_do_not_fit():
    with pytest.raises(ValueError):
        output_size(OPS["matmul"], [np.ones((3, 4)), np.ones((3, 4))])


@pytest.mark.parametrize("name", LOSSES)
def test_a_loss_counts_its_elementwise_work_and_labels_do_not_broadcast(name):
    op = OPS[name]
    y = np.full((6, 5), 0.2)
    assert output_size(op, [y, np.ones((1, 5))]) == 30
    if op.label_inputs:  # one label per row: indexes y, stretches nothing
        assert output_size(op, [y, np.zeros(6)]) == 30


@pytest.mark.parametrize("name", [n for n, o in OPS.items() if o.grows == "none"
                                  and o.arity == 1 and not o.stateful])
def test_ops_that_do_not_grow_never_outgrow_an_input(name):
    op = OPS[name]
    x = np.arange(12.0).reshape(3, 4)
    params = (12,) if op.params and op.params[0].least else ()
    if name == "index":
        params = ((slice(None), 1),)
    out = op.forward(x, *params)
    assert output_size(op, [x]) is None
    assert np.size(out) <= x.size


# ---------------------------------------------------------------- the element limit

LIMIT = 100  # two 11-element inputs fit; an 11x11 result does not


def _statement(op: Op) -> str:
    """The op applied to a = ones(11, 1) and b = ones(1, 11), as the language writes it."""
    if op.symbol:
        return f"c = a {op.symbol} b"
    return f"c = {op.name}(a" + ", b" * (op.arity - 1) + ")"


def _last(limit: int, *lines: str) -> dict:
    s = Session(limits=Limits(max_elements=limit))
    for text in ("a = ones(11, 1)", "b = ones(1, 11)", *lines[:-1]):
        assert s.run(text)[-1]["ok"], text
    return s.run(lines[-1])[-1]


GROWING = [n for n, o in OPS.items() if o.grows in ("broadcast", "matmul") and o.arity >= 2]
JOINING = [n for n, o in OPS.items() if o.grows == "concat"]


def test_every_loss_can_grow():
    assert set(LOSSES) <= set(GROWING)


@pytest.mark.parametrize("name", GROWING)
def test_every_growing_op_respects_the_element_limit(name):
    r = _last(LIMIT, _statement(OPS[name]))
    assert not r["ok"] and r["error"]["type"] == "limit", r
    assert "BPSHELL_MAX_ELEMENTS" in r["error"]["message"]
    assert "121" in r["error"]["message"]  # 11 x 11, counted before anything is allocated
    # the control: at a limit the result fits under, no limit error
    r = _last(121, _statement(OPS[name]))
    assert r["ok"] or r["error"]["type"] != "limit", r


@pytest.mark.parametrize("name", JOINING)
def test_joining_ops_count_both_inputs_against_the_element_limit(name):
    r = _last(LIMIT, "d = ones(60)", f"c = {name}(d, d)")
    assert not r["ok"] and r["error"]["type"] == "limit", r
    assert "120" in r["error"]["message"]
    r = _last(120, "d = ones(60)", f"c = {name}(d, d)")
    assert r["ok"] and np.size(r["value"]) == 120
    a, b = np.ones((2, 3)), np.ones((2, 3))
    assert output_size(OPS[name], [a, b]) == np.size(OPS[name].forward(a, b))


@pytest.mark.parametrize("body", ["u * v + u", "leaky_relu(u, v)", "sigmoid(u - v)"])
def test_a_user_function_respects_the_element_limit(body):
    r = _last(LIMIT, f"def f(u, v) = {body}", "c = f(a, b)")
    assert not r["ok"] and r["error"]["type"] == "limit", r
    assert "BPSHELL_MAX_ELEMENTS" in r["error"]["message"]
    r = _last(121, f"def f(u, v) = {body}", "c = f(a, b)")
    assert r["ok"] and np.shape(r["value"]) == (11, 11)


def test_a_user_function_is_declared_like_any_op():
    s = Session()
    assert s.run("def swish(u) = u * sigmoid(u)")[-1]["ok"]
    rows = {row["op"]: row for row in s.run("rules")[-1]["rules"]}
    assert rows["swish"]["inputs"] == ["u"] and rows["swish"]["call"] == "swish(u)"


# ---------------------------------------------------------------- labels


def _loss_plan(name: str, t):
    """A plan of loss(y, t) with y and t as leaves: the one use of engine internals here."""
    from bpshell.graph.build import Graph, Node
    from bpshell.numeric.passes import Plan

    g = Graph()
    y = g.add(Node("leaf", name="y", value=np.full((3, 4), 0.25)))
    tt = g.add(Node("leaf", name="t", value=t))
    g.root = g.add(Node("op", OPS[name], (y, tt)))
    g.named.update(y=y, t=tt)
    return Plan(g), y, tt


@pytest.mark.parametrize("name", ["cross_entropy", "softmax_cross_entropy"])
def test_integer_labels_have_no_gradient_and_one_hot_targets_do(name):
    from bpshell.numeric.check import differentiable

    plan, y, t = _loss_plan(name, np.array([0.0, 3.0, 1.0]))
    plan.forward()
    assert differentiable(plan, y) and not differentiable(plan, t)
    plan, y, t = _loss_plan(name, np.eye(4)[[0, 3, 1]])
    plan.forward()
    assert differentiable(plan, y) and differentiable(plan, t)


# ---------------------------------------------------------------- nothing written onto ops


def _writes_onto_ops(tree: ast.AST) -> list[int]:
    """Lines that assign into `x.meta[...]`, or set an attribute of something named op."""

    def names_an_op(node) -> bool:
        return isinstance(node, ast.Name) and node.id in ("op", "o") or \
            isinstance(node, ast.Attribute) and node.attr == "op"

    def writes_onto_op(target) -> bool:
        if isinstance(target, ast.Subscript):
            return isinstance(target.value, ast.Attribute) and target.value.attr == "meta"
        return isinstance(target, ast.Attribute) and names_an_op(target.value)

    found = []
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id == "setattr" and node.args and names_an_op(node.args[0]):
            found.append(node.lineno)
        found += [t.lineno for t in targets if writes_onto_op(t)]
    return found


def test_the_scan_finds_writes_onto_ops():
    src = "op.meta['local'] = 1\nnode.op.meta['x'] = 2\nop.label = 'y'\nnode.op.kink = 3\n"
    assert _writes_onto_ops(ast.parse(src)) == [1, 2, 3, 4]
    assert _writes_onto_ops(ast.parse("fn.op = op\ncache[op] = 1\n")) == []


def test_no_module_outside_ops_writes_onto_an_op():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("bpshell/ops/"):
            continue
        found += [f"{rel}:{line}" for line in
                  _writes_onto_ops(ast.parse(path.read_text(encoding="utf-8")))]
    assert found == []
