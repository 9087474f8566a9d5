"""Bases for the small classes of named fields on the start-up path.

They were dataclasses: importing `dataclasses` and generating some thirty classes was
about a tenth of the start-up of `bpshell -c '...'`. A record lists its fields in
`__slots__` and writes its own `__init__`; these bases give it what the dataclass gave:
a repr, and equality (and, when frozen, a hash) by field values, in field order.
"""

from __future__ import annotations


class Record:
    """Fields shown as a dataclass shows them: `Name(a=1, b=2)`.

    The fields are the class's `__slots__`, or its FIELDS when it has other slots too
    (`__weakref__`, for an object kept as a key of a WeakKeyDictionary).
    """

    __slots__ = ()

    def _fields(self) -> tuple[str, ...]:
        return getattr(self, "FIELDS", self.__slots__)

    def __repr__(self) -> str:
        fields = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields())
        return f"{type(self).__qualname__}({fields})"

    def _values(self) -> tuple:
        return tuple(getattr(self, f) for f in self._fields())


class Value(Record):
    """A record equal to another of its class with equal fields (and so not hashable)."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._values() == other._values()  # type: ignore[attr-defined]
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


class Frozen:
    """Refuses assignment after `__init__` (which sets fields with object.__setattr__)."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")


class FrozenValue(Frozen, Value):
    """An immutable Value, hashed by its fields."""

    __slots__ = ()

    def __hash__(self) -> int:
        return hash(self._values())
