"""Resource limits: each has a default a laptop survives, an environment variable and a flag.

A value given by flag or environment variable is checked before anything runs: a number
in the setting's range, or `inf` where "no bound" makes sense (a count, a number of
seconds), and anything else (`nan`, a negative number, a fraction where a count is
wanted, a number too large to mean anything) is a SettingError, which the command line
reports as a usage error. Nothing is silently ignored.
"""

from __future__ import annotations

import math
import os

from bpshell.records import Value

NO_BOUND = math.inf  # what `inf` sets a count to; every comparison with it passes
HUGE = 10**15  # no count above this means anything on one machine (8 PB of float64)
MAX_SECONDS = 1e7  # about 116 days; longer is past what the OS timer holds


class SettingError(ValueError):
    """A setting's value is not one it can take; the message says which values it can."""


class Limits(Value):
    """Bounds checked before work is done, so that a bad statement fails fast and cleanly.

    The fields are FIELDS, in order; `Limits()` holds every default.
    """

    FIELDS = ("max_elements", "max_statement_elements", "max_exponent", "max_nodes",
              "max_statement_chars", "max_depth", "time_limit", "simplify_seconds",
              "max_print_elements", "history_size", "safe")
    __slots__ = FIELDS

    max_elements: int  # elements in one array (80 MB of float64)
    # elements of all the arrays one statement computes (400 MB of float64): a statement's
    # values are kept for its backward pass, so `x + x + ... + x` holds every partial sum
    max_statement_elements: int
    max_exponent: float  # |exponent| of a power whose base and exponent are exact
    max_nodes: int  # nodes in one computation graph
    max_statement_chars: int  # characters in one statement
    max_depth: int  # nesting depth of brackets and operators in one expression
    time_limit: float  # seconds for one statement (0: none)
    simplify_seconds: float  # seconds for simplify before the raw form is shown
    max_print_elements: int  # elements of a value printed whole; a summary beyond
    history_size: int  # entries the shell's history keeps
    safe: bool  # refuse every statement that reads or writes a file

    def __init__(self, max_elements: int = 10_000_000,
                 max_statement_elements: int = 50_000_000, max_exponent: float = 10_000.0,
                 max_nodes: int = 1_000_000, max_statement_chars: int = 1_000_000,
                 max_depth: int = 200, time_limit: float = 10.0,
                 simplify_seconds: float = 3.0, max_print_elements: int = 1000,
                 history_size: int = 10_000, safe: bool = False):
        self.max_elements = max_elements
        self.max_statement_elements = max_statement_elements
        self.max_exponent = max_exponent
        self.max_nodes = max_nodes
        self.max_statement_chars = max_statement_chars
        self.max_depth = max_depth
        self.time_limit = time_limit
        self.simplify_seconds = simplify_seconds
        self.max_print_elements = max_print_elements
        self.history_size = history_size
        self.safe = safe

    ENV = {
        "max_elements": "BPSHELL_MAX_ELEMENTS",
        "max_statement_elements": "BPSHELL_MAX_STATEMENT_ELEMENTS",
        "max_exponent": "BPSHELL_MAX_EXPONENT",
        "max_nodes": "BPSHELL_MAX_NODES",
        "max_statement_chars": "BPSHELL_MAX_STATEMENT_CHARS",
        "max_depth": "BPSHELL_MAX_DEPTH",
        "time_limit": "BPSHELL_TIME_LIMIT",
        "simplify_seconds": "BPSHELL_SIMPLIFY_SECONDS",
        "max_print_elements": "BPSHELL_MAX_PRINT_ELEMENTS",
        "history_size": "BPSHELL_HISTORY_SIZE",
        "safe": "BPSHELL_SAFE",
    }

    # (smallest, largest, what `inf` sets): NO_BOUND, 0 (the field's "none") or None when
    # the setting must have a bound (nesting depth guards Python's own recursion)
    RANGES = {
        "max_depth": (1, 100_000, None),
        "time_limit": (0, MAX_SECONDS, 0.0),
        "simplify_seconds": (0, MAX_SECONDS, 0.0),
    }

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> Limits:
        """Defaults, then the environment, then explicit overrides (from flags).

        Raises SettingError naming the variable when one holds a value its setting can't.
        """
        env = os.environ if environ is None else environ
        limits = cls()
        for name in cls.FIELDS:
            var = cls.ENV.get(name)
            raw = env.get(var) if var else None
            if raw is not None and raw.strip():
                try:
                    setattr(limits, name, cls.parse(name, raw))
                except SettingError as e:
                    raise SettingError(f"{var}={raw!r}: {e}") from None
        for key, value in overrides.items():
            if value is not None:
                setattr(limits, key, value)
        return limits

    @classmethod
    def parse(cls, name: str, text: str):
        """The value of setting `name` written as text (a flag's or a variable's)."""
        kind = type(getattr(cls(), name))
        word = text.strip().lower()
        if kind is bool:
            if word in ("1", "true", "yes", "on"):
                return True
            if word in ("0", "false", "no", "off"):
                return False
            raise SettingError("must be 1 or 0 (true or false)")
        low, high, unbounded = cls.RANGES.get(name, (0, HUGE, NO_BOUND))
        try:
            value = float(word)
        except ValueError:
            raise SettingError("must be a whole number" if kind is int
                               else "must be a number") from None
        if math.isinf(value) and value > 0:
            if unbounded is None:
                raise SettingError(f"must be from {_num(low)} to {_num(high)}; "
                                   "it cannot be unbounded")
            return unbounded
        if value < 0:
            raise SettingError("must be a number 0 or above")
        if math.isnan(value) or not low <= value <= high:
            span = f"must be from {_num(low)} to {_num(high)}"
            raise SettingError(span + (", or inf for no bound" if unbounded is not None else ""))
        if kind is int:
            if value != int(value):
                raise SettingError("must be a whole number")
            return int(value)
        return value


def _num(v: float) -> str:
    return f"{int(v):,}" if v == int(v) else f"{v:g}"
