"""Bulk row writes below the ORM: one DBAPI ``executemany`` (SQLite) or one COPY
(PostgreSQL) per batch. The event path uses this instead of ORM objects, which
cost ~50x more per row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection


def bulk_insert(conn: Connection, table: str, columns: Sequence[str],
                rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) inside the caller's transaction."""
    if not rows:
        return
    dbapi_conn: Any = conn.connection.dbapi_connection
    cols = ", ".join(columns)
    if conn.dialect.name == "postgresql":
        with dbapi_conn.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" for _ in columns)
    cur = dbapi_conn.cursor()
    try:
        cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)
    finally:
        cur.close()
