"""Conduct in the demo: recipients of delivered parcels evaluate their couriers
through one-time links, signs of leakage from elsewhere (canary hits, monitor
alerts) are noted, and the rules round decides rewards, warnings, training,
suspensions and police referrals. How each recipient rates is the simulation's
business (``rate``); everything else goes through the real services."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from parcelguard.conduct import service
from parcelguard.conduct.events import ConductReferralRequested
from parcelguard.conduct.settings import ConductSettings
from parcelguard.core.clock import ManualClock
from parcelguard.identity.permissions import Principal


@dataclass(frozen=True)
class Delivery:
    enterprise_id: str
    waybill_no: str
    courier_id: str
    delivered_at: datetime


# (enterprise, employee, source, ref, at)
Signal = tuple[str, str, str, str, datetime]


@dataclass
class Outcome:
    figures: dict[str, Any] = field(default_factory=dict)
    referrals: list[ConductReferralRequested] = field(default_factory=list)


def run(session: Session, deliveries: Sequence[Delivery], *,
        rate: Callable[[Delivery], tuple[int, list[str]]], signals: Sequence[Signal],
        now: datetime, settings: ConductSettings) -> Outcome:
    clock = ManualClock(now)
    tagged = 0
    for d in deliveries:
        clock.set(d.delivered_at)
        link = service.issue_link(session, enterprise_id=d.enterprise_id,
                                  waybill_no=d.waybill_no, employee_id=d.courier_id,
                                  clock=clock, settings=settings)
        rating, tags = rate(d)
        clock.advance(timedelta(hours=3))
        ev = service.submit_evaluation(session, token=link.token, rating=rating, tags=tags,
                                       clock=clock)
        tagged += ev.privacy_flag
    for ent, emp, source, ref, at in signals:
        service.note_signal(session, enterprise_id=ent, employee_id=emp, source=source, ref=ref,
                            severity="critical" if source == "canary" else "high", at=at)
    clock.set(now)
    out = Outcome()
    kinds: Counter[str] = Counter()
    for ent in sorted({d.enterprise_id for d in deliveries} | {s[0] for s in signals}):
        rnd = service.apply_rules(session, enterprise_id=ent, now=now, settings=settings,
                                  by="demo-conduct", clock=clock)
        kinds.update(d.kind for d in rnd.decisions)
        # the rules only propose a police referral; in the demo the security officer
        # confirms each one (each rests on an evidence link: an alert or a canary hit)
        officer = Principal(ent, "enterprise", "security_officer", account_id="demo-officer")
        out.referrals += [service.confirm_referral(session, officer, d.id, clock=clock)
                          for d in rnd.decisions if d.kind == "police_referral"]
    out.figures = {"evaluations": len(deliveries), "privacy_tagged": tagged,
                   "couriers_evaluated": len({d.courier_id for d in deliveries}),
                   "leak_signals": len(signals), "rewards": kinds["reward"],
                   "warnings": kinds["warning"], "training": kinds["training"],
                   "suspensions": kinds["suspension"], "reviews": kinds["review"],
                   "referrals": kinds["police_referral"],
                   "employees_with_evidence_links": sorted({s[1] for s in signals}),
                   "referred_employees": sorted(r.employee_id for r in out.referrals)}
    return out
