"""How a script (FILE, -c, stdin) shows the results that are interactive in the shell.

`explain NAME step` prints its steps one after another without waiting; `quiz NAME` reads
its answers from stdin, one per line (nothing when stdin is the script itself). Every
other result is shown as usual. Nothing here imports prompt_toolkit.
"""

from __future__ import annotations

import sys


def script_show(session, out, answers=None):
    """A `show` for run_source: out.show, except for step-throughs and quizzes."""

    def show(result: dict) -> None:
        kind = result.get("kind")
        if kind == "explain" and result.get("step"):
            print_steps(session, out, result)
        elif kind == "quiz":
            from bpshell.shell.quiz import run_quiz, stdin_answers

            stream = answers if answers is not None else sys.stdin
            run_quiz(result, out, stdin_answers(stream, out))
        else:
            out.show(result)

    return show


def print_steps(session, out, r: dict) -> None:
    """Each frame of the walk in turn, the graph drawn at each (the last has it all)."""
    from bpshell.render.items.steps import frame_count, frame_items

    tree = session.run(f"tree {r['of']}")[0]
    for k in range(frame_count(r)):
        out.items(frame_items(r, k, out.style, tree))
