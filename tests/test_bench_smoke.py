"""Every benchmark runs once at a tiny size, so that bench/ keeps working (no timing checked)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")
SCRIPTS = ("tensor_step", "scalar_chain", "symbolic_chain", "diff_time", "script_session",
           "startup", "digits_fit")
KEYS = {"bench", "figure", "value", "unit", "baseline", "baseline_value", "ratio", "goal", "met"}


def _records(name: str) -> list[dict]:
    done = subprocess.run([sys.executable, os.path.join(BENCH, f"{name}.py"), "--tiny"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return [json.loads(line) for line in done.stdout.splitlines()]


# seconds each: CI runs them, a default run not
SLOW_SCRIPTS = {"script_session", "startup", "digits_fit"}


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
        assert r["value"] > 0 and r["ratio"] is not None and r["ratio"] > 0, r


def test_run_all_prints_one_row_per_figure() -> None:
    sys.path.insert(0, BENCH)
    try:
        import run_all
    finally:
        sys.path.remove(BENCH)
    assert set(run_all.BENCHES) == set(SCRIPTS)
    records = [{"bench": "x", "machine": {"cpu": "cpu", "cores": 2, "python": "3", "numpy": "2",
                                          "sympy": "1", "blas": "blas", "blas_env": {}}},
               {"bench": "x", "figure": "f", "value": 1.5, "unit": "ms", "baseline": "b",
                "baseline_value": 3.0, "ratio": 0.5, "goal": "ratio <= 1", "met": True}]
    text = run_all.table(records)
    assert "| f | 1.5 ms | b: 3 ms | 0.5x | ratio <= 1 | yes |" in text
    assert "Machine: cpu, 2 cores" in text
