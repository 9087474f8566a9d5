"""`set` and `set NAME VALUE`: show the settings, or change one for this session."""

from __future__ import annotations

from bpshell.commands.registry import Args, command
from bpshell.errors import BpError, SafeModeError
from bpshell.language.grammar import RawText


def session_settings(session):
    """The session's settings, made from the defaults and its limits if none were loaded."""
    from bpshell.settings import load

    if session.settings is None:
        session.settings = load(environ={}, config=False)
    return session.settings


@command("set", RawText("setting", meta="NAME VALUE",
                        doc="a setting and its new value; 'set' alone lists them all"),
         summary="show the settings, or change one for this session",
         examples=("set", "set max_depth 300", "set time_limit 0"), group="session",
         notes=("Every limit is a setting, and so are color, ascii, history_size and "
                "startup; they are read from a flag, the environment, "
                "$XDG_CONFIG_HOME/bpshell/config.toml or the default, in that order.",
                "'set' changes this session only; write a key in config.toml to keep it."),
         fields={"changed": dict, "settings": list})
def set_setting(session, args: Args, stmt) -> dict:
    from bpshell.settings import SettingsError, all_settings, close_setting

    table = all_settings()
    settings = session_settings(session)
    changed = {}
    if args.setting:
        name, _, raw = args.setting.partition(" ")
        name = name.replace("-", "_")
        if name not in table:
            raise BpError(f"no setting named '{name}'{close_setting(name, table)}", *stmt.pos)
        if not raw.strip():
            raise BpError(f"'set {name}' needs a value: 'set {name} "
                          f"{_example(table[name])}'", *stmt.pos)
        try:
            value = table[name].parse(raw.strip(), "set")
        except SettingsError as e:
            raise BpError(e.message.removeprefix("set: "), *stmt.pos) from None
        if name == "safe" and session.limits.safe and not value:
            # else an untrusted script run with --safe would turn it off and write files
            raise SafeModeError("safe mode cannot be turned off inside the session it "
                                "guards", *stmt.pos)
        _apply(session, settings, table[name], value)
        changed[name] = value
    rows = []
    for name, s in table.items():
        value = getattr(session.limits, name) if s.limit else settings.values[name]
        rows.append({"name": name, "value": value, "source": settings.sources[name],
                     "doc": s.doc, "env": s.env or ""})
    return {"kind": "set", "changed": changed, "settings": rows}


def _apply(session, settings, setting, value) -> None:
    """Journaled, so a `run FILE` that fails after a `set` leaves the setting as it was."""
    journal = session.journal
    if setting.limit:
        journal.record(("attr", session.limits, setting.name,
                        getattr(session.limits, setting.name)))
        object.__setattr__(session.limits, setting.name, value)
    for target, key, new in ((settings.values, setting.name, value),
                             (settings.sources, setting.name, "set")):
        journal.record(("item", target, key, target[key]))
        target[key] = new


def _example(setting) -> str:
    if setting.choices:
        return setting.choices[-1]
    return {bool: "true", int: "100", float: "2.5"}.get(setting.kind, "FILE")
