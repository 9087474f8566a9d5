"""What a statement can change, and one undo journal that makes every statement all or nothing.

Every change to the session goes through a `State` method that first writes down how to
undo it. A statement (and `run FILE` as a whole) opens a savepoint; if it fails, times out
or is interrupted, the journal is rolled back to that savepoint with the signals that
could cut the rollback in half held off. Bindings are never changed in place: a changed
definition is a new object, so undoing means putting the old object back.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from bpshell.graph.build import Formula, Leaf, UserFunction
from bpshell.timeout import held, raw_signal

_MISSING = object()
_HELD = {signal.SIGINT, signal.SIGALRM, signal.SIGTERM, signal.SIGHUP}


@contextmanager
def signals_held() -> Iterator[None]:
    """Hold Ctrl-C, the time-limit alarm and SIGTERM/SIGHUP (which the command line turns
    into an orderly exit) back while a commit or a rollback runs.

    Held signals are delivered when the block ends, so nothing is lost; off the main
    thread Python delivers no signals to this code anyway, and the time limit's watchdog
    (a thread's bound, or a host that owns SIGALRM) is held by `timeout.held`.
    """
    usable = hasattr(signal, "pthread_sigmask") and \
        threading.current_thread() is threading.main_thread()
    if not usable:
        with held():
            yield
        return
    old = raw_signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    try:
        with held():
            yield
    finally:
        raw_signal.pthread_sigmask(signal.SIG_SETMASK, old)


class Journal:
    """Undo entries since the outermost open savepoint, newest last.

    A value or attribute changed twice since the last savepoint was opened is recorded
    once: every rollback that can happen now goes back past the first entry, which puts
    back the older value anyway. So a `run FILE` that rebinds a name a thousand times
    keeps one old value alive, not a thousand.
    """

    __slots__ = ("entries", "depth", "opened", "seen")

    def __init__(self) -> None:
        self.entries: list[tuple] = []
        self.depth = 0  # open savepoints; with none open nothing is recorded
        self.opened = 0  # savepoints ever opened: tells one statement from the next
        self.seen: set[tuple] = set()  # (id of target, key) recorded since a savepoint

    def record(self, entry: tuple) -> None:
        if self.depth:
            kind, target, key, _ = entry
            if kind == "item" or kind == "attr":
                # the targets of recorded entries stay alive, so their ids stay unique
                signature = (id(target), key)
                if signature in self.seen:
                    return
                self.seen.add(signature)
            self.entries.append(entry)

    def savepoint(self) -> int:
        self.depth += 1
        self.opened += 1
        self.seen = set()
        return len(self.entries)

    def release(self, mark: int) -> None:
        """Keep the changes since mark (an enclosing savepoint may still undo them)."""
        self.depth -= 1
        self.seen = set()
        if not self.depth:
            self.entries.clear()

    def rollback(self, mark: int) -> None:
        """Undo every change since mark, newest first."""
        entries = self.entries
        while len(entries) > mark:
            kind, target, key, old = entries.pop()
            if kind == "item":
                if old is _MISSING:
                    target.pop(key, None)
                else:
                    target[key] = old
            elif kind == "ordered":  # put back where it stood: listings keep their order
                value, index = old
                items = list(target.items())
                items.insert(index, (key, value))
                target.clear()
                target.update(items)
            elif kind == "attr":
                object.__setattr__(target, key, old)
            elif kind == "set-add":
                target.discard(key)
            elif kind == "set-discard":
                target.add(key)
            elif kind == "rng":
                target.bit_generator.state = old
        self.depth -= 1
        self.seen = set()
        if not self.depth:
            entries.clear()


class State:
    """Bindings, functions, cached values, the dependency index, the random stream, `_`.

    Reads are plain attribute and dict reads; every write is journaled.
    """

    def __init__(self, seed: int | None = None, journal: Journal | None = None):
        self.journal = journal or Journal()
        self.bindings: dict[str, Leaf | Formula] = {}
        self.funcs: dict[str, UserFunction] = {}
        self.cache: dict[str, object] = {}  # values of formulas, dropped when an input changes
        self.users: dict[str, set[str]] = {}  # name -> formulas that read it
        # leaves that `fit` and `step` train when no 'wrt' is given (`param W1, b1`), in the
        # order they were marked; a dict used as an ordered set
        self.params: dict[str, None] = {}
        self.seed = seed
        self.last = None  # the last value, read as `_`
        self.version = 0  # bumped on every change that can make a plan stale
        self.serial = 0  # numbers statements, so nodes know which statement made them
        self.last_grad: tuple | None = None  # (root, version, plan, grads)
        self._rng: np.random.Generator | None = None
        self._rng_saved = -1  # the savepoint depth whose rollback restores the stream
        # the stateful layers (ops/layers.py): the mode they run in, whether a forward pass
        # is a training step's, and each call's mask or running averages by its key
        self.mode = "train"
        self.advancing = False
        self.layers: dict[tuple, object] = {}
        self._layers_saved: dict[tuple, int] = {}  # key -> statement whose undo holds it

    def __setattr__(self, key: str, value) -> None:
        journal = self.__dict__.get("journal")
        if journal is not None and journal.depth:
            journal.record(("attr", self, key, self.__dict__.get(key)))
        object.__setattr__(self, key, value)

    # ------------------------------------------------------------ random stream
    @property
    def rng(self) -> np.random.Generator:
        """The random generator, made on first use (importing numpy.random costs ~9 ms)."""
        if self._rng is None:
            self._rng = np.random.default_rng(self.seed)
        elif self.journal.depth and self._rng_saved != self.journal.opened:
            # its state is saved once per statement that touches it, before the first draw
            self.journal.record(("rng", self._rng, None, self._rng.bit_generator.state))
            object.__setattr__(self, "_rng_saved", self.journal.opened)
        return self._rng

    def reseed(self, seed: int) -> None:
        self.seed = seed
        self._rng = np.random.default_rng(seed)

    # ------------------------------------------------------------ layer state
    def layer_value(self, key: tuple):
        """A stateful layer's mask or running averages (None before its first pass)."""
        return self.layers.get(key)

    def set_layer_value(self, key: tuple, value) -> None:
        """Journaled once per statement and key, like the random stream: a fit of 10,000
        steps keeps one old mask for its undo, not 10,000."""
        opened = self.journal.opened
        if self.journal.depth and self._layers_saved.get(key) != opened:
            self.journal.record(("item", self.layers, key, self.layers.get(key, _MISSING)))
            self._layers_saved[key] = opened
        self.layers[key] = value

    def set_mode(self, mode: str) -> None:
        """Train or eval: every cached value is dropped, as dropout and batchnorm change."""
        self.mode = mode
        self.cache = {}
        self.version += 1

    # ------------------------------------------------------------ journaled writes
    def _put(self, target: dict, key, value) -> None:
        self.journal.record(("item", target, key, target.get(key, _MISSING)))
        target[key] = value

    def _pop(self, target: dict, key) -> None:
        if key in target:
            self.journal.record(("item", target, key, target[key]))
            del target[key]

    def _pop_ordered(self, target: dict, key) -> None:
        """Remove key so that undoing it puts it back in its place (vars lists in order)."""
        self.journal.record(("ordered", target, key, (target[key], list(target).index(key))))
        del target[key]

    def _link(self, name: str, refs) -> None:
        for r in refs:
            readers = self.users.get(r)
            if readers is None:
                readers = set()
                self._put(self.users, r, readers)
            if name not in readers:
                self.journal.record(("set-add", readers, name, None))
                readers.add(name)

    def _unlink(self, name: str, refs) -> None:
        for r in refs:
            readers = self.users.get(r)
            if readers is not None and name in readers:
                self.journal.record(("set-discard", readers, name, None))
                readers.discard(name)

    def mark_param(self, name: str) -> None:
        if name not in self.params:
            self._put(self.params, name, None)

    def drop_param(self, name: str) -> None:
        if name in self.params:
            self._pop_ordered(self.params, name)

    def cache_value(self, name: str, value) -> None:
        self._put(self.cache, name, value)

    def invalidate(self, name: str) -> None:
        """Drop the cached values of everything that reads name, directly or not."""
        stack, seen = [name], set()
        while stack:
            for u in self.users.get(stack.pop(), ()):
                if u not in seen:
                    seen.add(u)
                    self._pop(self.cache, u)
                    stack.append(u)

    def bind(self, name: str, binding: Leaf | Formula, value) -> None:
        old = self.bindings.get(name)
        if isinstance(old, Formula):
            self._unlink(name, old.refs)
        self._put(self.bindings, name, binding)
        self._pop(self.cache, name)
        if isinstance(binding, Formula):
            self.drop_param(name)  # a formula is computed, never trained
            self._link(name, binding.refs)
            self._put(self.cache, name, value)
        self.invalidate(name)
        self.version += 1

    def unbind(self, name: str) -> None:
        old = self.bindings[name]
        if isinstance(old, Formula):
            self._unlink(name, old.refs)
        self._pop_ordered(self.bindings, name)
        self.drop_param(name)
        self._pop(self.cache, name)
        self.invalidate(name)
        self.version += 1

    def set_functions(self, funcs: dict[str, UserFunction], refs_of) -> None:
        """Replace the functions; every formula's inputs are found again (a function's body
        may read other names), and every cached value is dropped."""
        self.funcs = funcs
        users: dict[str, set[str]] = {}
        for n, b in list(self.bindings.items()):
            if isinstance(b, Formula):
                refs = frozenset(refs_of(b.expr, funcs))
                if refs != b.refs:
                    self._put(self.bindings, n, Formula(b.expr, b.text, refs, b.stmt, b.line))
                for r in refs:
                    users.setdefault(r, set()).add(n)
        self.users = users
        self.cache = {}
        self.version += 1

    def cycle(self) -> list[str] | None:
        """A formula that reads itself through other formulas, as the path round
        (`['y', 'z', 'y']`), or None. Iterative, linear in the definitions."""
        done: set[str] = set()
        for start, b in self.bindings.items():
            if start in done or not isinstance(b, Formula):
                continue
            path, on_path = [start], {start}
            stack = [iter(sorted(b.refs))]
            while stack:
                nxt = next(stack[-1], None)
                if nxt is None:
                    stack.pop()
                    node = path.pop()
                    on_path.discard(node)
                    done.add(node)
                    continue
                if nxt in on_path:
                    return path[path.index(nxt):] + [nxt]
                nb = self.bindings.get(nxt)
                if nxt in done or not isinstance(nb, Formula):
                    continue
                path.append(nxt)
                on_path.add(nxt)
                stack.append(iter(sorted(nb.refs)))
        return None

    def depends_on(self, refs, name: str) -> bool:
        """Whether any of refs reads name, directly or through other definitions."""
        stack, seen = list(refs), set()
        while stack:
            n = stack.pop()
            if n == name:
                return True
            if n in seen:
                continue
            seen.add(n)
            b = self.bindings.get(n)
            if isinstance(b, Formula):
                stack.extend(b.refs)
        return False
