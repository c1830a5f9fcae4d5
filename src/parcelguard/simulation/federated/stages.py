"""The carriers' days and the demo's stages: day 1, the partition drill, the
department acting, the tamper attempts."""

from __future__ import annotations

import json
import random
import signal
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import delete, func, select, update

from parcelguard.ledger.settings import IngestSettings
from parcelguard.monitor.settings import MonitorSettings
from parcelguard.simulation.federated.fed import (
    AUDITOR,
    LOOP_SECONDS,
    ORDER_FOR,
    POLICE,
    SUP,
    Fed,
    FederatedError,
    node_serving,
)
from parcelguard.simulation.federated.stores import (
    backlog_progress,
    caught_up,
    cosigned_by_all,
    inbox_of,
    log_size_of,
    mirror_progress,
    mirror_sizes,
    order_audits,
    outboxes_drained,
    relay_all,
    send_envelope,
    store_counts,
    wait_for,
)

# -- the carriers' day -----------------------------------------------------------------


def events_by_day(fed: Fed) -> dict[str, list[list[bytes]]]:
    """Each carrier's events as its systems emit them, split at the day boundary."""
    start = fed.world.config.start
    out: dict[str, list[list[bytes]]] = {e: [[], []] for e in fed.enterprises}
    for ev in fed.world.events:
        day = 0 if datetime.fromisoformat(ev["occurred_at"]) < start + timedelta(days=1) else 1
        out[ev["enterprise_id"]][day].append(msgspec.json.encode(ev))
    return out


def _ingest(fed: Fed, org: str, lines: list[bytes]) -> int:
    from parcelguard.ledger.ingest import EventLog
    from parcelguard.ledger.service import ingest_file

    path = fed.base / f"{org}.events.jsonl"
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    rt = fed.rt(org)
    report = ingest_file(rt.db, path, log=EventLog(clock_now=rt.clock.now),
                         batch_size=rt.settings.section(IngestSettings).batch_size,
                         max_line_bytes=rt.settings.section(IngestSettings).max_line_bytes,
                         rejects_path=fed.base / f"{org}.rejects.jsonl")
    path.unlink()
    if not report.rejected:
        (fed.base / f"{org}.rejects.jsonl").unlink(missing_ok=True)
    if report.rejected:
        raise FederatedError(f"{org}: {len(report.rejected)} events rejected")
    return int(report.stored)


def _carrier_handles(fed: Fed, org: str) -> dict[str, int]:
    """The carrier's monitor over its own log (alerts open incidents, which draft the
    statutory reports), then its officer files every draft, 30 minutes after the
    incident was detected (event time)."""
    from parcelguard.core.clock import ManualClock
    from parcelguard.identity.permissions import Principal
    from parcelguard.incidents import reports
    from parcelguard.incidents.models import Incident, IncidentReport
    from parcelguard.monitor.runner import run_once
    from parcelguard.simulation.demo_incidents import _OFFICER_ITEMS

    rt = fed.rt(org)
    _, ran = run_once(rt.db, rt.settings.section(MonitorSettings), rt.clock)
    filed = 0
    with rt.db.unit_of_work() as uow:
        s = uow.session
        drafts = list(s.scalars(select(IncidentReport).where(
            IncidentReport.enterprise_id == org, IncidentReport.status == "draft")
            .order_by(IncidentReport.due_at, IncidentReport.id)))
        for r in drafts:
            inc = s.get(Incident, r.incident_id)
            assert inc is not None
            reports.file_report(s, Principal(org, "enterprise", "security_officer"),
                                report_id=r.id, content=_OFFICER_ITEMS,
                                clock=ManualClock(inc.detected_at + timedelta(minutes=30)))
            filed += 1
        incidents = s.scalar(select(func.count()).select_from(Incident).where(
            Incident.enterprise_id == org)) or 0
        uow.commit()
    return {"alerts": ran.alerts_raised, "incidents": int(incidents), "reports_filed": filed}


# -- stages ----------------------------------------------------------------------------


