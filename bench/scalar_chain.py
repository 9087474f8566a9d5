"""Context: forward + backward over a scalar chain of 100,000 nodes, per node, vs plain Python.

The chain is bpshell source, `h{i} = h{i-1} + 0.0001 * tanh(h{i-1})`: four nodes per line
(a constant, tanh, *, +), so 25,000 lines make 100,001 nodes. The baseline is the same
chain as a hand-written Python loop (math.tanh, a list of saved values), timed in the same
process, interleaved. Two engine figures: a repeated pass on a planned graph (a training
loop) and a first pass (planning + forward + backward, as one `grad` does). These were
goals before issue 17, which times the `grad` statement against micrograd instead
(bench/scalar_grad.py); they stay, without goals, to show the passes' own cost.
"""

from __future__ import annotations

import math

from common import arguments, chain_source, emit, emit_machine, interleaved

from bpshell.numeric.passes import Plan
from bpshell.session import Session

BENCH = "scalar_chain"
STEP = 0.0001  # as in common.chain_source
NODES_PER_LINE = 4


def planned(lines: int) -> Plan:
    session = Session()
    results = session.run(chain_source(lines))
    bad = [r for r in results if not r["ok"]]
    if bad:
        raise RuntimeError(f"building the chain failed: {bad[0]['error']}")
    builder = session.builder(frozen=False)
    builder.graph.root = builder.name_node(f"h{lines}")
    return Plan(builder.graph)


def plain_python(lines: int) -> float:
    """d h_n / d h_0 by a hand-written forward and backward loop."""
    tanh = math.tanh
    h = 0.5
    saved = []
    for _ in range(lines):
        y = tanh(h)
        saved.append(y)
        h = h + STEP * y
    g = 1.0
    for y in reversed(saved):
        g = g * (1.0 + STEP * (1.0 - y * y))
    return g


def measure(sizes: list[int], rounds: int) -> None:
    plans = {n: planned(n) for n in sizes}
    jobs = {}
    for n, plan in plans.items():
        h0 = plan.graph.named["h0"]

        def engine(plan=plan, h0=h0):
            plan.forward()
            return plan.backward(1.0, {h0})[h0]

        def first_pass(plan=plan, h0=h0):
            fresh = Plan(plan.graph)
            fresh.forward()
            return fresh.backward(1.0, {h0})[h0]

        reference = plain_python(n)
        for job in (engine, first_pass):
            got = float(job())
            if not math.isclose(got, reference, rel_tol=1e-12):
                raise AssertionError(f"chain of {n} lines: engine {got} != plain {reference}")
        jobs[f"engine {n}"] = engine
        jobs[f"first {n}"] = first_pass
        jobs[f"plain {n}"] = lambda n=n: plain_python(n)
    t = interleaved(jobs, rounds)
    small, large = min(sizes), max(sizes)
    for n in sizes:
        nodes = len(plans[n].graph.nodes)
        per_node = t[f"engine {n}"] / nodes * 1e6
        emit(BENCH, f"scalar chain, {nodes:,} nodes: forward + backward per node", per_node,
             "us", "plain Python loop", t[f"plain {n}"] / nodes * 1e6, rounds=rounds)
        first = t[f"first {n}"] / nodes * 1e6
        emit(BENCH, f"scalar chain, {nodes:,} nodes: plan + forward + backward per node",
             first, "us", "plain Python loop", t[f"plain {n}"] / nodes * 1e6, rounds=rounds)
    growth = t[f"engine {large}"] / t[f"engine {small}"]
    emit(BENCH, f"scalar chain growth, {large * NODES_PER_LINE:,} vs "
         f"{small * NODES_PER_LINE:,} nodes", t[f"engine {large}"] * 1e3, "ms",
         f"the same engine on {small * NODES_PER_LINE:,} nodes", t[f"engine {small}"] * 1e3,
         ratio=growth, rounds=rounds)


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    emit_machine(BENCH)
    if args.tiny:
        measure([25, 250], 2)
    else:
        measure([2_500, 25_000], 7)


if __name__ == "__main__":
    main()
