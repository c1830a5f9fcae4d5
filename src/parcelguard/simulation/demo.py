"""``parcelguard demo``: the whole mechanism on a simulated world, end to end.

Each capability adds a stage. Stages share a ``DemoRun`` and add their figures to
``summary`` (written to demo-out/summary.json), so the printed report and the
machine-readable one always agree.
"""

from __future__ import annotations

import gc
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from parcelguard.audit.settings import AuditSettings
from parcelguard.core.clock import ManualClock
from parcelguard.core.plugin import register_handlers
from parcelguard.core.runtime import Runtime
from parcelguard.identity import service as identity
from parcelguard.incidents.settings import IncidentSettings
from parcelguard.ledger.ingest import EventLog
from parcelguard.ledger.service import ingest_file
from parcelguard.ledger.settings import IngestSettings
from parcelguard.monitor.settings import MonitorSettings
from parcelguard.ops.store import init_store
from parcelguard.simulation import demo_stages, loader
from parcelguard.simulation.io import write_events_jsonl, write_ground_truth
from parcelguard.simulation.model import World, WorldConfig
from parcelguard.simulation.world import build_world
from parcelguard.vault.provider import vault_service
from parcelguard.vault.settings import VaultSettings


@dataclass(frozen=True)
class DemoOptions:
    out: Path = Path("demo-out")
    seed: int = 7
    parcels: int = 100_000
    enterprises: int = 3
    days: int = 3


@dataclass
class DemoRun:
    options: DemoOptions
    rt: Runtime
    console: Console
    world: World | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def w(self) -> World:
        assert self.world is not None
        return self.world

    def progress(self) -> Progress:
        return Progress(TextColumn("  {task.description:<22}"), BarColumn(),
                        MofNCompleteColumn(), TimeElapsedColumn(), console=self.console,
                        transient=False, disable=not self.console.is_terminal)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.console.rule(f"[bold]{name}")
        t = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - t, 2)


def _demo_runtime(rt: Runtime, out: Path) -> Runtime:
    """The demo works in a database of its own, rebuilt on every run, so it never
    mixes with a real installation's data."""
    home = rt.settings.home / "demo"
    if home.exists():
        shutil.rmtree(home)
    settings = rt.settings.model_copy(update={
        "home": home, "database_url": f"sqlite:///{(home / 'parcelguard.db').resolve()}",
        "vault": rt.settings.section(VaultSettings).model_copy(update={"master_key_path": None})})
    del out
    init_store(settings)  # a new store, as `parcelguard init` makes one
    # The demo runs with the same event handlers as a deployment: an alert opens an
    # incident, a canary hit raises an alert, and so on.
    return Runtime(settings=settings, on_open=register_handlers)


def stage_world(run: DemoRun) -> None:
    o = run.options
    with run.stage("1. Simulated logistics world"):
        cfg = WorldConfig(seed=o.seed, parcels=o.parcels, enterprises=o.enterprises, days=o.days)
        run.world = build_world(cfg)
        # The world is a million long-lived objects; without this every full GC pass
        # walks them all and the later stages run at half speed.
        gc.freeze()
        w = run.w
        o.out.mkdir(parents=True, exist_ok=True)
        n = write_events_jsonl(w.events, o.out / "events.jsonl")
        write_ground_truth(w, o.out / "ground_truth.json")
        kinds = Counter(e["kind"] for e in w.events)
        run.summary["world"] = {
            "seed": o.seed, "days": o.days, "enterprises": len(w.enterprises),
            "stations": len(w.stations), "employees": len(w.employees),
            "people": len(w.people), "parcels": len(w.parcels), "events": n,
            "events_by_kind": dict(kinds),
            "injected_scenarios": dict(Counter(s.scenario for s in w.scenarios))}
        run.console.print(
            f"  {len(w.enterprises)} carriers, {len(w.stations)} stations, "
            f"{len(w.employees)} employees, {len(w.people):,} people, "
            f"{len(w.parcels):,} parcels over {o.days} days -> {n:,} events "
            f"({kinds['access']:,} PI accesses); {len(w.scenarios)} abuse scenarios injected")


