"""The installed `bpshell` console script, run as a subprocess in each scripted mode.

Expected numbers are the book's (the apple example: 220, 2.2, 110, 200) or computed here
with plain arithmetic, NumPy and SymPy; the --json records are checked against objects
written out here, never against the engine's own results.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

ROOT = Path(__file__).resolve().parents[1]
APPLE = ROOT / "examples" / "apple.bp"
# a statement of several seconds (a gradient check of two 300x300 leaves)
LONG = "seed 0; X = randn(300, 300); W = randn(300, 300); loss = sum(X @ W); check loss"


def console_script() -> list[str]:
    """The installed entry point (next to this Python, else on PATH)."""
    for candidate in (Path(sysconfig.get_path("scripts")) / "bpshell",
                      Path(sys.executable).parent / "bpshell"):
        if candidate.exists():
            return [str(candidate)]
    found = shutil.which("bpshell")
    if found is None:
        pytest.skip("the bpshell console script is not installed (pip install -e .)")
    return [found]


def default_sigint() -> None:
    """In a child process: Ctrl-C back to Python's default handling.

    A shell starts a background job (`pytest &`) with SIGINT ignored, and a child inherits
    that, so a test that interrupts bpshell would see nothing happen."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def clean_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("NO_COLOR", "FORCE_COLOR", "BPSHELL_TIME_LIMIT", "COLUMNS")}
    env.update({"LC_ALL": "C.UTF-8", "TERM": "xterm-256color", **extra})
    return env


