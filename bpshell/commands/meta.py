"""The session itself: `help` and `exit`."""

from __future__ import annotations

from bpshell.commands.registry import Args, command
from bpshell.language.grammar import RawText
from bpshell.results.fields import TEXT


@command("help", RawText("topic", meta="TOPIC", doc="a command, option word, function, "
                         "operator, or a group: values, gradients, symbolic, training, "
                         "files, session, functions, operators"),
         summary="this help; 'help NAME' for one command, function or operator",
         examples=("help", "help grad", "help functions"), group="session",
         notes=("In a terminal, help longer than the screen goes through a pager (Space: "
                "next page, q: leave).",),
         fields={"topic": TEXT, "entries": list, "names": dict})
def show_help(session, args: Args, stmt) -> dict:
    from bpshell.commands.help import help_result

    return {"kind": "help", **help_result(args.topic, session.state.funcs)}


@command("exit", summary="leave the shell (Ctrl-D does too)", examples=("exit",),
         group="session", aliases=("quit",),
         fields={})
def leave(session, args: Args, stmt) -> dict:
    return {"kind": "exit"}
