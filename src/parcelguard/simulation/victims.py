"""Victims of the injected insiders, and the social-supervision part of the demo.

``victims(world)`` picks people whose parcels an injected actor saw (allowed waybill
reads in a scenario's ground truth): the data was sold, and a scam operation calls
some of them quoting their parcel, hours to two days later. Each operation calls
from its own number, which the victims quote in their reports; a scenario with two
actors feeds two operations. Some unrelated people report too (other scams, leaks
without a waybill, a rude courier). Deterministic for a world's seed.

``run_demo(session, vault, world, now)`` files those reports and runs the channel,
canaries and conduct on them (``channel/demo.py``, ``conduct/demo.py``), with the
monitor-alert glue the CLI uses; it returns the figures.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.channel.events import ReferConductFinding
from parcelguard.channel.intake import ReportIn
from parcelguard.channel.referrals import Deps, refer_conduct
from parcelguard.channel.settings import ChannelSettings
from parcelguard.conduct.settings import ConductSettings
from parcelguard.core.clock import ManualClock
from parcelguard.identity.models import Organization
from parcelguard.identity.permissions import Principal
from parcelguard.identity.service import create_organization
from parcelguard.simulation import demo_channel as channel_demo
from parcelguard.simulation import demo_conduct as conduct_demo
from parcelguard.simulation.model import World
from parcelguard.vault.service import VaultService
from parcelguard.waybill.telephony import LocalTelephony, Telephony

SHARE_CALLED = 0.35  # of the parcels an actor saw, whose recipients get a scam call
MIN_VICTIMS, MAX_VICTIMS = 3, 30
NOISE_SHARE = 0.15  # unrelated reports, relative to victims' reports
POLICE_ORG = "police-netsec"
_SCAM_BODIES = (
    "接到自称快递客服的电话，说包裹丢失要理赔，对方准确说出了我的姓名、电话、地址和快递单号。",
    "有人冒充快递员打电话让我扫码退款，他知道我刚买的东西和收货地址。",
    "诈骗电话报出了我的快递单号，说快递被海关扣押需要缴费。",
)
_NOISE = (
    ("scam_call", "接到推销电话，不确定信息是不是从快递泄露的。"),
    ("pi_leak", "我的手机号最近收到很多垃圾短信，怀疑快递面单信息泄露。"),
    ("misconduct", "快递员用私人手机给我打电话，还把包裹放在门口，面单朝外。"),
)


@dataclass(frozen=True)
class Victim:
    """One report to file. ``leaked_by``/``scenario`` are ground truth."""

    enterprise_id: str
    kind: str
    waybills: tuple[str, ...]
    body: str
    at: datetime
    source: str
    anonymous: bool
    name: str | None
    contact: str | None
    consent: bool
    scam_caller: str | None
    leaked_by: str | None = None
    scenario: str | None = None

    def __repr__(self) -> str:
        return (f"Victim({self.enterprise_id}, {self.kind}, waybills={len(self.waybills)}, "
                f"scenario={self.scenario}, <PI hidden>)")


def _number(rng: random.Random) -> str:
    return f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"


def _ip(rng: random.Random) -> str:
    return f"100.{rng.randrange(64, 128)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def victims(world: World, *, seed: int | None = None) -> list[Victim]:
    """The reports the world's injected abuse provokes, plus unrelated ones."""
    rng = random.Random(f"{world.config.seed if seed is None else seed}/victims")
    wanted = {eid for s in world.scenarios for eid in s.event_ids}
    seen: dict[tuple[int, str], dict[str, datetime]] = defaultdict(dict)
    index = {id(s): i for i, s in enumerate(world.scenarios)}
    by_event = {eid: index[id(s)] for s in world.scenarios for eid in s.event_ids}
    for ev in world.events:
        if ev["event_id"] not in wanted or ev["kind"] != "access":
            continue
        if ev.get("waybill_no") and ev.get("outcome") == "allowed":
            key = (by_event[ev["event_id"]], ev["actor_id"])
            seen[key].setdefault(ev["waybill_no"], datetime.fromisoformat(ev["occurred_at"]))
    parcels = {p.waybill_no: p for p in world.parcels}
    people = {p.id: p for p in world.people}
    out: list[Victim] = []
    for (i, actor), waybills in sorted(seen.items()):
        scenario = world.scenarios[i]
        if len(waybills) < MIN_VICTIMS:
            continue
        k = max(MIN_VICTIMS, min(MAX_VICTIMS, round(len(waybills) * SHARE_CALLED)))
        caller = _number(rng)
        for wb in rng.sample(sorted(waybills), min(k, len(waybills))):
            person = people[parcels[wb].recipient_id]
            named = rng.random() < 0.5
            out.append(Victim(
                enterprise_id=scenario.enterprise_id, kind="scam_call", waybills=(wb,),
                body=rng.choice(_SCAM_BODIES),
                at=waybills[wb] + timedelta(hours=rng.uniform(2, 48)), source=_ip(rng),
                anonymous=not named, name=person.name if named else None,
                contact=person.phone if named else None,
                consent=named and rng.random() < 0.3, scam_caller=caller, leaked_by=actor,
                scenario=scenario.scenario))
    n_noise = max(5, round(len(out) * NOISE_SHARE))
    end = world.config.start + timedelta(days=world.config.days)
    for p in rng.sample(world.parcels, min(n_noise, len(world.parcels))):
        kind, body = rng.choice(_NOISE)
        out.append(Victim(
            enterprise_id=p.enterprise_id, kind=kind,
            waybills=(p.waybill_no,) if kind != "pi_leak" else (), body=body,
            at=end - timedelta(hours=rng.uniform(1, 48)), source=_ip(rng), anonymous=True,
            name=None, contact=None, consent=False,
            scam_caller=_number(rng) if kind == "scam_call" else None))
    return out


