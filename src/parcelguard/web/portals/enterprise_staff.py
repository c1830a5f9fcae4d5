"""Enterprise security portal, the people side: employees (PI-access suspension,
background checks), the complaints inbox (acknowledge, answer, refer to the police),
evaluations and sanctions, and keys (API keys, the ledger's note verifier key)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.access import suspensions
from parcelguard.access.caller import caller_for_principal
from parcelguard.access.repository import AccessRepository
from parcelguard.access.service import REVIEW_OUTCOMES, AccessGate
from parcelguard.channel import referrals
from parcelguard.channel import service as channel
from parcelguard.channel.settings import ChannelSettings
from parcelguard.conduct import service as conduct
from parcelguard.conduct.settings import ConductSettings
from parcelguard.core.errors import InvalidInput, NotFound
from parcelguard.core.http import SessionDep
from parcelguard.identity import service as identity
from parcelguard.identity.models import Account
from parcelguard.identity.repository import AccountRepository
from parcelguard.incidents.models import Intervention
from parcelguard.ledger.signing import registered_verifier
from parcelguard.logistics import service as logistics
from parcelguard.logistics.models import Employee, Station
from parcelguard.web.actions import CONFIRM, Done, ShownOnce, act, confirmed
from parcelguard.web.auth import OfficerStaff, Staff
from parcelguard.web.i18n import gettext_for
from parcelguard.web.names import Names
from parcelguard.web.portals.enterprise_layout import show
from parcelguard.web.portals.police import data_requests_section
from parcelguard.web.render import locale_of, runtime
from parcelguard.web.sections import Action, Cell, Input, Section, due_cell

router = APIRouter(prefix="/enterprise", include_in_schema=False)


# -- employees --------------------------------------------------------------------------------


def employees_section(session: Session, staff: Staff, now: datetime) -> Section:
    ent = staff.principal.org_id
    suspended = {s.employee_id: s for s in AccessRepository(session, ent).active_suspensions(now)
                 if s.employee_id}
    sec = Section("Employees", ["Employee", "Role", "Station", "Background check", "Trained",
                                "Status", "PI access"], html_id="employees", empty="No employees.")
    ordered = _ordered_suspensions(session, [s.held_by for s in suspended.values()
                                             if s.held_by])
    # People and places by name: the account's display name for an employee who has
    # one (employees themselves are pseudonymous), the station's name.
    who: dict[str, str] = {}
    for emp_id, name in session.execute(select(Account.employee_id, Account.display_name).where(
            Account.org_id == ent, Account.employee_id.is_not(None), Account.display_name != "")):
        if emp_id is not None:
            who[emp_id] = name
    stations: dict[str, str] = {}
    for st_id, st_name in session.execute(select(Station.id, Station.name).where(
            Station.enterprise_id == ent)):
        stations[st_id] = st_name
    rows = session.scalars(select(Employee).where(Employee.enterprise_id == ent)
                           .order_by(Employee.status, Employee.id).limit(300))
    can_suspend = staff.principal.can("pi:suspend")
    can_check = staff.principal.can("logistics:write")
    for e in rows:
        acts: list[Action] = []
        susp = suspended.get(e.id)
        # A suspension an intervention holds is lifted only with it (an ordered one
        # by the supervision department): no lift button here.
        if can_suspend and e.status == "active" and not (susp and susp.held_by):
            acts.append(Action("/enterprise/employees/lift", "Lift suspension",
                               {"suspension_id": susp.id}, secondary=True) if susp else
                        Action("/enterprise/employees/suspend", "Suspend PI access",
                               {"employee_id": e.id},
                               inputs=(Input("reason", "Reason", required=True),)))
        if can_check and e.background_check != "passed":
            acts.append(Action("/enterprise/employees/check", "Record background check",
                               {"employee_id": e.id}, inputs=(Input(
                                   "result", "Result", "select",
                                   (("passed", "passed"), ("failed", "failed"))),)))
        sec.add([Cell(f"{who[e.id]} ({e.id})" if e.id in who else e.id),
                 Cell(e.role, translate=True), stations.get(e.station_id or "", e.station_id),
                 Cell(e.background_check, translate=True,
                      cls=None if e.background_check == "passed" else "warn"),
                 e.trained_at, Cell(e.status, translate=True),
                 _access_cell(susp, ordered)], acts)
    return sec


def _ordered_suspensions(session: Session, intervention_ids: list[str]) -> set[str]:
    """Of these interventions, the ones the supervision department ordered."""
    if not intervention_ids:
        return set()
    return set(session.scalars(select(Intervention.id).where(
        Intervention.id.in_(intervention_ids), Intervention.requires_ack.is_(True))))


def _access_cell(susp: Any, ordered: set[str]) -> Cell:
    if susp is None:
        return Cell("allowed", translate=True)
    if susp.held_by in ordered:
        return Cell("suspended by order of the supervision department", translate=True,
                    cls="overdue")
    if susp.held_by:
        return Cell("suspended by an intervention", translate=True, cls="overdue")
    return Cell("suspended", translate=True, cls="overdue")


def _employees(request: Request, session: Session, staff: Staff, **kw: Any) -> HTMLResponse:
    return show(request, "Employees",
                [employees_section(session, staff, runtime(request).clock.now())], **kw)


@router.get("/employees", response_class=HTMLResponse)
def employees_page(request: Request, session: SessionDep, staff: OfficerStaff) -> HTMLResponse:
    return _employees(request, session, staff)


@router.post("/employees/{op}", response_class=HTMLResponse)
async def employee_action(op: str, request: Request, session: SessionDep,
                          staff: OfficerStaff) -> Response:
    clock = runtime(request).clock

    def run(v: dict[str, str]) -> str:
        if op == "suspend":
            suspensions.suspend_as(session, staff.principal, reason=v.get("reason", ""),
                                   clock=clock, employee_id=v.get("employee_id"))
            return "PI access suspended."
        if op == "lift":
            suspensions.lift_as(session, staff.principal,
                                suspension_id=v.get("suspension_id", ""), clock=clock)
            return "Suspension lifted."
        logistics.record_background_check(session, staff.principal,
                                          employee_id=v.get("employee_id", ""),
                                          result=v.get("result", ""), clock=clock)
        return "Background check recorded."

    return await act(request, run, lambda **kw: _employees(request, session, staff, **kw))


# -- break-glass uses: the review (`access review`) ---------------------------------------


def break_glass_section(session: Session, staff: Staff, tr: Any) -> Section:
    """Emergency reveals outside any assignment, newest first: each is flagged until
    someone other than its user reviews it as justified or abuse."""
    names = Names(session)
    sec = Section("Break-glass uses", ["When", "Employee", "Waybill", "Fields",
                                       "Justification", "Review"], html_id="break-glass",
                  empty="No break-glass use.",
                  intro="An emergency reveal outside any assignment is always flagged; "
                        "someone other than the person who used it reviews it as "
                        "justified or abuse.")
    rows = AccessRepository(session, staff.principal.org_id).break_glass_records(
        open_only=False, limit=300)
    for r in rows:
        sec.add([r.at, names.person(r.employee_id), r.waybill_no,
                 ", ".join(tr(f) for f in r.fields), r.justification,
                 Cell(r.review_outcome, translate=True) if r.review_outcome
                 else Cell("awaiting review", translate=True, cls="warn")])
    pending = tuple((r.id, f"{names.person(r.employee_id)} · {r.waybill_no}")
                    for r in rows if r.reviewed_at is None)
    if pending:
        # one form below the table (a phone has no room for a form in every row)
        sec.forms.append(Action("/enterprise/break-glass/review", "Record the review", inputs=(
            Input("record_id", "Break-glass use", "select", pending),
            Input("outcome", "Outcome", "select", tuple((o, o) for o in REVIEW_OUTCOMES)),
            CONFIRM)))
    return sec


def _break_glass(request: Request, session: Session, staff: Staff, **kw: Any) -> HTMLResponse:
    staff.principal.require("pi:review")  # not customer service's page
    return show(request, "Break-glass uses", [break_glass_section(
        session, staff, gettext_for(locale_of(request)))], **kw)


@router.get("/break-glass", response_class=HTMLResponse)
def break_glass_page(request: Request, session: SessionDep,
                     staff: OfficerStaff) -> HTMLResponse:
    return _break_glass(request, session, staff)


@router.post("/break-glass/review", response_class=HTMLResponse)
async def break_glass_review(request: Request, session: SessionDep,
                             staff: OfficerStaff) -> Response:
    """Review a break-glass use as ``access review`` does (never one's own)."""
    staff.principal.require("pi:review")
    clock = runtime(request).clock

    def run(v: dict[str, str]) -> str:
        confirmed(v)
        caller = caller_for_principal(session, staff.principal, channel="web",
                                      ip=request.client.host if request.client else None)
        AccessGate(session, request.app.state.vault, clock).review_break_glass(
            caller, record_id=v.get("record_id", ""), outcome=v.get("outcome", ""))
        return "Review recorded."

    return await act(request, run, lambda **kw: _break_glass(request, session, staff, **kw))


# -- complaints -------------------------------------------------------------------------------


def complaints_section(session: Session, staff: Staff, now: datetime) -> list[Section]:
    """The inbox, or nothing for a role that does not handle reports."""
    if not staff.principal.can("reports:handle"):
        return []
    sec = Section("Complaints and reports", ["Received", "Report", "Kind", "Reporter", "Status",
                                             "Acknowledge within", "Answer within"],
                  html_id="complaints", empty="No reports.")
    for r in channel.list_reports(session, staff.principal, now=now, limit=100):
        sec.add([r.received_at, Cell(r.id, href=f"/enterprise/complaints/{r.id}"),
                 Cell(r.kind, translate=True), r.pseudonym, Cell(r.status, translate=True),
                 due_cell(r.ack_due_at, r.acknowledged_at, now),
                 due_cell(r.answer_due_at, r.answered_at, now)])
    return [sec]


@router.get("/complaints", response_class=HTMLResponse)
def complaints_page(request: Request, session: SessionDep, staff: OfficerStaff) -> HTMLResponse:
    return show(request, "Complaints",
                complaints_section(session, staff, runtime(request).clock.now()))


def _complaint(report_id: str, request: Request, session: Session, staff: Staff,
               **kw: Any) -> HTMLResponse:
    now = runtime(request).clock.now()
    d = channel.get_report(session, request.app.state.vault, staff.principal, report_id, now=now)
    base = f"/enterprise/complaints/{report_id}"
    facts = Section("Report", facts=[
        ("Kind", Cell(d.summary.kind, translate=True)),
        ("Status", Cell(d.summary.status, translate=True)),
        ("Reporter", d.reporter.get("name") or d.reporter["pseudonym"]),
        ("Wants the police", Cell("yes" if d.summary.wants_police else "no", translate=True)),
        ("Waybills", ", ".join(d.waybills) or "—"), ("Text", d.body or "—"),
        ("Reports in this case", len(d.case_reports))], html_id="report")
    if d.summary.status == "received":
        facts.forms.append(Action(f"{base}/ack", "Acknowledge"))
    if d.summary.status in ("received", "acknowledged"):
        facts.forms.append(Action(f"{base}/answer", "Answer the reporter",
                                  inputs=(Input("body", "Answer", "textarea", required=True),)))
    if staff.principal.can("referrals:create"):
        facts.forms.append(Action(f"{base}/refer", "Refer to the police", inputs=(
            Input("reason", "Why a crime is suspected", "textarea", required=True),),
            secondary=True))
    thread = Section("Messages", ["When", "From", "Message"], html_id="thread")
    for m in d.messages:
        thread.add([m["at"], Cell(m["author"], translate=True), m["body"]])
    # what the investigation tied the report to, as `channel link` records it
    links = Section("Linked to", ["What", "Id"], html_id="links",
                    empty="Not linked to anything yet.")
    for k in d.links:
        links.add([Cell(LINK_LABELS.get(k["type"], k["type"]), translate=True), k["id"]])
    links.forms.append(Action(f"{base}/link", "Link", inputs=(
        Input("target_type", "What", "select", tuple(LINK_LABELS.items())),
        Input("target_id", "Its id (waybill number, employee, station, alert or incident id)",
              required=True))))
    return show(request, "Complaint", [facts, links, thread], **kw)


# What a report can be linked to (channel.rules.LINK_TYPES), as people name it.
LINK_LABELS = {"waybill": "Waybill", "employee": "Employee", "station": "Station",
               "alert": "Alert", "incident": "Incident"}


@router.get("/complaints/{report_id}", response_class=HTMLResponse)
def complaint_page(report_id: str, request: Request, session: SessionDep,
                   staff: OfficerStaff) -> HTMLResponse:
    return _complaint(report_id, request, session, staff)


@router.post("/complaints/{report_id}/{op}", response_class=HTMLResponse)
async def complaint_action(report_id: str, op: str, request: Request, session: SessionDep,
                           staff: OfficerStaff) -> Response:
    rt = runtime(request)
    vault = request.app.state.vault

    def run(v: dict[str, str]) -> Done:
        if op == "ack":
            channel.acknowledge(session, staff.principal, report_id, clock=rt.clock)
            return "Acknowledged; the reporter can see it."
        if op == "answer":
            channel.answer(session, vault, staff.principal, report_id, body=v.get("body", ""),
                           clock=rt.clock)
            return "Answer sent to the reporter."
        if op == "link":
            channel.link(session, staff.principal, report_id,
                         target_type=v.get("target_type", ""),
                         target_id=v.get("target_id", ""), clock=rt.clock)
            return "Linked."
        deps = referrals.Deps(kms=vault.vault.kms, clock=rt.clock,
                              settings=rt.settings.section(ChannelSettings))
        ref = referrals.refer_report(session, staff.principal, deps, report_id=report_id,
                                     reason=v.get("reason", ""))
        # a msgid with its value: the done-message survives the redirect (render.flash)
        return "Referred to the police (%(id)s).", {"id": ref.id}

    return await act(request, run,
                     lambda **kw: _complaint(report_id, request, session, staff, **kw))


# -- police referrals -------------------------------------------------------------------------


def _referrals(request: Request, session: Session, staff: Staff, **kw: Any) -> HTMLResponse:
    staff.principal.require("referrals:read")  # not customer service's page
    sec = Section("Police referrals", ["Referred", "Referral", "Source", "Status", "Outcome",
                                       "Reason"], html_id="referrals", empty="No referrals.")
    answer = staff.principal.can("referrals:approve_data")
    sections = [sec]
    for r in referrals.list_referrals(session, staff.principal):
        sec.add([r.created_at, r.id, Cell(r.source_type, translate=True),
                 Cell(r.status, translate=True),
                 Cell(r.outcome, translate=True) if r.outcome else Cell(None), r.reason])
        asked = data_requests_section(session, staff, r.id, actions=answer)
        if asked.rows:
            asked.title, asked.html_id = "Data requests", f"requests-{r.id}"
            asked.intro = r.id
            sections.append(asked)
    return show(request, "Police referrals", sections, **kw)


@router.get("/referrals", response_class=HTMLResponse)
def referrals_page(request: Request, session: SessionDep, staff: OfficerStaff) -> HTMLResponse:
    staff.principal.require("referrals:read")  # not customer service's page
    return _referrals(request, session, staff)


@router.post("/referrals/data/{decision}", response_class=HTMLResponse)
async def data_request_action(decision: str, request: Request, session: SessionDep,
                              staff: OfficerStaff) -> Response:
    """The carrier answers the police's request for more data: approved, a package
    limited to the requested scope goes to them at once; or refused (the supervision
    department may still order it)."""
    staff.principal.require("referrals:approve_data")
    rt = runtime(request)
    vault = request.app.state.vault

    def run(v: dict[str, str]) -> str:
        if decision not in ("approved", "refused"):
            raise InvalidInput("decision must be approved or refused")
        deps = referrals.Deps(kms=vault.vault.kms, clock=rt.clock,
                              settings=rt.settings.section(ChannelSettings))
        referrals.decide_data_request(session, staff.principal, deps,
                                      v.get("request_id", ""), decision=decision)
        return "Data provided to the police." if decision == "approved" \
            else "Data request refused."

    return await act(request, run, lambda **kw: _referrals(request, session, staff, **kw))


def rule_cell(figures: dict[str, Any], rule: str) -> Cell:
    """What a decision rests on, in the page's language: the window's figures (the
    rule's own English wording on English pages)."""
    return Cell("%(evaluations)s evaluations, mean %(mean)s, %(low)s low, %(privacy)s "
                "privacy-tagged, %(signals)s signs of leakage", translate=True, english=rule,
                args={"evaluations": str(figures.get("evaluations", 0)),
                      "mean": "—" if figures.get("mean") is None
                      else f"{float(figures['mean']):.2f}",
                      "low": str(figures.get("low", 0)),
                      "privacy": str(figures.get("privacy_tags", 0)),
                      "signals": str(figures.get("leak_signals", 0))})


def decision_status(status: str) -> Cell:
    # "active" reads as an employee's status (在职) otherwise: a decision is in force
    return Cell("in force" if status == "active" else status, translate=True)


# -- conduct: evaluations, the rules round, links, appeals, referrals -----------------------


def _conduct(request: Request, session: Session, staff: Staff, **kw: Any) -> HTMLResponse:
    """Rewards and sanctions with what ``conduct run|confirm-referral|decide-appeal|link
    |window`` do: each form calls the conduct service as the command does."""
    p = staff.principal
    if not p.can("conduct:read"):  # customer service: nothing to show
        return show(request, "Evaluations and sanctions", [], **kw)
    rt = runtime(request)
    manage = p.can("conduct:manage")
    names = Names(session)
    decisions = Section("Rewards and sanctions", ["Decided", "Employee", "Decision", "Rule",
                                                  "Status"], html_id="decisions",
                        empty="No decisions yet.")
    proposed: list[tuple[str, str]] = []
    for d in conduct.list_decisions(session, p)[:200]:
        decisions.add([d.decided_at, names.person(d.employee_id), Cell(d.kind, translate=True),
                       rule_cell(d.figures, d.rule), decision_status(d.status)])
        if d.kind == "police_referral" and d.status == "proposed":
            proposed.append((d.id, f"{names.person(d.employee_id)} · {d.id}"))
    if manage:
        decisions.forms.append(Action("/enterprise/conduct/run", "Apply the rules now"))
        if proposed:
            # the rules only propose a referral: a person sends it to the police
            decisions.forms.append(Action(
                "/enterprise/conduct/confirm-referral", "Send the referral to the police",
                inputs=(Input("decision_id", "Proposed police referral", "select",
                              tuple(proposed)), CONFIRM)))
    appeals = Section("Appeals", ["Filed", "Appeal", "Decision", "Grounds", "Status",
                                  "Response"], html_id="appeals", empty="No appeals.")
    pending: list[tuple[str, str]] = []
    for a in conduct.appeals(session, p):
        appeals.add([a.filed_at, a.id, a.decision_id, a.grounds, Cell(a.status, translate=True),
                     a.response])
        if a.status == "pending":
            pending.append((a.id, f"{a.id} · {a.decision_id}"))
    if manage and pending:
        appeals.forms.append(Action("/enterprise/conduct/decide-appeal", "Decide the appeal",
                                    inputs=(
            Input("appeal_id", "Appeal", "select", tuple(pending)),
            Input("outcome", "Outcome", "select",
                  (("upheld", "upheld"), ("overturned", "overturned"))),
            Input("response", "Response to the employee", "textarea", required=True),
            CONFIRM)))
    # each employee's rolling figures (`conduct window`), those with any in the window
    window = Section("Rolling figures", ["Employee", "Evaluations", "Mean rating",
                                         "Low ratings", "With a privacy tag", "Leak signals"],
                     html_id="window", empty="No evaluations or signals in the window.",
                     intro="Evaluations and signs of leakage in the rules' rolling window.")
    now = rt.clock.now()
    for emp in session.scalars(select(Employee.id).where(
            Employee.enterprise_id == p.org_id).order_by(Employee.id)):
        w = conduct.window_of(session, enterprise_id=p.org_id, employee_id=emp, now=now,
                              settings=rt.settings.section(ConductSettings))
        if w.evaluations or w.leak_signals:
            window.add([names.person(emp), w.evaluations,
                        None if w.mean is None else round(w.mean, 2), w.low, w.privacy_tags,
                        w.leak_signals])
    sections = [decisions, appeals, window]
    if manage:
        sections.append(Section("Evaluation link", html_id="link", forms=[Action(
            "/enterprise/conduct/link", "Issue the evaluation link", inputs=(
                Input("waybill_no", "Waybill number of the delivered parcel", required=True),
            ))], intro="A one-time link for the recipient to rate the courier who "
                       "delivered the parcel; shown once, give it to the recipient only."))
    return show(request, "Evaluations and sanctions", sections, **kw)


@router.get("/conduct", response_class=HTMLResponse)
def conduct_page(request: Request, session: SessionDep, staff: OfficerStaff) -> HTMLResponse:
    return _conduct(request, session, staff)


@router.post("/conduct/{op}", response_class=HTMLResponse)
async def conduct_action(op: str, request: Request, session: SessionDep,
                         staff: OfficerStaff) -> Response:
    """``conduct run``, ``confirm-referral``, ``decide-appeal`` and ``link``."""
    p = staff.principal
    p.require("conduct:manage")
    rt = runtime(request)

    def run(v: dict[str, str]) -> Done:
        if op == "run":
            rnd = conduct.apply_rules(session, enterprise_id=p.org_id, now=rt.clock.now(),
                                      settings=rt.settings.section(ConductSettings),
                                      by=staff.account_id, clock=rt.clock)
            return "Rules applied: %(n)s new decisions.", {"n": str(len(rnd.decisions))}
        if op == "confirm-referral":
            confirmed(v)
            conduct.confirm_referral(session, p, v.get("decision_id", ""), clock=rt.clock)
            return "Referral sent to the police."
        if op == "decide-appeal":
            confirmed(v)
            conduct.decide_appeal(session, p, v.get("appeal_id", ""),
                                  outcome=v.get("outcome", ""), response=v.get("response", ""),
                                  clock=rt.clock)
            return "Appeal decided."
        if op == "link":
            issued = conduct.issue_link(session, enterprise_id=p.org_id,
                                        waybill_no=v.get("waybill_no", "").strip().upper(),
                                        clock=rt.clock,
                                        settings=rt.settings.section(ConductSettings))
            url = f"{str(request.base_url).rstrip('/')}/consumer/evaluate/{issued.token}"
            _ = gettext_for(locale_of(request))
            # shown once, on this page only (the token is stored hashed)
            return ShownOnce(_("Evaluation link (shown once): %(url)s", url=url))
        raise NotFound(f"no conduct action {op}")

    return await act(request, run, lambda **kw: _conduct(request, session, staff, **kw))


# -- keys -------------------------------------------------------------------------------------


def _keys(request: Request, session: Session, staff: Staff, **kw: Any) -> HTMLResponse:
    manage = staff.principal.can("apikeys:manage")
    keys = Section("API keys", ["Key", "Name", "Role", "Prefix", "Created", "Last used",
                                "Revoked"], html_id="apikeys", empty="No API keys.")
    for k in AccountRepository(session, staff.principal).api_keys():
        acts = [Action("/enterprise/keys/revoke", "Revoke", {"key_id": k.id}, secondary=True)] \
            if manage and k.revoked_at is None else []
        keys.add([k.id, k.name, Cell(k.role, translate=True), k.prefix, k.created_at,
                  k.last_used_at, k.revoked_at], acts)
    if manage:
        keys.forms.append(Action("/enterprise/keys/issue", "Issue an ingest key", inputs=(
            Input("name", "What the key is for", required=True),)))
    verifier = registered_verifier(session, staff.principal.org_id)
    ledger = Section("Ledger signing key", facts=[
        ("Note verifier key", verifier.verifier_key if verifier else "—")],
        intro="The police and the supervision department verify your signed checkpoints "
              "with this key.")
    return show(request, "Keys", [keys, ledger], **kw)


@router.get("/keys", response_class=HTMLResponse)
def keys_page(request: Request, session: SessionDep, staff: OfficerStaff) -> HTMLResponse:
    return _keys(request, session, staff)


@router.post("/keys/{op}", response_class=HTMLResponse)
async def key_action(op: str, request: Request, session: SessionDep,
                     staff: OfficerStaff) -> Response:
    clock = runtime(request).clock

    def run(v: dict[str, str]) -> str:
        if op == "revoke":
            identity.revoke_api_key(session, staff.principal, key_id=v.get("key_id", ""),
                                    clock=clock)
            return "Key revoked."
        issued = identity.issue_api_key(session, staff.principal, name=v.get("name", ""),
                                        role="ingest_client", clock=clock)
        # Shown once, on this page only; stored hashed.
        _ = gettext_for(locale_of(request))
        return ShownOnce(_("New key (shown once): %(secret)s", secret=issued.secret))

    return await act(request, run, lambda **kw: _keys(request, session, staff, **kw))
