"""Incidents as cases on the enterprise portal, over real HTTP (uvicorn on loopback):
the officer moves a case on, reads a statutory report in full and confirms before
filing it, closes the case with a disposition and a reason, and sees who did what on
the timeline by name; alerts close with a reason or are escalated into a case. The
supervision department reads the filed report in full."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import select

from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.identity import service as identity
from parcelguard.incidents.models import Incident, IncidentReport
from parcelguard.monitor.models import MonitorAlert
from parcelguard.ops.store import init_store
from parcelguard.vault.provider import vault_service
from parcelguard.waybill.provider import telephony
from parcelguard.web import demo, totp
from parcelguard.web.demo_cases import Cases, seed_cases
from tests.e2e.served import csrf, serve


@dataclass
class Site:
    url: str
    rt: Runtime
    prov: demo.Provisioned
    cases: Cases
    clients: dict[str, httpx2.Client]

    def as_(self, username: str) -> httpx2.Client:
        """A logged-in client per account (a TOTP code is accepted once per step, so
        each account logs in once per module)."""
        if username not in self.clients:
            c = httpx2.Client(base_url=self.url, timeout=60, follow_redirects=True)
            login = next(x for x in self.prov.logins if x.username == username)
            r = c.post("/login", data={
                "csrf_token": csrf(c.get("/login?lang=en").text), "username": username,
                "password": login.password,
                "code": demo.current_code(login, self.rt.clock.now())})
            assert r.status_code in (200, 303), r.text[:300]
            self.clients[username] = c
        return self.clients[username]


def _alert(rt: Runtime, ent: str, alert_id: str, subject: str) -> None:
    now = rt.clock.now()
    us = int(now.timestamp() * 1_000_000)
    with rt.db.unit_of_work() as uow:
        uow.session.add(MonitorAlert(
            id=alert_id, enterprise_id=ent, detector="bulk_access", subject_type="account",
            subject_id=subject, severity="medium", score=0.7, status="open",
            open_key=f"{ent}|bulk_access|{subject}", raised_at=now - timedelta(hours=1),
            first_event_at=now - timedelta(hours=2), last_event_at=now - timedelta(hours=1),
            raised_us=us, first_us=us, last_us=us, event_ids=[], record_count=40,
            summary="40 waybills read in 10 minutes"))
        uow.commit()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    home: Path = tmp_path_factory.mktemp("cases")
    rt = Runtime(settings=Settings(home=home, database_url=f"sqlite:///{home / 'pg.db'}"))
    init_store(rt.settings)
    vault = vault_service(rt.settings)
    with rt.db.unit_of_work() as uow:
        prov = demo.provision(uow.session, vault, telephony(rt.settings), clock=rt.clock)
        cases = seed_cases(uow.session, vault, rt.settings, rt.clock, prov)
        # the carrier's administrator answers the police's data requests
        acc, password = identity.create_account(
            uow.session, org_id=prov.enterprise_id, username="admin.demo",
            role="enterprise_admin", clock=rt.clock, display_name="Administrator (demo)")
        secret = totp.enrol(uow.session, vault.vault.kms, account_id=acc.id,
                            at=rt.clock.now(), reset=True).secret
        totp.confirm(uow.session, account_id=acc.id, at=rt.clock.now())
        prov.logins.append(demo.Login("enterprise_admin", "enterprise", "admin.demo", password,
                                      secret, prov.enterprise_id))
        uow.commit()
    _alert(rt, prov.enterprise_id, "alr-web-1", "acc-x1")
    _alert(rt, prov.enterprise_id, "alr-web-2", "acc-x2")
    with serve(rt) as url:
        s = Site(url, rt, prov, cases, {})
        yield s
        for c in s.clients.values():
            c.close()
    rt.close()


def _post(c: httpx2.Client, page: str, action: str, **data: str) -> httpx2.Response:
    # as the page's form does: it names the page it is on, where the answer goes back to
    return c.post(action, data={"csrf_token": csrf(c.get(page).text),
                                "_page": page.split("?", maxsplit=1)[0], **data})


def _incident(site: Site) -> Incident:
    with site.rt.db.unit_of_work() as uow:
        inc = uow.session.get(Incident, site.cases.incident_id)
        assert inc is not None
        uow.session.expunge(inc)
        return inc


def _drafts(site: Site) -> list[str]:
    with site.rt.db.unit_of_work() as uow:
        return list(uow.session.scalars(select(IncidentReport.id).where(
            IncidentReport.incident_id == site.cases.incident_id,
            IncidentReport.status == "draft")))


def test_alert_closes_with_a_reason_and_escalates_into_a_case(site: Site) -> None:
    c = site.as_("security.demo")
    page = "/enterprise/alerts?lang=en"
    r = _post(c, page, "/enterprise/alerts/close", alert_id="alr-web-1",
              reason="false_positive", note="a scheduled export by the IT team")
    assert r.status_code == 200
    row = re.search(r"<tr>(?:(?!</tr>).)*acc-x1(?:(?!</tr>).)*</tr>", r.text, re.S)
    assert row is not None
    assert "false positive" in row.group(0)
    assert "a scheduled export by the IT team" in row.group(0)

    r = _post(c, page, "/enterprise/alerts/escalate", alert_id="alr-web-2")
    assert r.status_code == 200
    with site.rt.db.unit_of_work() as uow:
        alert = uow.session.get(MonitorAlert, "alr-web-2")
        assert alert is not None
        assert alert.status == "closed"
        assert alert.close_reason == "escalated"
        inc = uow.session.get(Incident, alert.close_note)
        assert inc is not None
        assert inc.source == "alert"
    # the escalated alert links to its case, which opens
    assert f'href="/enterprise/incidents/{alert.close_note}"' in r.text
    assert c.get(f"/enterprise/incidents/{alert.close_note}?lang=en").status_code == 200


def test_officer_works_an_incident_case_from_detected_to_closed(site: Site) -> None:
    c = site.as_("security.demo")
    page = f"/enterprise/incidents/{site.cases.incident_id}?lang=en"
    base = f"/enterprise/incidents/{site.cases.incident_id}"
    assert _incident(site).state == "detected"
    assert "Triage" in c.get(page).text
    for to in ("triaged", "contained"):
        r = _post(c, page, f"{base}/move", to=to, note=f"moved to {to} after review")
        assert r.status_code == 200, r.text[:500]
        assert _incident(site).state == to
    # reported needs every initial report filed: refused with the reason, in a page
    r = _post(c, page, f"{base}/move", to="reported")
    assert r.status_code == 409
    assert "not filed yet" in r.text
    assert r.headers["content-type"].startswith("text/html")

    drafts = _drafts(site)
    assert drafts, "the demo incident owes statutory reports"
    for rid in drafts:
        rpage = f"{base}/reports/{rid}?lang=en"
        text = c.get(rpage).text
        # the full text before filing: the unit, the system, the grade, the cause
        assert "Full text" in text
        assert "Affected system" in text
        assert "Reporting unit" in text
        missing = re.findall(r'name="item_(\w+)"', text)
        items = {f"item_{k}": f"filled in for {k}" for k in missing}
        # without the confirmation nothing is filed
        r = _post(c, rpage, f"{base}/file", report_id=rid, **items)
        assert r.status_code == 422
        assert "cannot be undone" in r.text
        assert rid in _drafts(site)
        r = _post(c, rpage, f"{base}/file", report_id=rid, confirm="yes", **items)
        assert r.status_code == 200, r.text[:800]
        assert rid not in _drafts(site)
        filed = c.get(rpage).text
        assert "filed" in filed
        assert "File report" not in filed
        for k in missing:
            assert f"filled in for {k}" in filed

    r = _post(c, page, f"{base}/move", to="reported")
    assert r.status_code == 200
    assert _incident(site).state == "reported"
    r = _post(c, page, f"{base}/close", disposition="confirmed_breach",
              reason="a courier looked up waybills outside his round")
    assert r.status_code == 422
    assert _incident(site).state == "reported"
    r = _post(c, page, f"{base}/close", disposition="confirmed_breach",
              reason="a courier looked up waybills outside his round", confirm="yes")
    assert r.status_code == 200
    inc = _incident(site)
    assert (inc.state, inc.disposition) == ("resolved", "confirmed_breach")
    timeline = c.get(page).text.split('id="timeline"')[1]
    # who did what, by name; the reason and the disposition are on the timeline
    assert "Security officer (demo)" in timeline
    assert "a courier looked up waybills outside his round" in timeline
    assert "confirmed breach" in timeline

    # the supervision department reads a filed report in full from its inbox
    sup = site.as_("supervisor.demo")
    inbox = sup.get("/supervisor/inbox?lang=en").text
    link = re.search(rf'href="(/supervisor/incidents/{site.cases.incident_id}/reports/[^"]+)"',
                     inbox)
    assert link is not None
    full = sup.get(link.group(1) + "?lang=en")
    assert full.status_code == 200
    assert "Affected system" in full.text


def test_case_pages_read_in_chinese(site: Site) -> None:
    c = site.as_("security.demo")
    text = c.get(f"/enterprise/incidents/{site.cases.incident_id}?lang=zh-CN").text
    for english in ("Timeline", "Disposition", "Close the case", "Triage"):
        assert f">{english}<" not in text


SECURITY_PLAN = {
    "scope": "Waybill system and the PI access gate",
    "risks": [{"name": "Insider resale", "source": "internal", "threat": "insider resale",
               "controls": ["assignment-bound reveals", "monitoring"]},
              {"name": "Credential stuffing", "source": "external",
               "threat": "credential stuffing", "controls": ["TOTP for staff"]}]}


def test_enterprise_submits_a_plan_and_the_supervisor_reads_it_and_approves(site: Site) -> None:
    import json

    ent = site.as_("security.demo")
    page = "/enterprise/plans?lang=en"
    r = _post(ent, page, "/enterprise/plans/submit", kind="security", content="{not json")
    assert r.status_code == 422
    assert "not valid JSON" in r.text
    r = _post(ent, page, "/enterprise/plans/submit", kind="security",
              content=json.dumps(SECURITY_PLAN))
    assert r.status_code == 200
    assert "Plan submitted for review." in r.text

    sup = site.as_("supervisor.demo")
    listing = sup.get("/supervisor/plans?lang=en").text.split('id="review"')[1]
    m = re.search(r'href="(/supervisor/plans/[^"]+)"', listing)
    assert m is not None
    text = sup.get(m.group(1) + "?lang=en").text
    # the plan in full: its scope, each risk and its controls
    assert "Waybill system and the PI access gate" in text
    assert "assignment-bound reveals" in text
    assert "credential stuffing" in text
    plan_id = m.group(1).rsplit("/", 1)[1]
    r = _post(sup, m.group(1), "/supervisor/plans/review", plan_id=plan_id, approve="yes")
    assert r.status_code == 422
    assert "cannot be undone" in r.text
    r = _post(sup, m.group(1), "/supervisor/plans/review", plan_id=plan_id, approve="yes",
              confirm="yes")
    assert r.status_code == 200
    assert "Plan approved." in r.text
    mine = ent.get(f"/enterprise/plans/{plan_id}?lang=en").text
    assert "approved" in mine.split('id="plan-head"')[1]
    # the next version starts from the approved text
    assert "Waybill system and the PI access gate" in ent.get(page).text.split('id="submit"')[1]


def test_a_regulator_order_is_issued_acknowledged_and_lifted_on_the_web(site: Site) -> None:
    from parcelguard.logistics.models import Employee

    with site.rt.db.unit_of_work() as uow:
        emp = uow.session.scalars(select(Employee.id).where(
            Employee.enterprise_id == site.prov.enterprise_id,
            Employee.status == "active")).first()
    assert emp is not None
    sup = site.as_("supervisor.demo")
    r = _post(sup, "/supervisor/orders?lang=en", "/supervisor/orders",
              enterprise_id=site.prov.enterprise_id, kind="suspend_employee", target_id=emp,
              reason="Lookups outside assignments pending investigation")
    assert r.status_code == 200, r.text[:500]

    ent = site.as_("security.demo")
    orders = ent.get("/enterprise/orders?lang=en").text
    m = re.search(r'action="/enterprise/orders/ack".*?name="intervention_id" value="([^"]+)"',
                  orders, re.S)
    assert m is not None, "the enterprise sees the order with an acknowledge button"
    iv = m.group(1)
    # an ordered measure is lifted by the regulator alone: no lift button here
    assert 'action="/enterprise/orders/lift"' not in orders
    r = _post(ent, "/enterprise/orders?lang=en", "/enterprise/orders/ack", intervention_id=iv)
    assert r.status_code == 200
    assert "Order acknowledged." in r.text
    r = _post(ent, "/enterprise/orders?lang=en", "/enterprise/orders/lift", intervention_id=iv,
              confirm="yes")
    assert r.status_code == 403

    r = _post(sup, "/supervisor/orders?lang=en", "/supervisor/orders/lift", intervention_id=iv,
              confirm="yes")
    assert r.status_code == 200
    assert "Intervention lifted." in r.text
    from parcelguard.incidents.models import Intervention

    with site.rt.db.unit_of_work() as uow:
        row = uow.session.get(Intervention, iv)
        assert row is not None
        assert row.acknowledged_at is not None
        assert row.lifted_at is not None


def test_police_request_data_the_carrier_answers_and_the_outcome_shows(site: Site) -> None:
    ref = site.cases.referral_id
    assert ref is not None
    police = site.as_("police.demo")
    page = f"/police/referrals/{ref}?lang=zh-CN"
    assert _post(police, page, f"/police/referrals/{ref}/accept").status_code == 200
    waybill = site.prov.assigned[0]
    r = _post(police, page, f"/police/referrals/{ref}/request", waybills=waybill,
              justification="Who read this waybill in the week of the call")
    assert r.status_code == 200

    # the carrier's administrator sees the request on its portal and provides the data
    ent = site.as_("admin.demo")
    text = ent.get("/enterprise/referrals?lang=en").text
    m = re.search(r'action="/enterprise/referrals/data/approved".*?name="request_id" '
                  r'value="([^"]+)"', text, re.S)
    assert m is not None, "the carrier can answer the police's request on its portal"
    assert waybill in text
    r = _post(ent, "/enterprise/referrals?lang=en", "/enterprise/referrals/data/approved",
              request_id=m.group(1), referral_id=ref)
    assert r.status_code == 200
    assert "Data provided to the police." in r.text

    requests_ = police.get(page).text.split('id="requests"')[1]
    assert "已批准" in requests_  # approved, and the police see the scoped package's size
    assert re.search(r"<td>\d+</td></tr>", requests_) is not None
    # concluding is final: refused without the confirmation, then the outcome shows
    r = _post(police, page, f"/police/referrals/{ref}/conclude", outcome="case_filed")
    assert r.status_code == 422
    r = _post(police, page, f"/police/referrals/{ref}/conclude", outcome="case_filed",
              confirm="yes")
    assert r.status_code == 200
    head = r.text.split('id="ref"')[1].split("</section>")[0]
    assert "已立案侦查" in head
    # and the carrier sees how its referral ended
    assert "已立案侦查" in ent.get("/enterprise/referrals?lang=zh-CN").text


def test_auditor_evaluation_raises_findings_and_signing_follows_a_preview(site: Site) -> None:
    import json

    from parcelguard.audit.models import AuditControlResult, AuditReport

    eid = site.cases.engagement_id
    assert eid is not None
    aud = site.as_("auditor.demo")
    page = "/auditor?lang=en"
    assert _post(aud, page, "/auditor/start", engagement_id=eid).status_code == 200
    r = _post(aud, page, "/auditor/evaluate", engagement_id=eid)
    assert r.status_code == 200
    with site.rt.db.unit_of_work() as uow:
        failed = set(uow.session.scalars(select(AuditControlResult.control_id).where(
            AuditControlResult.engagement_id == eid, AuditControlResult.status == "fail")))
    assert failed, "the demo period has failed controls"
    text = aud.get(f"/auditor/engagements/{eid}?lang=en").text
    findings = text.split('id="findings"')[1].split("</section>")[0]
    assert "No findings." not in findings
    for control in failed:  # one finding per failed control
        assert f"<td>{control}</td>" in findings

    preview = aud.get(f"/auditor/engagements/{eid}/preview?lang=en")
    assert preview.status_code == 200
    assert "No findings." not in preview.text
    r = _post(aud, f"/auditor/engagements/{eid}/preview?lang=en", "/auditor/issue",
              engagement_id=eid)
    assert r.status_code == 422
    with site.rt.db.unit_of_work() as uow:
        assert uow.session.get(AuditReport, eid) is None
    r = _post(aud, f"/auditor/engagements/{eid}/preview?lang=en", "/auditor/issue",
              engagement_id=eid, confirm="yes")
    assert r.status_code == 200
    with site.rt.db.unit_of_work() as uow:
        report = uow.session.get(AuditReport, eid)
        assert report is not None
        published = json.loads(report.body)
    assert {f["control_id"] for f in published["findings"]} == failed


def test_officer_opens_an_incident_by_hand_and_supplements_a_filed_report(site: Site) -> None:
    c = site.as_("security.demo")
    r = _post(c, "/enterprise/incidents?lang=en", "/enterprise/incidents/open",
              title="Labels reprinted at night at station 3", category="insider_abuse")
    assert r.status_code == 200
    assert "Incident opened." in r.text
    assert "Labels reprinted at night at station 3" in r.text

    with site.rt.db.unit_of_work() as uow:
        filed = uow.session.scalars(select(IncidentReport).where(
            IncidentReport.status == "filed", IncidentReport.kind != "supplement")).first()
        assert filed is not None, "an earlier test filed the demo incident's reports"
        inc, rid = filed.incident_id, filed.id
    page = f"/enterprise/incidents/{inc}/reports/{rid}?lang=en"
    base = f"/enterprise/incidents/{inc}"
    r = _post(c, page, f"{base}/supplement", report_id=rid, item="measures_effect",
              text="The courier's PI access stays suspended; no further lookups.")
    assert r.status_code == 422
    r = _post(c, page, f"{base}/supplement", report_id=rid, item="measures_effect",
              text="The courier's PI access stays suspended; no further lookups.",
              confirm="yes")
    assert r.status_code == 200
    assert "Supplement filed." in r.text
    with site.rt.db.unit_of_work() as uow:
        sup = uow.session.scalars(select(IncidentReport).where(
            IncidentReport.parent_id == rid)).one()
        assert sup.content == {
            "measures_effect": "The courier's PI access stays suspended; no further lookups."}


def test_the_command_line_closes_an_alert_with_the_same_reasons(site: Site) -> None:
    """The portal and `monitor alerts close` share the domain's reasons and checks."""
    import os

    from typer.testing import CliRunner

    from parcelguard.cli import app

    _alert(site.rt, site.prov.enterprise_id, "alr-cli-1", "acc-x3")
    env = {**os.environ, "PARCELGUARD_HOME": str(site.rt.settings.home),
           "PARCELGUARD_DATABASE_URL": site.rt.settings.database_url}
    bad = CliRunner().invoke(app, ["monitor", "alerts", "close", "alr-cli-1", "--reason",
                                   "bored"], env=env)
    assert bad.exit_code != 0
    ok = CliRunner().invoke(app, ["monitor", "alerts", "close", "alr-cli-1", "--reason",
                                  "duplicate", "--note", "same as the alert of an hour ago"],
                            env=env)
    assert ok.exit_code == 0, ok.output
    with site.rt.db.unit_of_work() as uow:
        row = uow.session.get(MonitorAlert, "alr-cli-1")
        assert row is not None
        assert (row.status, row.close_reason) == ("closed", "duplicate")
        assert row.close_note == "same as the alert of an hour ago"
