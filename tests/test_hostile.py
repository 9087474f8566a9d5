"""Hostile and malformed input: rejected with a position, nothing run, nothing lost.

Every input here is something a person or a pipeline could send to the shell. The
parser must refuse whatever is outside the language with a 1-based line and column,
no Python code may run as a consequence, a failing statement must leave the session
as it was, `save` must be atomic, and broken script files must give an error with a
position, never a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from bpshell.limits import Limits
from bpshell.session import Session

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / "bpshell" / "cli.py"


def new_session(**limits: float) -> Session:
    """A session with the default limits, whatever the environment says."""
    return Session(limits=Limits.from_env({}, **limits), seed=0)


def snapshot(s: Session) -> dict:
    """Everything a statement may change that a person would call data."""
    out: dict = {}
    for name, b in s.bindings.items():
        value = getattr(b, "value", None)
        data = None if value is None else (np.shape(value),
                                           np.asarray(value, dtype=np.float64).tobytes())
        out[name] = (type(b).__name__, b.text, data)
    out["<functions>"] = {n: (tuple(f.params), f.text) for n, f in s.funcs.items()}
    return out


def assert_error_at(result: dict, line: int, columns: tuple[int, ...],
                    kind: str = "syntax") -> None:
    """The statement failed with an error of `kind` at line `line`, one of `columns`."""
    assert result["ok"] is False, result
    err = result["error"]
    assert err["type"] == kind, err
    assert err["line"] == line, err
    assert err["column"] in columns, err
    assert err["message"], err


def ok_values(results: list[dict]) -> list:
    """The value of each result, failing on the first error."""
    for r in results:
        assert r["ok"], r
    return [r.get("value") for r in results]


# ---------------------------------------------------------------- hostile text

# (source, line, acceptable columns): the column is that of the first thing outside the
# language; where two tokens could both be blamed (a dunder name and the string after
# it), either is a correct position.
HOSTILE = [
    ("__import__('os').system('id')", 1, (1, 12)),
    ("().__class__.__bases__", 1, (1, 2, 3, 4)),
    ("x.__class__", 1, (2, 3)),
    ("x.T.__class__", 1, (4, 5)),
    ("x = sigmoid.__call__", 1, (12, 13)),
    ("lambda x: x", 1, (1,)),
    ("(lambda: 1)()", 1, (2,)),
    ("'abc'", 1, (1,)),
    ('"abc"', 1, (1,)),
    ('f"{x}"', 1, (1, 2)),
    ("x = f'{1}'", 1, (5, 6)),
    ("b'x'", 1, (1, 2)),
    ("getattr(x, 'y')", 1, (1, 12)),
    ("[x for x in y]", 1, (4,)),
    ("sum(x for x in y)", 1, (7,)),
    ("(y := 3)", 1, (4,)),
    ("x := 3", 1, (3,)),
    ("*a", 1, (1,)),
    ("f(*a)", 1, (3,)),
    ("sigmoid(**a)", 1, (9,)),
    ("sigmoid(x='a')", 1, (11,)),
    ("f(a=b)", 1, (5,)),
    ("__class__", 1, (1,)),
    ("x = __builtins__", 1, (5,)),
    ("__x = 1", 1, (1,)),
    ("_x = 1", 1, (1,)),
    ("def __init__(a) = a", 1, (5,)),
    ("def f(__x) = 1", 1, (7,)),
    ("diff x wrt __x", 1, (12,)),
    ("grad y wrt __dict__", 1, (12,)),
    ("del __builtins__", 1, (5,)),
    ("tree __class__", 1, (6,)),
    ("import os", 1, (1,)),
    ("from os import system", 1, (1,)),
    ("x if y else z", 1, (3,)),
    ("async def f(x) = x", 1, (1,)),
    ("def f(x) = yield x", 1, (12,)),
    ("def f(x): return x", 1, (9,)),
    ("x = None", 1, (5,)),
    ("`id`", 1, (1,)),
    ("{1: 2}", 1, (1,)),
    ("x[i]", 1, (3,)),
    ("x['a']", 1, (3,)),
    ("$(id)", 1, (1,)),
    ("!ls", 1, (1,)),
    ("%time x", 1, (1,)),
    ("x === 1", 1, (5,)),
    ("x = y = 1", 1, (7,)),
    ("x, y = 1, 2", 1, (2,)),
    ("x += 1", 1, (3, 4)),
    ("x = 1j", 1, (5,)),
    ("x = 0x10", 1, (5,)),
    # unicode look-alikes: fullwidth letters, Cyrillic 'а', superscripts, invisible spaces
    ("ｘ = 1", 1, (1,)),
    ("sigmoid(ｘ)", 1, (9,)),
    ("ｅｘｐ(1)", 1, (1,)),
    ("а = 1", 1, (1,)),
    ("x = а + 1", 1, (5,)),
    ("y = x²", 1, (6,)),
    ("x = 2³", 1, (6,)),
    ("x = 1 ＋ 2", 1, (7,)),
    ("x\u200b = 1", 1, (2,)),
    ("x\u00a0= 1", 1, (2,)),
    ("ℯ = 1", 1, (1,)),
    # NUL bytes
    ("x = 1\x00", 1, (6,)),
    ("\x00", 1, (1,)),
    ("x\x00 = 1", 1, (2,)),
    # the hostile part on a later line or after ';'
    ("x = 1\ny = 'a'", 2, (5,)),
    ("x = 1; __import__('os')", 1, (8, 19)),
]


@pytest.mark.parametrize("source,line,columns", HOSTILE, ids=[repr(h[0]) for h in HOSTILE])
def test_hostile_input_is_a_syntax_error_with_position(source: str, line: int,
                                                       columns: tuple[int, ...]) -> None:
    s = new_session()
    results = s.run(source)
    assert results, "every statement gets a result"
    for r in results[:-1]:
        assert r["ok"], r
    assert_error_at(results[-1], line, columns)


@pytest.mark.parametrize("name", ["exec", "eval", "open", "print", "compile", "getattr",
                                  "sympify", "lambdify", "system"])
def test_python_builtins_are_unknown_functions(name: str) -> None:
    # Python's names mean nothing in bpshell: an unknown-function error at the call
    s = new_session()
    r = s.run(f"{name}(x)")[0]
    assert_error_at(r, 1, (1,), kind="name")
    assert name in r["error"]["message"]


# names of SymPy's own classes: a user function is a SymPy Function subclass named after
# it, so these must either be refused at `def` or work like any other name
SYMPY_NAMES = ["Symbol", "Add", "Mul", "Pow", "Integer", "Float", "Rational", "Derivative",
               "Subs", "Lambda", "Tuple", "Heaviside", "Function", "Max"]


@pytest.mark.parametrize("name", SYMPY_NAMES)
def test_function_named_like_a_sympy_class(name: str) -> None:
    s = new_session()
    r = s.run(f"def {name}(u) = u*2")[0]
    if not r["ok"]:
        # refused: a clear error at the name, not an internal one
        assert r["error"]["type"] != "internal", r["error"]
        assert (r["error"]["line"], r["error"]["column"]) in ((1, 1), (1, 5)), r["error"]
        return
    assert ok_values(s.run(f"{name}(3)")) == [6.0]
    r = s.run(f"diff {name}(z) wrt z")[0]
    assert r["ok"], r["error"]
    assert r["derivative"] == "2"
    g = s.run(f"w = 2\nv = {name}(w)\ngrad v")[-1]
    assert g["ok"] and g["grads"]["w"] == 2.0, g


@pytest.mark.parametrize("source,value", [
    ("numpy = 1\nnumpy + 1", 2.0),
    ("exec = 3\nexec * 2", 6.0),
    ("def f(sys) = sys*2\nf(3)", 6.0),
    ("def g(numpy) = numpy*numpy\ng(3)", 9.0),
    ("def open(u) = u*2\nopen(2)", 4.0),
])
def test_python_names_are_plain_bpshell_names(source: str, value: float) -> None:
    # names that mean something to Python or NumPy are ordinary names here, including
    # inside generated NumPy code, where they must not reach the real objects
    s = new_session()
    assert ok_values(s.run(source))[-1] == value


def _payloads(sentinel: Path) -> list[str]:
    """Attempts to create `sentinel` by reaching Python, through every door of the shell."""
    p = str(sentinel)
    cmd = f"touch {p}"
    return [
        f"__import__('os').system('{cmd}')",
        f"x = __import__('os').system('{cmd}')",
        f"().__class__.__bases__[0].__subclasses__()[0]('{cmd}')",
        f"x.__class__.__init__.__globals__['os'].system('{cmd}')",
        f"(lambda: __import__('os').system('{cmd}'))()",
        f"[__import__('os').system('{cmd}') for _ in [1]]",
        f"f'{{__import__(\"os\").system(\"{cmd}\")}}'",
        f"def f(x) = __import__('os').system('{cmd}')",
        f"diff __import__('os').system('{cmd}') wrt x",
        f"grad __import__('os').system('{cmd}')",
        f"help __import__('os').system('{cmd}')",
        f"x = 1; __import__('os').system('{cmd}')",
        f"x = 1 # ; __import__('os').system('{cmd}')",
        f"run $({cmd})",
        f"run `{cmd}`",
        f"run ; {cmd}",
        f"save ; {cmd}",
        f"ｅｘｅｃ('{cmd}')",
        f"exec('import os; os.system(\"{cmd}\")')",
        f"eval(\"__import__('os').system('{cmd}')\")",
    ]


def test_hostile_payloads_run_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # if any payload reached Python, the sentinel file would exist afterwards
    monkeypatch.chdir(tmp_path)
    sentinel = tmp_path / "SENTINEL"
    s = new_session()
    for payload in _payloads(sentinel):
        before = snapshot(s)
        results = s.run(payload)
        assert results
        for r in results:
            assert isinstance(r, dict) and r["ok"] in (True, False)
            if not r["ok"]:
                assert r["error"]["line"] is not None and r["error"]["column"] is not None
        if not any(r["ok"] for r in results):
            assert snapshot(s) == before, payload
    assert not sentinel.exists()


def test_hostile_script_file_runs_nothing(tmp_path: Path) -> None:
    # the same payloads as a script run with `run FILE`: the first error stops it
    sentinel = tmp_path / "SENTINEL"
    for i, payload in enumerate(_payloads(sentinel)):
        script = tmp_path / f"hostile{i}.bp"
        script.write_text(payload + "\n", encoding="utf-8")
        s = new_session()
        r = s.run(f"run {script}")[0]
        assert isinstance(r, dict)
        # every payload is an error at line 1 of its file, except the one whose Python
        # is behind a comment: that script is just `x = 1`
        if payload.startswith("x = 1 #"):
            assert r["ok"], r
            assert ok_values(s.run("x")) == [1.0]
        else:
            assert r["ok"] is False, (payload, r)
            assert f"{script}:1:" in r["error"]["message"], (payload, r["error"])
    assert not sentinel.exists()


_AUDIT_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from bpshell.limits import Limits
    from bpshell.session import Session

    payloads = json.loads(sys.argv[1])
    s = Session(limits=Limits.from_env({}), seed=0)
    # warm up every path once, so that lazy imports happen before the audit starts
    s.run("x = 2\\ny = sigmoid(x)*x\\ngrad y\\ndiff sigmoid(x) wrt x\\ncheck y\\ntree y")
    s.run("def sq(u) = u*u\\nz = sq(3)\\nrules\\nvars\\nhelp grad\\nhelp nothing\\nq = nope(1)")
    s.run("'a'\\n__x\\nzeros(100000, 100000)\\n[1, 2] @ [1, 2, 3]")
    events = []
    armed = [False]
    WATCH = ("exec", "compile", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
             "os.fork", "subprocess.Popen", "ctypes.dlopen", "os.startfile")

    def hook(event, args):
        if armed[0] and event.startswith(WATCH):
            events.append(event + " " + repr(args)[:200])

    sys.addaudithook(hook)
    armed[0] = True
    results = [s.run(p) for p in payloads]
    armed[0] = False
    print(json.dumps({"events": events, "ok": [[r["ok"] for r in rs] for rs in results]}))
    """
)