def stage_day1(fed: Fed, days: dict[str, list[list[bytes]]]) -> None:
    with fed.stage("2. Day 1: carriers ingest; supervision mirrors; witnesses cosign"):
        for e in fed.enterprises:
            n = _ingest(fed, e, days[e][0])
            fed.say(f"{e}: {n:,} events into its own log")
        took = fed.wait("the mirror of every log", lambda: caught_up(fed),
                        lambda: mirror_progress(fed))
        fed.wait("cosignatures by supervision, police and auditor",
                 lambda: cosigned_by_all(fed))
        sizes = mirror_sizes(fed)
        fed.say(f"supervision mirrored {sum(sizes.values()):,} entries in {took:.1f} s, each "
                "verified against the carrier's signed checkpoint; newest checkpoints "
                "cosigned by supervision, police-netsec and auditor-01")
        engagements = order_audits(fed)
        relay_all(fed)
        fed.wait("the audit grants delivered", lambda: len(
            inbox_of(fed, AUDITOR, "audit_grant")) >= len(engagements)
            and outboxes_drained(fed))
        fed.say(f"the department orders {len(engagements)} audits by {AUDITOR} (one per "
                "carrier) in its own store; its node grants each to the auditor and the "
                "carrier as signed envelopes (node/relay.py), delivered")


def stage_drill(fed: Fed, days: dict[str, list[list[bytes]]], rng: random.Random) -> None:
    o = fed.options
    title = ("3. Partition drill: supervision node down while the carriers work day 2"
             if o.partition else "3. Day 2 (no partition)")
    with fed.stage(title):
        sup = fed.procs[SUP]
        if o.partition:
            sup.stop()
            fed.say(f"supervision node stopped (pid gone); mirror at {mirror_progress(fed)}")
        handled: dict[str, dict[str, int]] = {}
        for e in fed.enterprises:
            n = _ingest(fed, e, days[e][1])
            handled[e] = _carrier_handles(fed, e)
            h = handled[e]
            fed.say(f"{e}: {n:,} more events; its monitor raised {h['alerts']} alerts -> "
                    f"{h['incidents']} incidents, {h['reports_filed']} reports filed")
        # the auditor asks the carriers directly: that link is up
        for e in fed.enterprises:
            # naming the engagement granted to it (stores.py order_audits), as the
            # carrier's node answers an auditor through its engagement only
            send_envelope(fed, AUDITOR, e, "data_request", {
                "ref": "eng-2026-q4", "engagement": f"aud-2026q4-{e}", "scope": "figures"})
        fed.figures["carriers"] = handled
        reports = sum(h["reports_filed"] for h in handled.values())
        backlog_max = 0
        if o.partition:
            def queued() -> bool:
                return sum(store_counts(fed, e)["sent_pending"] for e in fed.enterprises) >= reports

            fed.wait("the carriers' nodes to queue their reports", queued,
                     lambda: backlog_progress(fed))
            fed.wait("the auditor's answers", lambda: len(inbox_of(fed, AUDITOR, "data_answer"))
                     >= len(fed.enterprises))
            time.sleep(2 * LOOP_SECONDS)  # the carriers go on retrying
            backlog = {e: store_counts(fed, e)["sent_pending"] for e in fed.enterprises}
            backlog_max = sum(backlog.values())
            lag = {e: log_size_of(fed, e) - mirror_sizes(fed).get(e, 0) for e in fed.enterprises}
            fed.say(f"while it is down: {backlog_max} envelopes waiting in the carriers' "
                    f"outboxes ({', '.join(f'{k} {v}' for k, v in backlog.items())}); "
                    f"{sum(lag.values()):,} log entries not yet mirrored; the auditor's "
                    f"{len(fed.enterprises)} data requests answered meanwhile")
            t0 = time.monotonic()
            sup.start()
            fed.say("supervision node restarted")
        else:
            t0 = time.monotonic()
        if o.kill:
            victim = o.kill if o.kill != "random" else rng.choice(sorted(fed.procs))
            time.sleep(rng.uniform(0.2, 2.5))
            fed.procs[victim].stop(signal.SIGKILL)
            fed.say(f"[bold]kill -9[/bold] {victim} at a random point of the catching up")
            time.sleep(rng.uniform(0.1, 1.0))
            fed.procs[victim].start()
            fed.wait(f"{victim} to serve again", lambda: node_serving(fed, victim))
            fed.figures["killed"] = victim
        fed.wait("the mirror to catch up", lambda: caught_up(fed),
                 lambda: mirror_progress(fed))
        wait_for(fed, "every outbox drained")
        got = len(inbox_of(fed, SUP, "incident_report"))
        if got != reports:
            raise FederatedError(f"{reports} reports filed, {got} at the supervision node")
        took = time.monotonic() - t0
        fed.figures["drill"] = {"partition": o.partition, "backlog_max": backlog_max,
                                "catch_up_seconds": round(took, 1)}
        fed.say(f"caught up in {took:.1f} s: mirror {mirror_progress(fed)}; "
                f"{len(inbox_of(fed, SUP, 'incident_report'))} reports received, backlog "
                f"{backlog_max} -> 0")