def stage_enterprise_systems(run: DemoRun, drt: Runtime) -> None:
    w = run.w
    with run.stage("2. Enterprise systems: roster, parcels (PI sealed at collection)"):
        clock = ManualClock(w.config.start)
        vault = vault_service(drt.settings)
        with drt.db.unit_of_work() as uow:
            identity.initialise(uow.session, clock=clock)
            loader.load_organisations(uow.session, w, clock)
            loader.load_network(uow.session, w, clock)
            uow.commit()
        with run.progress() as bar:
            task = bar.add_task("parcels sealed", total=len(w.parcels))
            with drt.db.unit_of_work() as uow:
                loader.load_parcels(uow.session, w, vault,
                                    progress=lambda n: bar.update(task, completed=n))
                assignments = loader.load_assignments(uow.session, w)
                consent = demo_stages.record_consents(uow.session, w, clock)
                uow.commit()
        run.summary["consent"] = consent
        optin = ", ".join(f"{k} {v:,}" for k, v in consent["opted_in"].items())
        run.console.print(
            f"  privacy notices published: {consent['notices_published']} (zh-CN + en); "
            f"{consent['senders']:,} senders acknowledged at shipping "
            f"(coverage {consent['coverage']:.0%}); separate opt-ins: {optin}")
        fields = 7 * len(w.parcels)  # every sender's ID number is verified and sealed
        run.summary["enterprise"] = {"parcels_sealed": len(w.parcels),
                                     "pi_fields_encrypted": fields,
                                     "assignments": assignments}
        run.console.print(f"  {len(w.parcels):,} parcels stored with {fields:,} PI fields "
                          f"encrypted per data subject; {assignments:,} assignments")


def stage_ingest(run: DemoRun, drt: Runtime) -> None:
    o = run.options
    with run.stage("3. Event stream into the supervision ledger"):
        log = EventLog(clock_now=drt.clock.now)
        total = run.summary["world"]["events"]
        with run.progress() as bar:
            task = bar.add_task("events ingested", total=total)
            report = ingest_file(drt.db, o.out / "events.jsonl", log=log,
                                 batch_size=drt.settings.section(IngestSettings).batch_size,
                                 max_line_bytes=drt.settings.section(IngestSettings).max_line_bytes,
                                 rejects_path=o.out / "events.rejects.jsonl",
                                 progress=lambda n, _b: bar.update(task, completed=n))
        run.summary["ingest"] = report.as_dict()
        run.console.print(f"  {report.stored:,} events stored, {len(report.rejected)} rejected, "
                          f"at {report.rate:,.0f} events/s")
        if not report.rejected:
            (o.out / "events.rejects.jsonl").unlink(missing_ok=True)


def stage_gate(run: DemoRun, drt: Runtime) -> None:
    from parcelguard.simulation.demo_access import exercise_gate

    w = run.w
    with run.stage("4. Purpose-bound access gate"):
        end = w.config.start + timedelta(days=w.config.days)
        with drt.db.unit_of_work() as uow:
            figures = exercise_gate(uow.session, vault_service(drt.settings), end,
                                    seed=run.options.seed)
            uow.commit()
        run.summary["gate"] = figures
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(
            figures["denied_by_reason"].items(), key=lambda kv: -kv[1]))
        run.console.print(
            f"  {figures['attempts']} PI requests through the gate: {figures['allowed']} "
            f"allowed, {figures['denied']} denied ({reasons}); every attempt is an access "
            f"event in the ledger; break-glass uses flagged: {figures['break_glass_flagged']}")


def stage_waybills(run: DemoRun, drt: Runtime) -> None:
    w = run.w
    with run.stage("5. Privacy waybills and virtual numbers"):
        end = w.config.start + timedelta(days=w.config.days)
        with drt.db.unit_of_work() as uow:
            figures = demo_stages.waybills(uow.session, w, vault_service(drt.settings),
                                           run.options.out, end)
            uow.commit()
        run.summary["waybill"] = figures
        run.console.print(
            f"  {figures['labels_issued']} masked labels issued (GB/T 41833; sample: "
            f"{figures['sample_label']}); {figures['virtual_numbers_bound']} virtual numbers "
            f"bound, {figures['expired_at_end_of_window']} expired by the end of the window, "
            f"{figures['expired_after_grace']} after the {figures['grace_days']}-day grace; "
            f"resolutions allowed {figures['resolutions']['allowed']}, "
            f"denied {figures['resolutions']['denied']}")