def bp(*args: str, stdin: str | None = None, env: dict | None = None,
       timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(console_script() + list(args), input=stdin, capture_output=True,
                          text=True, env=env or clean_env(), timeout=timeout, cwd=ROOT,
                          preexec_fn=default_sigint)


def grads_from_json(stdout: str) -> dict:
    results = [json.loads(s) for s in stdout.splitlines()]
    return next(r for r in results if r["kind"] == "grad")["grads"]


# ---------------------------------------------------------------- the three sources


def test_file_runs_the_apple_example():
    p = bp(str(APPLE))
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[:4] == ["apple = 100", "n = 2", "tax = 1.1", "price = 220"]
    table = {s.split()[0]: s.split()[1] for s in lines if s.strip().startswith("∂price/∂")}
    assert table == {"∂price/∂apple": "2.2", "∂price/∂n": "110", "∂price/∂tax": "200"}
    assert p.stderr == ""


def test_command_runs_statements_separated_by_semicolons():
    p = bp("-c", "apple = 100; n = 2; tax = 1.1; price = apple*n*tax; grad price", "--json")
    assert p.returncode == 0
    g = grads_from_json(p.stdout)
    assert g["apple"] == pytest.approx(2.2) and g["n"] == pytest.approx(110)
    assert g["tax"] == pytest.approx(200)


@pytest.mark.parametrize("args", [[], ["-"]])
def test_stdin_pipe_runs_without_prompts(args):
    p = bp(*args, stdin=APPLE.read_text())
    assert p.returncode == 0
    assert ">>>" not in p.stdout and "price = 220" in p.stdout


def test_echo_prints_each_statement_before_its_result():
    p = bp("--echo", "-c", "x = 3; y = x**2")
    assert p.stdout == ">>> x = 3\nx = 3\n>>> y = x**2\ny = 9\n"


# ---------------------------------------------------------------- errors and exit codes


def test_first_error_stops_with_file_line_column_and_caret(tmp_path):
    script = tmp_path / "bad.bp"
    script.write_text("x = 2\ny = foo(x) + 1\nz = 3\n")
    p = bp(str(script))
    assert p.returncode == 1
    assert p.stdout == "x = 2\n"
    err = p.stderr.splitlines()
    assert err[0].startswith(f"{script}:2:5: error: ")
    assert "foo" in err[0]
    assert err[1].strip() == "y = foo(x) + 1"
    assert err[2].index("^") == err[1].index("foo")


def test_keep_going_runs_on_and_still_fails(tmp_path):
    script = tmp_path / "bad.bp"
    script.write_text("x = 2\ny = foo(x) + 1\nz = 3\n")
    p = bp("--keep-going", str(script))
    assert p.returncode == 1
    assert p.stdout == "x = 2\nz = 3\n"


def test_command_and_stdin_errors_name_their_source():
    p = bp("-c", "x = 2; y = x +* 3")
    assert p.returncode == 1
    assert p.stderr.startswith("<command>:1:15: error: ")
    assert p.stderr.splitlines()[2] == " " * 16 + "^"
    p = bp(stdin="a = 1\nb = [1, 2\n")
    assert p.returncode == 1
    assert p.stderr.startswith("<stdin>:2:5: error: ")


@pytest.mark.parametrize("args", [["--bogus"], ["--color", "sometimes"],
                                  ["-c", "x = 1", "file.bp"], ["--max-elements", "lots"],
                                  ["no-such-file.bp"]])
def test_usage_errors_exit_2(args):
    p = bp(*args)
    assert p.returncode == 2
    assert p.stdout == ""
    assert p.stderr


def test_help_and_version():
    p = bp("--help")
    assert p.returncode == 0 and "--max-elements" in p.stdout and "--time-limit" in p.stdout
    p = bp("--version")
    assert p.returncode == 0 and p.stdout.strip() == "bpshell 0.1.0"


def test_exit_stops_a_script_with_success():
    p = bp("-c", "x = 1; exit; x = foo(")
    assert p.returncode == 0 and p.stdout == "x = 1\n"


def test_interrupt_exits_130():
    proc = subprocess.Popen(console_script() + ["--time-limit", "0", "-c", LONG],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=clean_env(), cwd=ROOT, preexec_fn=default_sigint)
    time.sleep(2.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "interrupted" in err and "check loss" not in out


def test_time_limit_flag_stops_a_long_statement():
    p = bp("--time-limit", "0.5", "-c", LONG)
    assert p.returncode == 1
    assert "<command>:1:" in p.stderr and "0.5 s" in p.stderr


def test_limit_flags_reach_the_session():
    p = bp("--max-elements", "10", "-c", "x = zeros(100)")
    assert p.returncode == 1 and "100 elements" in p.stderr


# ---------------------------------------------------------------- output to pipes


def test_no_ansi_codes_when_piped():
    p = bp("--echo", str(APPLE))
    assert p.returncode == 0
    assert "\x1b" not in p.stdout + p.stderr
    p = bp("-c", "y = foo(1)")
    assert "\x1b" not in p.stderr


def test_color_always_colours_a_pipe_and_never_does_not():
    assert "\x1b[" in bp("--color", "always", str(APPLE)).stdout
    assert "\x1b[" in bp("--color", "always", str(APPLE),
                         env=clean_env(NO_COLOR="1")).stdout
    assert "\x1b[" not in bp("--color", "never", str(APPLE)).stdout


def test_a_long_value_is_one_line_in_a_pipe():
    p = bp("-c", "x = linspace(0, 1, 200)")
    lines = p.stdout.splitlines()
    assert len(lines) == 1 and len(lines[0]) > 800
    assert lines[0].startswith("x = [0.") and lines[0].endswith("1.        ]  # 200")


def test_ascii_when_the_locale_is_not_utf8():
    p = bp(str(APPLE), env=clean_env(LC_ALL="C", PYTHONIOENCODING="utf-8"))
    assert p.returncode == 0 and p.stdout.isascii()
    assert "d price/d apple  2.2" in p.stdout and "`-- tax = 1.1   grad 200" in p.stdout
    assert bp("--ascii", str(APPLE)).stdout.isascii()


# ---------------------------------------------------------------- JSON Lines

JSON_SOURCE = """seed 3
X = randn(2, 3)
W = [[1, 2], [3, 4], [5, 6]]
y = sigmoid(X @ W)
grad y
big = exp(1000)
diff tanh(u) wrt u
check y
h = w*v
grad h
tree y
nope(1)
"""


def has(record: dict, **expected) -> None:
    """Each expected key is in the record with that value (numbers to 1e-12 relative)."""
    for key, want in expected.items():
        assert key in record, (key, record)
        got = record[key]
        if isinstance(want, (float, np.ndarray)):
            assert np.asarray(got, dtype=float) == pytest.approx(np.asarray(want), rel=1e-12,
                                                                  abs=1e-15), (key, record)
        else:
            assert got == want, (key, record)


def np_sigmoid(a: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-a))


def same_function(text: str, expected: sp.Expr) -> bool:
    """The printed expression equals `expected` (SymPy parses the engine's output here)."""
    return sp.simplify(sp.sympify(text) - expected) == 0


def test_json_lines_carry_the_numbers_computed_here():
    p = bp("--json", "--keep-going", "-c", JSON_SOURCE)
    assert p.returncode == 1
    lines = [json.loads(s) for s in p.stdout.splitlines()]
    assert len(lines) == 12 and lines[-1]["kind"] == "error"
    assert [r["line"] for r in lines] == list(range(1, 13))
    assert [r["source"] for r in lines] == JSON_SOURCE.splitlines()
    assert [r["ok"] for r in lines] == [True] * 11 + [False]
    has(lines[0], kind="seed", seed=3)
    # X comes from the generator: from here on the expected numbers are NumPy's, from X
    has(lines[1], kind="assign", name="X", shape=[2, 3])
    X = np.array(lines[1]["value"], dtype=float)
    assert X.shape == (2, 3) and np.isfinite(X).all()
    W = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    has(lines[2], kind="assign", name="W", value=W, shape=[3, 2])
    y = np_sigmoid(X @ W)
    has(lines[3], kind="assign", name="y", value=y, shape=[2, 2])
    assert len(lines[3]["value"]) == 2
    # grad y (upstream ones): dZ = y*(1 - y), dX = dZ @ W.T, dW = X.T @ dZ (the book's Affine)
    dz = y * (1 - y)
    has(lines[4], kind="grad", of="y", symbolic=False, value=y)
    assert set(lines[4]["grads"]) == {"X", "W"}
    has(lines[4]["grads"], X=dz @ W.T, W=X.T @ dz)
    # exp(1000) overflows float64: JSON has no inf, so it is the string "inf"
    has(lines[5], kind="assign", name="big", value="inf", shape=[])
    u = sp.Symbol("u")
    has(lines[6], kind="diff", wrt="u", expr="tanh(u)", output_name="out",
        in_terms_of_output="1 - out**2")
    assert same_function(lines[6]["derivative"], 1 - sp.tanh(u) ** 2)
    assert same_function(lines[6]["simplified"], 1 / sp.cosh(u) ** 2)
    has(lines[7], kind="check", of="y", passed=True)
    for leaf in ("X", "W"):
        has(lines[7]["results"][leaf], passed=True, elements=6)
        assert lines[7]["results"][leaf]["max_abs_error"] < 1e-5
    has(lines[8], kind="assign", name="h", value=None, symbols=["v", "w"])
    has(lines[9], kind="grad", of="h", symbolic=True, grads={"w": "v", "v": "w"})
    root = lines[10]["root"]
    has(root, name="y", op="sigmoid", value=y, shape=[2, 2])
    assert [(e["to"], e["form"]) for e in root["local"]] == [("X @ W", "y*(1 - y)")]
    (matmul,) = root["children"]
    has(matmul, op="matmul", value=X @ W, shape=[2, 2])
    assert [(c["name"], c["op"], c["shape"]) for c in matmul["children"]] == [
        ("X", "leaf", [2, 3]), ("W", "leaf", [3, 2])]
    has(lines[11], kind="error")
    has(lines[11]["error"], type="name", line=12, column=1)
    assert "'nope'" in lines[11]["error"]["message"]
    assert "<command>:12:1: error:" in p.stderr


def test_json_scalar_gradient_and_non_finite_numbers():
    # dy/dx = sigmoid(2)*(1 - sigmoid(2)); inf, -inf and nan are the strings JSON can carry;
    # d = log(x - x) = log(0) = -inf, and dd/dx = (1/0)*(1 - 1) = inf*0 = nan
    src = ("x = 2; y = sigmoid(x); grad y; a = exp(1000); b = -exp(1000); c = a - a\n"
           "v = [1e400, -1e400, 1]; w = v - v; d = log(x - x); grad d")
    p = bp("--json", "-c", src)
    assert p.returncode == 0, p.stderr
    lines = [json.loads(s) for s in p.stdout.splitlines()]
    assert len(lines) == 10 and all(r["ok"] for r in lines)
    s = 1 / (1 + math.exp(-2))
    has(lines[0], kind="assign", name="x", value=2.0, shape=[])
    has(lines[1], kind="assign", name="y", value=s)
    has(lines[2], kind="grad", of="y", value=s, symbolic=False)
    assert lines[2]["grads"] == {"x": pytest.approx(s * (1 - s), rel=1e-12)}
    assert [lines[i]["value"] for i in (3, 4, 5)] == ["inf", "-inf", "nan"]
    has(lines[6], name="v", value=["inf", "-inf", 1.0], shape=[3])
    has(lines[7], name="w", value=["nan", "nan", 0.0], shape=[3])
    has(lines[8], name="d", value="-inf")
    has(lines[9], kind="grad", of="d", value="-inf", grads={"x": "nan"})
    has(lines[9], line=2, column=1 + src.split("\n")[1].index("grad d"))


def test_json_stops_at_the_first_error_and_prints_nothing_else():
    p = bp("--json", "-c", "x = 2; y = q(x); z = 1")
    assert p.returncode == 1
    kinds = [json.loads(s)["kind"] for s in p.stdout.splitlines()]
    assert kinds == ["assign", "error"]


def test_json_with_empty_stdin_prints_nothing():
    p = subprocess.run(console_script() + ["--json"], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, env=clean_env(), timeout=30)
    assert p.returncode == 0 and p.stdout == ""  # empty stdin: nothing to run


# ---------------------------------------------------------------- files


def test_export_writes_the_output_as_shown(tmp_path):
    svg, txt = tmp_path / "tree.svg", tmp_path / "out.txt"
    p = bp("-c", f"a = 3; b = a*a; grad b; tree b; export {txt}; export {svg}")
    assert p.returncode == 0, p.stderr
    shown = p.stdout.split("exported")[0]
    assert txt.read_text() == shown
    assert svg.read_text().startswith("<svg") and "see" in svg.read_text()


def test_export_failure_is_an_error(tmp_path):
    p = bp("-c", f"x = 1; export {tmp_path}/missing/dir/out.txt")
    assert p.returncode == 1 and "cannot write" in p.stderr


def test_save_then_run_replays_the_session(tmp_path):
    saved = tmp_path / "s.bp"
    p = bp("-c", f"apple = 100; n = 2; price = apple*n; save {saved}")
    assert p.returncode == 0
    p = bp("-c", f"run {saved}; price")
    assert p.returncode == 0 and p.stdout.splitlines()[-1] == "200"


def test_bytes_that_are_not_utf8_are_an_error_at_their_position(tmp_path):
    script = tmp_path / "bad.bp"
    script.write_bytes(b"x = 1\ny = \xff2\n")
    for args, stdin, name in (([str(script)], None, str(script)),
                              ([], "", "<stdin>")):
        p = subprocess.run(console_script() + args, cwd=ROOT, capture_output=True,
                           env=clean_env(), timeout=60,
                           input=script.read_bytes() if stdin is not None else None)
        assert p.returncode == 1
        assert p.stderr.decode().startswith(f"{name}:2:5: error: not valid UTF-8")
        assert p.stdout == b""


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_an_endless_file_is_refused():
    p = bp("/dev/zero", timeout=30)
    assert p.returncode == 1 and "larger than" in p.stderr
