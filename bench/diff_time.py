"""`diff` of a 4-deep sigmoid chain written as one expression, vs `sympy.diff` of the same.

The goal (issue 17): `diff sigmoid(w4*sigmoid(w3*sigmoid(w2*sigmoid(w1*x+b1)+b2)+b3)+b4)
wrt w1` through Session.run in at most 0.3 s and within 5x of a naive `sympy.diff` of the
same expression built directly with SymPy, timed interleaved in the same process; both
must hold. The engine's derivative is checked against SymPy's at a point before timing.
For context, without goals: a 3-level expression with tanh, and named chains `h{i} =
sigmoid(w{i}*h{i-1} + b{i})` answering `diff h{d} wrt w1` in chain form at depths 10, 40
and 160 (the baseline there is `sympy.diff` of the chain written out at depth 10: deeper,
it exhausts Python's recursion limit). SymPy's cache is cleared before every timed call.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp
from common import arguments, emit, emit_machine, interleaved, sigmoid_chain
from sympy.core.cache import clear_cache

from bpshell.session import Session

BENCH = "diff_time"
FOUR_DEEP = "sigmoid(w4*sigmoid(w3*sigmoid(w2*sigmoid(w1*x+b1)+b2)+b3)+b4)"
THREE_LEVEL = "sigmoid(w3*tanh(w2*sigmoid(w1*x + b1) + b2) + b3)"
GOAL_SECONDS, GOAL_RATIO = 0.3, 5.0
POINT = {"x": 0.3, "w1": 0.7, "b1": -0.2, "w2": -1.1, "b2": 0.4, "w3": 0.9, "b3": 0.1,
         "w4": 1.3, "b4": -0.5}


def engine_job(setup: str, statement: str, chain: bool) -> Callable[[], dict]:
    """A call of `statement` on a session that ran setup; it fails unless it answers."""
    session = Session()
    if setup and not all(r["ok"] for r in session.run(setup)):
        raise RuntimeError("the setup failed")

    def job() -> dict:
        clear_cache()
        (result,) = session.run(statement)
        if not result["ok"] or (result["chain"] is not None) != chain:
            raise RuntimeError(f"{statement} failed: {result.get('error')}")
        return result

    return job


def _sig(u: sp.Expr) -> sp.Expr:
    """The logistic sigmoid written out, as a SymPy user would."""
    return 1 / (1 + sp.exp(-u))


def naive_four_deep() -> tuple[Callable[[], sp.Expr], dict]:
    """sympy.diff of the 4-deep chain built with SymPy; and the symbols by name."""
    names = sp.symbols("x w1 b1 w2 b2 w3 b3 w4 b4", real=True)
    x, w1, b1, w2, b2, w3, b3, w4, b4 = names
    f = _sig(w4 * _sig(w3 * _sig(w2 * _sig(w1 * x + b1) + b2) + b3) + b4)

    def job() -> sp.Expr:
        clear_cache()
        return sp.diff(f, w1)

    return job, {str(s): s for s in names}


def check_four_deep(engine: dict, naive: sp.Expr, symbols: dict) -> None:
    """The engine's derivative, read back with SymPy, equals sympy.diff's at a point."""
    from sympy.parsing.sympy_parser import parse_expr

    local = {**symbols, "sigmoid": _sig}
    got = float(parse_expr(engine["derivative"], local).subs(
        {symbols[k]: v for k, v in POINT.items()}))
    want = float(naive.subs({symbols[k]: v for k, v in POINT.items()}))
    if abs(got - want) > 1e-12 * max(1.0, abs(want)):
        raise AssertionError(f"diff {FOUR_DEEP} wrt w1 at {POINT}: engine {got}, sympy {want}")


def naive_three_level() -> Callable[[], sp.Expr]:
    """sympy.diff of the 3-level expression (with tanh) built with SymPy."""
    x, w1, w2, w3, b1, b2, b3 = sp.symbols("x w1 w2 w3 b1 b2 b3", real=True)
    f = _sig(w3 * sp.tanh(w2 * _sig(w1 * x + b1) + b2) + b3)

    def job():
        clear_cache()
        return sp.diff(f, w1)

    return job


def naive_chain(depth: int) -> Callable[[], sp.Expr]:
    """sympy.diff of the named chain written out as one expression, at this depth."""
    x = sp.Symbol("x", real=True)
    ws = sp.symbols(f"w1:{depth + 1}", real=True)
    bs = sp.symbols(f"b1:{depth + 1}", real=True)
    h = x
    for w, b in zip(ws, bs):
        h = _sig(w * h + b)

    def job():
        clear_cache()
        return sp.diff(h, ws[0])

    return job


def measure_goal(rounds: int) -> None:
    """The issue's row: the 4-deep chain as one expression, checked, then timed."""
    engine = engine_job("", f"diff {FOUR_DEEP} wrt w1", False)
    naive, symbols = naive_four_deep()
    check_four_deep(engine(), naive(), symbols)
    t = interleaved({"engine": engine, "naive": naive}, rounds)
    ratio = t["engine"] / t["naive"]
    emit(BENCH, "diff of a 4-deep sigmoid chain written as one expression, wrt w1",
         t["engine"], "s", "sympy.diff of the same expression", t["naive"],
         goal=f"<= {GOAL_SECONDS} s and ratio <= {GOAL_RATIO:g}",
         met=t["engine"] <= GOAL_SECONDS and ratio <= GOAL_RATIO, rounds=rounds)


def measure_context(depths: list[int], naive_depth: int, rounds: int) -> None:
    """The older rows, no longer goals: a 3-level expression and named chains."""
    t = interleaved({"engine": engine_job("", f"diff {THREE_LEVEL} wrt w1", False),
                     "naive": naive_three_level()}, rounds)
    emit(BENCH, "diff of a 3-level expression (with tanh)", t["engine"], "s",
         "sympy.diff of the same expression", t["naive"], rounds=rounds)
    jobs = {str(d): engine_job(sigmoid_chain(d), f"diff h{d} wrt w1", True) for d in depths}
    jobs["naive"] = naive_chain(naive_depth)
    t = interleaved(jobs, rounds)
    for d in depths:
        emit(BENCH, f"diff of a named sigmoid chain, depth {d} (chain form)", t[str(d)], "s",
             f"sympy.diff of the written-out chain, depth {naive_depth}", t["naive"],
             rounds=rounds)


def main() -> None:
    """The goal's row, then the context rows (one round each with --tiny)."""
    args = arguments(__doc__.splitlines()[0])
    emit_machine(BENCH)
    if args.tiny:
        measure_goal(1)
        measure_context([3, 6], 3, 1)
    else:
        measure_goal(15)
        measure_context([10, 40, 160], 10, 11)


if __name__ == "__main__":
    main()
