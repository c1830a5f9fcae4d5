"""Canary parcels: synthetic parcels nobody has a reason to touch.

A canary is an ordinary-looking parcel of the enterprise (a valid waybill number in
its own series, stations of its own network, PI sealed by the vault like any other)
whose recipient and sender phones are monitored virtual numbers leased from the
telephony provider. Nothing assigns it to anyone, so:

- any access event on its waybill (allowed or denied), or a bulk export whose scope
  covered it, means someone browsed where the job does not lead;
- any call to its numbers means its data left the enterprise (scammers dial the
  numbers they bought).

Each use is recorded with everyone who ever had access to the canary and published
as ``CanaryTouched``; the bridges (bridges/reactions.py) turn that into a critical monitor alert.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.access import read as access_read
from parcelguard.access.repository import AccessRepository
from parcelguard.channel import history
from parcelguard.channel.events import CanaryTouched
from parcelguard.channel.models import ChannelCanary, ChannelCanaryCursor, ChannelCanaryHit
from parcelguard.channel.repository import enterprise_or_404
from parcelguard.core.clock import Clock
from parcelguard.core.errors import InvalidInput
from parcelguard.core.ids import new_id
from parcelguard.core.outbox import emit
from parcelguard.ledger import read as ledger_read
from parcelguard.logistics import read as logistics_read
from parcelguard.logistics.identifiers import WAYBILL_RE, make_waybill_no
from parcelguard.logistics.intake import ParcelIn, PartyIn, register_parcels
from parcelguard.vault.blind_index import normalize_phone
from parcelguard.vault.service import VaultService
from parcelguard.waybill.telephony import BindingMode, Telephony

MAX_PER_CALL = 100
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = ("伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰",
          "娟", "涛", "明", "超", "秀兰", "霞")
_ROADS = ("人民路", "解放路", "中山路", "建设路", "和平路", "新华路", "文化路", "胜利路")
_SHOPS = ("优品生活旗舰店", "鲜果直供店", "数码配件专营店", "家居百货店", "母婴用品店")


def _rng(seed: int | None) -> random.Random:
    # Production canaries must not be guessable from their neighbours: system entropy.
    # A seed is for the simulator and tests only.
    return random.Random(seed) if seed is not None else random.SystemRandom()  # noqa: S311


def _person(rng: random.Random, subject: str, phone: str) -> PartyIn:
    name = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
    address = (f"{rng.choice(_ROADS)}{rng.randint(1, 999)}号{rng.randint(1, 30)}栋"
               f"{rng.randint(1, 6)}单元{rng.randint(1, 33)}0{rng.randint(1, 4)}室")
    return PartyIn(subject_id=subject, name=name, phone=phone, address=address)


def _prefix(session: Session, enterprise_id: str) -> str:
    any_waybill = logistics_read.some_waybill(session, enterprise_id,
                                              excluding=select(ChannelCanary.waybill_no))
    m = WAYBILL_RE.match(any_waybill or "")
    if m is None:
        raise InvalidInput("the enterprise has no parcels yet for canaries to blend in with")
    return m.group(1)


def _lease(session: Session, telephony: Telephony, enterprise_id: str) -> str:
    for _ in range(10):
        number = telephony.lease_number(enterprise_id=enterprise_id, mode=BindingMode.AXB)
        if session.scalar(select(ChannelCanary.id).where(
                ChannelCanary.monitored_number == number)) is None:
            return number
    raise InvalidInput("the telephony provider keeps offering numbers already monitored")


def seed(session: Session, vault: VaultService, telephony: Telephony, *, enterprise_id: str,
         count: int, by: str, clock: Clock, rng_seed: int | None = None) -> list[ChannelCanary]:
    """Create ``count`` canary parcels (their ``created`` events go to the log like
    any parcel's)."""
    enterprise_or_404(session, enterprise_id)
    if not 1 <= count <= MAX_PER_CALL:
        raise InvalidInput(f"seed 1-{MAX_PER_CALL} canaries at a time")
    rng = _rng(rng_seed)
    prefix = _prefix(session, enterprise_id)
    stations = logistics_read.station_ids(session, enterprise_id)
    now = clock.now()
    rows, parcels = [], []
    for _ in range(count):
        while True:
            waybill = make_waybill_no(prefix, rng.randrange(10**11, 10**12))
            if not logistics_read.waybill_taken(session, waybill):
                break
        recipient_line = _lease(session, telephony, enterprise_id)
        sender_line = telephony.lease_number(enterprise_id=enterprise_id, mode=BindingMode.AXB)
        recipient = _person(rng, new_id("cns"), recipient_line)
        sender = _person(rng, new_id("cns"), sender_line)
        sender = PartyIn(sender.subject_id, rng.choice(_SHOPS), sender.phone, sender.address)
        origin = rng.choice(stations) if stations else None
        dest = rng.choice(stations) if stations else None
        parcels.append(ParcelIn(waybill_no=waybill, sender=sender, recipient=recipient,
                                created_at=now, origin_station_id=origin,
                                destination_station_id=dest))
        rows.append(ChannelCanary(id=new_id("cny"), enterprise_id=enterprise_id,
                                  waybill_no=waybill, monitored_number=recipient_line,
                                  seeded_at=now, seeded_by=by))
    register_parcels(session, vault, enterprise_id=enterprise_id, parcels=parcels)
    session.add_all(rows)
    session.flush()
    return rows


def canaries(session: Session, enterprise_id: str) -> list[ChannelCanary]:
    return list(session.scalars(select(ChannelCanary).where(
        ChannelCanary.enterprise_id == enterprise_id).order_by(ChannelCanary.seeded_at,
                                                               ChannelCanary.id)))


def exposed_to(session: Session, enterprise_id: str, waybill_no: str) -> list[str]:
    """Everyone who ever had access to the parcel: every actor of an access event on
    it, allowed or denied, everyone it was assigned to, every bulk exporter whose
    export covered it."""
    actors = {r.actor_id for r in history.accesses_to(session, enterprise_id, [waybill_no])}
    actors |= logistics_read.assignees(session, enterprise_id, waybill_no)
    actors |= set(session.scalars(select(ChannelCanaryHit.actor_id).join(
        ChannelCanary, ChannelCanary.id == ChannelCanaryHit.canary_id).where(
        ChannelCanary.waybill_no == waybill_no, ChannelCanaryHit.kind == "export")))
    return sorted(a for a in actors if a)


@dataclass(frozen=True)
class _Hit:
    canary: ChannelCanary
    kind: str
    ref: str
    actor_type: str | None
    actor_id: str | None
    at: datetime
    event_ids: tuple[str, ...]


def _record(session: Session, hits: Sequence[_Hit]) -> list[CanaryTouched]:
    out = []
    exposed: dict[str, list[str]] = {}
    for h in hits:
        if session.scalar(select(ChannelCanaryHit.id).where(
                ChannelCanaryHit.enterprise_id == h.canary.enterprise_id,
                ChannelCanaryHit.event_id == h.ref)) is not None:
            continue  # scanned before (a re-run after a crash)
        row = ChannelCanaryHit(canary_id=h.canary.id, enterprise_id=h.canary.enterprise_id,
                               kind=h.kind, event_id=h.ref, actor_type=h.actor_type,
                               actor_id=h.actor_id, at=h.at, exposed_to=[])
        session.add(row)
        session.flush()
        if h.canary.waybill_no not in exposed:  # once per canary and scan: a log scan each
            exposed[h.canary.waybill_no] = exposed_to(session, h.canary.enterprise_id,
                                                      h.canary.waybill_no)
        row.exposed_to = exposed[h.canary.waybill_no]
        out.append(CanaryTouched(
            enterprise_id=h.canary.enterprise_id, canary_id=h.canary.id,
            waybill_no=h.canary.waybill_no, kind=h.kind, at=h.at, actor_type=h.actor_type,
            actor_id=h.actor_id, event_ids=h.event_ids, exposed_to=tuple(row.exposed_to)))
    session.flush()
    emit(session, *out)  # the critical alert and the conduct signal follow the commit
    return out


def scan(session: Session, *, enterprise_id: str) -> list[CanaryTouched]:
    """Look at the enterprise's log since the last scan (and at bulk exports run
    since) for any use of its canaries. Idempotent: a hit is recorded once."""
    cursor = session.get(ChannelCanaryCursor, enterprise_id)
    if cursor is None:
        cursor = ChannelCanaryCursor(enterprise_id=enterprise_id, seq=0, exports_after=None)
        session.add(cursor)
    by_waybill = {c.waybill_no: c for c in canaries(session, enterprise_id)}
    size = ledger_read.log_size_or_zero(session, enterprise_id)
    hits: list[_Hit] = []
    if by_waybill:
        for r in history.accesses_to(session, enterprise_id, sorted(by_waybill)):
            if r.seq >= cursor.seq and r.waybill_no in by_waybill:
                hits.append(_Hit(by_waybill[r.waybill_no], "access", r.event_id, r.actor_type,
                                 r.actor_id, _dt(r.occurred_at_us), (r.event_id,)))
        exported, last = _export_hits(session, enterprise_id, by_waybill,
                                      cursor.exports_after)
        hits += exported
        cursor.exports_after = last
    cursor.seq = max(cursor.seq, size)
    return _record(session, hits)


def _export_hits(session: Session, enterprise_id: str, by_waybill: dict[str, ChannelCanary],
                 after: datetime | None) -> tuple[list[_Hit], datetime | None]:
    repo = AccessRepository(session, enterprise_id)
    out, last = [], after
    for req in access_read.exports_run(session, enterprise_id, after):
        last = req.exported_at
        for p in repo.scope_parcels(req.scope):
            if p.waybill_no in by_waybill:
                out.append(_Hit(by_waybill[p.waybill_no], "export", f"export:{req.id}",
                                "employee", req.requester_employee_id, req.exported_at, ()))
    return out, last


def _dt(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1_000_000, tz=UTC)


def call(session: Session, *, number: str, at: datetime,
         enterprise_id: str | None = None) -> CanaryTouched | None:
    """A call reached a monitored canary number (reported by the telephony provider).
    None when the number is not a canary's: nothing is recorded for ordinary lines."""
    try:
        digits = normalize_phone(number)
    except ValueError:
        return None
    stmt = select(ChannelCanary).where(ChannelCanary.monitored_number == digits)
    if enterprise_id is not None:
        stmt = stmt.where(ChannelCanary.enterprise_id == enterprise_id)
    canary = session.scalars(stmt).first()
    if canary is None:
        return None
    ref = f"call:{new_id('call')}"
    touched = _record(session, [_Hit(canary, "call", ref, None, None, at, ())])
    return touched[0] if touched else None
