"""Plans kept between statements: a repeated `grad`, `check` or `fit` of an unchanged graph.

Building a graph and planning it is most of a repeated `grad L` on a small net, and all
of a large scalar graph's `grad` but the passes themselves, though between two of them
usually only leaves changed value (the next batch, the updated weights). A kept plan is
reused when every name it expanded is still bound to the same definition; leaves may
hold new values, which are written into it. Anything else (a name redefined, deleted or
given its first value, a function redefined, new limits, a reset) builds afresh.

Nothing here is journaled: a kept plan is checked against the State every time it is
used, so a statement rolled back leaves nothing stale behind.
"""

from __future__ import annotations

from bpshell.graph.build import Builder, Leaf
from bpshell.numeric.passes import Plan

KEPT = 2  # plans kept: a loss and one more (a plan holds every value of its graph)


class Kept:
    """One plan, and what it was built from."""

    __slots__ = ("plan", "state", "names", "funcs", "limits")

    def __init__(self, plan: Plan, state, limits: tuple):
        self.plan = plan
        self.state = state
        bindings = state.bindings
        # (name, its binding when built (None: a symbol), node id)
        self.names = [(n, bindings.get(n), i) for n, i in plan.graph.named.items()]
        self.funcs = dict(state.funcs)
        self.limits = limits

    def refreshed(self, state, limits: tuple) -> Plan | None:
        """The plan with the leaves' current values, or None when it no longer fits."""
        if state is not self.state or limits != self.limits or \
                not _same(state.funcs, self.funcs):
            return None
        bindings = state.bindings
        changed = []
        for k, (n, old, i) in enumerate(self.names):
            b = bindings.get(n)
            if b is old:
                continue
            if not (isinstance(b, Leaf) and isinstance(old, Leaf)):
                return None
            changed.append((k, n, b, i))
        nodes, values = self.plan.graph.nodes, self.plan.values
        for k, n, b, i in changed:
            node = nodes[i]
            node.value = values[i] = b.value
            node.stmt = b.stmt
            self.names[k] = (n, b, i)
        return self.plan


def _same(now: dict, then: dict) -> bool:
    return len(now) == len(then) and all(then.get(k) is v for k, v in now.items())


def keepable(builder: Builder) -> bool:
    """A graph that reads `_` or keeps layer state (dropout, batchnorm) is built each time:
    `_` changes with every statement, and a layer's place in the session with its call."""
    return not builder.slots and not builder.read_last


class PlanCache:
    """The last KEPT plans, by the name they compute."""

    def __init__(self) -> None:
        self.kept: dict[str, Kept] = {}

    def get(self, name: str, state, limits: tuple) -> Plan | None:
        kept = self.kept.get(name)
        if kept is None:
            return None
        plan = kept.refreshed(state, limits)
        if plan is None:
            del self.kept[name]
        return plan

    def put(self, name: str, plan: Plan, state, limits: tuple) -> None:
        self.kept.pop(name, None)
        while len(self.kept) >= KEPT:
            del self.kept[next(iter(self.kept))]
        self.kept[name] = Kept(plan, state, limits)
