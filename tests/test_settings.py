"""Settings: flag > environment > config file > default for every limit and the shell's own
settings; `set` in a session; an invalid value is an error naming its key (exit 2)."""

from __future__ import annotations

import pytest
from test_cli import bp, clean_env

from bpshell.limits import Limits
from bpshell.session import Session
from bpshell.settings import SettingsError, all_settings, config_path, load

LIMITS = [n for n in Limits.FIELDS if not isinstance(getattr(Limits(), n), bool)]  # numbers


def write_config(tmp_path, text: str) -> str:
    path = tmp_path / "bpshell" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def test_every_limit_is_a_setting_read_from_the_limits_class():
    table = all_settings()
    assert set(LIMITS) <= set(table)
    assert {"color", "ascii", "history_size", "startup"} <= set(table)
    for name in LIMITS:
        assert table[name].limit and table[name].env == Limits.ENV[name]


@pytest.mark.parametrize("name", LIMITS)
def test_precedence_is_flag_then_environment_then_config_then_default(name, tmp_path):
    s = all_settings()[name]
    default, cfg, env, flag = s.default, 3, 5, 7
    path = write_config(tmp_path, f"{name} = {cfg}\n")
    environ = {"XDG_CONFIG_HOME": str(tmp_path)}
    assert config_path(environ) == path
    assert load({}, environ, config=False)[name] == default
    assert load({}, environ)[name] == cfg
    assert load({}, {**environ, s.env: str(env)})[name] == env
    got = load({name: flag}, {**environ, s.env: str(env)})
    assert got[name] == flag and got.sources[name] == "flag"
    assert getattr(got.limits(), name) == flag


def test_the_shell_settings_follow_the_same_order(tmp_path):
    write_config(tmp_path, 'color = "never"\nascii = true\nhistory_size = 5\n'
                           'startup = "~/start.bp"\n')
    environ = {"XDG_CONFIG_HOME": str(tmp_path)}
    got = load({}, environ)
    assert (got["color"], got["ascii"], got["history_size"]) == ("never", True, 5)
    got = load({"color": "always"}, {**environ, "BPSHELL_COLOR": "auto",
                                     "BPSHELL_ASCII": "no"})
    assert (got["color"], got["ascii"]) == ("always", False)


def test_a_limits_table_in_the_config_file_is_read_too(tmp_path):
    write_config(tmp_path, "[limits]\nmax_depth = 50\ntime_limit = 2.5\n")
    got = load({}, {"XDG_CONFIG_HOME": str(tmp_path)})
    assert got["max_depth"] == 50 and got["time_limit"] == 2.5


@pytest.mark.parametrize("text, says", [
    ("max_depth = 'deep'\n", "max_depth must be a whole number"),
    ("max_depth = 2.5\n", "max_depth must be a whole number"),
    ("max_depth = -1\n", "max_depth must be a number 0 or above"),
    ("color = 'blue'\n", "color must be one of auto, always, never"),
    ("ascii = 'perhaps'\n", "ascii must be true or false"),
    ("max_dept = 5\n", "unknown setting 'max_dept'; did you mean 'max_depth'?"),
    ("max_depth = \n", "not valid TOML"),
])
def test_an_invalid_config_names_the_key_and_exits_2(tmp_path, text, says):
    path = write_config(tmp_path, text)
    with pytest.raises(SettingsError) as e:
        load({}, {"XDG_CONFIG_HOME": str(tmp_path)})
    assert says in e.value.message and path in e.value.message
    p = bp("-c", "1", env=clean_env(XDG_CONFIG_HOME=str(tmp_path)))
    assert p.returncode == 2 and says in p.stderr and "Traceback" not in p.stderr
    assert bp("--no-config", "-c", "1",
              env=clean_env(XDG_CONFIG_HOME=str(tmp_path))).returncode == 0


def test_an_invalid_environment_value_names_the_variable():
    with pytest.raises(SettingsError) as e:
        load({}, {"BPSHELL_MAX_NODES": "many"}, config=False)
    assert e.value.message.startswith("BPSHELL_MAX_NODES: max_nodes must be")


def test_the_config_file_reaches_a_run_and_a_flag_beats_it(tmp_path):
    write_config(tmp_path, "max_depth = 3\n")
    env = clean_env(XDG_CONFIG_HOME=str(tmp_path))
    p = bp("-c", "((((1))))", env=env)
    assert p.returncode == 1 and "more than 3 levels" in p.stderr
    assert bp("--max-depth", "10", "-c", "((((1))))", env=env).returncode == 0
    env["BPSHELL_MAX_DEPTH"] = "10"
    assert bp("-c", "((((1))))", env=env).returncode == 0


def test_set_shows_and_changes_a_setting_for_the_session():
    s = Session()
    (r,) = s.run("set")
    assert {row["name"] for row in r["settings"]} == set(all_settings())
    (r,) = s.run("set max_depth 3")
    assert r["changed"] == {"max_depth": 3} and s.limits.max_depth == 3
    (r,) = s.run("((((1))))")
    assert not r["ok"] and "more than 3 levels" in r["error"]["message"]
    (r,) = s.run("set max_depth lots")
    assert not r["ok"] and "max_depth must be a whole number" in r["error"]["message"]
    (r,) = s.run("set max_dpeth 4")
    assert "did you mean 'max_depth'" in r["error"]["message"]
    assert s.limits.max_depth == 3


def test_a_failed_run_undoes_its_set(tmp_path):
    script = tmp_path / "s.bp"
    script.write_text("set max_nodes 99\nnope(1)\n")
    s = Session()
    before = s.limits.max_nodes
    (r,) = s.run(f"run {script}")
    assert not r["ok"] and s.limits.max_nodes == before
    assert s.settings.values["max_nodes"] == all_settings()["max_nodes"].default


def test_set_ascii_changes_the_drawing_from_the_next_result():
    p = bp("-c", "x = 0.5; y = sigmoid(x); grad y; set ascii true; grad y")
    first, second = p.stdout.split("set ascii")
    assert "∂y/∂x" in first and "d y/d x" in second and "∂" not in second


def test_the_startup_script_runs_before_the_first_prompt(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    import os
    import sys

    from test_shell import ROOT

    start = tmp_path / "start.bp"
    start.write_text("apple = 100\n")
    write_config(tmp_path, f'startup = "{start}"\n')
    env = {**clean_env(XDG_CONFIG_HOME=str(tmp_path)), "NO_COLOR": "1",
           "PROMPT_TOOLKIT_NO_CPR": "1", "BPSHELL_HISTORY": str(tmp_path / "h"),
           "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    child = pexpect.spawn(sys.executable, ["-m", "bpshell"], env=env, cwd=str(ROOT),
                          encoding="utf-8", timeout=30, dimensions=(30, 100))
    child.expect("apple = 100")
    child.expect(">>>")
    child.sendline("apple * 2")
    child.expect("200")
    child.sendline("exit")
    child.expect(pexpect.EOF)
