"""Property-based tests: thousands of generated statements fed to a Session.

Sources come from the grammar (random well-formed programs over the language's operators,
functions and commands), from mutations of such programs, from soups of the language's
tokens and from arbitrary unicode text. For every statement:

- the result is a dict with `ok` True or False, and an error carries a type, a message and
  a 1-based line and column;
- no exception escapes `Session.iter_run`, and none is caught as an "internal" error;
- no statement runs past its time bound (plus a small allowance);
- a failed statement leaves the bindings and functions exactly as they were;
- no RuntimeWarning reaches the caller;
- the result can be written as JSON (what `--json` prints).

The same sources also go through the command line's `main`, rendering included (plain
text, rich, JSON Lines, errors on stderr): no traceback, no internal error, exit status
0 or 1, no control character written, and JSON Lines that decode.

The full runs are marked slow (CI runs them; BPSHELL_SLOW=1 runs them locally): 4,000
examples in all (BPSHELL_FUZZ_EXAMPLES changes the number). BPSHELL_LONG=1 selects the
long profile, 100,000 examples in all (it runs the slow tests too):

    BPSHELL_LONG=1 python -m pytest tests/test_fuzz.py

A default run has brief versions instead, 150 examples in all (and 15 through the
command line; the slow run sends a twentieth of its examples through it).
"""

from __future__ import annotations

import atexit
import json
import math
import os
import re
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpshell.commands.registry import path_words
from bpshell.language.split import split_statements
from bpshell.limits import Limits
from bpshell.session import Session

try:
    from bpshell.render.jsonl import dumps as json_dumps
except ImportError:  # the JSON writer belongs to the CLI
    json_dumps = None

LONG = os.environ.get("BPSHELL_LONG") == "1"

# examples per test: grammar programs get the most, the other sources share the rest
SHARE = {"grammar": 0.3, "live": 0.2, "mutated": 0.2, "soup": 0.15, "text": 0.15}
_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large,
                              HealthCheck.filter_too_much],
    "print_blob": True,
}
settings.register_profile("bpshell-ci", max_examples=int(os.environ.get(
    "BPSHELL_FUZZ_EXAMPLES", "4000")), **_COMMON)
settings.register_profile("bpshell-long", max_examples=100_000, **_COMMON)
PROFILE = settings.get_profile("bpshell-long" if LONG else "bpshell-ci")


def profile(source: str) -> settings:
    """The active profile, with this source's share of the examples."""
    return settings(PROFILE, max_examples=max(1, int(PROFILE.max_examples * SHARE[source])))


# small bounds, so that bombs are cheap and limit errors are common
LIMITS = {"max_elements": 20_000, "max_nodes": 3_000, "max_statement_chars": 4_000,
          "max_depth": 60, "max_exponent": 1_000, "time_limit": 1.0,
          "simplify_seconds": 0.1}
ALLOWANCE = 1.5  # seconds past the bound: signal delivery, a NumPy call that must end
SAVE_DIR = Path(tempfile.mkdtemp(prefix="bpshell-fuzz-"))
atexit.register(shutil.rmtree, SAVE_DIR, True)


@pytest.fixture(autouse=True, scope="module")
def _scratch_directory() -> Iterator[None]:
    """Generated `save` and `run` use relative paths, which resolve here."""
    old = os.getcwd()
    SAVE_DIR.mkdir(exist_ok=True)
    os.chdir(SAVE_DIR)
    try:
        yield
    finally:
        os.chdir(old)
        shutil.rmtree(SAVE_DIR, ignore_errors=True)


def new_session() -> Session:
    """A session with the fuzzing bounds and a fixed seed."""
    return Session(limits=Limits.from_env({}, **LIMITS), seed=0)


# ---------------------------------------------------------------- state and checks


def snapshot(s: Session) -> dict:
    """Bindings (kind, text, exact value bits) and functions: what must survive a failure."""
    out: dict = {}
    for name, b in s.bindings.items():
        value = getattr(b, "value", None)
        data = None
        if value is not None:
            a = np.asarray(value, dtype=np.float64)
            data = (a.shape, a.tobytes())
        out[name] = (type(b).__name__, b.text, data)
    out["<functions>"] = {n: (tuple(f.params), f.text) for n, f in s.funcs.items()}
    return out


