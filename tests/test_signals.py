"""Signals, pipes and closed streams, through the console script and a real terminal.

- Ctrl-C (SIGINT) during any statement of a script, a `fit` included, stops the script
  with exit status 130; in the shell it stops the whole `run FILE` and the session is
  as it was before that statement.
- When the reader of stdout goes away (`bpshell big.bp | head -1`), bpshell stops
  quietly with status 141, as a tool killed by SIGPIPE would.
- SIGTERM during `save` leaves no temporary file and the old file whole.
- A closed stdin, stdout or stderr, and a full disk (/dev/full), give no traceback, and
  --json's stdout stays pure JSON Lines.

Every child resets SIGINT to its default, so that the suite passes when it is started
as a background job (which ignores SIGINT).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest
from test_cli import ROOT, clean_env, console_script, default_sigint

from bpshell.session import Session

FIT = "w = 1; x = [1, 2, 3]; t = [2, 4, 6]; loss = sum((w*x - t)**2)"
LONG_FIT = "fit loss lr 0.0001 steps 100000000 every 1000000 wrt w"


def start(args: list[str], *, preexec=None, **kwargs) -> subprocess.Popen:
    def setup():
        default_sigint()
        if preexec is not None:
            preexec()

    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen(console_script() + args, env=clean_env(), cwd=ROOT,
                            preexec_fn=setup, **kwargs)


def wait_for(path: Path, text: str, seconds: float = 60) -> None:
    """Until path holds text (a running script says it has reached a point)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if path.exists() and text in path.read_text():
            return
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared in {path}")


# ---------------------------------------------------------------- Ctrl-C in a script


@pytest.mark.parametrize("statement", [LONG_FIT, "run {inner}"], ids=["fit", "run-fit"])
def test_ctrl_c_during_a_fit_stops_the_script_with_130(statement, tmp_path):
    inner = tmp_path / "inner.bp"
    inner.write_text(f"{LONG_FIT}\nafter_inner = 1\n")
    out = tmp_path / "out.txt"
    script = tmp_path / "s.bp"
    script.write_text(f"{FIT}\nmarker = 1\n{statement.format(inner=inner)}\nafter = 2\n")
    with out.open("w") as f:
        proc = start([str(script)], stdout=f)
        wait_for(out, "marker = 1")
        time.sleep(1.0)  # well inside the fit
        proc.send_signal(signal.SIGINT)
        err = proc.communicate(timeout=60)[1].decode()
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "interrupted" and "Traceback" not in err
    shown = out.read_text()
    assert "after" not in shown.replace("after_inner", "")  # the script stopped there
    assert "after_inner" not in shown


