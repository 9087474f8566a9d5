"""`diff` times: a 3-level expression, and named sigmoid chains of depth 10, 40 and 160.

A 3-level `diff` must answer in well under half a second: SymPy's simplify is kept off
the ordinary path (`diff ... simplify` asks for it). A named chain `h{i} = sigmoid(w{i}*h{i-1}
+ b{i})` answers `diff h{d} wrt w1` in chain form, linear in depth: the goals are depth 40
under 0.1 s and depth 160 under 0.3 s. The baseline, timed interleaved in the same process,
is `sympy.diff` of the same function written out (at depth 10 for the chains: deeper, it
exhausts Python's recursion limit). SymPy's cache is cleared before every timed call.
"""

from __future__ import annotations

import sympy as sp
from common import arguments, emit, emit_machine, interleaved, sigmoid_chain
from sympy.core.cache import clear_cache

from bpshell.session import Session

BENCH = "diff_time"
THREE_LEVEL = "sigmoid(w3*tanh(w2*sigmoid(w1*x + b1) + b2) + b3)"
GOALS = {"3-level": 0.5, 40: 0.1, 160: 0.3}


def engine_job(setup: str, statement: str, chain: bool):
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


def _sig(u):
    return 1 / (1 + sp.exp(-u))


def naive_three_level():
    x, w1, w2, w3, b1, b2, b3 = sp.symbols("x w1 w2 w3 b1 b2 b3", real=True)
    f = _sig(w3 * sp.tanh(w2 * _sig(w1 * x + b1) + b2) + b3)

    def job():
        clear_cache()
        return sp.diff(f, w1)

    return job


def naive_chain(depth: int):
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


def measure(depths: list[int], naive_depth: int, rounds: int) -> None:
    t = interleaved({"engine": engine_job("", f"diff {THREE_LEVEL} wrt w1", False),
                     "naive": naive_three_level()}, rounds)
    goal = GOALS["3-level"]
    emit(BENCH, "diff of a 3-level expression", t["engine"], "s",
         "sympy.diff of the same expression", t["naive"], goal=f"< {goal} s",
         met=t["engine"] < goal, rounds=rounds)
    jobs = {str(d): engine_job(sigmoid_chain(d), f"diff h{d} wrt w1", True) for d in depths}
    jobs["naive"] = naive_chain(naive_depth)
    t = interleaved(jobs, rounds)
    for d in depths:
        goal = GOALS.get(d)
        emit(BENCH, f"diff of a named sigmoid chain, depth {d} (chain form)", t[str(d)], "s",
             f"sympy.diff of the written-out chain, depth {naive_depth}", t["naive"],
             goal=None if goal is None else f"< {goal} s",
             met=None if goal is None else t[str(d)] < goal, rounds=rounds)


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    emit_machine(BENCH)
    if args.tiny:
        measure([3, 6], 3, 1)
    else:
        measure([10, 40, 160], 10, 11)


if __name__ == "__main__":
    main()