# -- the demo ---------------------------------------------------------------------------


def _police(session: Session, clock: ManualClock) -> str:
    existing = session.scalar(select(Organization.id).where(Organization.kind == "police")
                              .order_by(Organization.id).limit(1))
    if existing is not None:
        return existing
    create_organization(session, org_id=POLICE_ORG, kind="police",
                        name="公安机关网络安全保卫部门 (demo)", clock=clock)
    return POLICE_ORG


def _deliveries(world: World, rng: random.Random, insiders: set[str],
                per_courier: int = 12, couriers: int = 20) -> list[conduct_demo.Delivery]:
    courier: dict[str, str] = {}
    delivered: dict[str, tuple[str, datetime]] = {}
    for ev in world.events:
        if ev["kind"] != "parcel":
            continue
        if ev["step"] == "assigned" and ev.get("assignment_purpose") == "delivery":
            courier[ev["waybill_no"]] = ev["assignee_id"]
        elif ev["step"] == "delivered" and ev["waybill_no"] in courier:
            delivered[ev["waybill_no"]] = (ev["enterprise_id"],
                                           datetime.fromisoformat(ev["occurred_at"]))
    mine: dict[tuple[str, str], list[str]] = defaultdict(list)
    for wb, (ent, _) in delivered.items():
        mine[(ent, courier[wb])].append(wb)
    out = []
    for ent in sorted({e for e, _ in mine}):
        pool = sorted(c for e, c in mine if e == ent)
        picked = set(rng.sample(pool, min(couriers, len(pool)))) | (insiders & set(pool))
        for c in sorted(picked):
            for wb in rng.sample(sorted(mine[(ent, c)]), min(per_courier, len(mine[(ent, c)]))):
                out.append(conduct_demo.Delivery(ent, wb, c, delivered[wb][1]))
    return out