def check_result(r: object) -> None:
    """The shape every result must have, success or failure."""
    assert isinstance(r, dict), r
    assert r.get("ok") in (True, False), r
    assert isinstance(r.get("line"), int) and r["line"] >= 1, r
    assert isinstance(r.get("column"), int) and r["column"] >= 1, r
    if r["ok"]:
        assert isinstance(r.get("kind"), str), r
    else:
        err = r.get("error")
        assert isinstance(err, dict), r
        assert isinstance(err.get("type"), str) and err["type"], r
        # "internal" is the engine's name for an exception it did not expect: a bug
        assert err["type"] != "internal", r
        assert isinstance(err.get("message"), str) and err["message"], r
        assert isinstance(err.get("line"), int) and err["line"] >= 1, r
        assert isinstance(err.get("column"), int) and err["column"] >= 1, r
    if json_dumps is not None:
        json.loads(json_dumps(r))


_SAFE_PATH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_GRAMMAR_PLOT = re.compile(r"\s*plot .* wrt \w+ from -?\d+ to -?\d+\s*")


def defang(source: str) -> str:
    """Source whose file commands cannot reach outside the scratch directory.

    Mutations and random text turn `save fuzz.bp` into `save /t` or `run /dev/zero`. Each
    statement (split as the engine splits it) that starts with save, run or export and
    names anything but a plain file name here, and each plot that could write a file, has
    its command word overwritten with z's: the text stays as long, and still parses as
    something, but touches no file.
    """
    line_starts = [0] + [i + 1 for i, ch in enumerate(source) if ch == "\n"]
    out = list(source)
    for chunk in split_statements(source):
        parts = chunk.text.lstrip().split(None, 1)
        if not parts:
            continue
        word = parts[0]
        rest = parts[1].strip() if len(parts) > 1 else ""
        if word in path_words():
            risky = bool(rest) and not _SAFE_PATH.fullmatch(rest)
        else:
            risky = word == "plot" and not _GRAMMAR_PLOT.fullmatch(chunk.text)
        if not risky:
            continue
        at = (line_starts[chunk.line - 1] + chunk.column - 1
              + len(chunk.text) - len(chunk.text.lstrip()))
        if source[at:at + len(word)] == word:
            out[at:at + len(word)] = "z" * len(word)
        else:  # positions disagree: disable every file command in the source
            return re.sub(r"save|run|export|plot", lambda m: "z" * len(m.group()), source)
    # and, whatever the statement boundaries, no file command followed by a path that
    # starts outside this directory ('/', '~', '.', quotes, ...)
    return _OUTSIDE.sub(lambda m: "z" * len(m.group()), "".join(out))


_OUTSIDE = re.compile(r"\b(?:save|run|export)(?=\s+[^A-Za-z0-9_\s])")


def test_defang() -> None:
    assert defang("save fuzz.bp\nrun fuzz.bp") == "save fuzz.bp\nrun fuzz.bp"
    assert defang("x = 1; save /t\n  run /dev/zero") == "x = 1; zzzz /t\n  zzz /dev/zero"
    assert defang("plot x wrt x from 0 to 1 to /a.png") == "zzzz x wrt x from 0 to 1 to /a.png"
    assert defang("plot x wrt x from -1 to 1") == "plot x wrt x from -1 to 1"
    assert defang("(save\n/x)") == "(zzzz\n/x)"  # not a command, neutralized all the same
    assert defang("x = (1;\nsave ~/x)") == "x = (1;\nzzzz ~/x)"


def run_checked(source: str, s: Session | None = None) -> list[dict]:
    """Run source statement by statement, checking every property after each one."""
    source = defang(source)
    for leftover in SAVE_DIR.iterdir():  # files of an earlier example would make this flaky
        if leftover.is_file():
            leftover.unlink()
    s = s or new_session()
    bound = s.limits.time_limit
    results = []
    it: Iterator[dict] = s.iter_run(source)
    while True:
        before = snapshot(s)
        t, cpu = time.monotonic(), time.process_time()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                r = next(it)
            except StopIteration:
                break
        elapsed, busy = time.monotonic() - t, time.process_time() - cpu
        check_result(r)
        leaked = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
        assert leaked == [], (r.get("source", "")[:200], leaked)
        # past the bound in wall-clock time and busy for most of it: a machine that is
        # merely loaded (the process waiting for a core) does not count
        assert elapsed <= bound + ALLOWANCE or busy <= bound + ALLOWANCE / 2, \
            (r.get("source", "")[:200], elapsed, busy)
        if not r["ok"]:
            assert snapshot(s) == before, (r["source"][:200], r["error"])
        elif r.get("kind") == "save":  # defang kept every write in the scratch directory
            assert Path(r["path"]).resolve().is_relative_to(SAVE_DIR.resolve()), r["path"]
        results.append(r)
    return results


