"""Settings: every limit, and how the shell draws and remembers, each from four places.

A setting's value comes from, highest first: a command-line flag, the environment, the
config file (`$XDG_CONFIG_HOME/bpshell/config.toml`, `~/.config/bpshell/config.toml` by
default; `--no-config` skips it), and its default. The limits are read from the fields
of `Limits`, so a limit added there is a setting here with nothing else to write. `set
NAME VALUE` changes one in a session. A value that does not fit its setting is an error
that names the key and where it was read; at start-up that is exit status 2.
"""

from __future__ import annotations

import math
import os

from bpshell.errors import BpError
from bpshell.limits import Limits
from bpshell.records import FrozenValue, Value

CONFIG_NAME = os.path.join("bpshell", "config.toml")
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")

_LIMIT_DOCS = {
    "max_elements": "elements in one array",
    "max_exponent": "|exponent| of an exact power in diff",
    "max_nodes": "nodes in one computation graph",
    "max_statement_chars": "characters in one statement",
    "max_depth": "nesting depth of one expression",
    "time_limit": "seconds for one statement in a script (0: none)",
    "simplify_seconds": "seconds for simplify before diff shows the raw form",
    "max_statement_elements": "elements of all the arrays one statement computes",
    "max_print_elements": "elements of a value printed whole; a summary beyond",
    "history_size": "entries the shell's history keeps (0: none)",
    "safe": "refuse every statement that reads or writes a file",
}


class SettingsError(BpError):
    """A setting with a value it cannot take, or a key that is no setting."""


class Setting(FrozenValue):
    """One setting: its name (in config.toml and `set`), type, default and variable."""

    __slots__ = ("name", "kind", "default", "env", "doc", "choices", "limit")

    name: str
    kind: type
    default: object
    env: str | None
    doc: str
    choices: tuple[str, ...]
    limit: bool  # a field of Limits (the engine reads it) or the front end's

    def __init__(self, name: str, kind: type, default: object, env: str | None, doc: str,
                 choices: tuple[str, ...] = (), limit: bool = False):
        put = object.__setattr__
        put(self, "name", name)
        put(self, "kind", kind)
        put(self, "default", default)
        put(self, "env", env)
        put(self, "doc", doc)
        put(self, "choices", choices)
        put(self, "limit", limit)

    def parse(self, raw: object, where: str) -> object:
        """raw (text from `set` or the environment, or a TOML value) as this setting's type.

        A limit is read by Limits.parse, as its flag and variable are: `inf` lifts the
        bound where that makes sense, and nan, negative and huge values are refused.
        """
        if self.limit:
            from bpshell.limits import SettingError

            try:
                return Limits.parse(self.name, str(raw).replace("_", ""))
            except SettingError as e:
                raise SettingsError(f"{where}: {self.name} {e}, not {raw!r}") from None
        try:
            value = self._convert(raw)
        except (TypeError, ValueError):
            raise SettingsError(f"{where}: {self.name} must be {self.expects()}, "
                                f"not {raw!r}") from None
        if self.choices and value not in self.choices:
            raise SettingsError(f"{where}: {self.name} must be one of "
                                f"{', '.join(self.choices)}, not {raw!r}")
        if self.kind in (int, float) and not (value >= 0 and math.isfinite(value)):
            raise SettingsError(f"{where}: {self.name} must be a number 0 or above, "
                                f"not {raw!r}")
        return value

    def _convert(self, raw: object) -> object:
        if self.kind is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in _TRUE or text in _FALSE:
                return text in _TRUE
            raise ValueError(raw)
        if self.kind is int:
            if isinstance(raw, bool):
                raise TypeError(raw)
            number = float(str(raw).replace("_", "")) if isinstance(raw, str) else raw
            if not isinstance(number, (int, float)) or number != int(number):
                raise ValueError(raw)
            return int(number)
        if self.kind is float:
            if isinstance(raw, bool):
                raise TypeError(raw)
            return float(str(raw).replace("_", "")) if isinstance(raw, str) else float(raw)
        if not isinstance(raw, str):
            raise TypeError(raw)
        return raw.strip()

    def expects(self) -> str:
        return {bool: "true or false", int: "a whole number", float: "a number"}.get(
            self.kind, "text")


