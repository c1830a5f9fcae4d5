"""How a package plugs itself in: one :class:`Plugin` per package, in
``<package>/plugin.py``, listed by the composition root (``parcelguard.PACKAGES``).

A plugin names what the package contributes, each as a ``"module:attribute"`` string
imported only when used, so listing every plugin costs nothing (``parcelguard
--help`` imports the plugin modules and no package code):

- ``commands``: its top-level CLI commands (core/lazy_cli.py);
- ``routers``: its FastAPI routers, included in the HTTP application in order;
- ``api``: ``f(app: FastAPI) -> None`` for what its routers need on ``app.state``
  (run before they are included), or a router that must be built;
- ``reactions``: ``f(rt: Runtime) -> Iterable[Reaction]``, the reactions it owns
  (core/outbox.py). Of the two packages a reaction joins (the event's and the
  effect's), the higher one registers it, since only it may import the other; a
  reaction between two packages of the same row, which may import neither, is
  registered by ``parcelguard.bridges``;
- ``ciphertext_columns``: an iterable of ``vault.rotation.CiphertextColumn``, every
  place the package stores vault ciphertexts (so a re-encrypting rotation reaches them);
- ``models``: the modules defining its tables (``parcelguard/schema.py`` imports them
  all for Alembic and the tests);
- ``settings``: its sections of the settings tree, section key -> a pydantic model
  (``{"monitor": "parcelguard.monitor.settings:MonitorSettings"}``): the key names the
  section in the environment (``PARCELGUARD_MONITOR__BATCH_SIZE``) and the package
  reads it typed with ``settings.section(MonitorSettings)`` (core/settings.py).

Adding a capability means writing its package and one line in ``PACKAGES``; no hub
file changes.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from parcelguard.core.lazy_cli import Lazy

if TYPE_CHECKING:
    from fastapi import FastAPI

    from parcelguard.core.outbox import Reaction
    from parcelguard.core.runtime import Runtime


@dataclass(frozen=True)
class Plugin:
    name: str
    commands: Mapping[str, Lazy] = field(default_factory=dict)
    routers: tuple[str, ...] = ()
    api: str | None = None
    reactions: str | None = None
    ciphertext_columns: str | None = None
    models: tuple[str, ...] = ()
    settings: Mapping[str, str] = field(default_factory=dict)


def resolve(target: str) -> Any:
    """``"package.module:attribute"`` -> the attribute (imports the module)."""
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


@cache
def plugins() -> tuple[Plugin, ...]:
    """Every package's plugin, in the order of ``parcelguard.PACKAGES`` (which is the
    order their API hooks run: a hook may read what an earlier one put on
    ``app.state``)."""
    from parcelguard import PACKAGES  # the distribution's own list, not a layer above

    found = []
    for name in PACKAGES:
        plugin = importlib.import_module(f"parcelguard.{name}.plugin").PLUGIN
        if not isinstance(plugin, Plugin) or plugin.name != name:
            raise TypeError(f"parcelguard.{name}.plugin.PLUGIN is not the {name} plugin")
        found.append(plugin)
    return tuple(found)


def commands() -> dict[str, Lazy]:
    out: dict[str, Lazy] = {}
    for plugin in plugins():
        for name, entry in plugin.commands.items():
            if name in out:
                raise ValueError(f"command {name!r} registered twice ({plugin.name})")
            out[name] = entry
    return dict(sorted(out.items()))  # --help lists them alphabetically


def settings_sections(among: Iterable[Plugin] | None = None) -> dict[str, str]:
    """Every plugin's settings sections (key -> ``"module:Class"``), in plugin order."""
    out: dict[str, str] = {}
    for plugin in plugins() if among is None else among:
        for key, target in plugin.settings.items():
            if key in out:
                raise ValueError(f"settings section {key!r} registered twice ({plugin.name})")
            out[key] = target
    return out


def mount_all(app: FastAPI) -> None:
    for plugin in plugins():
        if plugin.api is not None:
            resolve(plugin.api)(app)
        for router in plugin.routers:
            app.include_router(resolve(router))


def reactions(rt: Runtime) -> tuple[Reaction, ...]:
    return tuple(r for plugin in plugins() if plugin.reactions is not None
                 for r in resolve(plugin.reactions)(rt))


def contributions(kind: str) -> list[Any]:
    """What every plugin lists under ``kind`` (an attribute naming an iterable)."""
    return [item for plugin in plugins() if (target := getattr(plugin, kind)) is not None
            for item in _iterable(resolve(target))]


def _iterable(obj: Any) -> Iterable[Any]:
    return obj() if callable(obj) else obj


def register_handlers(rt: Runtime) -> None:
    """Give the runtime's database its outbox dispatcher with every plugin's reactions
    (once per database, however many entry points ask): every unit of work then
    delivers what it emitted. ``Runtime(on_open=register_handlers)``."""
    from parcelguard.core.outbox import Dispatcher

    db = rt.db
    if db.dispatcher is not None:
        return
    cfg = rt.settings.outbox
    db.dispatcher = Dispatcher(db.sessions, reactions(rt), max_attempts=cfg.max_attempts,
                               backoff_seconds=cfg.backoff_seconds,
                               backoff_max_seconds=cfg.backoff_max_seconds)
