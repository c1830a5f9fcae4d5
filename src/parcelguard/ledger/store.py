"""The SQL tile store: one enterprise's Merkle tiles in ``ledger_tiles``.

It works inside the caller's transaction (a Connection from the session), so tile
writes commit or roll back together with the event rows and the head size they
describe. Each ``read_tiles`` and ``write_tiles`` is one statement.

Writes are upserts (a partial edge tile is rewritten as the log grows) with a guard
in the database itself: an existing tile is replaced only if the new bytes start with
the old ones. Tiles only ever grow, so any other write is a stale or hostile writer
trying to change stored history, and it is refused with TileConflictError.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from parcelguard.core.bulk import raw
from parcelguard.core.errors import DomainError
from parcelguard.ledger.merkle import append
from parcelguard.ledger.models import LedgerTile
from parcelguard.ledger.tiles import (
    DEFAULT_HEIGHT,
    TileConflictError,
    TileKey,
    TileMissingError,
)

_T = LedgerTile.__table__
_TABLE = LedgerTile.__tablename__


class SqlTileStore:
    """TileStore over ``ledger_tiles`` for one enterprise, in the caller's transaction."""

    def __init__(self, conn: Connection, enterprise_id: str) -> None:
        self.conn = conn
        self.enterprise_id = enterprise_id

    def read_tiles(self, keys: Sequence[TileKey]) -> dict[TileKey, bytes]:
        if not keys:
            return {}
        by_level: dict[int, set[int]] = defaultdict(set)
        for key in keys:
            by_level[key.level].add(key.index)
        # Plain SQL on the DBAPI cursor, in the session's transaction: a proof is one
        # such read plus ~0.4 ms of hashing, and building a SQLAlchemy statement per
        # call would cost more than both. One branch per tile level (3 levels hold 10M
        # leaves) joined by UNION ALL, so each is a primary-key lookup: SQLite plans
        # "level = a AND idx IN (..) OR level = b ..." as a scan of all the log's tiles.
        branches: list[str] = []
        params: list[object] = []
        for level, indices in by_level.items():
            branches.append(f"SELECT level, idx, data FROM {_TABLE} WHERE enterprise_id = "
                            f"{{p}} AND level = {{p}} AND idx IN "
                            f"({', '.join(['{p}'] * len(indices))})")
            params += [self.enterprise_id, level, *sorted(indices)]
        sql = " UNION ALL ".join(branches)
        return {TileKey(level, idx): bytes(data)
                for level, idx, data in raw(self.conn, sql, params)}

    def write_tiles(self, tiles: Mapping[TileKey, bytes]) -> None:
        if not tiles:
            return
        insert: Any = pg_insert if self.conn.dialect.name == "postgresql" else sqlite_insert
        stmt = insert(_T)
        stmt = stmt.on_conflict_do_update(
            index_elements=[_T.c.enterprise_id, _T.c.level, _T.c.idx],
            set_={"data": stmt.excluded.data},
            # The prefix rule, checked where the old bytes are: no read-modify-write race.
            where=func.substr(stmt.excluded.data, 1, func.length(_T.c.data)) == _T.c.data,
        ).returning(_T.c.level, _T.c.idx)
        rows = [{"enterprise_id": self.enterprise_id, "level": key.level, "idx": key.index,
                 "data": data} for key, data in tiles.items()]
        written = {TileKey(level, idx) for level, idx in
                   self.conn.execute(stmt, rows).all()}
        refused = sorted(set(tiles) - written)
        if refused:
            first = refused[0]
            # The transaction holds the other tiles of this write: the caller must roll
            # back, which raising makes every boundary do.
            raise TileConflictError(
                f"refused to rewrite tile (level {first.level}, index {first.index}) of "
                f"enterprise {self.enterprise_id}: stored hashes would change")


class LedgerStorageError(DomainError):
    """An append found the tiles out of step with the head size: the log's storage was
    altered or lost. Nothing is written (the caller's transaction rolls back)."""

    status_code = 500
    code = "ledger_storage_error"


def append_leaf_batch(conn: Connection, enterprise_id: str, size: int,
                      hashes: Sequence[bytes], *, height: int = DEFAULT_HEIGHT) -> bytes:
    """Append a batch of leaf hashes (``Decoded.leaf_hash``) to an enterprise's tiles;
    return the new root.

    ``size`` is the log size before the batch, read under the head row lock by the
    caller, which then stores ``size + len(hashes)`` in the same transaction.
    """
    try:
        _, new_root = append(SqlTileStore(conn, enterprise_id), size, hashes, height=height)
    except (TileConflictError, TileMissingError) as exc:
        raise LedgerStorageError(
            f"the Merkle log of {enterprise_id} does not match its size {size} ({exc}); "
            "nothing was stored: run `parcelguard ledger verify`") from exc
    return new_root
