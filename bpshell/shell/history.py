"""The shell's history: one file in the user's state directory, appended entry by entry.

prompt_toolkit's FileHistory opens the file in append mode for each entry, so a crash
loses nothing typed before it. If the file can't be written the history lives in memory
for the session, and the shell says so once.
"""

from __future__ import annotations

import os

from prompt_toolkit.history import FileHistory, History, InMemoryHistory


def history_path(environ=None) -> str:
    """BPSHELL_HISTORY, else $XDG_STATE_HOME/bpshell/history (~/.local/state by default)."""
    env = os.environ if environ is None else environ
    if env.get("BPSHELL_HISTORY"):
        return os.path.expanduser(env["BPSHELL_HISTORY"])
    state = env.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                      "state")
    return os.path.join(state, "bpshell", "history")


def open_history(path: str) -> tuple[History, str | None]:
    """The history for path, and a note when it has to be kept in memory instead."""
    try:
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as e:
        reason = e.strerror or str(e)
        return InMemoryHistory(), f"history kept in memory only: cannot write {path} ({reason})"
    return FileHistory(path), None
