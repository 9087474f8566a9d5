"""Files: `export` atomic like `save`; links and devices written through or refused,
never replaced; permissions kept; a saved script that always replays.

Oracles: the file system itself (lstat: a link stays a link, a device stays a device,
the mode bits), the bytes written, and numbers worked out by hand for the replays.
"""

from __future__ import annotations

import io
import os
import socket
import stat
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest
from test_cli import ROOT, bp, clean_env, console_script, default_sigint

from bpshell.commands.files import save_files
from bpshell.commands.save_script import NPZ_ELEMENTS, npz_path
from bpshell.render.out import Options, Output
from bpshell.runner import run_source
from bpshell.session import Session

ROOT_USER = hasattr(os, "geteuid") and os.geteuid() == 0


def temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def session_with(src: str) -> Session:
    s = Session(seed=0)
    results = s.run(src)
    assert all(r["ok"] for r in results), results
    return s


# ---------------------------------------------------------------- export


def test_export_is_atomic_when_the_rename_fails(tmp_path, monkeypatch):
    target = tmp_path / "out.txt"
    target.write_text("old transcript\n")
    s, buf = Session(), io.StringIO()
    out = Output(Options(), buf)

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    status = run_source(s, f"x = 1; export {target}", out, "<t>", errors_to_stderr=False)
    monkeypatch.undo()
    assert status.failed == 1 and "No space left on device" in buf.getvalue()
    assert target.read_text() == "old transcript\n" and temp_files(tmp_path) == []


def test_export_keeps_the_mode_of_the_file_it_replaces(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old\n")
    target.chmod(0o640)
    p = bp("-c", f"x = 1; export {target}")
    assert p.returncode == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o640 and target.read_text() == "x = 1\n"


def test_export_to_a_fifo_nobody_reads_fails_at_once(tmp_path):
    fifo = tmp_path / "out.txt"
    os.mkfifo(fifo)
    p = bp("-c", f"x = 1; export {fifo}", timeout=60)
    assert p.returncode == 1 and "no process is reading it" in p.stderr
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_export_to_a_fifo_is_written_through(tmp_path):
    fifo = tmp_path / "out.txt"
    os.mkfifo(fifo)
    got: list[bytes] = []
    proc = subprocess.Popen(console_script() + ["-c", f"x = 2; y = x*3; export {fifo}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env(),
                            cwd=ROOT, preexec_fn=default_sigint)
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()  # waiting on the FIFO long before bpshell (a second to start) opens it
    out, err = proc.communicate(timeout=60)
    reader.join(timeout=60)
    assert proc.returncode == 0, err
    assert got == [b"x = 2\ny = 6\n"] and stat.S_ISFIFO(fifo.lstat().st_mode)


def test_export_to_a_stuck_fifo_is_bounded_by_the_time_limit(tmp_path):
    fifo = tmp_path / "out.txt"
    os.mkfifo(fifo)
    stuck = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader that never reads
    try:
        # more than a pipe holds (64 KB): the write blocks until the time limit
        p = bp("--time-limit", "1", "--max-print-elements", "inf", "-c",
               f"x = linspace(0, 1, 8000); export {fifo}", timeout=60)
    finally:
        os.close(stuck)
    assert p.returncode == 1 and "took longer than 1 s" in p.stderr


# ---------------------------------------------------------------- links and devices


@pytest.mark.parametrize("command", ["save", "export", "codegen y to", "draw y to"])
def test_a_symlink_is_written_through_and_stays_a_link(command, tmp_path):
    suffix = {"save": ".bp", "export": ".txt", "codegen y to": ".py", "draw y to": ".svg"}
    real = tmp_path / f"real{suffix[command]}"
    real.write_text("old\n")
    real.chmod(0o604)
    link = tmp_path / f"link{suffix[command]}"
    link.symlink_to(real.name)
    p = bp("-c", f"x = 0.5; y = sigmoid(x); {command} {link}")
    assert p.returncode == 0, p.stderr
    assert link.is_symlink() and os.readlink(link) == real.name
    assert real.read_text() != "old\n"
    assert stat.S_IMODE(real.stat().st_mode) == 0o604
    assert temp_files(tmp_path) == []


def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "s.bp"
    link.symlink_to("made.bp")
    p = bp("-c", f"x = 3; save {link}")
    assert p.returncode == 0 and link.is_symlink()
    assert (tmp_path / "made.bp").read_text() == "# bpshell session\nx = 3.0\n"


def test_a_new_file_follows_the_umask(tmp_path):
    target = tmp_path / "s.bp"

    def umask_027():
        default_sigint()
        os.umask(0o027)

    p = subprocess.run(console_script() + ["-c", f"x = 1; save {target}"],
                       capture_output=True, env=clean_env(), cwd=ROOT, timeout=60,
                       preexec_fn=umask_027)
    assert p.returncode == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="needs /dev/null")
def test_dev_null_is_written_through_and_stays_a_device():
    p = bp("-c", "x = 1; save /dev/null; export /dev/null.txt")
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)
    assert "saved the session to /dev/null" in p.stdout


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_device_is_a_file_error():
    p = bp("-c", "x = 1; save /dev/full")
    assert p.returncode == 1 and "No space left on device" in p.stderr
    assert stat.S_ISCHR(os.lstat("/dev/full").st_mode)


def test_a_socket_is_refused(tmp_path):
    path = tmp_path / "s.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    try:
        p = bp("-c", f"x = 1; save {path}")
    finally:
        server.close()
    assert p.returncode == 1 and "it is a socket, not a file" in p.stderr
    assert stat.S_ISSOCK(path.lstat().st_mode)


