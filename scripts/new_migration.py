"""Autogenerate an Alembic migration against a scratch SQLite database.

    .venv/bin/python scripts/new_migration.py "message" REV_ID [--head PARENT]

The scratch database is migrated to the current heads first, so the new revision
holds only what the models add. With capabilities developed side by side, pass
``--head`` to branch from a given parent, then keep only your own tables in the file.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from alembic import command

from parcelguard.core.db import create_db_engine, migrations_config, upgrade


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("message")
    ap.add_argument("rev_id")
    ap.add_argument("--head", default=None, help="parent revision (default: the single head)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_db_engine(f"sqlite:///{Path(tmp) / 'scratch.db'}")
        upgrade(engine)
        # splice: branching from a revision that already has children is how
        # capabilities built side by side each get their own migration branch.
        command.revision(migrations_config(engine), message=args.message, autogenerate=True,
                         rev_id=args.rev_id, head=args.head or "head",
                         splice=args.head is not None)
        engine.dispose()


if __name__ == "__main__":
    main()
