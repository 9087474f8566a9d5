"""Writes bpshell/ops/derived.py: the built-in ops' derived rules as plain NumPy code.

The rules stay derived: this module asks SymPy for each elementwise op's local derivative
(bpshell.symbolic.local, the same code a user function goes through) and prints the
function the backward pass runs. Shipping the result as a module means a numeric
statement never imports SymPy (~0.2 s of start-up), and nothing is compiled at run time.

    python3 -m bpshell.symbolic.generate          # rewrite bpshell/ops/derived.py
    python3 -m bpshell.symbolic.generate --check  # exit 1 if it is out of date

tests/test_derived.py fails when the file differs from what this prints.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

from bpshell.ops.table import OPS, Op
from bpshell.symbolic.derive import X, Y, _kernel_classes, _Printer
from bpshell.symbolic.local import local, zero_condition

TARGET = Path(__file__).resolve().parents[1] / "ops" / "derived.py"

HEADER = '''"""The built-in elementwise ops' local derivatives, as the backward pass runs them.

Generated from the op table through SymPy by `python3 -m bpshell.symbolic.generate`; do not
edit. tests/test_derived.py fails when this file differs from what SymPy derives now.
Each rule is (kind, payload): "pass" (the gradient as it is), "neg", "scale" (times a
constant), "none" (no gradient), "local": a function of the op's inputs and its output y
that the upstream gradient is multiplied by, or "gate" with two: where the derivative is 0
(whatever the upstream gradient, as PyTorch), and the slope elsewhere (None: 1).
"""

# ruff: noqa: E501
'''


def _printed(expr) -> str:
    """expr as NumPy code; a named op (sigmoid) is called by its own name, which the
    generated module binds to the op table's kernel."""
    names = {cls: cls.__name__ for cls in _kernel_classes(expr)}
    printer = _Printer({"fully_qualified_modules": True, "inline": True,
                        "allow_unknown_functions": True}, names)
    return printer.doprint(expr)


def rule_source(op: Op, k: int) -> tuple[str, str | None, str | None]:
    """(kind, payload, slope) of input k as source: a constant, the body of a function,
    or a gate's condition (where the derivative is 0) and its slope elsewhere."""
    loc = local(op)
    if loc.constant[k]:
        d = loc.numeric[k]
        kind = {0.0: "none", 1.0: "pass", -1.0: "neg"}.get(d)
        return (kind, None, None) if kind else ("scale", repr(float(d)), None)
    printed = _printed
    found = zero_condition(op, loc, k)
    if found is not None:
        zero, step = found
        return "gate", printed(zero), None if step else printed(loc.runs[k])
    return "local", printed(loc.runs[k]), None


def _names(code: str) -> set[str]:
    """Functions a printed expression calls that are not numpy.<name>."""
    return {m for m in re.findall(r"(?<![\w.])([A-Za-z_]\w*)\(", code)}


def _imports(names: set[str]) -> list[str]:
    out = ["import numpy"]
    ops = sorted(n for n in names if n in OPS)
    ufuncs = sorted(n for n in names - set(ops) if isinstance(getattr(np, n, None), np.ufunc))
    unknown = names - set(ops) - set(ufuncs)
    if unknown:
        raise ValueError(f"derived code calls {sorted(unknown)}, which is neither an op "
                         "nor a NumPy ufunc")
    if ufuncs:
        out.insert(1, f"from numpy import {', '.join(ufuncs)}")
    if ops:
        out += ["", "from bpshell.ops.table import OPS", ""]
        out += [f"{n} = OPS[{n!r}].forward" for n in ops]
    return out


def module_text() -> str:
    """The whole generated module, for every built-in elementwise op in table order."""
    functions, rules, names = [], [], set()
    for op in OPS.values():
        if op.vjps is not None or op.user or op.define is None:
            continue
        entries = []
        args = ", ".join([*(str(x) for x in X[: op.arity]), str(Y)])
        for k in range(op.arity):
            kind, payload, slope = rule_source(op, k)
            if kind not in ("local", "gate"):
                entries.append(f'("{kind}", {payload})')
                continue
            fn = f"_{op.name}_{'zero' if kind == 'gate' else 'd'}{k}"
            names |= _names(payload)
            functions.append(f"def {fn}({args}):\n    return {payload}\n")
            if kind == "local":
                entries.append(f'("local", {fn})')
                continue
            slope_fn = "None"
            if slope is not None:
                slope_fn = f"_{op.name}_d{k}"
                names |= _names(slope)
                functions.append(f"def {slope_fn}({args}):\n    return {slope}\n")
            entries.append(f'("gate", {fn}, {slope_fn})')
        rules.append(f'    "{op.name}": ({", ".join(entries)},),')
    lines = [HEADER, *_imports(names), "", ""]  # two blank lines before the first def
    lines.append("\n\n".join(functions))
    lines += ["", "RULES = {", *rules, "}", ""]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    text = module_text()
    if "--check" in argv:
        same = TARGET.exists() and TARGET.read_text(encoding="utf-8") == text
        print("bpshell/ops/derived.py is up to date" if same else
              "bpshell/ops/derived.py is out of date: python3 -m bpshell.symbolic.generate")
        return 0 if same else 1
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