@pytest.mark.skipif(not ROOT_USER, reason="making a device node needs root")
def test_a_block_device_is_refused_as_root(tmp_path):
    node = tmp_path / "blk"
    os.mknod(node, 0o600 | stat.S_IFBLK, os.makedev(7, 250))  # a loop device number
    p = bp("-c", f"x = 1; save {node}")
    assert p.returncode == 1 and "block device" in p.stderr
    assert stat.S_ISBLK(node.lstat().st_mode) and temp_files(tmp_path) == []


@pytest.mark.skipif(ROOT_USER, reason="root may write a read-only folder")
def test_a_read_only_folder_is_a_file_error(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        p = bp("-c", f"x = 1; save {folder / 's.bp'}")
    finally:
        folder.chmod(0o700)
    assert p.returncode == 1 and "cannot write" in p.stderr


# ---------------------------------------------------------------- scripts that replay


def test_deleting_a_function_still_called_is_refused():
    s = session_with("def h(u) = 2*u\ndef k(u) = h(u) + 1\nx = 3\nz = k(x)\ndef g(u) = u*u\n"
                     "y = g(x)")
    for statement, users in (("del h", "k"), ("del k", "z"), ("del g", "y"), ("del h, k", "z")):
        (r,) = s.run(statement)
        assert r["ok"] is False and f"is used by {users}" in r["error"]["message"], r
    assert set(s.funcs) == {"h", "k", "g"}
    assert s.run("z")[0]["value"] == 7.0  # 2*3 + 1
    assert all(r["ok"] for r in s.run("del z, k, h; del y; del g"))
    assert s.funcs == {} and list(s.bindings) == ["x"]


def test_a_def_that_makes_a_formula_read_itself_is_refused():
    s = session_with("def f(u) = u\nx = 1\ny = f(x) + 1\ndef g(u) = u*y")
    (r,) = s.run("def f(u) = g(u)")
    assert r["ok"] is False and "would make y read itself" in r["error"]["message"]
    assert s.funcs["f"].text == "u" and s.run("y")[0]["value"] == 2.0
    # a formula that reads another that reads it, through a function
    s = session_with("def f(u) = u\nx = 1\na = f(x)\nb = a + 1\ndef h(u) = u + b")
    (r,) = s.run("def f(u) = h(u)")
    assert r["ok"] is False and "read itself" in r["error"]["message"]
    assert s.run("b")[0]["value"] == 2.0


def test_a_saved_session_replays_exactly_after_refusals(tmp_path):
    s = session_with("seed 1\ndef h(u) = 2*u\ndef k(u) = h(u) + 1\nx = 0.1 + 0.2\n"
                     "z = k(x)\nW = randn(2, 3)\nv = sum(W*z)")
    assert not s.run("del h")[0]["ok"]
    target = tmp_path / "s.bp"
    assert s.run(f"save {target}")[0]["ok"]
    fresh = Session()
    assert all(r["ok"] for r in fresh.run(f"run {target}"))
    for name in ("x", "z", "W", "v"):
        assert np.array_equal(fresh.value_of(name), s.value_of(name)), name
    assert fresh.value_of("z") == 2 * (0.1 + 0.2) + 1


def test_large_arrays_go_to_a_companion_npz(tmp_path):
    # the writer itself (`save` uses it once a `load` command reads .npz files back)
    s = session_with("seed 2\nW = randn(50, 40)\nb = [0.5, 1e400, -3]\nbig = zeros(2000)\n"
                     "y = sum(W) + sum(b)")
    s.bindings["big"].value[7] = np.nan  # nan has no literal; the .npz keeps it
    target = tmp_path / "s.bp"
    text = save_files(s.state, str(target), npz=True)
    companion = Path(npz_path(str(target)))
    assert companion == tmp_path / "s.npz" and target.read_text() == text
    lines = text.splitlines()
    assert f"load {companion}  # W, big" in lines
    assert "b = [0.5, 1e400, -3.0]" in lines and "y = sum(W) + sum(b)" in lines
    assert not any(line.startswith(("W =", "big =")) for line in lines)
    with np.load(companion, allow_pickle=False) as data:
        assert sorted(data.files) == ["W", "big"]
        assert np.array_equal(data["W"], s.bindings["W"].value)
        assert np.array_equal(data["big"], s.bindings["big"].value, equal_nan=True)
        assert data["W"].dtype == np.float64 and data["W"].size > NPZ_ELEMENTS


def test_save_with_a_companion_npz_replays_exactly(tmp_path):
    from bpshell.commands.registry import lookup

    if lookup("load") is None:
        pytest.skip("no 'load' command yet: save writes literals (tested below)")
    s = session_with("seed 3\nW = randn(60, 30)\nbig = zeros(5000) + 0.1\nb = [1, 2]\n"
                     "y = sum(W) + sum(big) + sum(b)")
    target = tmp_path / "s.bp"
    assert s.run(f"save {target}")[0]["ok"]
    assert (tmp_path / "s.npz").exists() and "W = [[" not in target.read_text()
    fresh = Session()
    assert all(r["ok"] for r in fresh.run(f"run {target}"))
    for name in ("W", "big", "b", "y"):
        assert np.array_equal(fresh.value_of(name), s.value_of(name)), name
    assert fresh.value_of("y") == s.value_of("y")


def test_without_load_save_writes_every_array_inline(tmp_path):
    from bpshell.commands.registry import lookup

    if lookup("load") is not None:
        pytest.skip("'load' exists: save writes the .npz, tested above")
    s = session_with("seed 2\nW = randn(50, 40)")
    target = tmp_path / "s.bp"
    assert s.run(f"save {target}")[0]["ok"]
    assert not (tmp_path / "s.npz").exists()
    fresh = Session()
    assert all(r["ok"] for r in fresh.run(f"run {target}"))
    assert np.array_equal(fresh.value_of("W"), s.value_of("W"))
