"""Resource limits: each bomb is refused at once with a clear error, and each bound is
configurable through its environment variable and its command-line flag.

Defaults (bpshell/limits.py): 10,000,000 elements per array, |exponent| 10,000 for exact
powers, 1,000,000 graph nodes, 1,000,000 characters per statement, nesting depth 200,
10 s per statement, 3 s for simplify.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bpshell.limits import Limits
from bpshell.session import Session

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / "bpshell" / "cli.py"


def new_session(**limits: float) -> Session:
    """A session with the default limits (whatever the environment says), plus overrides."""
    return Session(limits=Limits.from_env({}, **limits), seed=0)


def timed(s: Session, source: str) -> tuple[dict, float]:
    """The last result of source and the seconds it took."""
    t = time.monotonic()
    results = s.run(source)
    return results[-1], time.monotonic() - t


def assert_refused(r: dict, kinds: tuple[str, ...] = ("limit",)) -> None:
    """The statement failed with one of `kinds` and a position."""
    assert r["ok"] is False, r
    assert r["error"]["type"] in kinds, r["error"]
    assert r["error"]["line"] is not None and r["error"]["column"] is not None, r["error"]


def bindings(s: Session) -> dict:
    """Names and their definitions as written."""
    return {n: getattr(b, "text", None) for n, b in s.bindings.items()}


# ---------------------------------------------------------------- array size

ELEMENT_BOMBS = [
    "zeros(100000, 100000)",
    "x = zeros(100000, 100000)",
    "ones(100000, 100000)",
    "randn(100000, 100000)",
    "zeros(10**5, 10**5)",
    "zeros(1e308, 1e308)",
    "randn(10, 10, 10, 10, 10, 10, 10, 10)",
    "linspace(0, 1, 1e12)",
    "onehot([0, 1], 1e12)",
    "a = ones(100000, 1)\nb = a + a.T",
    "a = ones(100000, 1)\na * a.T",
    "a = ones(5000, 2000)\na @ a.T",
]


@pytest.mark.parametrize("source", ELEMENT_BOMBS)
def test_array_bombs_are_refused_before_allocating(source: str) -> None:
    s = new_session()
    r, elapsed = timed(s, source)
    assert_refused(r)
    assert "BPSHELL_MAX_ELEMENTS" in r["error"]["message"]
    # refused from the shapes alone: allocating 10**10 float64 would take far longer
    assert elapsed < 1.0, elapsed


@pytest.mark.parametrize("source", [
    "zeros(1e400)",
    "ones(1e400, 0)",
    "randn(-1e400)",
    "onehot([0], 1e400)",
    "linspace(0, 1, 1e400)",
    "seed 1e400",
    "seed -1e400",
    "x = [1, 2]\nsum(x, 1e400)",
    "x = [1, 2]\nreshape(x, 1e400)",
    "x = [1, 2]\ny = sum(x*x)\nfit y lr 0.1 steps 1e400",
    "x = [1, 2]\ny = sum(x*x)\nfit y lr 0.1 steps 10 every 1e400",
])
def test_infinite_sizes_and_counts_are_clear_errors(source: str) -> None:
    # a size, axis, seed or count written as 1e400 is inf: refused at once with a
    # position, as any other bad number is; not an internal error
    s = new_session()
    r, elapsed = timed(s, source)
    assert r["ok"] is False
    assert r["error"]["type"] != "internal", r["error"]
    assert r["error"]["line"] is not None and r["error"]["column"] is not None
    assert elapsed < 1.0


def test_element_limit_is_exact() -> None:
    s = new_session(max_elements=100)
    assert s.run("zeros(10, 10)")[0]["ok"]
    assert_refused(s.run("zeros(101)")[0])
    assert_refused(s.run("ones(10, 1) + ones(1, 11)")[0])
    assert s.run("ones(10, 1) + ones(1, 10)")[0]["ok"]


def test_refused_array_leaves_the_binding() -> None:
    s = new_session()
    assert s.run("x = [1, 2]")[0]["ok"]
    before = bindings(s)
    assert_refused(s.run("x = zeros(100000, 100000)")[0])
    assert bindings(s) == before


# ---------------------------------------------------------------- exponents and integers


@pytest.mark.parametrize("source,expected", [
    ("2**2**2**2**2**2", float("inf")),  # float64 overflow: 2**65536 is already inf
    ("10**100000", float("inf")),
    ("(-10)**100001", float("-inf")),
    ("2^2^2^2^2^2", float("inf")),
    ("10**-100000", 0.0),
    ("1" + "0" * 5000, float("inf")),  # a 5001-digit literal is a float, inf
])
def test_numeric_power_towers_overflow_to_inf_quickly(source: str, expected: float) -> None:
    s = new_session()
    r, elapsed = timed(s, source)
    assert r["ok"], r
    assert r["value"] == expected
    assert elapsed < 1.0


# source -> the exponent over the default limit of 10,000 that refuses it (worked out by
# hand: 2**2**2**2**2 = 65536, 9**9 = 387420489), or None where every exponent is within it
POWER_TOWERS = {
    "diff 10**100000*x wrt x": 100000,
    "diff 2**2**2**2**2**2*x wrt x": 65536,
    "diff x**(10**100000) wrt x": 100000,
    "diff 9**9**9*x wrt x": 387420489,
    "diff (1000000**10000)**10000*x wrt x": None,  # 60,000 digits to the 10,000th power
    "diff (10**9999)**9999*x wrt x": None,
    "diff x*(7**5000)**5000 wrt x": None,
}


@pytest.mark.parametrize("source", list(POWER_TOWERS))
def test_symbolic_power_towers_are_refused_or_fast(source: str) -> None:
    # SymPy evaluates exact powers eagerly (Integer(10)**10**7 takes seconds), so a
    # huge exact power must be refused before it is built; the time bound is a last
    # resort, not the answer (set to 4 s here so that a failure costs 4 s, not 10)
    s = new_session(time_limit=4.0)
    r, elapsed = timed(s, source)
    assert elapsed < 3.0, (source, elapsed, r.get("error"))
    if not r["ok"]:
        assert_refused(r)
    exponent = POWER_TOWERS[source]
    assert r["ok"] is (exponent is None), (source, r.get("error"))
    if exponent is not None:
        assert f"exponent {exponent} is over the limit of 10000" in r["error"]["message"]


def test_exponent_limit_is_configurable() -> None:
    s = new_session(max_exponent=10)
    assert s.run("diff 2**10*x wrt x")[0]["ok"]
    r = s.run("diff 2**11*x wrt x")[0]
    assert_refused(r)
    assert "BPSHELL_MAX_EXPONENT" in r["error"]["message"]


def test_symbolic_huge_power_in_a_definition_is_refused_or_fast() -> None:
    s = new_session()
    for source in ("y = 10**100000*x", "grad y", "y = x**(10**100000)", "grad y wrt x",
                   "def f(u) = u**(10**100000)", "diff f(x) wrt x"):
        r, elapsed = timed(s, source)
        assert elapsed < 3.0, (source, elapsed)
        assert isinstance(r, dict) and r["ok"] in (True, False)


def test_symbolic_huge_power_in_a_definition_is_never_an_internal_error() -> None:
    # each statement either works or is refused with a limit error that names the variable;
    # 10**100000 has an exponent of 100,000, over the default limit of 10,000
    s = new_session()
    for source in ("y = 10**100000*x", "grad y", "y = x**(10**100000)", "grad y wrt x",
                   "def f(u) = u**(10**100000)", "diff f(x) wrt x"):
        r = s.run(source)[-1]
        if not r["ok"]:
            assert_refused(r)
            assert "BPSHELL_MAX_EXPONENT" in r["error"]["message"], (source, r["error"])


# ---------------------------------------------------------------- graph size


def test_graph_size_limit_in_one_statement() -> None:
    s = new_session(max_nodes=50)
    assert s.run("x = 2")[0]["ok"]
    r = s.run("y = x" + " + x" * 60)[0]
    assert_refused(r)
    assert "BPSHELL_MAX_NODES" in r["error"]["message"]
    assert "y" not in s.bindings
    assert s.run("y = x" + " + x" * 10)[0]["ok"]


def test_graph_size_limit_across_definitions() -> None:
    # each definition is small; the whole graph behind a40 is not
    s = new_session(max_nodes=50)
    source = "a0 = 1\n" + "\n".join(f"a{i} = a{i - 1}*2 + 1" for i in range(1, 41))
    for r in s.run(source):
        assert r["ok"], r
    r = s.run("grad a40")[0]
    assert_refused(r)
    assert "BPSHELL_MAX_NODES" in r["error"]["message"]


# ---------------------------------------------------------------- statement length


def test_statement_length_limit_is_exact() -> None:
    s = new_session(max_statement_chars=100)
    ok = "x = " + "1+" * 47 + "1"  # 99 characters
    assert len(ok) <= 100
    assert s.run(ok)[0]["ok"]
    long = "y = 1\nx = " + "1+" * 60 + "1"
    results = s.run(long)
    assert results[0]["ok"]
    r = results[1]
    assert_refused(r)
    assert (r["error"]["line"], r["error"]["column"]) == (2, 1)
    assert "BPSHELL_MAX_STATEMENT_CHARS" in r["error"]["message"]


def test_default_statement_length_is_refused_before_parsing() -> None:
    s = new_session()
    r, elapsed = timed(s, "x = " + "(1+" * 400_000 + "1" + ")" * 400_000)
    assert_refused(r)
    assert elapsed < 1.0


# ---------------------------------------------------------------- nesting depth

DEEP = [
    "(" * 10_000 + "1" + ")" * 10_000,
    "x = " + "(" * 10_000 + "1" + ")" * 10_000,
    "[" * 10_000 + "1" + "]" * 10_000,
    "-" * 10_000 + "1",
    "2" + "**2" * 10_000,
    "sigmoid(" * 10_000 + "x" + ")" * 10_000,
    "diff " + "(" * 10_000 + "x" + ")" * 10_000 + " wrt x",
    "def f(u) = " + "(" * 10_000 + "u" + ")" * 10_000,
    "(" * 10_000,
    "(" * 10_000 + "1",
    ")" * 10_000,
]


@pytest.mark.parametrize("source", DEEP, ids=[f"deep{i}" for i in range(len(DEEP))])
def test_ten_thousand_deep_is_refused_quickly(source: str) -> None:
    s = new_session()
    r, elapsed = timed(s, source)
    assert_refused(r, ("syntax", "limit"))
    assert elapsed < 1.0


def test_depth_limit_is_configurable() -> None:
    s = new_session(max_depth=20)
    assert s.run("(" * 10 + "1" + ")" * 10)[0]["ok"]
    r = s.run("(" * 30 + "1" + ")" * 30)[0]
    assert_refused(r, ("syntax", "limit"))
    assert (r["error"]["line"], r["error"]["column"]) != (None, None)


def test_long_flat_sum_is_not_nesting() -> None:
    # 1 + 1 + ... + 1 is 10,000 terms side by side, not 10,000 levels deep: it is
    # well under the statement-length limit and its value is 10,000
    s = new_session()
    r = s.run("x = " + " + ".join(["1"] * 10_000))[0]
    assert r["ok"], r.get("error")
    assert r["value"] == 10_000.0
    r = s.run("y = " + "*".join(["x"] * 3_000))[0]
    assert r["ok"], r.get("error")


def test_long_flat_sum_differentiates() -> None:
    s = new_session()
    r = s.run("diff " + " + ".join(f"{k}*x" for k in range(1, 2001)) + " wrt x")[0]
    assert r["ok"], r.get("error")
    assert r["derivative"] == str(2000 * 2001 // 2)


# ---------------------------------------------------------------- time bounds


def sigmoid_chain(depth: int) -> str:
    """sigmoid(sigmoid(...(x))) nested `depth` times."""
    return "sigmoid(" * depth + "x" + ")" * depth


def test_simplify_bound_shows_the_raw_form() -> None:
    s = new_session(simplify_seconds=0.2)
    r, elapsed = timed(s, f"diff {sigmoid_chain(8)} wrt x simplify")
    assert r["ok"], r
    assert r["simplify_note"] and "took longer" in r["simplify_note"]
    assert r["simplified"] == r["derivative"]
    assert elapsed < 3.0


def test_statement_time_bound_stops_deep_symbolic_work() -> None:
    s = new_session(time_limit=1.0, simplify_seconds=0.2)
    assert s.run("x0 = 1")[0]["ok"]
    before = bindings(s)
    handler = signal.getsignal(signal.SIGALRM)
    r, elapsed = timed(s, f"diff {sigmoid_chain(100)} wrt x")
    if not r["ok"]:
        assert_refused(r, ("timeout", "limit"))
        if r["error"]["type"] == "timeout":
            assert "took longer than 1 s" in r["error"]["message"]
    assert elapsed < 2.5, elapsed
    # nothing is left armed, the handler is restored, the session still works
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) == handler
    assert bindings(s) == before
    assert s.run("x0 + 1")[0]["value"] == 2.0


def test_statement_time_bound_stops_numeric_work() -> None:
    s = new_session(time_limit=0.5)
    for r in s.run("seed 1\nW = randn(300, 300)\nL = sum(tanh(W @ W))"):
        assert r["ok"], r
    r, elapsed = timed(s, "check L")
    assert_refused(r, ("timeout",))
    assert "took longer than 0.5 s" in r["error"]["message"]
    assert elapsed < 1.5


def test_zero_time_limit_means_no_bound() -> None:
    s = new_session(time_limit=0)
    r, _ = timed(s, "x = 1")
    assert r["ok"]
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


# ---------------------------------------------------------------- configuration

# field -> (small value, a statement over it, a statement under it, error types)
OVER = {
    "max_elements": (100, "zeros(11, 10)", "zeros(10, 10)", ("limit",)),
    "max_statement_elements": (1000, "x = ones(10, 10); y = x" + " + x" * 11,
                               "x = ones(10, 10); y = x + x", ("limit",)),
    "max_exponent": (10, "diff 2**11*x wrt x", "diff 2**10*x wrt x", ("limit",)),
    "max_nodes": (20, "x = 2; y = x" + " + x" * 30, "x = 2; y = x + x", ("limit",)),
    "max_statement_chars": (50, "x = " + "1+" * 30 + "1", "x = 1+1", ("limit",)),
    "max_depth": (10, "(" * 20 + "1" + ")" * 20, "((1))", ("syntax", "limit")),
    "time_limit": (0.5, "seed 1; W = randn(300, 300); L = sum(tanh(W @ W)); check L",
                   "x = 1", ("timeout",)),
}


@pytest.mark.parametrize("field", sorted(OVER))
def test_each_limit_from_its_environment_variable(field: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    value, over, under, kinds = OVER[field]
    monkeypatch.setenv(Limits.ENV[field], str(value))
    s = Session(seed=0)  # limits from os.environ
    assert getattr(s.limits, field) == value
    results = s.run(over)
    assert_refused(results[-1], kinds)
    s = Session(seed=0)
    assert all(r["ok"] for r in s.run(under))


def test_simplify_seconds_from_its_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BPSHELL_SIMPLIFY_SECONDS", "0.05")
    s = Session(seed=0)
    assert s.limits.simplify_seconds == 0.05
    r = s.run(f"diff {sigmoid_chain(8)} wrt x simplify")[0]
    assert r["ok"] and r["simplify_note"], r


def test_every_limit_has_an_environment_variable() -> None:
    names = set(Limits.FIELDS)
    assert set(Limits.ENV) == names
    assert all(v.startswith("BPSHELL_") for v in Limits.ENV.values())
    switches = {n for n in names if isinstance(getattr(Limits(), n), bool)}
    environ = {Limits.ENV[n]: "1" if n in switches else "7" for n in names}
    limits = Limits.from_env(environ)
    assert all(getattr(limits, n) == (True if n in switches else 7) for n in names)
    # an explicit override (a flag) beats the environment
    assert Limits.from_env(environ, max_depth=9).max_depth == 9


@pytest.mark.parametrize("field", sorted(OVER))
def test_each_limit_error_says_how_to_change_it(field: str) -> None:
    value, over, _, _ = OVER[field]
    s = new_session(**{field: value})
    r = s.run(over)[-1]
    assert r["ok"] is False
    assert Limits.ENV[field] in r["error"]["message"], r["error"]["message"]


# ---------------------------------------------------------------- the CLI

needs_cli = pytest.mark.skipif(not CLI.exists(), reason="bpshell/cli.py does not exist yet")


def _cli(args: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m bpshell --json ARGS` with no BPSHELL_* settings but those given."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BPSHELL_")}
    return subprocess.run([sys.executable, "-m", "bpshell", "--json", *args],
                          capture_output=True, text=True, timeout=120,
                          env={**clean, "PYTHONPATH": str(ROOT), **(env or {})})


def _records(out: str) -> list[dict]:
    """The JSON Lines records of --json output."""
    recs = []
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("{"):
            recs.append(json.loads(line))
    return recs


def _cli_case(field: str, how: str) -> tuple[str, str, subprocess.CompletedProcess]:
    """Run the statement over `field`'s small value, set by flag, env var, or both."""
    value, over, _, _ = OVER.get(field, (None, None, None, None))
    if field == "simplify_seconds":
        value, over = 0.05, f"diff {sigmoid_chain(8)} wrt x simplify"
    flag = "--" + field.replace("_", "-")
    if how == "flag":
        proc = _cli([flag, str(value), "-c", over])
    elif how == "env":
        proc = _cli(["-c", over], env={Limits.ENV[field]: str(value)})
    else:  # the flag beats the environment variable (a large value it may take)
        large = "100000"  # within every limit's range (max_depth's ends there)
        proc = _cli([flag, str(value), "-c", over], env={Limits.ENV[field]: large})
    return field, how, proc


