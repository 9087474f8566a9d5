"""step and fit against hand computations; the seed exercises through the console script."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bpshell.session import Session

ROOT = Path(__file__).resolve().parent.parent


def run(src: str) -> list[dict]:
    results = Session().run(src)
    assert all(r["ok"] for r in results), results[-1]
    return results


def bpshell(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bpshell", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120, **kw)


def test_step_on_the_apple_graph_is_one_sgd_step():
    # d price / d apple = n * tax = 2.2, so apple -> 100 - 0.1 * 2.2 = 99.78 and
    # price -> 99.78 * 2 * 1.1; n and tax are not in wrt and stay.
    s = Session()
    r = s.run("apple = 100; n = 2; tax = 1.1; price = apple*n*tax; step price lr 0.1 wrt apple")
    step = r[-1]
    assert step["ok"] and step["kind"] == "step"
    assert step["loss_before"] == pytest.approx(220)
    assert step["loss_after"] == pytest.approx(99.78 * 2 * 1.1)
    assert s.value_of("apple") == pytest.approx(99.78)
    assert s.value_of("n") == 2 and s.value_of("tax") == 1.1


def test_step_without_wrt_steps_the_parameters_only():
    # apple and tax are parameters: each moves by -lr * gradient (2.2 and 200, the book's
    # numbers); n is data and keeps its value
    s = Session()
    r = s.run("apple = 100; n = 2; tax = 1.1; price = apple*n*tax; param apple, tax; "
              "step price lr 0.001")
    assert r[-1]["ok"] and r[-1]["updated"] == ["apple", "tax"], r[-1]
    assert s.value_of("apple") == pytest.approx(100 - 0.001 * 2.2)
    assert s.value_of("tax") == pytest.approx(1.1 - 0.001 * 200)
    assert s.value_of("n") == 2


def test_step_without_wrt_or_parameters_refuses_and_says_what_to_type():
    s = Session()
    r = s.run("apple = 100; n = 2; tax = 1.1; price = apple*n*tax; step price lr 0.001")[-1]
    assert not r["ok"]
    msg = r["error"]["message"]
    assert "apple, n, tax" in msg and "'param " in msg
    assert "'step price lr 0.001 wrt " in msg
    assert (s.value_of("apple"), s.value_of("n"), s.value_of("tax")) == (100, 2, 1.1)


def test_fit_with_momentum_and_adam_reduce_a_quadratic():
    for option in ("momentum 0.9", "adam"):
        s = Session()
        r = s.run(f"w = 5; loss = (w - 2)**2; fit loss lr 0.05 steps 400 wrt w {option}")
        assert r[-1]["ok"], r[-1]
        assert abs(s.value_of("w") - 2) < 1e-2


def test_failed_fit_changes_nothing():
    # a learning rate that diverges to inf fails the statement and keeps w
    s = Session()
    r = s.run("w = 5; loss = w**4; fit loss lr 10 steps 50 wrt w")
    assert not r[-1]["ok"] and "lr" in r[-1]["error"]["message"]
    assert s.value_of("w") == 5


def _last_json(stdout: str, kind: str) -> dict:
    rows = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    return [r for r in rows if r["kind"] == kind][-1]


def test_linear_unit_example_learns_w_and_b():
    out = bpshell("--json", "examples/linear_unit.bp")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    values = [r["value"] for r in rows if r["kind"] == "value"]
    assert abs(values[0] - 3.0) < 1e-3 and abs(values[1] - 0.5) < 1e-3
    assert _last_json(out.stdout, "fit")["loss_after"] < 1e-6


def test_fit_square_example_loss_falls_under_its_threshold():
    out = bpshell("--json", "examples/fit_square.bp")
    assert out.returncode == 0, out.stderr
    fit = _last_json(out.stdout, "fit")
    assert fit["loss_before"] > 1.0
    assert fit["loss_after"] < 0.01  # the threshold stated in the README


def test_plot_writes_a_png(tmp_path):
    png = tmp_path / "sigmoid.png"
    r = Session().run(f"plot sigmoid(x) wrt x from -6 to 6 to {png}")[-1]
    assert r["ok"], r
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    # the derivative drawn is sigmoid' = s(1 - s), at most 1/4 (at x = 0)
    assert np.max(r["dy"]) == pytest.approx(0.25, abs=1e-3)


def test_interrupt_during_fit_keeps_the_parameters_reached():
    # the fast, in-process version of the next test: Ctrl-C (KeyboardInterrupt in the main
    # thread) stops the fit; w has moved from 5 toward the minimum at 2 and stays there.
    # The interrupt is sent from inside the loop (its progress hook, at step 1000), so it
    # lands during the fit however loaded the machine is
    import _thread

    s = Session()
    assert all(r["ok"] for r in s.run("w = 5\nloss = (w - 2)**2"))

    def progress(step, total, loss, every):
        if step == 1000:
            _thread.interrupt_main()

    s.progress = progress
    fit = s.run("fit loss lr 0.0000001 steps 100000000 wrt w every 1000000")[-1]
    assert fit["ok"] and fit["interrupted"] is True, fit
    assert 0 < fit["steps_done"] < 100000000
    # each step moves w by lr * 2*(w - 2): k steps leave w - 2 = 3 * (1 - 2e-7)**k (the
    # interrupt may land between a step's update and its count: k or k + 1 steps); each
    # step rounds w (about 5) by up to 4.4e-16, so 10**5 steps may drift by 1e-10
    k = fit["steps_done"]
    w = s.run("w")[-1]["value"]
    drift = 5e-16 * k + 1e-12
    assert 2 + 3 * (1 - 2e-7) ** (k + 1) - drift <= w <= 2 + 3 * (1 - 2e-7) ** k + drift
    assert 2 < w < 5


@pytest.mark.slow
def test_sigint_during_fit_keeps_the_parameters_reached(tmp_path):
    # a fit far too long to finish; SIGINT stops it and the script (exit status 130), and
    # the fit's result says where w got to: the parameters reached are kept
    script = tmp_path / "long.bp"
    script.write_text("w = 5\nloss = (w - 2)**2\nfit loss lr 0.0000001 steps 100000000 "
                      "wrt w every 1000000\nw\n")
    proc = subprocess.Popen([sys.executable, "-m", "bpshell", "--json", "--time-limit", "0",
                             str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                            # a suite run from a background job would pass SIGINT ignored
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(4)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    fit = [r for r in rows if r["kind"] == "fit"]
    assert fit and fit[0]["interrupted"] is True, (out, err)
    assert 0 < fit[0]["steps_done"] < 100000000
    assert proc.returncode == 130 and not [r for r in rows if r["kind"] == "value"]
    w = 2 + fit[0]["loss_after"] ** 0.5  # loss = (w - 2)**2, and w moves down from 5
    assert 2 < w < 5  # moved toward 2, kept after the interrupt


def test_fit_in_a_pipe_prints_a_loss_line_every_n_steps_and_json_one_result():
    src = "w = 5; loss = (w - 2)**2; fit loss lr 0.1 steps 40 wrt w every 10"
    out = bpshell("-c", src)
    assert out.returncode == 0, out.stderr
    lines = [ln for ln in out.stdout.splitlines() if ln.strip().startswith("step ")]
    # w - 2 shrinks by (1 - 2*0.1) per step: loss = 9 * 0.8**(2k)
    assert [ln.split(":")[0].strip() for ln in lines] == ["step 10", "step 20", "step 30",
                                                          "step 40"]
    assert float(lines[0].split("loss")[1]) == pytest.approx(9 * 0.8**20, rel=1e-6)
    js = bpshell("--json", "-c", src)
    rows = [json.loads(line) for line in js.stdout.splitlines()]
    fits = [r for r in rows if r["kind"] == "fit"]
    assert len(fits) == 1 and len(rows) == 3
    assert fits[0]["trace"][-1] == [40, pytest.approx(9 * 0.8**80, rel=1e-6)]
