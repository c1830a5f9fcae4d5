"""Parcel intake seals PI at collection, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.core.errors import InvalidInput
from parcelguard.logistics.identifiers import make_waybill_no
from parcelguard.logistics.intake import ParcelIn, PartyIn, register_parcels
from parcelguard.logistics.models import Parcel
from parcelguard.vault.facade import Vault
from parcelguard.vault.kms import InMemoryKms
from parcelguard.vault.service import VaultService

T0 = datetime(2026, 11, 11, 9, tzinfo=UTC)
ALICE = PartyIn("sub-alice", "欧阳娜娜", "13812345678", "上海市浦东新区张江路88弄5号楼1203室",
                "11010519491231002X")
BOB = PartyIn("sub-bob", "张三", "+86 139-0000-1111", "北京市海淀区中关村大街1号3单元402")


@pytest.fixture
def vault(session: Session) -> VaultService:
    from parcelguard.core.clock import ManualClock
    from parcelguard.identity.service import create_organization

    create_organization(session, org_id="ent-a", kind="enterprise", name="A",
                        clock=ManualClock(T0))
    return VaultService(Vault(InMemoryKms()))


def parcel(serial: int, sender: PartyIn = ALICE, recipient: PartyIn = BOB) -> ParcelIn:
    return ParcelIn(waybill_no=make_waybill_no("SF", serial), sender=sender,
                    recipient=recipient, created_at=T0, destination_region="110108")


def test_pi_is_sealed_and_readable_only_through_the_vault(session: Session,
                                                          vault: VaultService) -> None:
    (pid,) = register_parcels(session, vault, enterprise_id="ent-a", parcels=[parcel(1)],
                              record_created=False)
    row = session.get(Parcel, pid)
    assert row is not None
    cts = [row.sender_name_ct, row.sender_phone_ct, row.sender_id_number_ct,
           row.recipient_phone_ct, row.recipient_address_ct]
    assert all(ct and b"13812345678" not in ct for ct in cts)
    opened = vault.open(session, "ent-a", [
        ("sub-alice", pid, "sender_name", row.sender_name_ct),
        ("sub-alice", pid, "sender_id_number", row.sender_id_number_ct),
        ("sub-bob", pid, "recipient_phone", row.recipient_phone_ct)])
    assert opened == ["欧阳娜娜", "11010519491231002X", "+86 139-0000-1111"]


def test_staff_find_parcels_by_phone_without_decrypting(session: Session,
                                                        vault: VaultService) -> None:
    register_parcels(session, vault, enterprise_id="ent-a", parcels=[
        parcel(1), parcel(2, recipient=ALICE, sender=BOB)], record_created=False)
    full, last4 = vault.phone_indexes(session, "ent-a", "139 0000 1111")
    by_full = session.scalars(select(Parcel.waybill_no).where(
        Parcel.recipient_phone_bi == full)).all()
    by_last4 = session.scalars(select(Parcel.waybill_no).where(
        Parcel.recipient_phone_last4_bi == last4)).all()
    assert by_full == [make_waybill_no("SF", 1)]
    assert by_last4 == [make_waybill_no("SF", 1)]


def test_erasure_shreds_one_subject_and_spares_the_other(session: Session,
                                                         vault: VaultService) -> None:
    (pid,) = register_parcels(session, vault, enterprise_id="ent-a", parcels=[parcel(1)],
                              record_created=False)
    row = session.get(Parcel, pid)
    assert row is not None
    vault.erase_subject(session, "ent-a", "sub-alice", reason="data-subject request", at=T0)
    opened = vault.open(session, "ent-a", [
        ("sub-alice", pid, "sender_name", row.sender_name_ct),
        ("sub-bob", pid, "recipient_name", row.recipient_name_ct)])
    assert opened == [None, "张三"]
    with pytest.raises(PermissionError, match="erased"):
        register_parcels(session, vault, enterprise_id="ent-a", parcels=[parcel(2)],
                         record_created=False)


@pytest.mark.parametrize(("mutate", "message"), [
    ({"waybill_no": "SF0000000000010"}, "check digit"),
    ({"destination_region": "11010"}, "6-digit"),
    ({"sender": PartyIn("s", "李四", "12", "x")}, "not a phone number"),
    ({"sender": PartyIn("s", "李四", "13800000000", "x", "110105194912310021")}, "GB 11643"),
])
def test_bad_input_is_refused_with_a_reason_and_nothing_stored(
        session: Session, vault: VaultService, mutate: dict[str, object], message: str) -> None:
    from dataclasses import replace

    with pytest.raises(InvalidInput, match=message) as exc:
        register_parcels(session, vault, enterprise_id="ent-a",
                         parcels=[replace(parcel(1), **mutate)])  # type: ignore[arg-type]
    assert "1380000" not in str(exc.value)
    assert session.scalars(select(Parcel)).all() == []


def test_created_events_go_to_the_log(session: Session, vault: VaultService) -> None:
    from parcelguard.ledger.models import LedgerEvent

    register_parcels(session, vault, enterprise_id="ent-a", parcels=[parcel(1), parcel(2)])
    events = session.scalars(select(LedgerEvent).where(LedgerEvent.enterprise_id == "ent-a")).all()
    assert [e.kind for e in events] == ["parcel", "parcel"]
    assert all(b"13812345678" not in e.leaf and "娜".encode() not in e.leaf for e in events)
