"""Key bindings: Enter runs a complete statement and continues an open bracket.

CPython's InteractiveConsole has three outcomes for a line: an error, incomplete, or
complete. Here the validator reports errors; this binding decides the other two with
the engine's own is_complete, so the shell and the parser never disagree.
"""

from __future__ import annotations

from prompt_toolkit.enums import DEFAULT_BUFFER
from prompt_toolkit.filters import Condition, has_focus
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.key_binding.key_processor import KeyPressEvent

from bpshell.language.split import is_complete


def key_bindings() -> KeyBindings:
    kb = KeyBindings()

    @Condition
    def menu_item_selected() -> bool:
        from prompt_toolkit.application import get_app

        state = get_app().current_buffer.complete_state
        return state is not None and state.current_completion is not None

    editing = has_focus(DEFAULT_BUFFER)  # not while Ctrl-R's search field has the keys

    @kb.add("enter", filter=editing & menu_item_selected)
    def _(event: KeyPressEvent) -> None:
        """Enter in the completion menu takes the completion and closes the menu."""
        event.current_buffer.complete_state = None

    @kb.add("enter", filter=editing & ~menu_item_selected)
    def _(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        if is_complete(buffer.text):
            # an error is shown under the line and the cursor stays put (set_cursor=False),
            # so the next key lands where the learner is looking
            if buffer.validate(set_cursor=False):
                buffer.validate_and_handle()
        else:
            buffer.insert_text("\n")

    @kb.add("escape", "enter", filter=editing)
    def _(event: KeyPressEvent) -> None:
        """Alt-Enter: a new line even when the statement is complete."""
        event.current_buffer.insert_text("\n")

    return kb
