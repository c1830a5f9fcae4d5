"""``parcelguard serve --demo``: reuse (or build) the demo world's database, add the
portals' demo logins and cases, write the supervision report, print one login per
role. Passwords and TOTP secrets are printed once to the operator's terminal only."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from rich.console import Console

from parcelguard.core.runtime import Runtime
from parcelguard.incidents.notify import sms_spool
from parcelguard.vault.provider import vault_service
from parcelguard.vault.settings import VaultSettings
from parcelguard.waybill.provider import telephony
from parcelguard.web import demo
from parcelguard.web.demo_cases import seed_cases
from parcelguard.web.settings import WebSettings

LOGINS_FILE = "demo-logins.txt"


def show_logins(console: Console, logins: list[demo.Login], *, base: str, now: datetime,
                home: Path) -> Path:
    """Print one block of lines per login and write the same to ``<home>/demo-logins.txt``
    (mode 0600). Lines, not a table: a table is cut to the terminal's width (80 columns
    when the output is a file or a pipe), and a cut password or TOTP secret is useless."""
    lines = ["Demo logins (TOTP: 30 s, 6 digits, SHA-1; the code changes every 30 s)"]
    for login in logins:
        lines += ["", f"{login.role}: {base}/{login.portal}", f"  username:    {login.username}",
                  f"  password:    {login.password}", f"  TOTP secret: {login.totp_secret}",
                  f"  code now:    {demo.current_code(login, now)}"]
    text = "\n".join(lines) + "\n"
    path = home / LOGINS_FILE
    # Created 0600 before a byte is written: the secrets are never readable by others.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    for line in lines:
        console.print(line, soft_wrap=True, highlight=False, markup=False)
    console.print(f"the same logins are in {path} (readable by you only)", soft_wrap=True,
                  highlight=False, markup=False)
    return path


def demo_runtime(rt: Runtime, *, out: Path, console: Console) -> Runtime:
    """The runtime of the demo database (``<home>/demo``, as ``parcelguard demo``
    builds it); builds the demo world first when there is none."""
    home = rt.settings.home / "demo"
    db = home / "parcelguard.db"
    if not db.exists():
        from parcelguard.simulation.demo import DemoOptions, run_demo

        parcels = rt.settings.section(WebSettings).demo_parcels
        console.print(f"no demo database yet: building one ({parcels:,} parcels)")
        run_demo(rt, DemoOptions(out=out, parcels=parcels),
                 console=console)
    settings = rt.settings.model_copy(update={
        "home": home, "database_url": f"sqlite:///{db.resolve()}",
        "vault": rt.settings.section(VaultSettings).model_copy(update={"master_key_path": None})})
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
    show_logins(console, prov.logins, base=base, now=drt.clock.now(), home=rt.settings.home)
    console.print(f"consumers (no account): {base}/consumer; the one-time codes the "
                  f"simulated phones receive: {sms_spool(drt.settings.home)}", soft_wrap=True)
    console.print(f"courier's waybills today: {', '.join(prov.assigned)} (assigned), "
                  f"{prov.unassigned} (not theirs: the gate refuses it)", soft_wrap=True)
    if cases.referral_id:
        console.print(f"police referral with an evidence package: {cases.referral_id}",
                      soft_wrap=True)
    if cases.incident_id:
        console.print(f"incident with overdue reports: {cases.incident_id}", soft_wrap=True)
    if cases.engagement_id:
        console.print(f"audit engagement for the auditor: {cases.engagement_id}", soft_wrap=True)
    console.print(f"supervision report: {report}", soft_wrap=True)
    return drt
