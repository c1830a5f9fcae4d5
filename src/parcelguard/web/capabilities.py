"""Capabilities other engineers are still finishing (channel, conduct, incidents,
audit): the portals ask here whether a service module and its tables exist, and
render an honest "not available yet" section when they do not, never fake data.

Only a missing module counts as absent; an error inside an existing module is a
bug and propagates. Once every capability has landed this shim can go and the
portals import the services directly.
"""

from __future__ import annotations

import importlib
from functools import cache
from types import ModuleType
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session


@cache
def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and name.startswith(exc.name):
            return None
        raise


def module(name: str) -> Any:
    """The module, or None while it is not written yet. Typed ``Any`` on purpose:
    its functions are still changing, the browser tests pin their behaviour."""
    return _module(name)


def has_tables(session: Session, *tables: str) -> bool:
    """True when the capability's migration has been applied to this database."""
    names = set(inspect(session.connection()).get_table_names())
    return all(t in names for t in tables)


def service(session: Session, name: str, *tables: str, attrs: tuple[str, ...] = ()) -> Any:
    """The service module when it, the functions the page needs and its tables are
    all there; otherwise None (the page says "not available yet")."""
    mod = module(name)
    if mod is None or not all(hasattr(mod, a) for a in attrs):
        return None
    return mod if has_tables(session, *tables) else None