def stage_department(fed: Fed) -> None:
    with fed.stage("4. The department acts: interventions, referrals, police data requests"):
        orders: list[str] = []
        referrals = 0
        seen: set[str] = set()
        for m in inbox_of(fed, SUP, "incident_report"):
            b = m["body"]
            if b["incident"] in seen:  # one order per incident (it has two reports)
                continue
            seen.add(b["incident"])
            kind = ORDER_FOR.get(b["category"], "suspend_employee")
            targets = b["devices"] if kind == "block_device" else b["employees"]
            if not targets:
                continue
            orders.append(send_envelope(fed, SUP, m["sender_org"], "intervention", {
                "ref": b["report"], "incident": b["incident"], "kind": kind,
                "target_id": targets[0], "reason": f"ordered after report {b['report']}"}))
            if b["category"] == "insider_abuse":
                send_envelope(fed, SUP, POLICE, "police_referral", {
                    "enterprise": m["sender_org"], "incident": b["incident"],
                    "report": b["report"], "records": b["records"],
                    "people_affected": b["people_affected"]})
                referrals += 1
        wait_for(fed, "the orders and referrals delivered")
        fed.wait("the acknowledgements", lambda: len(
            inbox_of(fed, SUP, "intervention_ack")) >= len(orders), lambda: backlog_progress(fed))
        cases = inbox_of(fed, POLICE, "police_referral")
        for m in cases:  # from the department (its body names the carrier) or a carrier
            send_envelope(fed, POLICE, m["body"].get("enterprise", m["sender_org"]), "data_request",
                  {"ref": m["body"].get("incident") or m["body"].get("source_id"),
                   "scope": "figures"})
        wait_for(fed, "the acknowledgements and the answers to the police")
        acks = Counter(m["body"].get("status") for m in inbox_of(fed, SUP, "intervention_ack"))
        by = Counter(m["sender_org"] for m in cases)
        fed.say(f"{len(orders)} interventions ordered -> applied in the carriers' stores and "
                f"acknowledged by their nodes: {', '.join(f'{k} {v}' for k, v in acks.items())}")
        fed.say(f"{len(cases)} police referrals at {POLICE} ({by[SUP]} insider cases from the "
                f"department, {len(cases) - by[SUP]} from carriers' own referrals); its "
                f"{len(cases)} data requests answered by the carriers")
        checked = police_evidence_of(fed)
        fed.figures["police_evidence"] = checked
        for c in checked:
            fed.say(f"{POLICE} holds {c['enterprise_id']}'s referral {c['referral']} with its "
                    f"evidence package: {c['events']} events, inclusion proofs verified "
                    f"against the carrier's checkpoint of size {c['tree_size']:,}, which is "
                    f"{c['witnessed']} with the checkpoint its own witness cosigned (size "
                    f"{c['witnessed_size']:,})")
        recs = department_records(fed)
        fed.say(f"the department's own records: {recs['reports']} reports received from "
                f"the carriers' nodes ({recs['incidents']} incidents), {recs['forwards_owed']} "
                "owing a forward to the cyberspace administration")


def police_evidence_of(fed: Fed) -> list[dict[str, Any]]:
    """The carriers' referrals the police node holds with their evidence, and what it
    verified on receipt (`parcelguard node referrals`)."""
    from parcelguard.channel.models import ChannelReferral, ChannelReferralLog

    out = []
    with fed.rt(POLICE).db.unit_of_work() as uow:
        s = uow.session
        for ref in s.scalars(select(ChannelReferral).order_by(ChannelReferral.id)):
            log = s.scalars(select(ChannelReferralLog).where(
                ChannelReferralLog.referral_id == ref.id,
                ChannelReferralLog.action == "received")).first()
            check = dict(log.detail) if log is not None else {}
            out.append({"referral": ref.id, "enterprise_id": ref.enterprise_id,
                        "events": len(ref.package.get("events") or []),
                        "evidence_ok": check.get("evidence_ok"),
                        "tree_size": check.get("tree_size") or 0,
                        "witnessed": check.get("witnessed"),
                        "witnessed_size": check.get("witnessed_size") or 0})
    return out


