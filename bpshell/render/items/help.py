"""How `help` is shown: one screen of commands by group, or one entry that teaches.

A command's entry is its syntax with every option explained, examples to copy, and its
notes; an option word lists the commands that take it; an op shows its definition, its
derivative and its form in terms of the output, as `rules` does.
"""

from __future__ import annotations

from bpshell.render.doc import DERIV, DIM, HEAD, NAME, OP, SYM, Item, Table, line
from bpshell.render.format import Style
from bpshell.render.items.train import fit
from bpshell.render.registry import renders


def short(summary: str, room: int = 1 << 30) -> str:
    """The summary up to its first aside; in a narrow terminal, up to its colon, or cut at
    a word with an ellipsis, so that each command takes one line."""
    text = summary.split("; ")[0].split(" (")[0]
    if len(text) > room:
        text = text.split(": ")[0]
    if len(text) > room:
        text = text[: max(room - 1, 10)].rsplit(" ", 1)[0] + "…"
    return text


@renders("help")
def help_items(r: dict, style: Style) -> list[Item]:
    entries = r["entries"]
    if not r.get("topic"):
        return _overview(r, style)
    if len(entries) > 3 or not entries:
        return _listing(r)
    out: list[Item] = []
    for e in entries:
        if out:
            out.append(line(""))
        out.extend(_ENTRY.get(e["kind"], _op_or_simple)(e, style))
    return out


def _overview(r: dict, style: Style) -> list[Item]:
    rows, last = [], None
    names = max(len(e["name"]) for e in r["entries"])
    groups = max(len(e.get("group", "")) for e in r["entries"])
    room = 1 << 30 if style.whole else style.width - names - groups - 7
    brief = [e for e in r["entries"] if e.get("group") == "session"]
    for e in r["entries"]:
        group = e.get("group", "")
        if e in brief:  # the session's own commands need no summary to be found
            continue
        rows.append([group if group != last else "", e["name"], short(e["summary"], room)])
        last = group
    if brief:
        rows.append(["session", brief[0]["name"], " ".join(e["name"] for e in brief[1:])])
    out: list[Item] = [
        line(("help", HEAD), ("  'help NAME' for a command, option or function", DIM)),
        Table([], rows, styles=[DIM, NAME, ""])]
    for label, found in (r.get("names") or {}).items():
        out.append(line((f"{label}: ", DIM), (" ".join(found), SYM), indent=2))
    return fit(out, style)


def _listing(r: dict) -> list[Item]:
    rows = [[e["name"], e["kind"], short(e["summary"]), e.get("example", "")]
            for e in r["entries"]]
    return [line(("help ", HEAD), (r["topic"], NAME)),
            Table(["name", "kind", "summary", "example"], rows, styles=[NAME, DIM, "", SYM])]


def _examples(e: dict, title: str = "examples") -> list[Item]:
    shown = e.get("examples") or ([e["example"]] if e.get("example") else [])
    if not shown:
        return []
    return [line((title, HEAD), indent=2)] + [line((ex, SYM), indent=4) for ex in shown]


def _command(e: dict, style: Style) -> list[Item]:
    out: list[Item] = [line((e["usage"], NAME)), line(e["summary"], indent=2)]
    parts = [[p["usage"], p["doc"]] for p in e.get("parts", []) if p.get("doc")]
    if parts:
        out.append(Table([], parts, styles=[OP, ""], indent=2))
    out.extend(_examples(e))
    if e.get("notes"):
        out.append(line(("notes", HEAD), indent=2))
        out.extend(line(note, indent=4) for note in e["notes"])
    if e.get("aliases"):
        out.append(line(("also written: ", DIM), ", ".join(e["aliases"]), indent=2))
    return out


def _option(e: dict, style: Style) -> list[Item]:
    out: list[Item] = [line((e["name"], NAME), ("  an option of ", DIM),
                            ", ".join(u["command"] for u in e["uses"]))]
    for u in e["uses"]:
        out.append(line((u["usage"], NAME), indent=2))
        out.append(line((u["option"], OP), ": ", u["doc"], indent=4))
    return out + _examples(e)


def _op(e: dict, style: Style) -> list[Item]:
    rule = e.get("rule") or {}
    out: list[Item] = [line((rule.get("call") or e["name"], OP), "  ", e["summary"])]
    inputs = rule.get("inputs") or []
    rows = [["definition", rule.get("definition") or ""]]
    for k, form in enumerate(rule.get("derivative") or []):
        label = "derivative" if rule.get("kind") == "structural" else \
            style.d("", inputs[k] if k < len(inputs) else "x")
        rows.append([label, line((form, DERIV))])
    for k, form in enumerate(rule.get("output_form") or []):
        if form:
            label = "in terms of y" if len(inputs) == 1 else \
                f"{style.d('', inputs[k])} in terms of y"
            rows.append([label, line((form, DERIV))])
    if rule.get("kink"):
        rows.append(["note", rule["kink"]])
    out.append(Table([], rows, styles=[DIM, ""], indent=2))
    out.append(line(("written ", DIM), (e["example"], SYM), indent=2))
    return out + _examples(e, "try")


def _simple(e: dict, style: Style) -> list[Item]:
    out: list[Item] = [line((e["name"], NAME), (f"  {e['kind']}", DIM)),
                       line(e["summary"], indent=2)]
    return out + _examples(e)


def _op_or_simple(e: dict, style: Style) -> list[Item]:
    return _op(e, style) if e.get("rule") else _simple(e, style)


_ENTRY = {"command": _command, "option": _option}
