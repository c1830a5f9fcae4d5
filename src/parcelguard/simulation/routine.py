"""Staff routines that are not tied to one parcel: logins, security searches,
troubleshooting, and the occasional approved export.

Each employee logs in at the start of every shift they work (and office staff often
again after lunch when the session expires); a few fat-finger their password first.
These are the per-actor baselines a monitor compares abuse against.
"""

from __future__ import annotations

from random import Random

from parcelguard.simulation.network import Network
from parcelguard.simulation.roster import Roster, Staff
from parcelguard.simulation.sink import EventSink
from parcelguard.simulation.timeline import DAY, HOUR, MINUTE

P_TYPO = 0.03  # a failed login just before the successful one
P_LUNCH_RELOGIN = 0.4  # office sessions time out over lunch
# Internally approved exports for audits stay small; GB/T 35273 §7 wants bulk copies
# approved, and anything near the 5,000-record criminal threshold would not be.
APPROVED_EXPORT_MAX = 300

_EXPORT_FIELDS = ("recipient_name", "recipient_phone", "recipient_address")


def _login(sink: EventSink, rng: Random, s: Staff, t: int, *, station: str,
           channel: str) -> None:
    device, ip = s.device_at(t), s.ip_at(t)
    if rng.random() < P_TYPO:
        sink.access(t - int(15 + rng.random() * 60), s.enterprise_id, "employee", s.id,
                    "login_failed", station_id=station, fields=[], waybill_no=None,
                    record_count=0, purpose="other", outcome="denied", device_id=device, ip=ip,
                    channel=channel)
    sink.access(t, s.enterprise_id, "employee", s.id, "login", station_id=station, fields=[],
                waybill_no=None, record_count=0, purpose="other", outcome="allowed",
                device_id=device, ip=ip, channel=channel)


def _works_on(s: Staff, day: int) -> bool:
    if s.active_from_day is not None and day < s.active_from_day:
        return False
    return not (s.left_t is not None and day > s.left_t // DAY)


def logins(sink: EventSink, rng: Random, roster: Roster) -> None:
    tl = roster.timeline
    for s in roster.staff:
        channel = "pda" if s.role == "courier" else "web"
        for day in range(tl.w0 // DAY, tl.last_day + 1):
            if not _works_on(s, day):
                continue
            ds = day * DAY
            station = s.station_on(day)
            t = ds + int(s.shift[0] * HOUR - 5 * MINUTE - rng.random() * 20 * MINUTE)
            _login(sink, rng, s, t, station=station, channel=channel)
            if s.swap is not None and s.swap[0] // DAY == day:
                # the PDA battery died; the courier carries on with the outlet's spare
                _login(sink, rng, s, s.swap[0], station=station, channel=channel)
            if channel == "web" and s.shift[0] < s.shift[1] and rng.random() < P_LUNCH_RELOGIN:
                _login(sink, rng, s, ds + int(13 * HOUR + rng.random() * HOUR), station=station,
                       channel=channel)


def office_work(sink: EventSink, rng: Random, roster: Roster, nets: list[Network]) -> None:
    """Security staff look things up, IT troubleshoots, admins spot-check, and once or
    twice in the window an approved small export is run for an audit."""
    tl = roster.timeline
    for net in nets:
        ent = net.enterprise.id
        for role, lo, hi, max_records, purpose in (
            ("security", 2, 7, 40, "security"),
            ("it", 0, 2, 3, "other"),
            ("admin", 0, 2, 20, "audit"),
        ):
            for s in roster.of(ent, role):
                for day in range(tl.w0 // DAY, tl.last_day + 1):
                    for _ in range(rng.randint(lo, hi)):
                        t = _in_shift(rng, s, day)
                        sink.access(t, ent, "employee", s.id, "search", station_id=s.station_id,
                                    fields=[], waybill_no=None,
                                    record_count=rng.randint(1, max_records), purpose=purpose,
                                    outcome="allowed", device_id=s.device, ip=s.office_ip,
                                    channel="web")
        approvers = roster.of(ent, "security") + roster.of(ent, "admin")
        for _ in range(rng.randint(1, 2)):
            s = rng.choice(approvers)
            t = _in_shift(rng, s, rng.randint(tl.w0 // DAY, tl.last_day))
            sink.access(t, ent, "employee", s.id, "export", station_id=s.station_id,
                        fields=list(_EXPORT_FIELDS), waybill_no=None,
                        record_count=rng.randint(20, APPROVED_EXPORT_MAX), purpose="audit",
                        outcome="allowed", device_id=s.device, ip=s.office_ip, channel="web")


def _in_shift(rng: Random, s: Staff, day: int) -> int:
    start, end = s.shift
    return day * DAY + int((start + 0.3 + rng.random() * (end - start - 0.6)) * HOUR)
