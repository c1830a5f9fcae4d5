"""``parcelguard serve --demo``: reuse (or build) the demo world's database, add the
portals' demo logins and cases, write the supervision report, print one login per
role. Passwords and TOTP secrets are printed once to the operator's terminal only."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from parcelguard.core.runtime import Runtime
from parcelguard.incidents.notify import sms_spool
from parcelguard.web import demo
from parcelguard.web.demo_cases import seed_cases
from parcelguard.wiring import telephony, vault_service


def demo_runtime(rt: Runtime, *, out: Path, console: Console) -> Runtime:
    """The runtime of the demo database (``<home>/demo``, as ``parcelguard demo``
    builds it); builds the demo world first when there is none."""
    home = rt.settings.home / "demo"
    db = home / "parcelguard.db"
    if not db.exists():
        from parcelguard.simulation.demo import DemoOptions, run_demo

        console.print(f"no demo database yet: building one ({rt.settings.web.demo_parcels:,} "
                      "parcels)")
        run_demo(rt, DemoOptions(out=out, parcels=rt.settings.web.demo_parcels),
                 console=console)
    settings = rt.settings.model_copy(update={
        "home": home, "database_url": f"sqlite:///{db.resolve()}",
        "vault": rt.settings.vault.model_copy(update={"master_key_path": None})})
    return Runtime(settings=settings, clock=rt.clock)


def prepare(rt: Runtime, *, out: Path, console: Console, host: str, port: int) -> Runtime:
    drt = demo_runtime(rt, out=out, console=console)
    vault = vault_service(drt.settings)
    with drt.db.unit_of_work() as uow:
        prov = demo.provision(uow.session, vault, telephony(drt.settings), clock=drt.clock)
        cases = seed_cases(uow.session, vault, drt.settings, drt.clock, prov)
        uow.commit()
    from parcelguard.reporting import supervision_report

    with drt.db.unit_of_work() as uow:
        report = supervision_report({}, uow.session, out / "report.html")
    base = f"http://{host}:{port}"
    table = Table("role", "portal", "username", "password", "TOTP secret", "code now",
                  title="Demo logins (shown once; TOTP: 30 s, 6 digits, SHA-1)")
    now = drt.clock.now()
    for login in prov.logins:
        table.add_row(login.role, f"{base}/{login.portal}", login.username, login.password,
                      login.totp_secret, demo.current_code(login, now))
    console.print(table)
    console.print(f"consumers (no account): {base}/consumer; the one-time codes the "
                  f"simulated phones receive: {sms_spool(drt.settings.home)}")
    console.print(f"courier's waybills today: {', '.join(prov.assigned)} (assigned), "
                  f"{prov.unassigned} (not theirs: the gate refuses it)")
    if cases.referral_id:
        console.print(f"police referral with an evidence package: {cases.referral_id}")
    if cases.incident_id:
        console.print(f"incident with overdue reports: {cases.incident_id}")
    if cases.engagement_id:
        console.print(f"audit engagement for the auditor: {cases.engagement_id}")
    console.print(f"supervision report: {report}")
    return drt
