"""Settings by flag and by environment variable, checked before anything runs; safe mode.

`inf` means "no bound" where a bound can be lifted (a count, a number of seconds), and
anything else a setting cannot take (`nan`, negative, a fraction for a count, a number
too large to mean anything, a word) is a usage error: exit status 2, one line that
names the flag or the variable, no traceback. Safe mode (`--safe`, BPSHELL_SAFE=1)
refuses every statement that reads or writes a file.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
from test_cli import bp, clean_env

from bpshell.cli import main
from bpshell.commands.registry import table
from bpshell.limits import HUGE, Limits, SettingError
from bpshell.session import Session

NUMERIC = [n for n in Limits.FIELDS if not isinstance(getattr(Limits(), n), bool)]
BAD = ["nan", "-1", "-inf", "1e30", "lots", "0x10", "1e400e"]
# lifting the bound makes no sense for the nesting depth, which guards the recursion of
# the parser and of SymPy
CANNOT_BE_UNBOUNDED = {"max_depth"}


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def run_main(args: list[str], env: dict[str, str], monkeypatch, capsys) -> tuple[int, str]:
    """bpshell's main in this process: the status and stderr (a usage error stops before
    the engine runs, so this is quick)."""
    for var in Limits.ENV.values():
        monkeypatch.delenv(var, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    status = main(["--no-config", *args])
    return status, capsys.readouterr().err


@pytest.mark.parametrize("name", NUMERIC)
@pytest.mark.parametrize("value", BAD)
def test_a_bad_value_is_a_usage_error_by_flag_and_by_variable(name, value, monkeypatch,
                                                              capsys):
    status, err = run_main([f"{flag(name)}={value}", "-c", "x = 1"], {}, monkeypatch, capsys)
    assert status == 2 and "Traceback" not in err
    assert f"argument {flag(name)}:" in err
    status, err = run_main(["-c", "x = 1"], {Limits.ENV[name]: value}, monkeypatch, capsys)
    assert status == 2 and "Traceback" not in err
    assert err.splitlines()[-1].startswith(f"bpshell: error: {Limits.ENV[name]}: {name} ")


@pytest.mark.parametrize("name", NUMERIC)
def test_inf_lifts_the_bound_where_that_makes_sense(name, monkeypatch, capsys):
    if name in CANNOT_BE_UNBOUNDED:
        with pytest.raises(SettingError):
            Limits.parse(name, "inf")
        status, err = run_main([f"{flag(name)}=inf", "-c", "x = 1"], {}, monkeypatch, capsys)
        assert status == 2 and "cannot be unbounded" in err
        return
    value = Limits.parse(name, "inf")
    default = getattr(Limits(), name)
    if name in ("time_limit", "simplify_seconds"):
        assert value == 0  # these settings' own word for "no bound"
    else:
        assert value == math.inf and value > default
    assert getattr(Limits.from_env({Limits.ENV[name]: " INF "}), name) == value


@pytest.mark.parametrize("name", NUMERIC)
def test_good_values_are_taken_as_written(name):
    kind = type(getattr(Limits(), name))
    assert Limits.parse(name, "7") == 7 and type(Limits.parse(name, "7")) is kind
    assert Limits.parse(name, "1e3") == 1000
    if kind is int:
        with pytest.raises(SettingError, match="whole number"):
            Limits.parse(name, "2.5")
    with pytest.raises(SettingError):
        Limits.parse(name, str(HUGE * 10))


def test_an_empty_variable_is_not_set():
    assert Limits.from_env({"BPSHELL_MAX_DEPTH": "", "BPSHELL_SAFE": " "}) == Limits()


def test_a_flag_beats_a_bad_variable_only_if_the_variable_is_good():
    # the variable is checked even when a flag overrides it: a typo never hides
    with pytest.raises(SettingError):
        Limits.from_env({"BPSHELL_MAX_NODES": "many"}, max_nodes=5)


def test_no_bound_on_elements_lets_a_large_array_through():
    # 12 million elements: over the default limit of 10 million, under no bound
    refused = Session().run("x = zeros(3000, 4000)")[0]
    assert refused["ok"] is False and refused["error"]["type"] == "limit"
    ok = Session(limits=Limits.from_env({"BPSHELL_MAX_ELEMENTS": "inf"})).run(
        "x = zeros(3000, 4000); sum(x)")
    assert ok[-1]["ok"] and ok[-1]["value"] == 0.0


def test_settings_through_the_console_script():
    p = bp("--time-limit", "nan", "-c", "x = 1")
    assert p.returncode == 2 and p.stdout == "" and "Traceback" not in p.stderr
    p = bp("-c", "x = 1", env=clean_env(BPSHELL_MAX_NODES="-5"))
    assert p.returncode == 2
    assert "BPSHELL_MAX_NODES: max_nodes must be a number 0 or above, not '-5'" in p.stderr
    p = bp("--max-print-elements", "inf", "-c", "x = zeros(20000)")
    assert p.returncode == 0 and p.stdout.count("0.") == 20000
    p = bp("-c", "x = zeros(20000)")
    assert p.returncode == 0 and p.stdout.count("0.") == 6  # the first and last three
    p = bp("-c", "x = 1", env=clean_env(BPSHELL_SAFE="maybe"))
    assert p.returncode == 2 and "BPSHELL_SAFE" in p.stderr


@pytest.mark.slow
@pytest.mark.parametrize("name", NUMERIC)
def test_every_bad_value_through_the_console_script(name):
    for value in BAD:
        for args, env in (([f"{flag(name)}={value}"], clean_env()),
                          ([], clean_env(**{Limits.ENV[name]: value}))):
            p = bp(*args, "-c", "x = 1", env=env)
            assert p.returncode == 2, (name, value, p.stderr)
            assert p.stdout == "" and "Traceback" not in p.stderr


# ---------------------------------------------------------------- safe mode


def _file_examples() -> list[tuple[str, str]]:
    out = []
    for cmd in table().values():
        if cmd.files:
            out.extend((cmd.name, ex) for ex in cmd.examples)
    return out


FILE_EXAMPLES = _file_examples()
SAFE = Limits(safe=True)


@pytest.mark.parametrize("command, example", FILE_EXAMPLES,
                         ids=[e for _, e in FILE_EXAMPLES])
def test_safe_mode_refuses_each_command_that_uses_a_file(command, example, tmp_path,
                                                         monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = Session(limits=SAFE)
    setup = s.run("price = 2; y = 3; loss = y*y; x = 1")
    assert all(r["ok"] for r in setup)
    (r,) = s.run(example)
    uses_a_file = bool(table()[command].paths(_args(example)))
    if uses_a_file:
        assert r["ok"] is False and r["error"]["type"] == "safe", r
        assert "safe mode" in r["error"]["message"]
        assert list(tmp_path.iterdir()) == []  # nothing written
    else:
        assert r["ok"] or r["error"]["type"] != "safe"


def _args(example: str) -> dict:
    from bpshell.commands.registry import words
    from bpshell.language.split import split_statements
    from bpshell.language.statements import parse_statement

    (chunk,) = split_statements(example)
    return parse_statement(chunk, words()).args


@pytest.mark.parametrize("statement", [
    "save s.bp", "run s.bp", "export out.txt", "export out.svg", "draw y",
    "draw y to y.svg", "draw y layers to y.dot", "codegen y to y.py",
    "codegen y torch to t.py", "plot y wrt x from 0 to 1 to p.png", "load data.npz",
])
def test_safe_mode_refuses_reading_and_writing(statement, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.bp").write_text("z = 1\n")
    (tmp_path / "data.npz").write_bytes(b"")
    s = Session(limits=SAFE)
    assert all(r["ok"] for r in s.run("x = 0.5; y = sigmoid(x)"))
    before = sorted(p.name for p in tmp_path.iterdir())
    (r,) = s.run(statement)
    if statement.startswith("load") and "load" not in table():
        assert r["ok"] is False  # no such command on this branch yet
        return
    assert r["ok"] is False and r["error"]["type"] == "safe", r
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert "z" not in s.bindings


def test_safe_mode_allows_what_touches_no_file():
    s = Session(limits=SAFE)
    results = s.run("x = 0.5; y = sigmoid(x); grad y; plot y wrt x from 0 to 1; codegen y; "
                    "help save; vars; tree y")
    assert all(r["ok"] for r in results), [r for r in results if not r["ok"]]


def test_safe_mode_by_flag_and_by_variable(tmp_path: Path):
    target = tmp_path / "out.bp"
    for args, env in ((["--safe"], clean_env()), ([], clean_env(BPSHELL_SAFE="1"))):
        p = bp(*args, "-c", f"x = 1; save {target}", env=env)
        assert p.returncode == 1 and "safe mode" in p.stderr
        assert p.stdout == "x = 1\n" and not target.exists()
    p = bp("-c", f"x = 1; save {target}", env=clean_env(BPSHELL_SAFE="0"))
    assert p.returncode == 0 and target.exists()


def test_safe_mode_in_a_script_run_by_a_script(tmp_path: Path):
    inner = tmp_path / "inner.bp"
    inner.write_text(f"w = 2\nsave {tmp_path / 'leak.bp'}\n")
    p = bp("--safe", "-c", f"run {inner}")
    assert p.returncode == 1 and not (tmp_path / "leak.bp").exists()
    assert os.listdir(tmp_path) == ["inner.bp"]


def test_a_summarized_value_says_how_to_see_all():
    p = bp("-c", "x = linspace(0, 1, 20001)")
    (shown,) = p.stdout.splitlines()
    assert "..." in shown and shown.count(",") < 20
    assert "over the print limit of 1,000" in shown and "--max-print-elements" in shown
    values = [float(v) for v in shown.split("[", 1)[1].split("]")[0].split(",")
              if v.strip() != "..."]
    assert values[:3] == [0.0, 5e-05, 0.0001] and values[-1] == 1.0
    assert np.allclose(values[-3:], [0.9999, 0.99995, 1.0])


def test_safe_mode_cannot_be_turned_off_from_inside(tmp_path):
    s = Session(limits=Limits(safe=True))
    (r,) = s.run("set safe false")
    assert r["ok"] is False and r["error"]["type"] == "safe"
    assert s.limits.safe is True
    script = tmp_path / "evil.bp"
    script.write_text(f"set safe 0\nsave {tmp_path / 'out.bp'}\n")
    p = bp("--safe", str(script))
    assert p.returncode == 1 and not (tmp_path / "out.bp").exists()
    # turning it on from inside is fine, and it holds from then on
    s = Session()
    assert s.run("set safe true")[0]["ok"] and s.limits.safe is True
    assert s.run(f"save {tmp_path / 'x.bp'}")[0]["error"]["type"] == "safe"


def test_safe_mode_allows_the_built_in_data_sets():
    if "load" not in table():
        pytest.skip("no 'load' command on this branch")
    s = Session(limits=SAFE)
    for statement in ("load moons 20", "load xor 8", "load digits"):
        (r,) = s.run(statement)
        assert r["ok"], (statement, r.get("error"))
