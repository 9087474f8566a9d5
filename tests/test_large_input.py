"""Large input: a long line typed or pasted without bracketed paste, a long `run FILE`,
a value of millions of elements shown or written, a plot of a million points.

Memory is measured as the process's peak resident size (ru_maxrss) in a child process,
against what keeping everything would cost, worked out here.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys

import numpy as np
import pytest
from prompt_toolkit.buffer import Buffer
from test_cli import ROOT, bp, clean_env, default_sigint

from bpshell.render.plotfile import thin_line, thin_points
from bpshell.session import RUN_KEEPS, Session
from bpshell.shell.repl import bound_undo

# ---------------------------------------------------------------- the undo stack


def typed(buffer: Buffer, text: str) -> None:
    """Type text key by key as prompt_toolkit does: save the state, insert one character."""
    for ch in text:
        buffer.save_to_undo_stack()
        buffer.insert_text(ch)


def undo_chars(buffer: Buffer) -> int:
    return sum(len(t) for t, _ in buffer._undo_stack)


def test_the_undo_stack_of_a_long_line_is_bounded():
    limit = 200_000
    buffer = Buffer()
    bound_undo(buffer, limit)
    typed(buffer, "x = [" + "1, " * 6000 + "1]")  # 18 KB, key by key: 160 MB unbounded
    assert buffer.text.endswith("1, 1]")
    # at most limit characters, or 16 states when the line is longer than limit / 16
    assert undo_chars(buffer) <= max(limit, 16 * len(buffer.text)) + len(buffer.text)
    buffer.undo()  # undo still steps back
    assert buffer.text == "x = [" + "1, " * 6000 + "1"


def test_a_short_line_keeps_its_whole_undo_history():
    buffer = Buffer()
    bound_undo(buffer)
    typed(buffer, "y = 2*x")
    for expected in ("y = 2*", "y = 2", "y = "):
        buffer.undo()
        assert buffer.text == expected


_PASTE = """
import io, resource, sys, threading, time
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from bpshell.render.out import Options, Output
from bpshell.session import Session
from bpshell.shell.repl import interactive
n = int(sys.argv[1])
line = "x = sum([" + ", ".join(["1"] * (n // 3)) + "])"
buf = io.StringIO()
with create_pipe_input() as pipe:
    def typist():
        for i in range(0, len(line), 4096):  # no bracketed paste: every byte a key press
            pipe.send_text(line[i:i + 4096])
        pipe.send_text("\\r")
        time.sleep(1)
        pipe.close()
    t = threading.Thread(target=typist)
    t.start()
    interactive(Session(), Output(Options(), buf), history=InMemoryHistory(), input=pipe,
                output=DummyOutput())
    t.join()
print(buf.getvalue().splitlines()[-1], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


@pytest.mark.slow
def test_a_200kb_line_without_bracketed_paste_stays_small():
    # unbounded, prompt_toolkit would keep 200,000 growing copies of the line: 20 GB
    p = subprocess.run([sys.executable, "-c", _PASTE, "200000"], capture_output=True,
                       text=True, env=clean_env(PYTHONPATH=str(ROOT)), cwd=ROOT, timeout=1800,
                       preexec_fn=default_sigint)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith(f"x = {200000 // 3} ")  # the sum of 66,666 ones
    assert int(p.stdout.split()[-1]) < 400 * 1024


# ---------------------------------------------------------------- run FILE


_RUN_PEAK = """
import resource, sys
from bpshell.cli import main
status = main(sys.argv[1:])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
sys.exit(status)
"""


def test_run_file_keeps_none_of_its_results(tmp_path):
    # 600 statements, each a 720 KB array: 430 MB if the run kept its results
    script = tmp_path / "big.bp"
    script.write_text("seed 0\n" + "x = randn(300, 300)\n" * 600 + "s = 1\n")
    p = subprocess.run([sys.executable, "-c", _RUN_PEAK, "-c", f"run {script}; s"],
                       capture_output=True, text=True, env=clean_env(PYTHONPATH=str(ROOT)),
                       cwd=ROOT, timeout=300, preexec_fn=default_sigint)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert sum(s.startswith("x = [[") for s in lines) == 600
    assert lines[-2:] == [f"ran {script} (602 statements)", "1"]
    assert int(p.stderr.split()[-1]) < 300 * 1024


def test_a_library_run_keeps_only_the_last_results(tmp_path):
    script = tmp_path / "many.bp"
    script.write_text("".join(f"v{k} = {k}\n" for k in range(RUN_KEEPS + 50)))
    (r,) = Session().run(f"run {script}")
    assert r["ok"] and r["statements"] == RUN_KEEPS + 50
    assert [x["value"] for x in r["results"]] == list(range(50, RUN_KEEPS + 50))


# ---------------------------------------------------------------- showing big values


def test_a_9_million_element_value_prints_as_a_summary():
    p = subprocess.run([sys.executable, "-c", _RUN_PEAK, "-c",
                        "x = zeros(3000, 3000) + 1; x"], capture_output=True, text=True,
                       env=clean_env(PYTHONPATH=str(ROOT)), cwd=ROOT, timeout=120,
                       preexec_fn=default_sigint)
    assert p.returncode == 0, p.stderr
    assert len(p.stdout) < 2000 and p.stdout.count("...") >= 2
    assert "over the print limit of 1,000" in p.stdout
    assert int(p.stderr.split()[-1]) < 600 * 1024  # the arrays themselves are 72 MB each


def test_json_summarizes_past_a_million_elements_and_stays_json():
    p = bp("--json", "-c", "x = linspace(0, 1, 1000001); y = linspace(0, 1, 20001)")
    x, y = (json.loads(s) for s in p.stdout.splitlines())
    assert x["value"]["shape"] == [1000001] and x["value"]["elements"] == 1000001
    shown = [float(v) for v in x["value"]["summary"].strip("[]").split(",")
             if v.strip() != "..."]
    assert np.allclose(shown, [0, 1e-6, 2e-6, 1 - 2e-6, 1 - 1e-6, 1], rtol=0, atol=1e-12)
    assert "print limit" in x["value"]["note"]
    assert y["value"] == np.linspace(0, 1, 20001).tolist()  # under a million: every element
    p = bp("--json", "--max-print-elements", "inf", "-c", "x = zeros(1000001)")
    assert json.loads(p.stdout)["value"] == [0.0] * 1000001


def test_whole_values_print_as_numpy_prints_them():
    # the linear printer gives NumPy's own text, for every shape
    from bpshell.render.format import Style, value_text

    rng = np.random.default_rng(0)
    for v in (rng.standard_normal(3000), rng.standard_normal((40, 70)),
              rng.standard_normal((3, 5, 90)) * 1e6, np.array([np.inf, -np.inf, np.nan, 1.5]),
              np.arange(2000.0), np.zeros((1, 1, 300))):
        for prefix in ("", "x = ", "a_long_name = "):
            expected = np.array2string(v, separator=", ", prefix=prefix,
                                       threshold=sys.maxsize, max_line_width=1 << 30)
            assert value_text(v, Style(print_limit=1e9), prefix) == expected


# ---------------------------------------------------------------- a plot of a million points


def test_thinning_keeps_every_run_extreme():
    rng = np.random.default_rng(1)
    x = np.linspace(0, 1, 1_000_003)
    y = np.cumsum(rng.standard_normal(x.size))
    tx, ty = thin_line(x, y, 4000)
    assert len(tx) <= 4000 and np.all(np.diff(tx) > 0)
    assert ty.min() == y.min() and ty.max() == y.max()
    k = int(np.ceil(x.size / 2000))  # samples per run
    last = (x.size - 1) // k * k
    for start in (0, 500 * k, last):  # each run's lowest and highest sample is kept
        run = y[start:start + k]
        assert run.min() in ty and run.max() in ty


def test_thinning_a_scatter_keeps_one_point_per_cell():
    rng = np.random.default_rng(2)
    x, y = rng.random(1_000_000), rng.random(1_000_000)
    tx, ty = thin_points(x, y, 100)
    def cell(v, lo, hi):  # 100 cells across the points' range
        return min(int((v - lo) / (hi - lo) * 100), 99)

    cells = {(cell(a, x.min(), x.max()), cell(b, y.min(), y.max())) for a, b in zip(tx, ty)}
    assert len(cells) == len(tx) <= 100 * 100
    assert len(cells) > 9900  # a million uniform points fill every cell


def test_a_million_point_plot_draws_its_curve():
    p = bp("-c", "x = linspace(-6, 6, 1000000); plot sigmoid(x) wrt x", timeout=120)
    assert p.returncode == 0, p.stderr
    assert "sigmoid(x)" in p.stdout and "⠀" not in p.stdout.splitlines()[0]
    assert any(ch in p.stdout for ch in "⣀⠤⠒⠉")  # braille dots: a curve was drawn


def test_ru_maxrss_is_in_kilobytes_here():
    # the memory bounds above read ru_maxrss as kilobytes (Linux); elsewhere they'd lie
    if sys.platform != "linux":
        pytest.skip("ru_maxrss is in bytes on macOS")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss > 10_000


def test_showing_a_result_is_bounded_by_the_time_limit():
    import io
    import time

    from bpshell.render.out import Options, Output
    from bpshell.runner import run_source

    def slow_show(result):  # a drawing that would take 30 s
        end = time.monotonic() + 30
        while time.monotonic() < end:
            pass

    err = io.StringIO()
    out = Output(Options(), io.StringIO(), err)
    started = time.monotonic()
    status = run_source(Session(), "x = 1", out, "<t>", time_limit=0.5, show=slow_show)
    assert time.monotonic() - started < 20
    assert status.failed == 1
    assert "showing this result took longer than 0.5 s" in err.getvalue()
