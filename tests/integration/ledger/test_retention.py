"""Archiving old leaves to Parquet keeps every proof and the full verification."""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from parcelguard.core.clock import ManualClock
from parcelguard.core.errors import InvalidInput
from parcelguard.ledger import logs, retention
from parcelguard.ledger.models import LedgerEvent
from tests.integration.ledger import independent as ref
from tests.integration.ledger.conftest import ingest, parcel, stored_leaves

OLD, NEW = "2025-01-05T08:00:00+08:00", "2026-11-01T08:00:00+08:00"


@pytest.fixture
def log(session: Session, clock: ManualClock) -> list[bytes]:
    # 300 old events, then one recent, then old ones again: only the prefix may go
    docs = [parcel(i, occurred_at=OLD) for i in range(300)]
    docs += [parcel(300, occurred_at=NEW)] + [parcel(i, occurred_at=OLD) for i in range(301, 320)]
    ingest(session, docs, clock)
    return stored_leaves(session)


def test_the_old_prefix_moves_out_and_proofs_still_verify(
        session: Session, clock: ManualClock, log: list[bytes], tmp_path: Path) -> None:
    row = retention.archive(session, "ent-a", before=datetime(2025, 6, 1, tzinfo=UTC),
                            archive_dir=tmp_path, clock=clock)
    assert row is not None
    assert (row.first_seq, row.end_seq) == (0, 300)
    assert session.scalar(select(func.min(LedgerEvent.seq))) == 300
    tree = ref.Tree(log)
    for index in (0, 299, 300, 319):
        proof = logs.prove(session, "ent-a", index)
        assert base64.b64decode(proof["leaf"]) == log[index]
        assert ref.verify_inclusion(log[index], index, 320,
                                    [base64.b64decode(h) for h in proof["inclusion"]],
                                    tree.root(320))
    assert logs.verify(session, "ent-a").ok
    out = io.BytesIO()
    assert logs.export(session, "ent-a", out) == 320
    assert out.getvalue().splitlines() == log
    # nothing more qualifies until the recent event is old enough
    assert retention.archive(session, "ent-a", before=datetime(2025, 6, 1, tzinfo=UTC),
                             archive_dir=tmp_path, clock=clock) is None


def test_an_altered_or_lost_archive_file_is_named(
        session: Session, clock: ManualClock, log: list[bytes], tmp_path: Path) -> None:
    row = retention.archive(session, "ent-a", before=datetime(2025, 6, 1, tzinfo=UTC),
                            archive_dir=tmp_path, clock=clock)
    assert row is not None
    path = Path(row.path)
    path.write_bytes(path.read_bytes() + b"\x00")
    report = logs.verify(session, "ent-a")
    assert (report.ok, report.first_bad_index) == (False, 0)
    assert "altered" in (report.reason or "")
    path.unlink()
    assert "missing" in (logs.verify(session, "ent-a").reason or "")


def test_events_younger_than_six_months_stay(session: Session, clock: ManualClock,
                                             log: list[bytes], tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="at least 6 months"):
        retention.archive(session, "ent-a", before=datetime(2026, 6, 1, tzinfo=UTC),
                          archive_dir=tmp_path, clock=clock)
    assert retention.months_before(datetime(2026, 8, 31, tzinfo=UTC), 6) == \
        datetime(2026, 2, 28, tzinfo=UTC)