# ---------------------------------------------------------------- the grammar

TOKENS = [
    "x", "y", "W", "f", "u", "_", "T", "=", "+", "-", "*", "/", "**", "^", "@", "(", ")",
    "[", "]", ",", ".", ":", ";", "\n", "\r\n", "\r", "\t", " ", "#", "1", "0", "2.5",
    "1e400", "1e-300", "1e", ".", "sigmoid", "softmax", "sum", "reshape", "zeros", "randn",
    "onehot", "linspace", "cross_entropy", "def", "wrt", "with", "diff", "grad", "check",
    "del", "lr", "steps", "fit", "step", "seed", "help", "vars", "reset", "rules", "tree",
    "explain", "plot", "from", "to", "save", "run", "export", "exit", "'", '"', "`", "\x00",
    "__class__", "__import__", "lambda", "import", "ｘ", "а", "²", "\u200b", "\\", "{", "}",
    "!", "$", "%", "==", ":=", "**kw", "*args", "0x1f", "1_000", "None", "True",
]

NAMES = ["x", "y", "w", "b", "W", "X", "t", "h", "loss", "a1"]
FUNCS = ["f", "g"]
PARAMS = ["u", "v"]
ELEMENTWISE = ["sigmoid", "tanh", "exp", "log", "softplus", "sqrt", "abs", "sin", "cos",
               "relu"]
ARRAYWISE = ["softmax", "log_softmax", "sum", "mean"]
LOSSES = ["cross_entropy", "softmax_cross_entropy", "mse"]
BINOPS = ["+", "-", "*", "/", "**", "^", "@"]
SPECIAL_NUMBERS = ["0", "1", "2", "3", "0.5", "0.1", "10", "1000", "1e-300", "1e400",
                   "1e308", "1e-7", "7", "100000", "999999", "1000001", ".5", "2.", "1e3"]

names = st.sampled_from(NAMES)


def _float_text(x: float) -> str:
    text = repr(x)
    return text if "inf" not in text and "nan" not in text else "1"


numbers = st.one_of(
    st.sampled_from(SPECIAL_NUMBERS),
    st.integers(min_value=0, max_value=10**7).map(str),
    st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)
    .map(_float_text),
)
signed_numbers = st.builds(lambda sign, n: sign + n, st.sampled_from(["", "-"]), numbers)
small_ints = st.integers(min_value=0, max_value=4).map(str)
dims = st.one_of(small_ints, st.sampled_from(["1", "3", "100", "1000", "100000", "0"]))


@st.composite
def array_literal(draw) -> str:
    rows = draw(st.integers(min_value=0, max_value=3))
    cols = draw(st.integers(min_value=1, max_value=4))
    if rows == 0:
        return "[" + ", ".join(draw(st.lists(signed_numbers, min_size=cols,
                                             max_size=cols))) + "]"
    lines = []
    for _ in range(rows):
        # rows of equal length mostly; a ragged row now and then
        n = cols if draw(st.integers(0, 9)) else draw(st.integers(1, 4))
        lines.append("[" + ", ".join(draw(st.lists(signed_numbers, min_size=n,
                                                   max_size=n))) + "]")
    return "[" + ", ".join(lines) + "]"


constructors = st.one_of(
    st.builds(lambda f, ds: f"{f}({', '.join(ds)})", st.sampled_from(["zeros", "ones", "randn"]),
              st.lists(dims, min_size=0, max_size=3)),
    st.builds(lambda a, b, n: f"linspace({a}, {b}, {n})", signed_numbers, signed_numbers,
              dims),
    st.builds(lambda labels, k: f"onehot([{', '.join(labels)}], {k})",
              st.lists(small_ints, min_size=1, max_size=4), dims),
)


def atoms(extra_names: list[str]) -> st.SearchStrategy[str]:
    pool = st.sampled_from(NAMES + extra_names)
    # one_of picks a branch uniformly: names and numbers are listed more than once
    return st.one_of(pool, numbers, pool, array_literal(), numbers, pool, constructors,
                     st.just("_"))


