"""The only two roads that create or change a store's schema: ``parcelguard init``
(a new store: home, master key, schema) and ``parcelguard upgrade`` (pending
migrations, under PostgreSQL's advisory lock). Every other command opens the store
as it is and is refused when it is missing, empty or at another revision."""

from __future__ import annotations

from parcelguard.core.db import Database, check_store, schema_state, upgrade
from parcelguard.core.errors import Refused
from parcelguard.core.settings import Settings
from parcelguard.vault.provider import create_master_key
from parcelguard.vault.settings import master_key_path


def init_store(settings: Settings, *, master_key: bool = True) -> None:
    """Create the store (idempotent on a store this code created). The master key is
    created only together with a new, empty database: a database that already holds
    a store but whose key is missing is refused, since a new key could not read it.
    ``master_key=False``: a store that holds no PI (a supervision or auditor node,
    node/store.py) gets no key at all."""
    settings.home.mkdir(mode=0o700, parents=True, exist_ok=True)
    db = Database(settings, check=False)
    try:
        state, _ = schema_state(db.engine)
        if master_key and state != "empty" and not master_key_path(settings).exists():
            raise Refused(
                f"the database already holds a store but its master key "
                f"{master_key_path(settings)} is missing; a new key could not read it. "
                "Restore keys/ from your backup (`parcelguard restore`) or point "
                "PARCELGUARD_VAULT__MASTER_KEY_PATH at the key")
        if state == "newer":
            raise Refused("the database was created by a newer parcelguard; run that version")
        if master_key:
            create_master_key(settings)
        upgrade(db.engine)
    finally:
        db.dispose()


def upgrade_store(settings: Settings) -> tuple[frozenset[str], frozenset[str]]:
    """Apply pending migrations to an existing store; (revisions before, after)."""
    check_store(settings)
    db = Database(settings, check=False)
    try:
        state, _ = schema_state(db.engine)
        if state == "empty":
            raise Refused("this database holds no parcelguard store; run `parcelguard init`")
        if state == "newer":
            raise Refused("the database was upgraded by a newer parcelguard; run that version")
        return upgrade(db.engine)
    finally:
        db.dispose()
