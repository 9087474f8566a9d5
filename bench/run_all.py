"""Run every benchmark, each in a fresh process, and print their figures as one table.

    python3 bench/run_all.py            # the figures (a few minutes)
    python3 bench/run_all.py --tiny     # tiny sizes: checks that every benchmark runs
    python3 bench/run_all.py --only startup --json results.jsonl
    python3 bench/run_all.py --blas-both   # tensor steps also with the CI's OpenBLAS settings

Each benchmark prints JSON lines (bench/common.py: `emit`); this collects them and prints a
Markdown table with each figure, its baseline measured in the same run, the ratio, the
goal and whether it is met, then the machine and its load average. The benchmarks with
issue 17's goals come first; the rest are context. A row whose baseline is not installed
(micrograd, PyTorch) is shown as skipped, with the reason.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
GOALS = ("startup", "diff_time", "script_session", "scalar_grad", "train_step")
CONTEXT = ("tensor_step", "scalar_chain", "symbolic_chain", "digits_fit")
BENCHES = GOALS + CONTEXT
BLAS_BENCHES = ("train_step", "tensor_step")  # run twice with --blas-both
# the settings CI and the tests run under (older OpenBLAS builds miscompute otherwise); they
# select AVX2 kernels, slower than AVX-512 on machines that have it
CI_BLAS = {"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "512"}


def run(name: str, tiny: bool, env: dict | None = None) -> list[dict]:
    """One benchmark's records; its stderr passes through, a failure raises."""
    argv = [sys.executable, os.path.join(HERE, f"{name}.py"), *(["--tiny"] if tiny else [])]
    done = subprocess.run(argv, stdout=subprocess.PIPE, text=True,
                          env=None if env is None else {**os.environ, **env})
    if done.returncode != 0:
        raise RuntimeError(f"bench/{name}.py exited with {done.returncode}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def _number(value: float | None, unit: str | None) -> str:
    """A figure with its unit, to three significant digits (thousands separated above)."""
    if value is None:
        return "-"
    return f"{value:.3g} {unit}" if abs(value) < 1000 else f"{value:,.0f} {unit}"


def row(r: dict) -> str:
    """One figure's Markdown row; a skipped one says so, and why, in its met column."""
    if r.get("skipped"):
        return (f"| {r['figure']} | skipped | {r['baseline']} | - | {r['goal'] or ''} "
                f"| skipped: {r['skipped']} |")
    base = r["baseline"]
    if r["baseline_value"] is not None:
        base += f": {_number(r['baseline_value'], r['unit'])}"
    ratio = "-" if r["ratio"] is None else f"{r['ratio']:.3g}x"
    met = {True: "yes", False: "**no**", None: ""}[r["met"]]
    return (f"| {r['figure']} | {_number(r['value'], r['unit'])} | {base} | {ratio} "
            f"| {r['goal'] or ''} | {met} |")


def table(records: list[dict], end_load: list[float] | None = None) -> str:
    """Markdown: figure, engine, baseline, ratio, goal, met; then the machine and its load."""
    rows = ["| figure | engine | baseline | ratio | goal | met |", "|---|---|---|---|---|---|"]
    machine = None
    loads = []
    for r in records:
        if "machine" in r:
            machine = machine or r["machine"]
            loads.append(r["machine"].get("load_average"))
        else:
            rows.append(row(r))
    if machine:
        env = ", ".join(f"{k}={v}" for k, v in machine["blas_env"].items()) or "none set"
        rows.append("")
        rows.append(f"Machine: {machine['cpu']}, {machine['cores']} cores; Python "
                    f"{machine['python']}, NumPy {machine['numpy']}, SymPy {machine['sympy']}, "
                    f"{machine['blas']} (BLAS environment: {env}).")
        known = [load[0] for load in loads if load]
        if known:
            rows.append(f"Load average (1 min) when each benchmark started: "
                        f"{', '.join(f'{x:g}' for x in known)} (the machine has "
                        f"{machine['cores']} cores; other work on it slows every figure).")
    if end_load:
        rows.append(f"Load average at the end (1, 5, 15 min): "
                    f"{', '.join(f'{x:.2f}' for x in end_load)}.")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks (all by default) and print the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tiny", action="store_true", help="tiny sizes: only checks they run")
    p.add_argument("--only", action="append", choices=BENCHES,
                   help="run this benchmark only (repeatable)")
    p.add_argument("--json", metavar="FILE", help="also write every record to FILE")
    p.add_argument("--blas-both", action="store_true",
                   help=f"run {' and '.join(BLAS_BENCHES)} a second time with " +
                        " ".join(f"{k}={v}" for k, v in CI_BLAS.items()))
    args = p.parse_args(argv)
    records: list[dict] = []
    for name in args.only or BENCHES:
        print(f"running bench/{name}.py ...", file=sys.stderr, flush=True)
        records.extend(run(name, args.tiny))
        if name in BLAS_BENCHES and args.blas_both:
            records.extend(run(name, args.tiny, CI_BLAS))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in records)
    try:
        end_load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        end_load = None
    print(table(records, end_load))
    return 0


if __name__ == "__main__":
    sys.exit(main())