def expressions(extra_names: list[str] | None = None,
                max_leaves: int = 10) -> st.SearchStrategy[str]:
    """Well-formed expressions: every operator, function and constructor of the language."""
    extra = extra_names or []

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.builds(lambda a, op, b: f"({a} {op} {b})", inner, st.sampled_from(BINOPS),
                      inner),
            st.builds(lambda a, op, b: f"{a}{op}{b}", inner, st.sampled_from(BINOPS), inner),
            st.builds(lambda a: f"-{a}", inner),
            st.builds(lambda a: f"({a}).T", inner),
            st.builds(lambda f, a: f"{f}({a})", st.sampled_from(ELEMENTWISE), inner),
            st.builds(lambda f, a: f"{f}({a})", st.sampled_from(ARRAYWISE), inner),
            st.builds(lambda f, a, ax: f"{f}({a}, {ax})", st.sampled_from(["sum", "mean"]),
                      inner, st.sampled_from(["0", "1", "-1", "2"])),
            st.builds(lambda a, ds: f"reshape({a}, {', '.join(ds)})", inner,
                      st.lists(st.sampled_from(["1", "2", "3", "4", "6", "-1"]),
                               min_size=1, max_size=2)),
            st.builds(lambda a, s: f"leaky_relu({a}{s})", inner,
                      st.sampled_from(["", ", 0.1", ", 0.2"])),
            st.builds(lambda f, a, b: f"{f}({a}, {b})", st.sampled_from(LOSSES), inner, inner),
            st.builds(lambda f, a: f"{f}({a})", st.sampled_from(FUNCS), inner),
            st.builds(lambda a, b: f"g({a}, {b})", inner, inner),
        )

    return st.recursive(atoms(extra), extend, max_leaves=max_leaves)


name_lists = st.lists(names, min_size=1, max_size=3, unique=True).map(", ".join)


def statements() -> st.SearchStrategy[str]:
    expr = expressions()
    body1 = expressions(["u"], max_leaves=6)
    body2 = expressions(["u", "v"], max_leaves=6)
    maybe = st.sampled_from
    return st.one_of(
        st.builds(lambda n, e: f"{n} = {e}", names, expr),
        st.builds(lambda n, e: f"{n} = {n} + {e}", names, expr),  # an update
        expr,
        st.builds(lambda f, b: f"def {f}(u) = {b}", maybe(FUNCS), body1),
        st.builds(lambda b: f"def g(u, v) = {b}", body2),
        st.builds(lambda e, n: f"diff {e} wrt {n}", expressions(max_leaves=6), names),
        st.builds(lambda n, w, e: f"grad {n}{w}{e}", names,
                  st.one_of(st.just(""), name_lists.map(lambda s: f" wrt {s}")),
                  st.one_of(st.just(""), expr.map(lambda s: f" with {s}"))),
        st.builds(lambda n, o: f"check {n}{o}", names,
                  maybe(["", " atol 1e-6", " rtol 0.1", " eps 1e-4"])),
        st.builds(lambda c, n: f"{c} {n}", maybe(["tree", "explain"]), names),
        st.builds(lambda n: f"explain {n} step", names),
        st.builds(lambda n: f"del {n}", st.one_of(name_lists, maybe(FUNCS))),
        st.builds(lambda k: f"seed {k}", st.integers(0, 2**32)),
        st.builds(lambda n, lr, rest: f"step {n} lr {lr}{rest}", names,
                  maybe(["0.1", "0.01", "1e400", "-1", "0"]),
                  st.one_of(st.just(""), name_lists.map(lambda s: f" wrt {s}"))),
        st.builds(lambda n, lr, k, opt: f"fit {n} lr {lr} steps {k}{opt}", names,
                  maybe(["0.1", "0.01", "10"]), maybe(["1", "3", "10"]),
                  maybe(["", " adam", " momentum 0.9", " every 2"])),
        st.builds(lambda e, n, a, b: f"plot {e} wrt {n} from {a} to {b}",
                  expressions(max_leaves=4), names, maybe(["-1", "0", "-6"]),
                  maybe(["1", "6", "0"])),
        st.builds(lambda t: f"help{t}", maybe(["", " grad", " functions", " sigmoid",
                                               " nothing", " f"])),
        st.sampled_from(["vars", "rules", "reset", "_", "help operators"]),
        st.just("save fuzz.bp"),  # relative: the tests run inside SAVE_DIR
        st.just("run fuzz.bp"),
    )


