"""The generated module of derived rules (bpshell/ops/derived.py) is what SymPy derives now,
and a numeric statement runs on it without loading SymPy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bpshell.numeric.passes import _gated, derived_rule
from bpshell.ops import derived
from bpshell.ops.table import OPS

ROOT = Path(__file__).resolve().parents[1]
PROBES = np.array([-1000.0, -30.0, -2.0, -1.0, -0.5, -1e-300, 0.0, 1e-300, 0.5, 1.0, 2.0,
                   30.0, 1000.0, np.inf, -np.inf, np.nan])


def test_the_generated_module_is_what_sympy_derives_now():
    from bpshell.symbolic.generate import TARGET, module_text

    assert TARGET == ROOT / "bpshell" / "ops" / "derived.py"
    assert TARGET.read_text(encoding="utf-8") == module_text(), (
        "bpshell/ops/derived.py is out of date: python3 -m bpshell.symbolic.generate")


def test_every_builtin_elementwise_op_has_its_rules():
    elementwise = {op.name for op in OPS.values()
                   if op.vjps is None and not op.user and op.define is not None}
    assert set(derived.RULES) == elementwise
    for name, rules in derived.RULES.items():
        assert len(rules) == OPS[name].arity


@pytest.mark.parametrize("name", sorted(derived.RULES))
def test_each_generated_rule_computes_what_the_derived_rule_computes(name):
    # the oracle is the rule derived at run time, exactly as a user function's is
    op = OPS[name]
    xs = [PROBES] + [np.roll(PROBES, 3 + k) for k in range(op.arity - 1)]
    with np.errstate(all="ignore"):
        y = op.forward(*xs)
        for k, (kind, *payload) in enumerate(derived.RULES[name]):
            live_kind, live = derived_rule(op, k)
            if kind == "gate":  # both as the backward pass runs them, for finite and inf g
                made = _gated(*payload, k)
                for g in (np.ones_like(PROBES), np.full_like(PROBES, np.inf)):
                    np.testing.assert_array_equal(made(g, y, *xs), live(g, y, *xs))
            elif kind == "local":
                np.testing.assert_array_equal(np.multiply(1.0, payload[0](*xs, y)),
                                              np.multiply(1.0, live(*xs, y)))
            else:
                assert payload[0] == live or payload[0] is live is None


def test_the_generated_sigmoid_rule_is_the_books_y_times_one_minus_y():
    y = np.array([0.1, 0.5, 0.9])
    kind, fn = derived.RULES["sigmoid"][0]
    assert kind == "local"
    np.testing.assert_allclose(fn(np.zeros(3), y), y * (1 - y))


def test_a_numeric_statement_does_not_load_sympy():
    code = ("import sys\nfrom bpshell.session import Session\n"
            "r = Session().run('x = 2; y = sigmoid(x)*tanh(x) + relu(x)/x; grad y')[-1]\n"
            "assert r['ok'], r\n"
            "print(r['grads']['x'], 'sympy' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=60, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert done.returncode == 0, done.stderr
    value, loaded = done.stdout.split()
    s, t = 1 / (1 + np.exp(-2.0)), np.tanh(2.0)
    # d/dx [s(x) t(x) + 1] = s(1 - s) t + s (1 - t**2); relu(x)/x is 1 for x > 0
    assert float(value) == pytest.approx(s * (1 - s) * t + s * (1 - t * t))
    assert loaded == "False"