def _limit_settings() -> list[Setting]:
    out = []
    defaults = Limits()
    for name in Limits.FIELDS:
        env = getattr(Limits, "ENV", {}).get(name)
        default = getattr(defaults, name)
        out.append(Setting(name, type(default), default, env,
                           _LIMIT_DOCS.get(name, name.replace("_", " ")), limit=True))
    return out


SHELL_SETTINGS = (
    Setting("color", str, "auto", "BPSHELL_COLOR", "colours and rich drawing: auto (a "
            "terminal, unless NO_COLOR is set), always or never",
            choices=("auto", "always", "never")),
    Setting("ascii", bool, False, "BPSHELL_ASCII", "draw with ASCII only"),
    Setting("startup", str, "", "BPSHELL_STARTUP",
            "a script run before the first prompt of the interactive shell"),
)


def all_settings() -> dict[str, Setting]:
    """Every setting by name: the limits first, then the shell's."""
    return {s.name: s for s in (*_limit_settings(), *SHELL_SETTINGS)}


def config_path(environ=None) -> str:
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, CONFIG_NAME)


def read_config(path: str) -> dict:
    """The config file's keys (a [limits] table is read as top-level keys); {} if absent.

    The TOML parser is imported only when there is a file: most runs have none, and the
    import is a few milliseconds of every start-up.
    """
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise SettingsError(f"{path}: cannot read it ({e.strerror or e})") from None
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise SettingsError(f"{path}: not valid TOML: not UTF-8 text ({e.reason} at byte "
                            f"{e.start})") from None
    except tomllib.TOMLDecodeError as e:
        raise SettingsError(f"{path}: not valid TOML: {e}") from None
    flat = {k: v for k, v in data.items() if k != "limits"}
    limits = data.get("limits", {})
    if not isinstance(limits, dict):
        raise SettingsError(f"{path}: 'limits' must be a table: [limits]")
    flat.update(limits)
    return flat


class Settings(Value):
    """The value of every setting and where it came from (default, config, env, flag, set)."""

    __slots__ = ("values", "sources")

    values: dict
    sources: dict

    def __init__(self, values: dict, sources: dict):
        self.values = values
        self.sources = sources

    def limits(self) -> Limits:
        known = set(Limits.FIELDS)
        return Limits(**{k: v for k, v in self.values.items() if k in known})

    def __getitem__(self, name: str):
        return self.values[name]


def load(flags: dict | None = None, environ=None, config: str | None | bool = True) -> Settings:
    """Defaults, then the config file (config: True for the usual path, a path, or False),
    then the environment, then the flags that were given (None: not given)."""
    env = os.environ if environ is None else environ
    table = all_settings()
    values = {name: s.default for name, s in table.items()}
    sources = dict.fromkeys(table, "default")
    if config:
        path = config_path(env) if config is True else str(config)
        for key, raw in read_config(path).items():
            name = key.replace("-", "_")
            if name not in table:
                raise SettingsError(f"{path}: unknown setting '{key}'{close_setting(name, table)}")
            values[name] = table[name].parse(raw, path)
            sources[name] = "config"
    for name, s in table.items():
        raw = env.get(s.env) if s.env else None
        if raw:
            values[name] = s.parse(raw, s.env)
            sources[name] = "env"
    for name, raw in (flags or {}).items():
        if raw is not None and name in table:
            values[name] = table[name].parse(raw, "--" + name.replace("_", "-"))
            sources[name] = "flag"
    return Settings(values, sources)


def close_setting(name: str, table: dict) -> str:
    import difflib

    close = difflib.get_close_matches(name, table, n=1)
    return f"; did you mean '{close[0]}'?" if close else \
        "; the settings are " + ", ".join(table)