def test_no_code_is_compiled_or_executed_for_hostile_input(tmp_path: Path) -> None:
    # Python's audit hooks see every exec, eval, compile and process start; none may
    # happen while the hostile payloads are handled
    payloads = _payloads(tmp_path / "SENTINEL")
    proc = subprocess.run([sys.executable, "-c", _AUDIT_SCRIPT, json.dumps(payloads)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["events"] == []
    assert not (tmp_path / "SENTINEL").exists()


def test_unbounded_stream_is_refused_without_reading_it_all() -> None:
    # `run /dev/zero` names a file that never ends: the shell must refuse it (or stop at
    # a bound) instead of reading until memory runs out. The child runs under a 2 GB
    # address-space cap so that a failure cannot harm the machine.
    if not os.path.exists("/dev/zero"):
        pytest.skip("needs /dev/zero")
    script = textwrap.dedent(
        """
        import json, resource, time
        resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))
        from bpshell.limits import Limits
        from bpshell.session import Session
        s = Session(limits=Limits.from_env({}))
        t = time.monotonic()
        r = s.run("run /dev/zero")[0]
        elapsed = time.monotonic() - t
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"r": r, "elapsed": elapsed, "peak_mb": peak_mb}))
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["r"]["ok"] is False
    assert report["r"]["error"]["line"] == 1 and report["r"]["error"]["column"] == 1
    assert report["elapsed"] < 3.0, report
    assert report["peak_mb"] < 600, report


def test_script_that_runs_itself_stops_with_an_error(tmp_path: Path) -> None:
    script = tmp_path / "self.bp"
    script.write_text(f"run {script}\n", encoding="utf-8")
    s = new_session()
    t = time.monotonic()
    r = s.run(f"run {script}")[0]
    assert time.monotonic() - t < 10
    assert r["ok"] is False
    assert r["error"]["line"] == 1


# ---------------------------------------------------------------- data safety


FAILING = [
    "x = 1/[1, 2] @ [1, 2, 3]",
    "x = nope(1)",
    "x = zeros(100000, 100000)",
    "x = 'a'",
    "x = [[1, 2], [3]]",
    "x = y + [1, 2, 3]",
    "y = onehot([0, 5], 3)",
    "def f(u) = f(u)",
    "def y(u) = u",
    "del x, nothere",
    "y = softmax_cross_entropy([1, 2], 7)",
    "diff x wrt",
    "seed -1",
    "grad nothere",
    "x = " + "(" * 300 + "1" + ")" * 300,
]


@pytest.mark.parametrize("source", FAILING)
def test_failing_statement_changes_nothing(source: str) -> None:
    s = new_session()
    ok_values(s.run("x = 2\ny = [1, 2]\nz = x*y\ndef g(u) = u*sigmoid(u)\nw = g(x)"))
    before = snapshot(s)
    vars_before = s.run("vars")[0]
    r = s.run(source)[-1]
    assert r["ok"] is False, r
    assert snapshot(s) == before
    vars_after = s.run("vars")[0]
    assert json.dumps(vars_after, default=repr) == json.dumps(vars_before, default=repr)
    # and the session still works
    assert ok_values(s.run("x*2")) == [4.0]


def test_statement_stopped_by_the_time_bound_changes_nothing() -> None:
    # a gradient check of a 300x300 layer takes seconds: stopped at 0.5 s, x and W keep
    # their values and the next statement runs
    s = new_session(time_limit=0.5)
    ok_values(s.run("seed 1\nW = randn(300, 300)\nL = sum(tanh(W @ W))"))
    before = snapshot(s)
    t = time.monotonic()
    r = s.run("check L")[0]
    elapsed = time.monotonic() - t
    assert r["ok"] is False and r["error"]["type"] == "timeout", r
    assert "took longer" in r["error"]["message"]
    assert elapsed < 2.0
    assert snapshot(s) == before
    assert ok_values(s.run("1 + 1")) == [2.0]


def test_failing_script_changes_nothing(tmp_path: Path) -> None:
    # `run FILE` is one statement: when line 3 of the file fails, the statement fails,
    # and a failed statement leaves the session as it was (a and b are not half-defined)
    script = tmp_path / "bad.bp"
    script.write_text("a = 1\nb = 2\nc = [1, 2] @ [1, 2, 3]\n", encoding="utf-8")
    s = new_session()
    ok_values(s.run("x = 5"))
    before = snapshot(s)
    r = s.run(f"run {script}")[0]
    assert r["ok"] is False
    assert f"{script}:3:" in r["error"]["message"]
    assert snapshot(s) == before


def test_ctrl_c_during_a_statement_changes_nothing() -> None:
    # the interactive shell runs with no time bound and relies on Ctrl-C; an interrupt
    # in the middle of a statement must leave the session as it was
    import _thread
    import threading

    s = new_session(time_limit=0)
    ok_values(s.run("seed 1\nW = randn(300, 300)\nL = sum(tanh(W @ W))"))
    before = snapshot(s)
    timer = threading.Timer(0.3, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            s.run("W = W * 2\ncheck L\nW = W * 3")
    finally:
        timer.cancel()
    after = snapshot(s)
    # the first statement completed (W doubled); the interrupted one changed nothing
    assert after["L"] == before["L"]
    assert after["<functions>"] == before["<functions>"]
    w_before = np.frombuffer(before["W"][2][1])
    w_after = np.frombuffer(after["W"][2][1])
    np.testing.assert_array_equal(w_after, 2 * w_before)
    assert ok_values(s.run("1 + 1")) == [2.0]


def test_errors_in_a_broken_definition_have_one_based_positions() -> None:
    # h = f(x) is broken once x no longer fits f's body (deleting f itself is refused
    # while h calls it); every error about it still points at a real line and column
    # (1-based), never at 0:0
    s = new_session()
    ok_values(s.run("x = [1, 2]\ndef f(u) = reshape(u, 2)\nh = f(x)\nx = 3"))
    assert s.run("del f")[0]["ok"] is False
    for source in ("grad x wrt h", "grad h", "h + 1", "tree h", "check h"):
        r = s.run(source)[0]
        assert r["ok"] is False
        assert r["error"]["line"] >= 1 and r["error"]["column"] >= 1, (source, r["error"])


def test_vars_lists_every_name_when_a_formula_is_broken() -> None:
    # y = reshape(x, 2) is live; rebinding x to a scalar breaks y. `vars` must still
    # show x and y (y with its error), not fail and hide the session's data
    s = new_session()
    ok_values(s.run("x = [1, 2]\ny = reshape(x, 2)\nx = 3"))
    r = s.run("vars")[0]
    assert r["ok"], r.get("error")
    assert [v["name"] for v in r["vars"]] == ["x", "y"]


def test_saved_session_replays_when_a_formula_is_broken(tmp_path: Path) -> None:
    # `save` promises a script that replays to the same state: running it in a new
    # session must succeed and restore x = 3, even though y cannot be computed now
    target = tmp_path / "s.bp"
    s = new_session()
    ok_values(s.run("x = [1, 2]\ny = reshape(x, 2)\nx = 3"))
    ok_values(s.run(f"save {target}"))
    t = new_session()
    r = t.run(f"run {target}")[0]
    assert r["ok"], (r.get("error"), target.read_text(encoding="utf-8"))
    assert ok_values(t.run("x")) == [3.0]


def _save_and_read(s: Session, path: Path) -> str:
    """Save the session to path and return the file's text."""
    ok_values(s.run(f"save {path}"))
    return path.read_text(encoding="utf-8")


def _temp_files(directory: Path) -> list[str]:
    """Temporary files left in directory."""
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_save_is_atomic_when_the_rename_fails(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "session.bp"
    s = new_session()
    ok_values(s.run("x = 1\ny = x + 1"))
    old = _save_and_read(s, target)
    ok_values(s.run("x = 2\nz = [1, 2, 3]"))

    def broken_replace(src, dst, *a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    r = s.run(f"save {target}")[0]
    monkeypatch.undo()
    assert r["ok"] is False and r["error"]["type"] == "file"
    assert r["error"]["line"] == 1 and r["error"]["column"] == 1
    assert target.read_text(encoding="utf-8") == old
    # nothing half-written is left beside it
    assert _temp_files(tmp_path) == []
    # the session is intact and a later save works
    new = _save_and_read(s, target)
    assert "z = [1.0, 2.0, 3.0]" in new


def test_save_is_atomic_when_the_write_fails(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # the disk fills up halfway through the temporary file: the old file stays whole
    target = tmp_path / "session.bp"
    s = new_session()
    ok_values(s.run("x = 1"))
    old = _save_and_read(s, target)
    ok_values(s.run("x = 3\nbig = ones(1000)"))

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    r = s.run(f"save {target}")[0]
    monkeypatch.undo()
    assert r["ok"] is False and r["error"]["type"] == "file"
    assert target.read_text(encoding="utf-8") == old
    assert _temp_files(tmp_path) == []


def test_save_into_missing_directory_or_onto_a_directory(tmp_path: Path) -> None:
    s = new_session()
    ok_values(s.run("x = 1"))
    (tmp_path / "adir").mkdir()
    for dest in (tmp_path / "missing" / "s.bp", tmp_path / "adir"):
        r = s.run(f"save {dest}")[0]
        assert r["ok"] is False and r["error"]["type"] == "file", r
        assert r["error"]["line"] == 1
    assert _temp_files(tmp_path) == []


@pytest.mark.parametrize("command", ["save", "run"])
def test_path_with_nul_byte_is_a_file_error(command: str, tmp_path: Path) -> None:
    # no file name can hold a NUL byte: a file error at the statement, not an internal one
    s = new_session()
    ok_values(s.run("x = 1"))
    r = s.run(f"{command} {tmp_path}/a\x00b.bp")[0]
    assert r["ok"] is False
    assert r["error"]["type"] in ("file", "syntax"), r["error"]
    assert (r["error"]["line"], r["error"]["column"]) >= (1, 1)


def test_save_then_run_restores_the_session(tmp_path: Path) -> None:
    target = tmp_path / "s.bp"
    s = new_session()
    ok_values(s.run("seed 3\nx = 0.1 + 0.2\nW = randn(2, 3)\ndef sw(u) = u*sigmoid(u)\n"
                    "y = sum(sw(W*x))"))
    _save_and_read(s, target)
    t = new_session()
    ok_values(t.run(f"run {target}"))
    # leaves come back with the same bits (their text is the value as written)
    for name in ("x", "W"):
        assert snapshot(t)[name][2] == snapshot(s)[name][2]
    assert ok_values(t.run("y")) == ok_values(s.run("y"))


# ---------------------------------------------------------------- malformed scripts


def _run_file(tmp_path: Path, data: bytes, name: str = "script.bp") -> list[dict]:
    """Write data to a script and `run` it in a new session."""
    path = tmp_path / name
    path.write_bytes(data)
    s = new_session()
    return s.run(f"run {path}")


def test_script_with_invalid_utf8_names_the_byte(tmp_path: Path) -> None:
    r = _run_file(tmp_path, b"x = 1\ny = \xff\xfe2\n")[0]
    assert r["ok"] is False and r["error"]["type"] == "file"
    assert r["error"]["line"] == 1 and r["error"]["column"] == 1  # the `run` statement
    msg = r["error"]["message"]
    assert "UTF-8" in msg and "line 2" in msg and "column 5" in msg, msg


def test_undecodable_bytes_through_session_run() -> None:
    # text decoded with surrogateescape (what a tolerant reader hands over) carries the
    # bad byte as a lone surrogate: a syntax error at its column, like any non-ASCII
    s = new_session()
    source = b"x = 1\ny = \xff\xfe2\n".decode("utf-8", "surrogateescape")
    results = s.run(source)
    assert results[0]["ok"]
    assert_error_at(results[1], 2, (5,))
    json.dumps(results[1], ensure_ascii=True)


def test_script_with_nul_byte_gives_its_position(tmp_path: Path) -> None:
    r = _run_file(tmp_path, b"x = 1\ny = 2\x00\n")[0]
    assert r["ok"] is False
    assert ":2:6:" in r["error"]["message"], r["error"]


def test_script_with_crlf_line_ends_works(tmp_path: Path) -> None:
    r = _run_file(tmp_path, b"x = 1\r\ny = [1,\r\n 2]\r\nz = x + y\r\n")[0]
    assert r["ok"], r
    z = r["results"][-1]["value"]
    np.testing.assert_array_equal(z, [2.0, 3.0])


def test_error_in_crlf_script_points_at_the_character(tmp_path: Path) -> None:
    # the string starts at line 2, column 5 of the file (the \r is not a column)
    r = _run_file(tmp_path, b"x = 1\r\ny = 'a'\r\n")[0]
    assert r["ok"] is False and ":2:5:" in r["error"]["message"], r["error"]


def test_crlf_through_session_run() -> None:
    s = new_session()
    assert ok_values(s.run("x = 1\r\ny = x + 1\r\n")) == [1.0, 2.0]
    r = s.run("x = 1\r\ny = $\r\n")[-1]
    assert_error_at(r, 2, (5,))


def test_old_mac_line_ends_give_an_error_or_work() -> None:
    s = new_session()
    results = s.run("x = 1\ry = 2\r")
    for r in results:
        assert r["ok"] or (r["error"]["line"] and r["error"]["column"])


def test_script_without_final_newline_works(tmp_path: Path) -> None:
    r = _run_file(tmp_path, b"x = 1\ny = x + 1")[0]
    assert r["ok"], r
    assert r["results"][-1]["value"] == 2.0


def test_one_megabyte_line_gives_an_error_or_works(tmp_path: Path) -> None:
    mb = 1 << 20
    lines = {
        "comment": b"x = 1 # " + b"a" * mb + b"\ny = x\n",
        "sum": b"x = " + b"1 + " * (mb // 4) + b"1\n",
        "array": b"x = [" + b"1, " * (mb // 3) + b"1]\n",
        "name": b"x = " + b"a" * mb + b"\n",
    }
    for label, data in lines.items():
        t = time.monotonic()
        r = _run_file(tmp_path, data, f"{label}.bp")[0]
        assert time.monotonic() - t < 10, label
        assert r["ok"] or (r["error"]["line"] and r["error"]["column"]), (label, r)
        if label == "comment":
            assert r["ok"], r


def test_one_megabyte_statement_through_session_is_refused_with_position() -> None:
    s = new_session()
    t = time.monotonic()
    r = s.run("x = " + "1 + " * (1 << 18) + "1")[0]
    assert time.monotonic() - t < 5
    assert r["ok"] is False and r["error"]["type"] == "limit"
    assert (r["error"]["line"], r["error"]["column"]) == (1, 1)


TRUNCATED = [
    ("x = (1 + 2\n", 1, (5,)),
    ("y = sigmoid(", 1, (12,)),
    ("x = [1, 2", 1, (5,)),
    ("x = 1 +", 1, (8,)),
    ("def f(x) =", 1, (11,)),
    ("diff x wrt", 1, (11,)),
    ("x = 1\ny = x *", 2, (8,)),
]


@pytest.mark.parametrize("source,line,columns", TRUNCATED)
def test_truncated_statement_points_at_the_problem(source: str, line: int,
                                                  columns: tuple[int, ...],
                                                  tmp_path: Path) -> None:
    s = new_session()
    r = s.run(source)[-1]
    assert_error_at(r, line, columns)
    r = _run_file(tmp_path, source.encode())[0]
    assert r["ok"] is False
    assert f":{line}:" in r["error"]["message"], r["error"]


def test_many_statements_on_one_line_keep_their_columns() -> None:
    s = new_session()
    results = s.run("a = 1; b = 2; c = 'x'; d = 4")
    assert [r["ok"] for r in results] == [True, True, False, True]
    assert_error_at(results[2], 1, (19,))


# ---------------------------------------------------------------- the CLI


def _cli(args: list[str], stdin: bytes = b"", cwd: Path | None = None,
         env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m bpshell ARGS` with stdin."""
    return subprocess.run([sys.executable, "-m", "bpshell", *args], input=stdin,
                          capture_output=True, timeout=120, cwd=cwd,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


needs_cli = pytest.mark.skipif(not CLI.exists(), reason="bpshell/cli.py does not exist yet")


@needs_cli
def test_cli_hostile_stdin_runs_nothing(tmp_path: Path) -> None:
    sentinel = tmp_path / "SENTINEL"
    stdin = "\n".join(_payloads(sentinel)).encode() + b"\n"
    proc = _cli([], stdin=stdin, cwd=tmp_path)
    assert proc.returncode == 1
    assert b"Traceback" not in proc.stderr + proc.stdout
    assert not sentinel.exists()


MALFORMED_FILES = {
    "invalid_utf8": (b"x = 1\ny = \xff\xfe2\n", False),
    "nul": (b"x = 1\ny = 2\x00\n", False),
    "crlf": (b"x = 1\r\ny = x + 1\r\n", True),
    "no_final_newline": (b"x = 1\ny = x + 1", True),
    "truncated": (b"x = 1\ny = sigmoid(x\n", False),
    # 4 + 4 * 2**18 + 1 = 1,048,581 characters: over the default 1,000,000 per statement
    "long_line": (b"x = " + b"1 + " * (1 << 18) + b"1\n", "limit"),
}
# a fast run keeps two of them (two subprocesses each); CI runs them all
MALFORMED_FAST = {"crlf", "nul"}


@needs_cli
@pytest.mark.parametrize("label", [
    pytest.param(label, marks=() if label in MALFORMED_FAST else pytest.mark.slow)
    for label in sorted(MALFORMED_FILES)])
def test_cli_malformed_file(tmp_path: Path, label: str) -> None:
    data, works = MALFORMED_FILES[label]
    path = tmp_path / f"{label}.bp"
    path.write_bytes(data)
    for args, stdin in (([str(path)], b""), ([], data)):
        proc = _cli(args, stdin=stdin, cwd=tmp_path)
        out = proc.stdout + proc.stderr
        assert b"Traceback" not in out, out[-2000:]
        if works is True:
            assert proc.returncode == 0, out[-2000:]
        elif works is False:
            # 1: a statement failed; 2: the file could not be read as a script at all
            assert proc.returncode in (1, 2), out[-2000:]
            assert b":2:" in out or b"line 2" in out, out[-2000:]
        else:
            assert proc.returncode in (0, 1)
            assert proc.returncode == 1, out[-2000:]
            assert b":1:1: error: statement of 1,048,581 characters" in out, out[-2000:]
            assert b"BPSHELL_MAX_STATEMENT_CHARS" in out, out[-2000:]


def _json_records(out: bytes) -> list[dict]:
    """Result dicts from --json output: one JSON document, or one per line."""
    text = out.decode("utf-8", "replace")
    try:
        doc = json.loads(text)
        docs = doc if isinstance(doc, list) else [doc]
    except json.JSONDecodeError:
        docs = [json.loads(line) for line in text.splitlines() if line.strip()]
    flat: list[dict] = []
    for d in docs:
        if isinstance(d, dict) and isinstance(d.get("results"), list):
            flat.extend(d["results"])
        elif isinstance(d, list):
            flat.extend(x for x in d if isinstance(x, dict))
        elif isinstance(d, dict):
            flat.append(d)
    return flat


@needs_cli
def test_cli_json_errors_carry_positions(tmp_path: Path) -> None:
    proc = _cli(["--json"], stdin=b"x = 1\ny = 'a'\n", cwd=tmp_path)
    assert proc.returncode == 1
    assert b"Traceback" not in proc.stderr
    errors = [r for r in _json_records(proc.stdout) if r.get("ok") is False]
    assert errors, proc.stdout[-2000:]
    assert errors[0]["error"]["line"] == 2 and errors[0]["error"]["column"] == 5
