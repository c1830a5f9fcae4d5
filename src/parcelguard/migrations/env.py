"""Alembic environment: parcelguard passes its engine in ``config.attributes``."""

from __future__ import annotations

from alembic import context

from parcelguard.schema import metadata

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # plain `alembic` command line, e.g. for autogenerate
    from parcelguard.core.db import create_db_engine
    from parcelguard.core.settings import load_settings

    engine = create_db_engine(load_settings().database_url)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTERs via copy
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
