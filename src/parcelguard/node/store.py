"""A node's store: made by ``init_store`` like every store, then, for a role that
holds no personal information, without the vault's tables.

The supervision department and the auditors work on ids, codes, counts and
proofs. Their store keeps the whole schema revision (so `parcelguard upgrade`,
backup and restore work as everywhere) but not the tables that hold PI
ciphertexts, blind indexes or the keys that open them, and gets no master key:
nothing on such a node could hold PI, even by mistake. (A later migration that
alters one of these tables must skip a store without it.)
"""

from __future__ import annotations

from sqlalchemy import inspect, text

from parcelguard.core.db import create_db_engine
from parcelguard.core.settings import Settings
from parcelguard.ops.store import init_store


def pi_tables() -> tuple[str, ...]:
    """Every table that holds PI ciphertexts or blind indexes, or the vault's keys."""
    from parcelguard.core.plugin import contributions
    from parcelguard.schema import metadata

    names = {c.table for c in contributions("ciphertext_columns")}
    names |= {t for t in metadata.tables if t.startswith("vault_")}
    # children first, so a drop never trips a foreign key
    return tuple(t.name for t in reversed(metadata.sorted_tables) if t.name in names)


def init_node_store(settings: Settings, *, holds_pi: bool) -> None:
    init_store(settings, master_key=holds_pi)
    if holds_pi:
        return
    engine = create_db_engine(settings.database_url)
    try:
        present = set(inspect(engine).get_table_names())
        cascade = "" if engine.dialect.name == "sqlite" else " CASCADE"
        with engine.begin() as conn:
            for name in pi_tables():
                if name in present:
                    conn.execute(text(f'DROP TABLE "{name}"{cascade}'))
    finally:
        engine.dispose()
