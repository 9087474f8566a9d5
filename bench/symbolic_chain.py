"""Context: the symbolic gradient of a sigmoid chain w.r.t. all its parameters, vs `sympy.diff`.

The chain is bpshell source with no values, `h{i} = sigmoid(w{i}*h{i-1} + b{i})` from
h0 = x, and the figure is the statement `grad h{d} wrt w1, b1, ...`: reverse mode over the
ops' local derivatives, one shared step per named adjoint. The baseline differentiates the
expanded expression with `sympy.diff` for each parameter (4.5 s at depth 20, RecursionError
past 22), so it is timed at a smaller depth, interleaved with the engine at that depth.
SymPy's expression cache is cleared before every timed call, so depths compare fairly.
Depth 40 under 0.1 s and linear growth to 160 were goals before issue 17; the rows stay,
without goals, as context for bench/diff_time.py.
"""

from __future__ import annotations

import time

import sympy as sp
from common import arguments, emit, emit_machine, interleaved, sigmoid_chain
from sympy.core.cache import clear_cache

from bpshell.session import Session

BENCH = "symbolic_chain"


def grad_statement(depth: int) -> str:
    params = ", ".join(f"{p}{i}" for i in range(1, depth + 1) for p in "wb")
    return f"grad h{depth} wrt {params}"


def engine_job(depth: int):
    session = Session()
    results = session.run(sigmoid_chain(depth))
    if not all(r["ok"] for r in results):
        raise RuntimeError(f"building the depth-{depth} chain failed")
    statement = grad_statement(depth)

    def job() -> dict:
        clear_cache()
        (result,) = session.run(statement)
        if not result["ok"] or len(result["grads"]) != 2 * depth:
            raise RuntimeError(f"grad at depth {depth} failed: {result.get('error')}")
        return result

    return job


def naive_job(depth: int):
    """sympy.diff of the expanded chain for every parameter: the textbook way."""
    x = sp.Symbol("x", real=True)
    ws = [sp.Symbol(f"w{i}", real=True) for i in range(1, depth + 1)]
    bs = [sp.Symbol(f"b{i}", real=True) for i in range(1, depth + 1)]
    h = x
    for w, b in zip(ws, bs):
        h = 1 / (1 + sp.exp(-(w * h + b)))

    def job() -> list:
        clear_cache()
        return [sp.diff(h, p) for p in ws + bs]

    return job


def check_values(depth: int) -> None:
    """The symbolic gradient, evaluated at a point, equals the numeric one there."""
    from sympy.parsing.sympy_parser import parse_expr

    values = {"x": 0.3, **{f"w{i}": 0.5 + 0.1 * i for i in range(1, depth + 1)},
              **{f"b{i}": -0.2 * i for i in range(1, depth + 1)}}
    numeric = Session()
    numeric.run("\n".join(f"{k} = {v}" for k, v in values.items()) + "\n" + sigmoid_chain(depth))
    (reference,) = numeric.run(grad_statement(depth))
    for i in range(1, depth + 1):
        values[f"h{i}"] = numeric.value_of(f"h{i}")
    symbolic = engine_job(depth)()
    # the engine's own output (names and arithmetic) read back with every name a symbol
    names = {n: sp.Symbol(n) for n in values}
    names.update({s["name"]: sp.Symbol(s["name"]) for s in symbolic["steps"]})
    env = {names[n]: v for n, v in values.items()}
    for step in symbolic["steps"]:
        env[names[step["name"]]] = float(parse_expr(step["expr"], names).xreplace(env))
    for name, text in symbolic["grads"].items():
        got = float(parse_expr(text, names).xreplace(env))
        if abs(got - reference["grads"][name]) > 1e-9 * max(1.0, abs(got)):
            raise AssertionError(f"d h{depth}/d {name}: symbolic {got}, numeric "
                                 f"{reference['grads'][name]}")


def measure(naive_depth: int, depths: list[int], focus: int, rounds: int) -> None:
    job = engine_job(focus)
    t0 = time.perf_counter()
    job()  # the first in this process: derives the ops' local derivatives too
    cold = time.perf_counter() - t0
    check_values(min(4, focus))
    t = interleaved({"naive": naive_job(naive_depth), "engine small": engine_job(naive_depth)},
                    rounds)
    emit(BENCH, f"symbolic gradient, depth {naive_depth}, all {2 * naive_depth} parameters",
         t["engine small"], "s", f"sympy.diff of the expanded chain, depth {naive_depth}",
         t["naive"], rounds=rounds)
    jobs = {d: engine_job(d) for d in depths}
    td = interleaved({str(d): jobs[d] for d in depths}, rounds)
    for d in depths:
        value = td[str(d)]
        emit(BENCH, f"symbolic gradient, depth {d}, all {2 * d} parameters", value, "s",
             f"the same at depth {focus}", td[str(focus)], rounds=rounds,
             us_per_depth=round(value / d * 1e6, 1))
    emit(BENCH, f"symbolic gradient, depth {focus}, first in a fresh process", cold, "s",
         f"the same, repeated (depth {focus})", td[str(focus)])
    deepest = max(depths)
    growth = td[str(deepest)] / td[str(focus)]
    emit(BENCH, f"symbolic gradient growth, depth {deepest} vs {focus} "
         f"({deepest / focus:g} is linear)", td[str(deepest)], "s",
         f"the same at depth {focus}", td[str(focus)], ratio=growth, rounds=rounds)


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    emit_machine(BENCH)
    if args.tiny:
        measure(3, [4, 8], 4, 1)
    else:
        measure(10, [20, 40, 80, 160], 40, 15)


if __name__ == "__main__":
    main()
