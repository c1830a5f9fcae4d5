"""ops: the operator's store: init, upgrade, backup, restore, health, and the outbox
(core/plugin.py)."""

from __future__ import annotations

from parcelguard.core.lazy_cli import Lazy
from parcelguard.core.plugin import Plugin

PLUGIN = Plugin("ops", commands={
    "init": Lazy("parcelguard.ops.cli:app", "Create the store: the home, the master key, "
                 "the database (migrations), the supervision department and its admin account.",
                 command="init"),
    "upgrade": Lazy("parcelguard.ops.cli:app", "Apply pending schema migrations to this "
                    "store (under PostgreSQL's advisory lock,", command="upgrade"),
    "backup": Lazy("parcelguard.ops.cli:app", "Back up the store while it serves: a "
                   "consistent snapshot of the database,", command="backup"),
    "restore": Lazy("parcelguard.ops.cli:app", "Restore a backup into this (empty) home or "
                    "database and prove it:", command="restore"),
    "events": Lazy("parcelguard.core.outbox_cli:events_app",
                   "Domain events on their way to their reactions (the outbox)."),
}, api="parcelguard.ops.health:mount",
    settings={"ops": "parcelguard.ops.settings:OpsSettings"})