def department_records(fed: Fed) -> dict[str, int]:
    """What the supervision node holds as its own records (received reports and their
    incidents, forwards owed, its tamper cases)."""
    from parcelguard.incidents.models import ForwardedReport, Incident, IncidentReport

    with fed.rt(SUP).db.unit_of_work() as uow:
        s = uow.session

        def n(model: Any, *where: Any) -> int:
            return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)

        return {"reports": n(IncidentReport, IncidentReport.status == "filed"),
                "incidents": n(Incident, Incident.category != "tampering"),
                "forwards_owed": n(ForwardedReport),
                "tamper_cases": n(Incident, Incident.category == "tampering")}


def final_figures(fed: Fed) -> None:
    """What the nodes hold once everything has settled (after the tamper attempts):
    the messages, what each received by kind, the reactions dead-lettered."""
    if fed.options.tamper:
        relay_all(fed)
        fed.wait("every outbox to settle after the tamper attempts", lambda: _settled(fed))
        fed.figures["dead_letters_after_tamper"] = dead_letters(fed)
    fed.figures["messages"] = {org: store_counts(fed, org) for org in fed.procs}
    fed.figures["received"] = {org: sorted(Counter(m["kind"] for m in inbox_of(fed, org))
                                           .items()) for org in fed.procs}


def _settled(fed: Fed) -> bool:
    """No outbox message of any node waiting for a reaction (delivered or dead)."""
    from parcelguard.core.outbox import OutboxMessage

    for org in fed.procs:
        with fed.rt(org).db.unit_of_work() as uow:
            if uow.session.scalar(select(func.count()).select_from(OutboxMessage).where(
                    OutboxMessage.status.in_(("pending", "failed")))):
                return False
    return True


def dead_letters(fed: Fed) -> dict[str, int]:
    """Reactions dead-lettered on each node (none, on any role)."""
    from parcelguard.core.outbox import OutboxDelivery

    out = {}
    for org in fed.procs:
        with fed.rt(org).db.unit_of_work() as uow:
            out[org] = int(uow.session.scalar(select(func.count()).select_from(
                OutboxDelivery).where(OutboxDelivery.status == "dead")) or 0)
    return out


def _post(fed: Fed, via: str, to: str, doc: dict[str, Any]) -> tuple[int, str]:
    from parcelguard.node.transport import request

    status, body = request(fed.node(via), fed.procs[to].url, "POST", "/node/v1/inbox",
                           pin=None, doc=doc)
    answer = json.loads(body)
    return status, str(answer.get("detail") or answer.get("status"))


