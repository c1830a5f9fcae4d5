"""The retention sweep and the minors' flag on SQLite and PostgreSQL: the intake's
bulk path stores the child flag with the guardian's consent time, and the sweep's
due-people query, shred and delete event work on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.access.subjects import retention
from parcelguard.core.clock import ManualClock
from parcelguard.identity.service import create_organization
from parcelguard.ledger.ingest import record_events
from parcelguard.logistics.identifiers import id_check_char, make_waybill_no
from parcelguard.logistics.intake import (
    GuardianConsentRequired,
    ParcelIn,
    PartyIn,
    register_parcels,
)
from parcelguard.logistics.models import Parcel
from parcelguard.vault.facade import Vault
from parcelguard.vault.kms import InMemoryKms
from parcelguard.vault.models import VaultErasure
from parcelguard.vault.service import VaultService

NOW = datetime(2026, 12, 7, 9, tzinfo=UTC)


def _id(born: str) -> str:
    first17 = f"310115{born}123"
    return first17 + id_check_char(first17)


def _party(subject: str, id_number: str | None = None) -> PartyIn:
    return PartyIn(subject, "张三", "13812345678", "上海市浦东新区张江路88弄5号楼1203室",
                   id_number)


@pytest.fixture
def vault(session: Session) -> VaultService:
    create_organization(session, org_id="ent-a", kind="enterprise", name="A",
                        clock=ManualClock(NOW))
    return VaultService(Vault(InMemoryKms()))


def test_a_child_sender_is_flagged_only_with_a_guardians_consent(
        session: Session, vault: VaultService) -> None:
    child = ParcelIn(make_waybill_no("SF", 1), _party("sub-kid", _id("20150101")),
                     _party("sub-r"), NOW)
    with pytest.raises(GuardianConsentRequired):
        register_parcels(session, vault, enterprise_id="ent-a", parcels=[child])
    consented = ParcelIn(make_waybill_no("SF", 2), _party("sub-kid", _id("20150101")),
                         _party("sub-r"), NOW, guardian_consent=True)
    adult = ParcelIn(make_waybill_no("SF", 3), _party("sub-adult", _id("19800101")),
                     _party("sub-r2"), NOW)
    register_parcels(session, vault, enterprise_id="ent-a", parcels=[consented, adult])
    rows = {p.waybill_no: (p.sender_minor, p.guardian_consent_at)
            for p in session.scalars(select(Parcel))}
    assert rows == {consented.waybill_no: (True, NOW), adult.waybill_no: (False, None)}


def test_the_sweep_shreds_past_the_period_once(session: Session, vault: VaultService) -> None:
    old, new = NOW - timedelta(days=366), NOW - timedelta(days=5)
    parcels = [ParcelIn(make_waybill_no("SF", 10), _party("sub-old"), _party("sub-old-r"), old),
               ParcelIn(make_waybill_no("SF", 11), _party("sub-new"), _party("sub-old-r"), new)]
    register_parcels(session, vault, enterprise_id="ent-a", parcels=parcels)
    record_events(session, [{"event_id": f"ev-d{i}", "kind": "parcel",
                             "occurred_at": (p.created_at + timedelta(days=1)).isoformat(),
                             "enterprise_id": "ent-a", "waybill_no": p.waybill_no,
                             "step": "delivered"} for i, p in enumerate(parcels)],
                  clock_now=lambda: NOW)
    res = retention.sweep(session, vault, enterprise_id="ent-a", now=NOW, batch=1)
    # the recipient of both is kept: their newest parcel is within the period
    assert (res.period.days, res.due, res.shredded, res.held_open) == (365, 1, 1, 0)
    assert set(session.scalars(select(VaultErasure.subject_id))) == {"sub-old"}
    again = retention.sweep(session, vault, enterprise_id="ent-a", now=NOW)
    assert (again.due, again.shredded, again.event_ids) == (0, 0, [])
