"""Who did what, when: the timeline every incident change appends to, the names
actors go by, and the check that keeps PI out of the free text people type.

Actors are ``<org>/<account or API key id>`` for people and machine clients, and
``system:<job>`` for parcelguard's own jobs (the alert handler, the sweep), so the
regulator can always tell a person's decision from an automatic one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.access.policy import looks_like_pi
from parcelguard.core.errors import InvalidInput
from parcelguard.identity import read as identity_read
from parcelguard.identity.permissions import Principal
from parcelguard.incidents.models import TimelineEntry

SYSTEM_MONITOR = "system:monitor"
SYSTEM_SWEEP = "system:escalation-sweep"


def actor_of(principal: Principal) -> str:
    who = principal.account_id or principal.api_key_id or "operator"
    return f"{principal.org_id}/{who}"


def clean_text(text: str, what: str, *, max_len: int = 500, min_len: int = 1) -> str:
    """Normalise whitespace and refuse PI-shaped content (phone, ID, e-mail): the
    text is shown to the regulator and kept for years. The message names the field,
    never the value."""
    norm = " ".join(text.split())
    if not min_len <= len(norm) <= max_len:
        raise InvalidInput(f"{what}: {min_len}-{max_len} characters")
    if looks_like_pi(norm):
        raise InvalidInput(f"{what}: no phone numbers, ID numbers or e-mail addresses")
    return norm


def clean_json(value: Any, what: str, *, skip: frozenset[str] = frozenset()) -> None:
    """``clean_text`` over every string inside a document (reports, plans), except
    the values of keys in ``skip``. Times and numbers are not text: pass the
    document with its datetimes as objects."""
    if isinstance(value, str):
        if value:
            clean_text(value, what, max_len=4000, min_len=0)
    elif isinstance(value, list):
        for v in value:
            clean_json(v, what, skip=skip)
    elif isinstance(value, dict):
        for k, v in value.items():
            if str(k) not in skip:
                clean_json(v, f"{what}.{k}", skip=skip)


def record(session: Session, incident_id: str, *, at: datetime, actor: str, action: str,
           **detail: Any) -> TimelineEntry:
    """Append one entry. ``detail`` holds ids, codes and counts only."""
    entry = TimelineEntry(incident_id=incident_id, at=at, actor=actor, action=action,
                          detail=detail)
    session.add(entry)
    return entry


def names(session: Session, actors: Iterable[str]) -> dict[str, str]:
    """``actor`` -> the person's name (display name, else username) for actors that
    are accounts; machine clients and jobs keep their actor string. Case tools show
    who did what by name, not by account id."""
    ids = {a.split("/", 1)[1] for a in actors if "/" in a}
    found = identity_read.display_names(session, ids)
    return {a: found.get(a.split("/", 1)[-1], a) for a in actors}


def entries(session: Session, incident_id: str) -> list[TimelineEntry]:
    return list(session.scalars(select(TimelineEntry)
                                .where(TimelineEntry.incident_id == incident_id)
                                .order_by(TimelineEntry.id)))