def stage_tamper(fed: Fed) -> list[dict[str, str]]:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from parcelguard.node.envelope import Envelope

    caught: list[dict[str, str]] = []
    with fed.stage("5. Tamper attempts"):
        e1, e2 = fed.enterprises[0], fed.enterprises[1]
        n1 = fed.node(e1)

        def forged(key: ed25519.Ed25519PrivateKey, mid: str) -> dict[str, Any]:
            return Envelope(message_id=mid, sender_org=e1, sender_key_id=n1.key_id,
                            recipient_org=SUP, kind="intervention_ack",
                            body={"intervention": "env_none", "status": "applied"},
                            created_at="2026-11-11T00:00:00.000+00:00").sign(key).to_json()

        status, why = _post(fed, e1, SUP, forged(ed25519.Ed25519PrivateKey.generate(),
                                                  "env_forged"))
        caught.append({"attempt": f"an acknowledgement in {e1}'s name signed with another key",
                       "caught_by": SUP, "how": f"{status} {why}"})
        status, why = _post(fed, e2, SUP, forged(n1.signing_key, "env_borrowed"))
        caught.append({"attempt": f"{e1}'s signed envelope carried over {e2}'s TLS "
                       "certificate", "caught_by": SUP, "how": f"{status} {why}"})
        # a delivered envelope sent again (a retry after a lost answer, or a replay)
        report = inbox_of(fed, SUP, "incident_report")[0]
        from parcelguard.node.models import NodeInbox

        with fed.rt(SUP).db.unit_of_work() as uow:
            row = uow.session.get(NodeInbox, report["message_id"])
            assert row is not None
            signed = json.loads(row.envelope)
        status, why = _post(fed, report["sender_org"], SUP, signed)
        caught.append({"attempt": f"a delivered report from {report['sender_org']} sent "
                       "again", "caught_by": SUP, "how": f"{status} {why}: not applied again"})
        for c in caught:
            fed.say(f"{c['attempt']}: stopped by {c['caught_by']} ({c['how'][:110]})")
        # an insider with database access rewrites one entry of e2's log consistently
        # (the entry, its tiles): the node signs the rewritten log as it stands
        before = _findings(fed)
        at = _rewrite_entry(fed, e2)
        fed.say(f"{e2}: an insider rewrites log entry {at} in the carrier's database "
                "(tiles rebuilt to match)")

        def seen_by_all() -> bool:
            now = _findings(fed)
            return all(len(now[org]) > len(before[org]) for org in (SUP, POLICE, AUDITOR))

        fed.wait("the rewritten log to be caught", seen_by_all)
        after = _findings(fed)
        for org in (SUP, POLICE, AUDITOR):
            for summary, observer in after[org][len(before[org]):]:
                caught.append({"attempt": f"{e2}'s log rewritten", "caught_by": org,
                               "how": f"{observer}: {summary}"})
                fed.say(f"{e2}'s rewritten log caught by {org} ({observer}): {summary}")
        # what each role makes of it: the department opens its case; the other witnesses
        # report what they saw onward to it
        relay_all(fed)

        def onward() -> set[str]:
            return {m["sender_org"] for m in inbox_of(fed, SUP, "onward_report")
                    if m["body"].get("subject") == "ledger_tamper"
                    and m["body"].get("enterprise") == e2}

        fed.wait("the department's case and the witnesses' onward reports", lambda:
                 department_records(fed)["tamper_cases"] > 0
                 and onward() == {POLICE, AUDITOR})
        fed.figures["tamper_reaction"] = {
            "supervision_cases": department_records(fed)["tamper_cases"],
            "onward_reports_from": sorted(onward())}
        fed.say(f"the supervision node opens its own case about {e2}'s log (no statutory "
                f"drafts: those are {e2}'s); {POLICE} and {AUDITOR} report their findings "
                "onward to it")
    return caught


def _findings(fed: Fed) -> dict[str, list[tuple[str, str]]]:
    from parcelguard.supervision.models import SupervisionFinding

    out = {}
    for org in (SUP, POLICE, AUDITOR):
        with fed.rt(org).db.unit_of_work() as uow:
            out[org] = [(f.summary, str(f.evidence.get("observed_by", "?")))
                        for f in uow.session.scalars(select(SupervisionFinding).where(
                            SupervisionFinding.kind == "ledger_tamper")
                            .order_by(SupervisionFinding.id))]
    return out


def _rewrite_entry(fed: Fed, org: str) -> int:
    from parcelguard.ledger.merkle import append_leaves
    from parcelguard.ledger.models import LedgerEvent, LedgerHead, LedgerTile
    from parcelguard.ledger.store import SqlTileStore
    from parcelguard.ledger.tiles import InMemoryTileStore

    with fed.rt(org).db.unit_of_work() as uow:
        s = uow.session
        leaves = [bytes(x) for x in s.scalars(select(LedgerEvent.leaf).where(
            LedgerEvent.enterprise_id == org).order_by(LedgerEvent.seq))]
        at = next(i for i, leaf in enumerate(leaves) if b'"outcome":"allowed"' in leaf)
        leaves[at] = leaves[at].replace(b'"outcome":"allowed"', b'"outcome":"denied"')
        s.execute(update(LedgerEvent).where(LedgerEvent.enterprise_id == org,
                                            LedgerEvent.seq == at).values(leaf=leaves[at]))
        s.execute(delete(LedgerTile).where(LedgerTile.enterprise_id == org))
        scratch = InMemoryTileStore()
        append_leaves(scratch, 0, leaves)
        SqlTileStore(s.connection(), org).write_tiles(scratch.tiles)
        s.execute(update(LedgerHead).where(LedgerHead.enterprise_id == org)
                  .values(size=len(leaves)))
        uow.commit()
    return at