def stage_ledger(run: DemoRun, drt: Runtime) -> None:
    with run.stage("6. Tamper-evident ledger, witnessed by the supervision department"):
        figures = demo_stages.ledger(drt, run.w, vault_service(drt.settings))
        run.summary["ledger"] = figures
        for ent, cp in figures["checkpoints"].items():
            run.console.print(f"  {ent}: signed checkpoint at size {cp['size']:,} -> witness "
                              f"{cp['witness']}; full verify "
                              f"{'ok' if figures['verify'][ent] else 'FAILED'}")
        e, r = figures["edited_leaf"], figures["rollback"]
        run.console.print(
            f"  tampering 1: an edited event in {e['enterprise']} -> `ledger verify` names "
            f"index {e['verify_named_index']} ({'caught' if e['caught'] else 'MISSED'})")
        run.console.print(
            f"  tampering 2: {r['enterprise']} rolls back {r['dropped_events']} events and "
            f"signs -> witness says {r['witness']} "
            f"({'caught, finding #' + str(r['finding_id']) if r['caught'] else 'MISSED'})")


def stage_monitor(run: DemoRun, drt: Runtime) -> None:
    from parcelguard.monitor.figures import monitor_stage_figures

    o = run.options
    with run.stage("7. Supervision monitor: detectors on the event stream"):
        figures = monitor_stage_figures(o.out / "events.jsonl", o.out / "ground_truth.json",
                                        o.out, settings=drt.settings.section(MonitorSettings))
        # The supervision department's own runner over the stored logs: its alerts are
        # stored with their AlertRaised in the outbox, whose reactions open incidents.
        from parcelguard.monitor.runner import run_once

        _, ran = run_once(drt.db, drt.settings.section(MonitorSettings), drt.clock)
        figures["runner"] = ran.as_dict()
        run.summary["monitor"] = figures
        for line in _monitor_lines(figures):
            run.console.print("  " + line)
        run.console.print(
            f"  the supervision runner over the stored logs: {ran.events:,} events in "
            f"{ran.batches} micro-batches, {ran.alerts_raised} alerts stored and published")


def _monitor_lines(f: dict[str, Any]) -> list[str]:
    lines = [f"replayed {f['events']:,} events at {f['events_per_second']:,} events/s: "
             f"{f['alerts']} alerts; {f['subjects_detected']} of {f['subjects']} injected "
             f"subjects detected (recall {f['recall']:.2f}), precision {f['precision']:.2f}, "
             f"median time to detect {f['median_time_to_detect_minutes']:.1f} min"]
    by = f.get("alerts_by_detector") or {}
    if by:
        lines.append("by detector: " + ", ".join(f"{k} {v}" for k, v in sorted(by.items())))
    return lines


def stage_incidents(run: DemoRun, drt: Runtime) -> None:
    from parcelguard.simulation import demo_incidents as incidents_demo

    w = run.w
    with run.stage("8. Incidents: grading, statutory reports, notices, interventions"):
        end = w.config.start + timedelta(days=w.config.days)
        with drt.db.unit_of_work() as uow:
            figures = incidents_demo.run(uow.session, vault_service(drt.settings),
                                         w.scenarios, end,
                                         settings=drt.settings.section(IncidentSettings),
                                         seed=run.options.seed)
            uow.commit()
        run.summary["incidents"] = figures
        for line in incidents_demo.summary_lines(figures):
            run.console.print("  " + line)


def stage_channel(run: DemoRun, drt: Runtime) -> None:
    from parcelguard.simulation.victims import run_demo as channel_demo

    w = run.w
    with run.stage("9. Social supervision: reports, triangulation, police, conduct"):
        end = w.config.start + timedelta(days=w.config.days)
        with drt.db.unit_of_work() as uow:
            f = channel_demo(uow.session, vault_service(drt.settings), w, end)
            uow.commit()
        run.summary["channel"] = f
        c, t, r, cd = f["channel"], f["triangulation"], f.get("referral") or {}, f["conduct"]
        run.console.print(
            f"  {c['received']} reports received ({f['reports']['victims']} from scam-call "
            f"victims); acknowledged on time {c['acknowledged_on_time']}, forwarded to "
            f"police {c['forwarded_to_police']}, concluded {c['concluded']}")
        run.console.print(
            f"  triangulation: the injected insider ranks first in "
            f"{t['injected_actor_ranked_first']} of {t['clusters']} leak clusters; police "
            f"evidence package verified: {r.get('package_verified')} "
            f"({r.get('events_verified', 0)} events with inclusion proofs)")
        cn = f["canary"]
        run.console.print(
            f"  canaries: {cn['seeded']} seeded, {cn['hits']} hits -> "
            f"{cn['critical_alerts']} critical alerts; conduct: {cd['evaluations']} "
            f"evaluations, {cd['rewards']} rewards, {cd['warnings']} warnings, "
            f"{cd['suspensions']} suspensions, {cd['referrals']} police referrals")


