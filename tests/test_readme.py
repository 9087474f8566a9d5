"""The README's examples are real: each `$ bpshell ...` block prints what it shows.

A ```console block holds commands (`$ bpshell ARGS`) each followed by its output; the
command is run through the installed console script with stdout and stderr together,
as a terminal would show them, and compared line by line. Every ```bp block is run as a
script and must succeed. The quick start must be exactly two commands.

When bpshell's output changes on purpose, `BPSHELL_UPDATE_README=1 python3 -m pytest
tests/test_readme.py` rewrites the outputs in the README from real runs (then read the
diff before committing it).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
from test_cli import clean_env, console_script

ROOT = Path(__file__).resolve().parents[1]
README_PATH = ROOT / "README.md"


def run_command(command: str) -> str:
    """What `command` (`bpshell ARGS`, or `bpshell ARGS < FILE`) prints, stdout and stderr
    together."""
    args = shlex.split(command)
    assert args[0] == "bpshell", "README commands start with bpshell"
    stdin = subprocess.DEVNULL
    if len(args) > 2 and args[-2] == "<":
        stdin = open(ROOT / args[-1], encoding="utf-8")  # noqa: SIM115
        args = args[:-2]
    try:
        p = subprocess.run(console_script() + args[1:], cwd=ROOT, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, env=clean_env(), timeout=60,
                           stdin=stdin)
    finally:
        if stdin is not subprocess.DEVNULL:
            stdin.close()
    return p.stdout


def _refresh(match: re.Match) -> str:
    commands = [s[2:] for s in match.group(1).splitlines() if s.startswith("$ ")]
    return "```console\n" + "".join(f"$ {c}\n{run_command(c)}" for c in commands) + "```"


LIMITS_PATH = ROOT / "docs" / "limits.md"
LIMITS_SECTION = re.compile(r"^## Limits and safety\n.*?(?=^## )", flags=re.S | re.M)


def _with_limits(readme: str) -> str:
    """The README with its "Limits and safety" section replaced by docs/limits.md."""
    section = LIMITS_PATH.read_text(encoding="utf-8").rstrip("\n") + "\n\n"
    return LIMITS_SECTION.sub(lambda m: section, readme, count=1)


if os.environ.get("BPSHELL_UPDATE_README"):
    README_PATH.write_text(re.sub(r"```console\n(.*?)```", _refresh,
                                  _with_limits(README_PATH.read_text(encoding="utf-8")),
                                  flags=re.S),
                           encoding="utf-8")
README = README_PATH.read_text(encoding="utf-8")


def test_the_limits_section_is_docs_limits_md():
    # docs/limits.md is the source; BPSHELL_UPDATE_README=1 copies it into the README
    assert LIMITS_SECTION.search(README) is not None
    assert _with_limits(README) == README


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def console_examples() -> list[tuple[str, str]]:
    """(command, expected output) pairs from every ```console block."""
    pairs = []
    for block in blocks("console"):
        command, output = None, []
        for line in block.splitlines():
            if line.startswith("$ "):
                if command is not None:
                    pairs.append((command, "\n".join(output)))
                command, output = line[2:], []
            else:
                output.append(line)
        if command is not None:
            pairs.append((command, "\n".join(output)))
    return pairs


EXAMPLES = console_examples()


def test_the_readme_has_a_tour():
    assert len(EXAMPLES) >= 5
    assert any(c == "bpshell examples/apple.bp" for c, _ in EXAMPLES)


@pytest.mark.parametrize("command, expected", EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_console_example_prints_what_the_readme_shows(command, expected):
    shown = [s.rstrip() for s in run_command(command).rstrip("\n").split("\n")]
    assert shown == [s.rstrip() for s in expected.split("\n")]


@pytest.mark.parametrize("source", blocks("bp"))
def test_language_examples_run(source):
    p = subprocess.run(console_script() + ["-c", source], cwd=ROOT, capture_output=True,
                       text=True, env=clean_env(), timeout=60)
    assert p.returncode == 0, p.stderr


def test_start_here_comes_first_and_installs_the_tool_in_a_virtual_environment():
    assert README.index("## Start here") < README.index("## Quick start")
    start = README.split("## Start here", 1)[1].split("## ", 1)[0]
    (block,) = re.findall(r"```sh\n(.*?)```", start, flags=re.S)
    venv, install, run = block.strip().splitlines()
    assert venv == "python3 -m venv .venv && . .venv/bin/activate"
    assert install == "pip install -e '.[plot]'" and "test" not in install
    assert run == "bpshell"


def test_quick_start_is_two_commands_and_ci_runs_the_same_tests():
    start = README.split("## Quick start", 1)[1].split("## ", 1)[0]
    (block,) = re.findall(r"```sh\n(.*?)```", start, flags=re.S)
    commands = block.strip().splitlines()
    assert len(commands) == 2
    install, tests = commands
    assert "pip install" in install and "bpshell examples/apple.bp" in install
    assert (ROOT / "examples" / "apple.bp").exists()
    assert tests == "python3 -m pytest"
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests in ci.splitlines()