@pytest.mark.slow
def test_ctrl_c_while_sympy_simplifies_exits_130(tmp_path):
    # simplify on a chain of 11 sigmoids, unbounded, runs for minutes: the interrupt
    # lands inside SymPy
    chain = "; ".join(f"y{k} = sigmoid(y{k - 1}*{k} + x)" for k in range(1, 12))
    proc = start(["--time-limit", "0", "--simplify-seconds", "inf", "-c",
                  f"y0 = x; {chain}; diff y11 wrt x expanded simplify; after = 1"])
    time.sleep(3.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert b"Traceback" not in err and b"after" not in out


def test_an_interrupted_fit_inside_run_rolls_the_whole_run_back(tmp_path, monkeypatch):
    # the shell's case end to end through the journal: Ctrl-C arrives at step 5 of a fit
    # inside `run FILE`; the run stops and the session is as before `run`
    inner = tmp_path / "inner.bp"
    inner.write_text("w = 5\nz = 1\nfit loss lr 0.001 steps 1000 every 1 wrt w\nafter = 3\n")
    s = Session()
    assert all(r["ok"] for r in s.run(FIT))

    def progress(step, total, loss, every):
        if step == 5:
            raise KeyboardInterrupt

    s.progress = progress
    with pytest.raises(KeyboardInterrupt):
        s.run(f"run {inner}")
    assert s.bindings["w"].value == 1.0 and "z" not in s.bindings and "after" not in s.bindings
    s.progress = None
    assert s.run("loss")[0]["value"] == 14.0  # (1-2)**2 + (2-4)**2 + (3-6)**2


@pytest.mark.slow
def test_pty_ctrl_c_stops_a_whole_run_and_keeps_the_session(tmp_path):
    inner = tmp_path / "inner.bp"
    inner.write_text(f"w = 5\nz = 1\n{LONG_FIT}\nafter = 3\n")
    env = {k: v for k, v in os.environ.items() if k != "BPSHELL_TIME_LIMIT"}
    env.update(TERM="xterm", LC_ALL="C.UTF-8", NO_COLOR="1", PROMPT_TOOLKIT_NO_CPR="1",
               BPSHELL_HISTORY=str(tmp_path / "history"))
    child = pexpect.spawn(sys.executable, ["-m", "bpshell"], env=env, cwd=str(ROOT),
                          encoding="utf-8", timeout=30, dimensions=(40, 120),
                          preexec_fn=default_sigint)
    child.expect(">>>")
    child.sendline(FIT)
    child.expect("loss = 14")
    child.expect(">>>")
    child.sendline(f"run {inner}")
    child.expect("z = 1")  # the run's statements are shown as they complete
    time.sleep(1.5)
    child.sendintr()
    child.expect("interrupted")
    child.expect(">>>")
    child.sendline("vars")
    child.expect(r"w\s+leaf\s+1\s+1\s")  # w = 1 as before the run, neither 5 nor trained
    child.expect(">>>")
    assert "after" not in child.before and "z " not in child.before
    child.sendline("exit")
    child.expect(pexpect.EOF)


# ---------------------------------------------------------------- the reader goes away


def test_the_reader_going_away_stops_the_run_quietly(tmp_path):
    big = tmp_path / "big.bp"
    big.write_text("".join(f"x{k} = {k}\n" for k in range(200_000)))
    head = subprocess.Popen(["head", "-1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    proc = start([str(big)], stdout=head.stdin)
    head.stdin.close()
    first = head.stdout.read()
    head.wait(timeout=30)
    err = proc.communicate(timeout=60)[1]  # 200,000 statements would take a minute or two
    assert first == b"x0 = 0\n"
    assert proc.returncode == 141 and err == b""


def test_json_to_a_closed_pipe_is_quiet_too(tmp_path):
    r, w = os.pipe()
    os.close(r)
    proc = start(["--json", "-c", "x = 1; y = 2"], stdout=w)
    os.close(w)
    assert proc.communicate(timeout=60)[1] == b"" and proc.returncode == 141


# ---------------------------------------------------------------- SIGTERM during save

_SAVE_KILLED = """
import os, signal, sys
from bpshell import cli
real_fsync = os.fsync
def fsync(fd):
    real_fsync(fd)
    os.kill(os.getpid(), signal.SIGTERM)  # the temporary file is written, not yet renamed
os.fsync = fsync
sys.exit(cli.main(["-c", "x = 2; W = ones(300, 300); save " + sys.argv[1]]))
"""


def test_sigterm_during_save_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "s.bp"
    target.write_text("x = 1\n")
    p = subprocess.run([sys.executable, "-c", _SAVE_KILLED, str(target)], capture_output=True,
                       env=clean_env(PYTHONPATH=str(ROOT)), cwd=ROOT, timeout=60,
                       preexec_fn=default_sigint)
    assert p.returncode == 128 + signal.SIGTERM, p.stderr
    assert b"Traceback" not in p.stderr
    assert sorted(os.listdir(tmp_path)) == ["s.bp"]
    assert target.read_text() == "x = 1\n"  # the old file, whole


@pytest.mark.slow
def test_sigterm_at_any_moment_of_a_big_save(tmp_path):
    target = tmp_path / "s.bp"
    old = "x = 1\n"
    for delay in (0.6, 0.9, 1.2, 1.5, 2.0, 3.0):
        target.write_text(old)
        proc = start(["-c", f"W = randn(400, 400); save {target}"])
        time.sleep(delay)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert b"Traceback" not in err
        files = sorted(os.listdir(tmp_path))
        text = target.read_text()
        if files == ["s.bp"]:  # stopped before the renames: the old script, alone
            assert text == old, delay
        else:  # after them: the new script and its arrays, together
            assert files == ["s.bp", "s.npz"] and "load " in text, (delay, files)


# ---------------------------------------------------------------- closed streams, full disk


def close(*fds: int):
    def do():
        for fd in fds:
            os.close(fd)

    return do


def test_closed_stdin_is_an_empty_script():
    proc = start([], preexec=close(0))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and out == b"" and err == b""
    proc = start(["-c", "x = 1"], preexec=close(0))
    assert proc.communicate(timeout=60) == (b"x = 1\n", b"") and proc.returncode == 0


def test_closed_stdout_loses_the_output_and_nothing_else():
    proc = start(["-c", "x = 1; y = nope(x)"], preexec=close(1))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and b"nope" in err and b"Traceback" not in err


def test_closed_stderr_keeps_json_pure_and_files_clean(tmp_path):
    saved = tmp_path / "s.bp"
    proc = start(["--json", "-c", f"x = 1; save {saved}; y = nope(x)"], preexec=close(2))
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1
    records = [json.loads(s) for s in out.decode().splitlines()]
    assert [r["ok"] for r in records] == [True, True, False]
    assert saved.read_text() == "# bpshell session\nx = 1.0\n"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["--json", "-c", "x = 1; y = 2"], ["-c", "x = 1"],
                                  ["--json", "-c", "x = nope(1)"]])
def test_a_full_disk_is_one_line_on_stderr(args):
    with open("/dev/full", "w") as full:
        proc = start(args, stdout=full)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert err.decode().splitlines()[-1] == \
        "bpshell: cannot write the output: No space left on device"
    assert b"Traceback" not in err and b"Exception ignored" not in err


def test_sighup_rolls_back_and_exits_129(tmp_path):
    out = tmp_path / "out.txt"
    with out.open("w") as f:
        proc = start(["--time-limit", "0", "-c",
                      "marker = 1; seed 0; X = randn(200, 200); loss = sum(X @ X); check loss"],
                     stdout=f)
        wait_for(out, "marker = 1")
        time.sleep(1.0)
        proc.send_signal(signal.SIGHUP)
        err = proc.communicate(timeout=60)[1]
    assert proc.returncode == 128 + signal.SIGHUP and b"Traceback" not in err
    assert "check loss" not in out.read_text()
