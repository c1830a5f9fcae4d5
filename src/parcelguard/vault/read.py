"""What other packages may read of the vault: plain values, never the ORM rows
(``vault/models.py`` is the vault's own), and never a key: who was erased and when,
which data-key versions a subject holds, how many people have keys. Decrypting and
sealing are ``VaultService``'s."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from parcelguard.vault.models import VaultErasure, VaultSubjectKey


def erased_at(session: Session, enterprise_id: str, subject_id: str) -> datetime | None:
    """When the person's keys were destroyed (None: they were not)."""
    tomb = session.get(VaultErasure, (enterprise_id, subject_id))
    return tomb.erased_at if tomb is not None else None


def erased_among(session: Session, enterprise_id: str, subject_ids: Sequence[str], *,
                 by: datetime | None = None) -> set[str]:
    """Those of ``subject_ids`` whose keys were destroyed (by ``by``): one query."""
    stmt = select(VaultErasure.subject_id).where(VaultErasure.enterprise_id == enterprise_id,
                                                 VaultErasure.subject_id.in_(subject_ids))
    if by is not None:
        stmt = stmt.where(VaultErasure.erased_at <= by)
    return set(session.scalars(stmt))


def erased_subjects(session: Session, enterprise_id: str) -> set[str]:
    """Everyone of the enterprise whose keys were destroyed."""
    return set(session.scalars(select(VaultErasure.subject_id)
                               .where(VaultErasure.enterprise_id == enterprise_id)))


def erased_subjects_query(enterprise_id: str) -> Select[str]:
    """The same as a query, for a caller that leaves them out of a bulk read in the
    same statement (the retention sweep)."""
    return select(VaultErasure.subject_id).where(VaultErasure.enterprise_id == enterprise_id)


def key_versions(session: Session, enterprise_id: str) -> dict[str, set[int]]:
    """Subject -> the versions of the data keys the vault holds for them."""
    keys: dict[str, set[int]] = {}
    for subject, version in session.execute(
            select(VaultSubjectKey.subject_id, VaultSubjectKey.dek_version)
            .where(VaultSubjectKey.enterprise_id == enterprise_id)):
        keys.setdefault(subject, set()).add(version)
    return keys


def people_with_keys(session: Session, enterprise_id: str) -> int:
    """How many data subjects have keys in the enterprise's vault."""
    return int(session.scalar(
        select(func.count(func.distinct(VaultSubjectKey.subject_id)))
        .where(VaultSubjectKey.enterprise_id == enterprise_id)) or 0)
