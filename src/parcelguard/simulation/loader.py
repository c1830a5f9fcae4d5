"""Load a simulated world into the platform's tables the way an enterprise's own
systems would: organisations, stations, the roster, parcels (PI sealed by the vault
at collection) and assignments. Events are not written here: they go through
ingest like any enterprise's stream."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from parcelguard.core.bulk import bulk_insert
from parcelguard.core.clock import Clock
from parcelguard.core.ids import new_id
from parcelguard.identity.service import create_organization
from parcelguard.logistics.intake import ParcelIn, PartyIn, register_parcels
from parcelguard.logistics.models import Assignment, Employee, Station
from parcelguard.simulation.model import World
from parcelguard.vault.service import VaultService

Progress = Callable[[int], None]


def _bind(session: Session, column: object) -> Callable[[datetime | None], object]:
    proc = column.type.bind_processor(session.connection().dialect)  # type: ignore[attr-defined]
    return proc if proc is not None else (lambda v: v)


POLICE_ORG = "police-netsec"


def load_organisations(session: Session, world: World, clock: Clock) -> None:
    """The carriers, and the police network-security department that referrals go
    to (registered up front, as a deployment does, so an incident's referral
    proposal finds its recipient whenever it comes)."""
    for ent in world.enterprises:
        create_organization(session, org_id=ent.id, kind="enterprise", name=ent.name,
                            clock=clock)
    create_organization(session, org_id=POLICE_ORG, kind="police",
                        name="公安机关网络安全保卫部门 (demo)", clock=clock)


def load_network(session: Session, world: World, clock: Clock) -> None:
    """Stations and the roster as of the end of the window."""
    now = clock.now()
    session.add_all(Station(id=s.id, enterprise_id=s.enterprise_id, name=s.name,
                            region_code=s.region_code, created_at=now) for s in world.stations)
    session.flush()
    session.add_all(Employee(
        id=e.id, enterprise_id=e.enterprise_id, station_id=e.station_id, role=e.role,
        shift_start=e.shift_start, shift_end=e.shift_end, shift_tz=e.tz,
        background_check=e.background_check, trained_at=e.hired_at if e.trained else None,
        status="left" if e.left_at else "active", hired_at=e.hired_at, left_at=e.left_at)
        for e in world.employees)
    session.flush()


def load_parcels(session: Session, world: World, vault: VaultService, *,
                 batch: int = 5_000, progress: Progress | None = None) -> int:
    """Every parcel with its sender's and recipient's PI sealed at collection."""
    people = {p.id: p for p in world.people}

    def party(pid: str, with_id: bool) -> PartyIn:
        p = people[pid]
        return PartyIn(subject_id=p.id, name=p.name, phone=p.phone, address=p.address,
                       id_number=p.id_number if with_id else None)

    by_ent: dict[str, list[ParcelIn]] = {}
    for p in world.parcels:
        by_ent.setdefault(p.enterprise_id, []).append(ParcelIn(
            waybill_no=p.waybill_no, sender=party(p.sender_id, True),
            recipient=party(p.recipient_id, False), created_at=p.created_at,
            origin_station_id=p.origin_station_id,
            destination_station_id=p.destination_station_id,
            destination_region=p.destination_region))
    done = 0
    for ent, items in by_ent.items():
        for i in range(0, len(items), batch):
            chunk = items[i:i + batch]
            register_parcels(session, vault, enterprise_id=ent, parcels=chunk,
                             record_created=False)
            done += len(chunk)
            if progress:
                progress(done)
    return done


def load_assignments(session: Session, world: World) -> int:
    """Assignments as the enterprise's dispatch system made them: one per
    ``assigned`` parcel event, valid from that moment to ``assignment_until``."""
    ts = _bind(session, Assignment.__table__.c.starts_at)
    rows = []
    for ev in world.events:
        if ev["kind"] == "parcel" and ev["step"] == "assigned" and ev.get("assignee_id"):
            start = datetime.fromisoformat(ev["occurred_at"])
            end = datetime.fromisoformat(ev["assignment_until"])
            rows.append((new_id("asg"), ev["enterprise_id"], ev["assignee_id"],
                         ev["waybill_no"], ev["assignment_purpose"], ts(start), ts(end), False))
    bulk_insert(session.connection(), Assignment.__tablename__,
                ("id", "enterprise_id", "employee_id", "waybill_no", "purpose", "starts_at",
                 "ends_at", "revoked"), rows)
    return len(rows)
