"""Every benchmark runs once at a tiny size, so that bench/ keeps working (no timing checked).

A row whose baseline is an optional package (micrograd, PyTorch) must be skipped with a
record that says why, never fail, when the package is absent: BPSHELL_BENCH_NO hides
installed ones so that this is tested on any machine.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")
SCRIPTS = ("startup", "diff_time", "script_session", "scalar_grad", "train_step",
           "tensor_step", "scalar_chain", "symbolic_chain", "digits_fit")
KEYS = {"bench", "figure", "value", "unit", "baseline", "baseline_value", "ratio", "goal", "met"}
OPTIONAL = {"micrograd": "micrograd", "torch": "PyTorch"}  # module: its name in a baseline


def _records(name: str, **env: str) -> list[dict]:
    """The JSON records of bench/NAME.py --tiny, run with env added to the environment."""
    done = subprocess.run([sys.executable, os.path.join(BENCH, f"{name}.py"), "--tiny"],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env})
    assert done.returncode == 0, done.stderr[-2000:]
    return [json.loads(line) for line in done.stdout.splitlines()]


def _needs(record: dict) -> set[str]:
    """The optional modules a record's baseline is measured with."""
    return {m for m, label in OPTIONAL.items() if label in record["baseline"]}


# seconds each: CI runs them, a default run not
SLOW_SCRIPTS = {"script_session", "startup", "digits_fit", "scalar_grad"}


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.slow if name in SLOW_SCRIPTS else ())
    for name in SCRIPTS])
def test_benchmark_runs_at_a_tiny_size(name: str) -> None:
    records = _records(name)
    assert records[0]["bench"] == name and "machine" in records[0]
    figures = records[1:]
    assert figures
    for r in figures:
        assert set(r) >= KEYS, r
        absent = {m for m in _needs(r) if importlib.util.find_spec(m) is None}
        if r.get("skipped"):
            assert absent and r["value"] is None and r["met"] is None, r
        else:
            assert not absent, r
            assert r["value"] > 0 and r["ratio"] is not None and r["ratio"] > 0, r


def test_rows_needing_micrograd_or_torch_are_skipped_when_they_are_hidden() -> None:
    records = _records("scalar_grad", BPSHELL_BENCH_NO="micrograd,torch")
    figures = [r for r in records if "machine" not in r]
    assert {m for r in figures for m in _needs(r)} == set(OPTIONAL)
    for r in figures:
        assert set(r) >= KEYS, r
        assert r["skipped"] and "hidden by BPSHELL_BENCH_NO" in r["skipped"], r
        assert r["value"] is None and r["ratio"] is None and r["met"] is None, r


def _run_all():
    """bench/run_all.py as a module."""
    sys.path.insert(0, BENCH)
    try:
        import run_all
    finally:
        sys.path.remove(BENCH)
    return run_all


def test_run_all_prints_one_row_per_figure() -> None:
    run_all = _run_all()
    assert set(run_all.BENCHES) == set(SCRIPTS)
    records = [{"bench": "x", "machine": {"cpu": "cpu", "cores": 2, "python": "3", "numpy": "2",
                                          "sympy": "1", "blas": "blas", "blas_env": {},
                                          "load_average": [1.5, 1.0, 0.5]}},
               {"bench": "x", "figure": "f", "value": 1.5, "unit": "ms", "baseline": "b",
                "baseline_value": 3.0, "ratio": 0.5, "goal": "ratio <= 1", "met": True},
               {"bench": "x", "figure": "g", "value": None, "unit": None, "baseline": "torch",
                "baseline_value": None, "ratio": None, "goal": None, "met": None,
                "skipped": "torch is not installed"}]
    text = run_all.table(records, [1.25, 1.0, 0.75])
    assert "| f | 1.5 ms | b: 3 ms | 0.5x | ratio <= 1 | yes |" in text
    assert "| g | skipped | torch | - |  | skipped: torch is not installed |" in text
    assert "Machine: cpu, 2 cores" in text
    assert "Load average (1 min) when each benchmark started: 1.5" in text
    assert "Load average at the end (1, 5, 15 min): 1.25, 1.00, 0.75." in text
