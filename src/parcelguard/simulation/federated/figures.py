"""The state a drill must end in, the cross-node figures, and the plaintext scan of
the nodes that must hold no PI."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from rich.table import Table
from sqlalchemy import func, select

from parcelguard.simulation.federated.fed import AUDITOR, POLICE, SUP, Fed
from parcelguard.simulation.federated.stages import (
    dead_letters,
    department_records,
    police_evidence_of,
)
from parcelguard.simulation.federated.stores import (
    inbox_of,
    leaves_digest,
    mirrored_logs,
    store_counts,
)
from parcelguard.simulation.model import World

# -- the state a drill must end in, and the figures --------------------------------------


def final_state(fed: Fed) -> dict[str, Any]:
    """What the drill must leave whatever happened on the way (partition, kill -9):
    compared by the tests between runs. Counts and contents, not the random ids."""
    from parcelguard.incidents.models import Incident, IncidentReport, Intervention
    from parcelguard.monitor.models import MonitorAlert

    mirror = mirrored_logs(fed)
    carriers = {}
    for e in fed.enterprises:
        size, digest = leaves_digest(fed, e)
        with fed.rt(e).db.unit_of_work() as uow:
            s = uow.session
            ivs = list(s.scalars(select(Intervention).where(Intervention.enterprise_id == e)))
            carriers[e] = {
                "log_size": size,
                "mirrored": mirror.get(e, {}).get("size"),
                "mirror_equals_log": mirror.get(e, {}).get("digest") == digest,
                "alerts": sorted(Counter(s.scalars(select(MonitorAlert.detector).where(
                    MonitorAlert.enterprise_id == e))).items()),
                "incidents": sorted(Counter(s.scalars(select(Incident.category).where(
                    Incident.enterprise_id == e))).items()),
                "reports_filed": int(s.scalar(select(func.count()).select_from(
                    IncidentReport).where(IncidentReport.enterprise_id == e,
                                          IncidentReport.status == "filed")) or 0),
                "interventions": sorted(Counter((iv.kind, iv.target_id) for iv in ivs)
                                        .items()),
                "interventions_unacknowledged": sum(iv.acknowledged_at is None for iv in ivs),
            }
    inboxes = {org: inbox_of(fed, org) for org in fed.procs}
    received = {org: sorted(Counter(m["kind"] for m in rows).items())
                for org, rows in inboxes.items()}
    reports = sorted((m["sender_org"], m["body"]["report_kind"], m["body"]["category"])
                     for m in inboxes[SUP] if m["kind"] == "incident_report")
    acks = sorted((m["sender_org"], m["body"]["status"], m["body"].get("kind", ""))
                  for m in inboxes[SUP] if m["kind"] == "intervention_ack")
    sent = {org: store_counts(fed, org) for org in fed.procs}
    department = department_records(fed)
    evidence = sorted((c["enterprise_id"], c["events"], c["evidence_ok"], c["witnessed"])
                      for c in police_evidence_of(fed))
    return {"carriers": carriers, "received": received, "reports": reports, "acks": acks,
            "department": {k: v for k, v in department.items() if k != "tamper_cases"},
            "police_evidence": evidence, "dead_letters": dead_letters(fed),
            "sent_dead": sum(c["sent_dead"] for c in sent.values()),
            "sent_pending": sum(c["sent_pending"] for c in sent.values()),
            "sent_delivered": sum(c["sent_delivered"] for c in sent.values()),
            "received_total": sum(c["received"] for c in sent.values())}


def print_figures(fed: Fed, state: dict[str, Any], caught: list[dict[str, str]]) -> None:
    c = fed.console
    c.rule("[bold]Cross-node figures")
    t = Table("carrier", "log", "mirrored", "cosigned S/P/A", "alerts", "incid.",
              "reports", "acked", title="Each carrier, read from each node's own database")
    for e, s in state["carriers"].items():
        cos = fed.figures["cosigned"][e]
        t.add_row(e, f"{s['log_size']:,}",
                  f"{s['mirrored']:,}" + (" =" if s["mirror_equals_log"] else " DIFFERS"),
                  "/".join(str(cos.get(w, {}).get("checkpoints", 0))
                           for w in (SUP, POLICE, AUDITOR)),
                  str(sum(n for _, n in s["alerts"])), str(sum(n for _, n in s["incidents"])),
                  str(s["reports_filed"]),
                  f"{sum(n for _, n in s['interventions']) - s['interventions_unacknowledged']}"
                  f"/{sum(n for _, n in s['interventions'])}")
    c.print(t)
    c.print("  mirrored: entries the supervision node fetched from the tiles and verified "
            "against signed checkpoints ('=': the same bytes as the carrier's log); "
            "cosigned: checkpoints cosigned by supervision/police/auditor")
    m = Table("node", "sent", "delivered", "waiting", "received", "duplicates ignored",
              title="Signed envelopes between the nodes")
    for org in fed.procs:
        k = fed.figures["messages"][org]
        m.add_row(org, str(k["sent_delivered"] + k["sent_pending"] + k["sent_dead"]),
                  str(k["sent_delivered"]), str(k["sent_pending"]), str(k["received"]),
                  str(k["duplicates_ignored"]))
    c.print(m)
    received = fed.figures.get("received", state["received"])  # after the tamper stage
    for org in fed.procs:
        c.print(f"  {org} received: " + ", ".join(
            f"{kind} {n}" for kind, n in received[org]))
    dep = state["department"]
    c.print(f"  supervision node's own records: {dep['reports']} reports filed to it, "
            f"{dep['incidents']} incidents, {dep['forwards_owed']} forwards owed to the "
            "cyberspace administration")
    for ent, events, ok, witnessed in state["police_evidence"]:
        c.print(f"  {POLICE}: {ent}'s referral with {events} events, evidence "
                f"{'verified' if ok else 'NOT verified'}, {witnessed} with its witness")
    dead = fed.figures.get("dead_letters_after_tamper", state["dead_letters"])
    c.print("  dead-lettered reactions: " + ", ".join(f"{org} {n}" for org, n in dead.items()))
    d = fed.figures.get("drill", {})
    c.print(f"  partition drill: backlog {d.get('backlog_max', 0)} envelopes while the "
            f"supervision node was down -> 0; caught up in {d.get('catch_up_seconds')} s"
            + (f"; {fed.figures['killed']} killed -9 on the way" if "killed" in fed.figures
               else ""))
    if caught:
        c.print("  tamper attempts, each stopped:")
        for x in caught:
            c.print(f"    {x['attempt']}: by {x['caught_by']} ({x['how'][:100]})")
    c.print(f"  every node's home, database and log under [bold]{fed.base}[/bold]; figures in "
            f"{fed.options.out / 'federated.json'}")


def pi_values(world: World) -> list[bytes]:
    """The PI of every person on a parcel: names, addresses, ID numbers (a phone is
    left out: eleven digits occur by chance in binary pages)."""
    on_parcels = {p.sender_id for p in world.parcels} | {p.recipient_id for p in world.parcels}
    out: set[bytes] = set()
    for person in world.people:
        if person.id in on_parcels:
            out |= {v.encode() for v in (person.name, person.address, person.id_number)
                    if v and len(v.encode()) >= 9}
    return sorted(out)


def pi_scan(fed: Fed) -> dict[str, dict[str, int]]:
    """Every file of the nodes that hold no PI (home, database, WAL, keys, log),
    searched for the carriers' customers' PI in plaintext, after they stopped."""
    needles = pi_values(fed.world)
    out = {}
    for org in (SUP, AUDITOR):
        files = [p for p in (fed.base / org).rglob("*") if p.is_file()]
        blob = b"".join(p.read_bytes() for p in [*files, fed.procs[org].log])
        out[org] = {"bytes": len(blob), "pi_values_searched": len(needles),
                    "found": len(find_plaintext(blob, needles))}
    return out


_CJK_RUN = re.compile(rb"(?:[\xe2-\xef][\x80-\xbf]{2})+")
_ID_LIKE = re.compile(rb"[0-9]{17}[0-9X]")


def find_plaintext(blob: bytes, needles: list[bytes]) -> list[bytes]:
    """The needles found in ``blob``. Thousands of needles over megabytes: a needle
    is searched in full only if its longest run of CJK characters (a name, the words
    of an address) is in the blob's CJK runs, or it is an ID number among the blob's
    18-character digit runs; anything else is searched in full."""
    runs = b"\x00".join(set(_CJK_RUN.findall(blob)))
    ids = set(_ID_LIKE.findall(blob))
    found = []
    for n in needles:
        cjk = max(_CJK_RUN.findall(n), key=len, default=b"")
        if _ID_LIKE.fullmatch(n):
            hit = n in ids
        elif cjk:
            hit = cjk in runs and n in blob
        else:
            hit = n in blob
        if hit:
            found.append(n)
    return found
