"""Output fits the terminal: at 60, 80 and 120 columns `explain` and `rules` keep every
line within the width and never break an expression inside a token; pipes keep whole
lines. Drawn through rich as a terminal is, and as plain text as `--color never` is."""

from __future__ import annotations

import io
import re

import pytest

from bpshell.render.format import Style
from bpshell.render.out import Options, Output
from bpshell.session import Session

ANSI = re.compile(r"\x1b\[[0-9;]*m")
AFFINE = ("X = [[1, 2], [3, 4], [5, 6]]; W = [[1, 0, -1], [0, 1, 2]]; b = [0.5, 0, 0]; "
          "Y = X @ W + b; explain Y")
NET = ("seed 0; X = randn(3, 2); W1 = randn(2, 3); b1 = zeros(3); W2 = randn(3, 2); "
       "b2 = zeros(2); t = onehot([0, 1, 1], 2); h = relu(X @ W1 + b1); "
       "loss = softmax_cross_entropy(h @ W2 + b2, t); explain loss")


def shown(result: dict, width: int, rich: bool) -> str:
    buf = io.StringIO()
    out = Output(Options(rich=rich, terminal=True), buf)
    out.style = Style(unicode=True, whole=False, width=width)
    if rich:
        from rich.console import Console

        out._console = Console(file=buf, width=width, force_terminal=True, no_color=True,
                               highlight=False, color_system=None)
    out.show(result)
    return ANSI.sub("", buf.getvalue())


def expressions(r: dict) -> list[str]:
    """Every expression and rule the result holds, as the renderer writes it."""
    if r["kind"] == "rules":
        found = [rule["call"] for rule in r["rules"]]
        for rule in r["rules"]:
            found += [f for f in (rule.get("derivative") or []) + (rule.get(
                "output_form") or []) if f]
            found.append(rule.get("definition") or "")
        return [f for f in found if f]
    found = []
    for row in r["rows"]:
        found.append(row["node"])
        for d in row["downstream"]:
            found += [d["rule"] or d["local"], d["to"]]
    return found


def normal(text: str) -> str:
    return " ".join(text.split())


def tokens_whole(text: str, expr: str) -> bool:
    """expr appears in text with each of its tokens on one line (line breaks only where
    expr has a space)."""
    return normal(expr) in normal(text)


RESULTS = {"affine": AFFINE, "net": NET, "rules": "rules"}


@pytest.fixture(scope="module")
def results() -> dict:
    return {k: Session().run(src)[-1] for k, src in RESULTS.items()}


@pytest.mark.parametrize("width", [60, 80, 120])
@pytest.mark.parametrize("rich", [True, False], ids=["rich", "plain"])
@pytest.mark.parametrize("which", list(RESULTS))
def test_explain_and_rules_fit_and_break_no_token(results, which, width, rich):
    r = results[which]
    assert r["ok"]
    text = shown(r, width, rich)
    lines = text.splitlines()
    over = [s for s in lines if len(s.rstrip()) > width]
    # a line may pass the width only if it is one token that no break could shorten
    assert all(len(s.split()) == 1 for s in over), over
    for expr in expressions(r):
        assert tokens_whole(text, expr), (expr, width)
    # the shapes rule is read on one line where it fits (the example at 80)
    if which == "affine" and width >= 60:
        assert any("dX = dY @ W.T: (3x3) @ (2x3).T -> (3x2)" in s for s in lines)


@pytest.mark.parametrize("width", [60, 80])
def test_a_narrow_terminal_gets_one_block_per_node(results, width):
    text = shown(results["affine"], width, rich=False)
    assert "local derivative" not in text  # not the table's header: blocks
    assert "  X @ W (matmul)  upstream" in text


def test_a_wide_terminal_keeps_the_table(results):
    text = shown(results["affine"], 200, rich=False)
    assert "local derivative" in text.splitlines()[1]


def test_a_pipe_keeps_whole_lines(results):
    from bpshell.render.items import items_for
    from bpshell.render.text import to_text

    text = to_text(items_for(results["rules"], Style(whole=True)))
    rows = [s for s in text.splitlines() if s.startswith("  sigmoid(x)")]
    assert len(rows) == 1 and "y*(1 - y)" in rows[0]
