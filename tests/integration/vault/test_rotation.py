"""Key rotation mid-run loses nothing: new writes use the new key at once, a run
interrupted between batches resumes where it stopped, and after retirement every
field still decrypts while the old key version is gone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.core.clock import ManualClock
from parcelguard.core.errors import Conflict
from parcelguard.core.plugin import contributions
from parcelguard.identity.service import create_organization
from parcelguard.logistics.identifiers import make_waybill_no
from parcelguard.logistics.intake import ParcelIn, PartyIn, register_parcels
from parcelguard.logistics.models import Parcel
from parcelguard.vault import rotation
from parcelguard.vault.facade import Vault
from parcelguard.vault.kms import InMemoryKms
from parcelguard.vault.models import VaultKek, VaultSubjectKey
from parcelguard.vault.service import VaultService

CIPHERTEXT_COLUMNS = contributions("ciphertext_columns")

T0 = datetime(2026, 11, 11, 9, tzinfo=UTC)


def person(i: int) -> PartyIn:
    return PartyIn(f"sub-{i:04d}", f"测试{i}", f"138{i:08d}", f"上海市徐汇区漕溪北路{i}号")


def add_parcels(session: Session, vs: VaultService, start: int, n: int) -> None:
    register_parcels(session, vs, enterprise_id="ent-a", record_created=False, parcels=[
        ParcelIn(waybill_no=make_waybill_no("SF", i), sender=person(i),
                 recipient=person(i + 5000), created_at=T0) for i in range(start, start + n)])


def everything_decrypts(session: Session, vs: VaultService) -> list[str | None]:
    rows = session.scalars(select(Parcel).order_by(Parcel.waybill_no)).all()
    return vs.open(session, "ent-a", [
        item for p in rows for item in (
            (p.sender_subject_id, p.id, "sender_phone", p.sender_phone_ct),
            (p.recipient_subject_id, p.id, "recipient_name", p.recipient_name_ct))])


@pytest.fixture
def vs(session: Session) -> VaultService:
    create_organization(session, org_id="ent-a", kind="enterprise", name="A",
                        clock=ManualClock(T0))
    return VaultService(Vault(InMemoryKms()))


@pytest.mark.parametrize("reencrypt", [False, True])
def test_rotation_interrupted_and_resumed_loses_nothing(session: Session, vs: VaultService,
                                                        reencrypt: bool) -> None:
    add_parcels(session, vs, 0, 40)
    before = everything_decrypts(session, vs)
    assert None not in before

    job = rotation.start_rotation(session, vs, enterprise_id="ent-a", reencrypt=reencrypt,
                                  at=T0)
    with pytest.raises(Conflict):
        rotation.start_rotation(session, vs, enterprise_id="ent-a", reencrypt=reencrypt, at=T0)
    rotation.run_batch(session, vs, job, locations=CIPHERTEXT_COLUMNS, batch=15, at=T0)
    # new writes during the rotation use the new key at once
    add_parcels(session, vs, 100, 5)
    new_keys = session.scalars(select(VaultSubjectKey.kek_version).where(
        VaultSubjectKey.subject_id == "sub-0100")).all()
    assert new_keys == [job.to_version]

    # "crash": drop the job object, resume from the stored cursor with a fresh vault
    # process (empty key cache)
    resumed = VaultService(vs.vault.__class__(vs.vault.kms))
    job = rotation.running_job(session, "ent-a")
    while not rotation.run_batch(session, resumed, job, locations=CIPHERTEXT_COLUMNS,
                                 batch=15, at=T0).done:
        pass
    assert job.status == "done"

    versions = set(session.scalars(select(VaultSubjectKey.kek_version)))
    assert versions == {job.to_version}
    assert rotation.retire_stale(session, resumed, enterprise_id="ent-a") == [1]
    old = session.get(VaultKek, ("ent-a", 1))
    assert old is not None
    assert old.status == "retired"
    assert old.wrapped_key == b""
    after = everything_decrypts(session, VaultService(Vault(resumed.vault.kms)))
    assert after[: len(before)] == before
    assert None not in after
    if reencrypt:
        assert job.fields_reencrypted == 45 * 6  # every field of every parcel moved


def test_a_rotation_starting_between_a_readers_two_reads_still_opens(
        session: Session, vs: VaultService) -> None:
    """`open` reads the keyset, then the subject keys. On PostgreSQL each statement
    sees the latest commits, so a rotation that starts and moves keys in between
    hands the reader keys under a KEK version its keyset does not have (seen as a
    KeyNotFoundError in the operator's rotation test). The rotation is run here
    between the two reads, in the same transaction."""
    add_parcels(session, vs, 0, 10)
    before = everything_decrypts(session, vs)
    read_keys = vs.subject_keys

    def rotation_in_between(*args: object, **kwargs: object) -> object:
        job = rotation.start_rotation(session, vs, enterprise_id="ent-a", reencrypt=False,
                                      at=T0)
        rotation.run_batch(session, vs, job, locations=CIPHERTEXT_COLUMNS, batch=5, at=T0)
        vs.subject_keys = read_keys  # type: ignore[method-assign]
        return read_keys(*args, **kwargs)  # type: ignore[arg-type]

    vs.subject_keys = rotation_in_between  # type: ignore[method-assign]
    assert everything_decrypts(session, vs) == before
    assert set(session.scalars(select(VaultSubjectKey.kek_version))) == {1, 2}