def _cli_problems(cases: list[tuple[str, str]]) -> list[tuple]:
    """Run each (field, how) case through the CLI; the cases that did not end as expected."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = list(pool.map(lambda c: _cli_case(*c), cases))
    problems = []
    for field, how, proc in done:
        if "Traceback" in proc.stderr:
            problems.append((field, how, proc.stderr[-500:]))
            continue
        recs = _records(proc.stdout)
        if field == "simplify_seconds":
            good = proc.returncode == 0 and recs and recs[-1].get("simplify_note")
        else:
            kinds = OVER[field][3]
            good = (proc.returncode == 1 and recs and recs[-1].get("ok") is False
                    and recs[-1]["error"]["type"] in kinds)
        if not good:
            problems.append((field, how, proc.returncode, proc.stdout[-300:],
                             proc.stderr[-300:]))
    return problems


@needs_cli
@pytest.mark.slow
def test_each_limit_through_the_cli() -> None:
    cases = [(f, how) for f in [*sorted(OVER), "simplify_seconds"]
             for how in ("flag", "env", "both")]
    problems = _cli_problems(cases)
    assert problems == []


@needs_cli
def test_one_limit_through_the_cli() -> None:
    # the fast version: the graph-size bound by flag, by variable, and the flag over both
    problems = _cli_problems([("max_nodes", how) for how in ("flag", "env", "both")])
    assert problems == []


@needs_cli
@pytest.mark.slow  # the fast run has tests/test_cli.py::test_time_limit_flag_stops_a_long_statement
def test_cli_script_past_its_time_bound_exits_1(tmp_path: Path) -> None:
    script = tmp_path / "slow.bp"
    script.write_text("seed 1\nW = randn(300, 300)\nL = sum(tanh(W @ W))\ncheck L\n"
                      "never = 1\n", encoding="utf-8")
    t = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "bpshell", "--time-limit", "0.5",
                           str(script)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert time.monotonic() - t < 30
    assert proc.returncode == 1
    assert "took longer" in proc.stdout + proc.stderr
    assert ":4:" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