STATEMENTS = statements()
# values first, so that most names are bound when the statements read them
VALUES = st.one_of(signed_numbers, array_literal(), st.sampled_from(
    ["randn(2, 2)", "randn(2)", "[1, 0]", "[[1, 0], [0, 1]]", "randn(3, 2)", "1e400",
     "[1e400, -1e400]", "-1000", "0"]))
SETUP = st.lists(st.builds(lambda n, v: f"{n} = {v}", names, VALUES), max_size=6)
programs = st.builds(lambda a, b: a + b, SETUP, st.lists(STATEMENTS, min_size=1, max_size=6))


@pytest.mark.slow
@profile("grammar")
@given(programs, st.sampled_from(["\n", "; ", "\r\n"]))
def test_grammar_programs(stmts: list[str], sep: str) -> None:
    run_checked(sep.join(stmts))


# ---------------------------------------------------------------- mutations


@st.composite
def mutated_programs(draw) -> str:
    text = "\n".join(draw(programs))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        how = draw(st.sampled_from(["delete", "insert", "duplicate", "truncate", "swap"]))
        if how == "delete" and text:
            j = min(len(text), i + draw(st.integers(1, 5)))
            text = text[:i] + text[j:]
        elif how == "insert":
            piece = draw(st.one_of(st.sampled_from(TOKENS), st.characters()))
            text = text[:i] + piece + text[i:]
        elif how == "duplicate":
            j = min(len(text), i + draw(st.integers(1, 20)))
            text = text[:j] + text[i:j] + text[j:]
        elif how == "truncate":
            text = text[:i]
        elif how == "swap" and len(text) > 1:
            i = min(i, len(text) - 2)
            text = text[:i] + text[i + 1] + text[i] + text[i + 2:]
    return text


@pytest.mark.slow
@profile("mutated")
@given(mutated_programs())
def test_mutated_programs(source: str) -> None:
    run_checked(source)


# ---------------------------------------------------------------- token soup



@pytest.mark.slow
@profile("soup")
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=40),
       st.sampled_from(["", " "]))
def test_token_soup(tokens: list[str], joiner: str) -> None:
    run_checked(joiner.join(tokens))


# ---------------------------------------------------------------- arbitrary text


@pytest.mark.slow
@profile("text")
@given(st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(exclude_categories=()), max_size=100),  # surrogates too
    st.text(alphabet=st.sampled_from("xyW01.e+-*/^@()[],;=#\n\r\t _'\"\\"), max_size=200),
    st.binary(max_size=200).map(lambda b: b.decode("utf-8", "surrogateescape")),
))
def test_random_text(source: str) -> None:
    run_checked(source)


# ---------------------------------------------------------------- targeted properties


@pytest.mark.slow
@profile("live")
@given(st.lists(STATEMENTS, min_size=1, max_size=5))
def test_failed_statement_in_a_live_session_changes_nothing(stmts: list[str]) -> None:
    # a session with values, formulas and functions, then generated statements
    s = new_session()
    for r in s.run(LIVE_SETUP):
        assert r["ok"], r
    run_checked("\n".join(stmts), s)


# ---------------------------------------------------------------- brief versions (default run)

BRIEF = settings(PROFILE, max_examples=min(PROFILE.max_examples, 120))
LIVE_SETUP = ("x = 0.5\nw = [0.1, -0.2]\nb = 0.3\nW = randn(2, 2)\nX = [[1, 2], [3, 4]]\n"
              "t = [1, 0]\ndef f(u) = u*sigmoid(u)\ndef g(u, v) = u*v + tanh(u)\n"
              "h = f(X @ W + b)\nloss = softmax_cross_entropy(h, t)\ny = g(x, b)")
ANY_SOURCE = st.one_of(
    st.builds("\n".join, programs),
    mutated_programs(),
    st.builds(" ".join, st.lists(st.sampled_from(TOKENS), min_size=1, max_size=40)),
    st.text(max_size=300),
)


@BRIEF
@given(ANY_SOURCE)
def test_every_source_briefly(source: str) -> None:
    # grammar programs, mutations, token soup and text: the properties on a few examples
    run_checked(source)


@settings(BRIEF, max_examples=min(PROFILE.max_examples, 30))
@given(st.lists(STATEMENTS, min_size=1, max_size=5))
def test_live_session_briefly(stmts: list[str]) -> None:
    s = new_session()
    for r in s.run(LIVE_SETUP):
        assert r["ok"], r
    run_checked("\n".join(stmts), s)


