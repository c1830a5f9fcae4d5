"""Message types: every domain event that crosses a package (or, later, a node) is
registered here under a stable name and a payload version, so a stored message can
be read back by any process, or any node, that knows the name.

Pure Python (no database): domain modules decorate their event dataclasses with
``@message("monitor.alert_raised", version=1)``. The payload is the dataclass's
fields as JSON (msgspec); events carry ids, codes and counts only, never PI, so a
message may be stored, listed and carried to another organisation as it is.
A payload change that old readers could not decode takes a new version.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import is_dataclass
from typing import Any, TypeVar

import msgspec

T = TypeVar("T")

_BY_NAME: dict[str, tuple[type, int]] = {}
_BY_CLASS: dict[type, tuple[str, int]] = {}


class UnknownMessage(LookupError):
    """A stored message whose type or version this process does not know."""


def message(name: str, *, version: int = 1) -> Callable[[type[T]], type[T]]:
    """Register an event dataclass as the message type ``name`` at ``version``."""

    def register(cls: type[T]) -> type[T]:
        if not is_dataclass(cls):
            raise TypeError(f"{cls.__name__}: messages are dataclasses")
        known = _BY_NAME.get(name)
        if known is not None and known[0].__qualname__ != cls.__qualname__:
            raise ValueError(f"message type {name!r} is already {known[0].__qualname__}")
        _BY_NAME[name] = (cls, version)
        _BY_CLASS[cls] = (name, version)
        return cls

    return register


def name_of(event: object) -> tuple[str, int]:
    """The registered (name, version) of an event; an unregistered class is a bug."""
    return name_of_class(type(event))


def name_of_class(cls: type) -> tuple[str, int]:
    try:
        return _BY_CLASS[cls]
    except KeyError:
        raise TypeError(f"{cls.__name__} is not a registered message type") from None


def encode(event: object) -> str:
    return msgspec.json.encode(event).decode()


def decode(name: str, version: int, payload: str) -> Any:
    """The event a stored message holds. Raises ``UnknownMessage`` for a type or a
    version this code does not read (the dispatcher dead-letters it)."""
    known = _BY_NAME.get(name)
    if known is None:
        raise UnknownMessage(f"unknown message type {name!r}")
    cls, current = known
    if version != current:
        raise UnknownMessage(f"{name} version {version} (this code reads {current})")
    return msgspec.json.decode(payload, type=cls)


def class_of(name: str) -> type:
    try:
        return _BY_NAME[name][0]
    except KeyError:
        raise UnknownMessage(f"unknown message type {name!r}") from None
