"""The command table is complete: each command has a renderer, help, a runnable example,
a README row, and every word the shell completes at the start of a line has help."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from bpshell.commands.help import readme_table
from bpshell.commands.registry import table, words
from bpshell.render.format import Style
from bpshell.render.items import items_for
from bpshell.render.registry import RENDERERS
from bpshell.render.text import to_text
from bpshell.session import Session
from bpshell.shell.complete import BpCompleter

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
COMMANDS = list(table().values())

# what each example needs defined first (the examples read as a learner would type them)
SETUP = ("apple = 100; n = 2; tax = 1.1; price = apple*n*tax\n"
         "x = 0.5; w = 2; b = 1; y = sigmoid(w*x + b)\n"
         "X = [[1, 2], [3, 4]]; W = [[0.5], [-1]]; Y = X @ W + b\n"
         "t = 0.3; loss = (y - t)**2\n"
         "xs = [[1], [2], [3], [4]]; ts = [[2], [4], [6], [8]]; a = 0.5; "
         "fitloss = mean((xs*a - ts)**2)\n")


@pytest.mark.parametrize("cmd", COMMANDS, ids=[c.name for c in COMMANDS])
def test_every_command_has_a_renderer_help_and_examples(cmd):
    assert cmd.kind in RENDERERS, f"no renderer for {cmd.name}"
    assert cmd.summary and cmd.examples
    if not cmd.hidden:
        (entry,) = [e for e in Session().run(f"help {cmd.name}")[-1]["entries"]
                    if e["name"] == cmd.name and e["kind"] == "command"]
        assert entry["summary"] == cmd.summary
        assert entry["usage"].startswith(cmd.name)


@pytest.mark.parametrize("cmd", COMMANDS, ids=[c.name for c in COMMANDS])
def test_every_example_parses_runs_and_renders(cmd, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "apple.bp").write_text("apple = 100\nn = 2\nprice = apple*n\n")
    for example in cmd.examples:
        s = Session()
        assert all(r["ok"] for r in s.run(SETUP))
        (r,) = s.run(example)
        assert r["ok"], (example, r.get("error"))
        assert r["kind"] == cmd.kind
        text = to_text(items_for(r, Style(unicode=True, whole=True)), True)
        assert isinstance(text, str)


def test_the_readme_table_is_the_command_table():
    text = README.read_text(encoding="utf-8")
    if os.environ.get("BPSHELL_UPDATE_README"):
        text = re.sub(r"\| command \| what it does \| example \|\n(?:\|.*\n)+",
                      lambda m: readme_table(), text)
        README.write_text(text, encoding="utf-8")
    assert readme_table() in text
    for cmd in COMMANDS:
        if not cmd.hidden:
            assert f"| `{cmd.name}" in text


def test_help_works_for_every_word_the_shell_completes_at_the_start():
    completer = BpCompleter(Session())
    offered = {c.text for c in completer.get_completions(Document(""), CompleteEvent())}
    assert set(words()) <= offered
    s = Session()
    for word in offered:
        r = s.run(f"help {word}")[-1]
        assert r["ok"], (word, r["error"]["message"])


def test_help_topics_offered_after_help_all_have_help():
    completer = BpCompleter(Session())
    topics = {c.text for c in completer.get_completions(Document("help "), CompleteEvent())}
    assert {"quit", "exit", "grad", "draw", "functions"} <= topics
    s = Session()
    for topic in topics:
        assert s.run(f"help {topic}")[-1]["ok"], topic


def test_an_alias_runs_its_command_and_has_its_help():
    s = Session()
    assert s.run("quit")[-1]["kind"] == "exit"
    (entry,) = s.run("help quit")[-1]["entries"]
    assert entry["name"] == "exit" and "quit" in entry["aliases"]


def test_a_mistyped_option_names_the_options_of_its_command():
    r = Session().run("x = 1; y = x*2; fit y lr 0.1 stpes 3")[-1]
    assert not r["ok"]
    message = r["error"]["message"]
    assert "'stpes'" in message and "'steps N'" in message and "'wrt a, b'" in message
    assert r["error"]["column"] == 30


def _results_of_examples_and_scripts():
    """Results of every command example, every script in examples/, and edge cases."""
    out = []
    for path in sorted((ROOT / "examples").glob("*.bp")):
        s = Session()
        out += s.run(path.read_text(encoding="utf-8"))
    s = Session()
    out += s.run("y = sigmoid(x); grad y; x = 2; grad y; explain y; check y; z = [1, 2] * y; "
                 "grad z; tree z; diff tanh(u) wrt u; vars; help; help draw; del z; "
                 "log(0); grad y with 3")
    return out


def test_every_result_holds_only_its_declared_fields():
    from bpshell.results.fields import problems

    results = _results_of_examples_and_scripts()
    kinds = {r["kind"] for r in results if r["ok"]}
    assert {"grad", "explain", "check", "tree", "diff", "vars", "help", "fit"} <= kinds
    for r in results:
        if r["ok"]:
            assert problems(table()[r["kind"]].fields, r) == [], (r["kind"], r["source"])


def test_a_result_with_an_undeclared_or_mistyped_field_is_found():
    from bpshell.results.fields import problems

    fields = table()["seed"].fields
    assert problems(fields, {"kind": "seed", "seed": 3}) == []
    assert problems(fields, {"kind": "seed", "seed": "3"}) == [
        "'seed' is a str, declared <class 'int'>"]
    assert problems(fields, {"kind": "seed", "sede": 3}) == ["undeclared field 'sede'"]