def _rater(rng: random.Random, insiders: set[str], rude: set[str]
           ) -> Callable[[conduct_demo.Delivery], tuple[int, list[str]]]:
    """How recipients rate: most are happy; rude couriers get low marks; couriers who
    abuse PI also call from personal phones and ask for what they should not."""
    def rate(d: conduct_demo.Delivery) -> tuple[int, list[str]]:
        if d.courier_id in insiders:
            weights, p_privacy = (30, 20, 15, 20, 15), 0.3
        elif d.courier_id in rude:
            weights, p_privacy = (10, 15, 25, 30, 20), 0.02
        else:
            weights, p_privacy = (78, 17, 3, 1, 1), 0.005
        rating = rng.choices((5, 4, 3, 2, 1), weights=weights)[0]
        tags = ["on_time", "polite"] if rating >= 4 else (["rude", "late"] if rating <= 2
                                                           else [])
        if rng.random() < p_privacy:
            tags.append(rng.choice(("personal_phone_call", "unnecessary_info", "data_misuse",
                                    "label_exposed")))
        return rating, tags
    return rate


def run_demo(session: Session, vault: VaultService, world: World, now: datetime, *,
             telephony: Telephony | None = None, channel: ChannelSettings | None = None,
             conduct: ConductSettings | None = None) -> dict[str, Any]:
    """Social supervision on the demo world: victims' reports through the channel,
    triangulation, a police referral with a verified evidence package, canaries, and
    a conduct round. ``now`` is when the investigation may start at the earliest
    (e.g. the end of the simulated window). Returns the figures (no PI)."""
    from parcelguard.bridges.reactions import raise_canary_alerts
    from parcelguard.monitor.service import AlertFilter, list_alerts

    channel = channel or ChannelSettings.model_validate({})
    conduct = conduct or ConductSettings.model_validate({})
    rng = random.Random(f"{world.config.seed}/social")
    police = _police(session, ManualClock(now))
    found = victims(world)
    reports = [channel_demo.DemoReport(
        enterprise_id=v.enterprise_id, at=v.at, source=v.source, leaked_by=v.leaked_by,
        scenario=v.scenario, report=ReportIn(
            kind=v.kind, body=v.body, anonymous=v.anonymous, reporter_name=v.name,
            reporter_contact=v.contact, identity_consent=v.consent, waybills=v.waybills,
            scam_caller=v.scam_caller)) for v in found]
    ch = channel_demo.run(session, vault, reports, now=now, settings=channel,
                          telephony=telephony or LocalTelephony(),
                          raise_alerts=raise_canary_alerts, police_org_id=police,
                          seed=world.config.seed)
    supervisor = Principal("supervision", "supervisor", "supervisor_analyst")
    signals = list(ch.signals)
    for a in list_alerts(session, supervisor, AlertFilter(limit=100_000)):
        if a.subject_type == "employee" and a.severity in ("high", "critical"):
            signals.append((a.enterprise_id, a.subject_id, "monitor_alert", a.id, a.raised_at))
    insiders = {a for s in world.scenarios for a in s.actors
                if s.scenario not in ("credential_stuffing",)}
    couriers = {e.id for e in world.employees if e.role == "courier"}
    rude = set(rng.sample(sorted(couriers - insiders), min(4, len(couriers - insiders))))
    deliveries = _deliveries(world, rng, insiders & couriers)
    as_of = max([now, *(d.delivered_at for d in deliveries)])
    co = conduct_demo.run(session, deliveries, rate=_rater(rng, insiders, rude),
                          signals=signals, now=as_of, settings=conduct)
    deps = Deps(kms=vault.vault.kms, clock=ManualClock(as_of), settings=channel)
    sent = [refer_conduct(session, deps, ReferConductFinding(
        enterprise_id=r.enterprise_id, decision_id=r.decision_id, employee_id=r.employee_id,
        reason=r.reason, figures=r.figures, police_org_id=police)).id for r in co.referrals]
    co.figures["referrals_sent_to_police"] = len(sent)
    # the channel's figures again: conduct findings went to the police through it too
    ch.figures["channel"] = channel_demo.channel_figures(
        session, datetime.fromisoformat(ch.figures["as_of"]))
    return {"reports": {"victims": sum(v.leaked_by is not None for v in found),
                        "unrelated": sum(v.leaked_by is None for v in found)},
            **ch.figures, "conduct": co.figures}