def stage_audit(run: DemoRun, drt: Runtime) -> None:
    from parcelguard.simulation import demo_audit as audit_demo

    w = run.w
    with run.stage("10. Third-party audit: rulebook, scorecards, transparency"):
        end = w.config.start + timedelta(days=w.config.days)
        with drt.db.unit_of_work() as uow:
            figures = audit_demo.run(uow.session, end, run.options.out, start=w.config.start,
                                     kms=vault_service(drt.settings).vault.kms,
                                     settings=drt.settings.section(AuditSettings))
            uow.commit()
        run.summary["audit"] = figures
        for ent, e in sorted(figures["enterprises"].items(), key=lambda kv: -kv[1]["score"]):
            weakest = ", ".join(f"{c['control_id']} {c['score']:.2f}" for c in e["weakest"])
            run.console.print(f"  {ent}: score {e['score']:.1f}/100; weakest: {weakest}")


def stage_report(run: DemoRun, drt: Runtime) -> None:
    from parcelguard.reporting import supervision_report

    with run.stage("11. Supervision report"):
        with drt.db.unit_of_work() as uow:
            path = supervision_report(run.summary, uow.session,
                                      run.options.out / "report.html")
        run.summary["report"] = str(path)
        run.console.print(f"  {path} (self-contained, charts included)")


def print_report(run: DemoRun) -> None:
    w = run.w
    run.console.rule("[bold]Summary")
    table = Table("enterprise", "stations", "employees", "parcels", "events", "PI accesses",
                  "denied", title="What the supervision department now holds")
    access = Counter((e["enterprise_id"], e["outcome"]) for e in w.events
                     if e["kind"] == "access")
    by_ent = run.summary["ingest"]["by_enterprise"]
    for ent in w.enterprises:
        table.add_row(ent.id, str(sum(s.enterprise_id == ent.id for s in w.stations)),
                      str(sum(e.enterprise_id == ent.id for e in w.employees)),
                      f"{sum(p.enterprise_id == ent.id for p in w.parcels):,}",
                      f"{by_ent.get(ent.id, 0):,}",
                      f"{access[(ent.id, 'allowed')] + access[(ent.id, 'denied')]:,}",
                      f"{access[(ent.id, 'denied')]:,}")
    run.console.print(table)
    sc = Table("scenario", "enterprise", "actors", "events", "window",
               title="Injected abuse (ground truth for the monitor)")
    for s in w.scenarios:
        sc.add_row(s.scenario, s.enterprise_id, str(len(s.actors)), str(len(s.event_ids)),
                   f"{s.start:%m-%d %H:%M}-{s.end:%H:%M}")
    run.console.print(sc)
    run.console.print(f"  outputs in [bold]{run.options.out}/[/bold]: events.jsonl, "
                      "ground_truth.json, summary.json")


def run_demo(rt: Runtime, options: DemoOptions, *, console: Console) -> dict[str, Any]:
    run = DemoRun(options=options, rt=rt, console=console)
    drt = _demo_runtime(rt, options.out)
    started = time.perf_counter()
    try:
        stages: list[Callable[[], None]] = [
            lambda: stage_world(run),
            lambda: stage_enterprise_systems(run, drt),
            lambda: stage_ingest(run, drt),
            lambda: stage_gate(run, drt),
            lambda: stage_waybills(run, drt),
            lambda: stage_ledger(run, drt),
            lambda: stage_monitor(run, drt),
            lambda: stage_incidents(run, drt),
            lambda: stage_channel(run, drt),
            lambda: stage_audit(run, drt),
            lambda: stage_report(run, drt),
        ]
        for stage in stages:
            stage()
    finally:
        drt.close()
    run.summary["timings_seconds"] = {**run.timings,
                                      "total": round(time.perf_counter() - started, 2)}
    print_report(run)
    (options.out / "summary.json").write_bytes(
        msgspec.json.format(msgspec.json.encode(run.summary), indent=2))
    return run.summary