def test_profiles_are_registered() -> None:
    assert settings.get_profile("bpshell-long").max_examples == 100_000
    total = sum(max(1, int(PROFILE.max_examples * w)) for w in SHARE.values())
    assert math.isclose(total, PROFILE.max_examples, rel_tol=0.01)


# source -> (ok, value or error type) per statement, worked out by hand: a string is not
# bpshell; f calling itself is refused; 10**6 elements are over the fuzzing bound of
# 20,000; 100 brackets are over its depth bound of 60
KNOWN = {
    "x = 1\ny = x + 1\nx = 'a'": [(True, 1.0), (True, 2.0), (False, "syntax")],
    "def f(u) = u*u\nf(3)\ndef f(u) = f(u)": [(True, None), (True, 9.0), (False, "error")],
    "a = zeros(1000, 1000)": [(False, "limit")],
    "(" * 100 + "1" + ")" * 100: [(False, "syntax")],
}


@pytest.mark.parametrize("source", list(KNOWN), ids=["rebind", "recursion", "bomb", "deep"])
def test_run_checked_accepts_known_sources(source: str) -> None:
    # the property checker itself on sources whose outcome is known
    results = run_checked(source)
    assert results and all(isinstance(r, dict) for r in results)
    outcome = [(r["ok"], r.get("value") if r["ok"] else r["error"]["type"]) for r in results]
    assert outcome == KNOWN[source]


# ---------------------------------------------------------------- the command line, drawn
#
# The same sources through bpshell's `main` (the console script's code, in this process):
# parsed, run, drawn as plain text, as rich (--color always) and as JSON Lines, errors
# written to stderr. For every example: no exception escapes and no traceback or
# internal error is written; the exit status is 0 or 1; nothing written holds a control
# character (rich's own colour codes aside); every JSON line decodes, one per statement
# run.

CLI_LIMITS = ["--max-elements", "20000", "--max-nodes", "3000", "--max-statement-chars",
              "4000", "--max-depth", "60", "--max-exponent", "1000", "--time-limit", "1",
              "--simplify-seconds", "0.1", "--max-print-elements", "2000"]
_SGR = re.compile(r"\x1b\[[0-9;]*m")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
CLI_MODES = [[], ["--echo", "--keep-going"], ["--json"], ["--color", "always"]]


def run_cli(source: str, mode: list[str]) -> tuple[int, str, str]:
    """main(mode + limits + ['-c', source]) with stdout and stderr captured."""
    import contextlib
    import io
    import signal

    from bpshell.cli import main

    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main([*mode, *CLI_LIMITS, "-c", source])
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    return status, out.getvalue(), err.getvalue()


def check_cli(source: str) -> None:
    source = defang(source)
    for leftover in SAVE_DIR.iterdir():
        if leftover.is_file():
            leftover.unlink()
    for mode in CLI_MODES:
        status, out, err = run_cli(source, mode)
        assert status in (0, 1), (mode, status, err[-500:])
        assert "Traceback" not in err and "internal error" not in out + err, (mode, err)
        assert "cannot show this result" not in err, (mode, err)
        shown = _SGR.sub("", out) if "--color" in mode else out
        assert not _CONTROL.search(shown + err), (mode, repr(source[:200]))
        if "--json" in mode:
            records = [json.loads(s) for s in out.splitlines()]
            assert all(isinstance(r, dict) and r.get("ok") in (True, False) for r in records)
            assert status == (1 if records and not records[-1]["ok"] else 0)


CLI_EXAMPLES = max(1, PROFILE.max_examples // 20)  # 200 in CI, 5,000 in the long run


@pytest.mark.slow
@settings(PROFILE, max_examples=CLI_EXAMPLES)
@given(ANY_SOURCE)
def test_the_command_line_draws_every_source(source: str) -> None:
    check_cli(source)


@settings(BRIEF, max_examples=min(PROFILE.max_examples, 15))
@given(ANY_SOURCE)
def test_the_command_line_briefly(source: str) -> None:
    check_cli(source)


@pytest.mark.parametrize("source", [
    "x = linspace(0, 1, 3000); x; grad x; tree x",  # past the print limit of 2,000
    "help \x1b]0;title\x07; x = (1 +\x9b2)",
    "w = randn(3, 3); y = sigmoid(w @ [1, 2, 3]); explain y; draw y to d.svg; vars",
    "x = 1e400; y = log(x - x); grad y; check y",
])
def test_the_command_line_on_chosen_sources(source: str) -> None:
    check_cli(source)
