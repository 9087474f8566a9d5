"""The questions of `quiz NAME`, asked one at a time, in the shell or from a script's stdin.

`ask(question)` returns the learner's text, or None when they leave (q, Ctrl-C, Ctrl-D,
or the end of stdin). A wrong answer gets the op's rule as a hint; a second wrong answer
gets the answer, and the quiz goes on. The score is shown at the end, also after leaving
early.
"""

from __future__ import annotations

from collections.abc import Callable

from bpshell.render.doc import DERIV, DIM, ERR, HEAD, NAME, OK, line

LEAVE = ("q", "quit", "exit")
TRIES = 2


def run_quiz(result: dict, out, ask: Callable[[str], str | None]) -> tuple[int, int]:
    """Ask every question of result; returns (right, asked)."""
    questions, checker = result["questions"], result["checker"]
    names = ", ".join(n for n in result["definitions"]) or "the graph's names"
    out.items([line(("quiz ", HEAD), (result["of"], NAME), (
        f"  {len(questions)} questions, from the output down", DIM)),
        line(("answer with an expression (a number, or names such as ", DIM), (names, NAME),
             ("); q leaves", DIM), indent=2)])
    for name, text in result["definitions"].items():
        out.items([line((name, NAME), " = ", (text, DERIV), indent=2)])
    right = first = asked = 0
    for k, q in enumerate(questions):
        got = _one(k, q, checker, out, ask, len(questions))
        if got is None:
            break
        asked += 1
        right += got > 0
        first += got == 1
    out.items([line(("score: ", HEAD), f"{right} of {asked} right",
                    (f" ({first} at the first try)" if asked else "", DIM),
                    (f"; {len(questions) - asked} not asked" if asked < len(questions)
                     else "", DIM))])
    return right, asked


def _one(k: int, q: dict, checker, out, ask, total: int) -> int | None:
    """1: right at the first try, 2: at the second, 0: not; None: the learner left."""
    tries = 0
    while True:
        text = ask(f"[{k + 1}/{total}] {q['prompt']} ")
        if text is None or text.strip().lower() in LEAVE:
            return None
        if not text.strip():
            continue
        ok, say = checker.check(k, text)
        if ok is None:
            out.items([line((say, ERR), indent=2)])
            continue
        tries += 1
        if ok:
            out.items([line(("right", OK), (f"  {say}" if say else "", DIM), indent=2)])
            return tries
        if tries < TRIES:
            out.items([line(("not quite; ", ERR), ("hint: ", DIM), q["hint"], indent=2)])
            continue
        out.items([line(("the answer: ", DIM), (q["answer"], DERIV), indent=2)])
        return 0


def stdin_answers(stream, out) -> Callable[[str], str | None]:
    """Answers from a stream, one per line, each shown after its question (for scripts)."""

    def ask(question: str) -> str | None:
        text = stream.readline()
        if not text:
            out.items([line((question, DIM)), line(("(no more answers on stdin)", DIM),
                                                   indent=2)])
            return None
        text = text.rstrip("\n")
        out.items([line((question, DIM), text)])
        return text

    return ask
