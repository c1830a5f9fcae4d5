"""node: federation nodes, each party its own process, database and keys
(core/plugin.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parcelguard.core.lazy_cli import Lazy
from parcelguard.core.plugin import Plugin

if TYPE_CHECKING:
    from parcelguard.core.outbox import Reaction
    from parcelguard.core.runtime import Runtime


def reactions(rt: Runtime) -> tuple[Reaction, ...]:
    from parcelguard.node import transport

    return (transport.reaction(rt.settings.home),)  # envelopes to other nodes


PLUGIN = Plugin(
    "node",
    commands={"node": Lazy("parcelguard.node.cli:node_app", "Federation nodes: each party "
                           "its own process, database and keys (docs/deployment.md).")},
    reactions="parcelguard.node.plugin:reactions",
    models=("parcelguard.node.models",))
