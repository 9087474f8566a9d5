"""Resource limits: each has a default a laptop survives, an environment variable and a flag."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields


@dataclass
class Limits:
    """Bounds checked before work is done, so that a bad statement fails fast and cleanly."""

    max_elements: int = 10_000_000  # elements in one array (80 MB of float64)
    # elements of all the arrays one statement computes (400 MB of float64): a statement's
    # values are kept for its backward pass, so `x + x + ... + x` holds every partial sum
    max_statement_elements: int = 50_000_000
    max_exponent: float = 10_000.0  # |exponent| of a power whose base and exponent are exact
    max_nodes: int = 1_000_000  # nodes in one computation graph
    max_statement_chars: int = 1_000_000  # characters in one statement
    max_depth: int = 200  # nesting depth of brackets and operators in one expression
    time_limit: float = 10.0  # seconds for one statement (0: none)
    simplify_seconds: float = 3.0  # seconds for simplify before the raw form is shown

    ENV = {
        "max_elements": "BPSHELL_MAX_ELEMENTS",
        "max_statement_elements": "BPSHELL_MAX_STATEMENT_ELEMENTS",
        "max_exponent": "BPSHELL_MAX_EXPONENT",
        "max_nodes": "BPSHELL_MAX_NODES",
        "max_statement_chars": "BPSHELL_MAX_STATEMENT_CHARS",
        "max_depth": "BPSHELL_MAX_DEPTH",
        "time_limit": "BPSHELL_TIME_LIMIT",
        "simplify_seconds": "BPSHELL_SIMPLIFY_SECONDS",
    }

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> Limits:
        """Defaults, then the environment, then explicit overrides (from flags)."""
        env = os.environ if environ is None else environ
        limits = cls()
        for f in fields(cls):
            raw = env.get(cls.ENV[f.name])
            if raw:
                try:
                    setattr(limits, f.name, type(getattr(limits, f.name))(float(raw)))
                except ValueError:
                    pass
        for key, value in overrides.items():
            if value is not None:
                setattr(limits, key, value)
        return limits
