"""Help teaches: `help NAME` for every command and option word gives the syntax, examples
that run, and notes; every op has an entry; `help` fits one screen; a Python habit gets
the bpshell spelling."""

from __future__ import annotations

import io

import pytest
from test_commands import SETUP

from bpshell.commands.registry import table
from bpshell.ops.table import OPS
from bpshell.render.format import Style
from bpshell.render.items import items_for
from bpshell.render.out import Options, Output
from bpshell.render.text import to_text
from bpshell.session import Session

COMMANDS = [c for c in table().values() if not c.hidden]
OPTIONS = sorted({w for c in COMMANDS for w in c.options})


def help_entries(topic: str) -> list[dict]:
    (r,) = Session().run(f"help {topic}")
    assert r["ok"], r.get("error")
    return r["entries"]


def runs(example: str, tmp_path, monkeypatch) -> None:
    """The example runs after the setup every command's examples assume."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "examples").mkdir(exist_ok=True)
    (tmp_path / "examples" / "apple.bp").write_text("apple = 100\nn = 2\nprice = apple*n\n")
    s = Session()
    assert all(r["ok"] for r in s.run(SETUP))
    (r,) = s.run(example)
    assert r["ok"], (example, r.get("error"))


@pytest.mark.parametrize("cmd", COMMANDS, ids=[c.name for c in COMMANDS])
def test_help_on_a_command_shows_every_option_and_examples_that_run(cmd, tmp_path,
                                                                   monkeypatch):
    (entry,) = [e for e in help_entries(cmd.name) if e["kind"] == "command"]
    shown = to_text(items_for({"kind": "help", "topic": cmd.name, "entries": [entry],
                               "names": {}}, Style()))
    assert shown.splitlines()[0] == entry["usage"]
    for part in cmd.grammar:
        assert part.doc, f"{cmd.name}: '{part.usage}' has no doc"
        assert f"{part.usage or part.key.upper()}  " in shown or part.usage in shown
    assert 2 <= len(entry["examples"]) <= 3 or cmd.name in ("exit", "vars", "reset", "run",
                                                            "save", "tree")
    for example in entry["examples"]:
        assert example in shown
        runs(example, tmp_path, monkeypatch)


@pytest.mark.parametrize("word", OPTIONS)
def test_every_option_word_has_an_entry_with_an_example_that_runs(word, tmp_path,
                                                                 monkeypatch):
    (entry,) = [e for e in help_entries(word) if e["kind"] == "option"]
    assert entry["summary"] and entry["uses"]
    assert entry["examples"], f"no example uses '{word}'"
    for example in entry["examples"]:
        assert f" {word}" in example
        runs(example, tmp_path, monkeypatch)


@pytest.mark.parametrize("op", [o for o in OPS.values() if o.name != "id"],
                         ids=lambda o: o.name)
def test_every_op_has_an_entry_with_its_rule(op):
    entries = [e for e in help_entries(op.name) if e["name"] == op.name]
    assert entries and entries[0]["rule"]["derivative"]
    text = to_text(items_for({"kind": "help", "topic": op.name, "entries": entries,
                              "names": {}}, Style()))
    for form in entries[0]["rule"]["derivative"]:
        assert form in text
    for example in entries[0]["examples"]:  # `rules NAME`, and `diff ...` for some
        (r,) = Session().run(example)
        assert r["ok"], (example, r.get("error"))


def test_sigmoid_help_gives_the_book_derivative():
    (entry,) = [e for e in help_entries("sigmoid") if e["kind"] == "function"]
    assert entry["rule"]["output_form"] == ["y*(1 - y)"]


def test_help_fits_one_screen_grouped():
    (r,) = Session().run("help")
    buf = io.StringIO()
    out = Output(Options(terminal=True), buf)
    out.style = Style(whole=False, width=80)
    out.show(r)
    lines = buf.getvalue().splitlines()
    assert len(lines) <= 30 and max(map(len, lines)) <= 80
    groups = [s.split()[0] for s in lines[1:] if s[:3] == "  " + s[2:3] and s[2] != " "]
    assert groups[:6] == ["values", "gradients", "symbolic", "training", "files", "session"]
    for name in ("momentum", "adam", "step"):  # found through 'help NAME'
        assert help_entries(name)


@pytest.mark.parametrize("source, says", [
    ("x = 1; max(x, 0)", "did you mean relu(x)"),
    ("X = [[1]]; W = [[2]]; dot(X, W)", "did you mean X @ W"),
    ("price = 2; grad(price)", "'grad price'"),
    ("x = 1; np.exp(x)", "did you mean exp(...)"),
    ("x = 1; y = 2*x; y.backward()", "did you mean grad y"),
    ("help funtions", "'help functions'"),
])
def test_python_habits_get_the_bpshell_spelling(source, says):
    r = Session().run(source)[-1]
    assert not r["ok"] and says in r["error"]["message"]


def test_help_on_max_points_a_relu_habit_to_relu():
    # max is NumPy's reduction; its entry says where max(x, 0) as ReLU lives
    (r,) = Session().run("help max")
    assert r["ok"] and any("relu(x)" in e["summary"] for e in r["entries"])


def test_rules_for_one_op():
    (r,) = Session().run("rules sigmoid")
    assert [rule["op"] for rule in r["rules"]] == ["sigmoid"]
