"""The one registry of roles and their ``section:action`` permissions.

A role belongs to one kind of organisation. Cross-organisation reads are separate,
explicit permissions (``*:read_all``) held only by the supervision department.
"""

from __future__ import annotations

from dataclasses import dataclass

from parcelguard.core.errors import PermissionDenied

PERMISSIONS: dict[str, str] = {
    "org:manage": "create organisations and change their settings",
    "accounts:manage": "create and deactivate accounts of one's own organisation",
    "apikeys:manage": "issue and revoke API keys of one's own organisation",
    "events:write": "push events into one's own enterprise's log",
    "events:read": "read one's own enterprise's events",
    "events:read_all": "read every enterprise's events (supervision)",
    "logistics:read": "read stations, employees, parcels (masked) and assignments",
    "logistics:write": "manage stations, employees, parcels and assignments",
    "orgs:read_all": "list every registered organisation (supervision)",
    # -- consent (notice and consent, data-subject requests) --
    "consent:read": "read one's own enterprise's privacy notices and consent records",
    "consent:record": "record notice acknowledgements, consents and withdrawals",
    "consent:manage": "publish new versions of one's own enterprise's privacy notice",
    "dsr:handle": "handle data-subject requests: export, correct, erase a person's PI",
    # -- monitor --
    "alerts:read": "read one's own enterprise's monitor alerts",
    "alerts:ack": "acknowledge or close one's own enterprise's monitor alerts",
    "alerts:read_all": "read every enterprise's monitor alerts (supervision)",
}

ROLES: dict[str, tuple[str, frozenset[str]]] = {
    # enterprise roles
    "enterprise_admin": ("enterprise", frozenset({
        "accounts:manage", "apikeys:manage", "events:write", "events:read",
        "logistics:read", "logistics:write",
        "consent:read", "consent:record", "consent:manage", "dsr:handle",
        "alerts:read", "alerts:ack"})),  # alerts: monitor
    "security_officer": ("enterprise", frozenset({
        "events:read", "logistics:read", "consent:read",
        "alerts:read", "alerts:ack"})),  # alerts: monitor
    "courier": ("enterprise", frozenset({"logistics:read"})),
    "sorter": ("enterprise", frozenset({"logistics:read"})),
    "warehouse": ("enterprise", frozenset({"logistics:read"})),
    # Customer service takes consents and data-subject requests at the counter/hotline.
    "customer_service": ("enterprise", frozenset({
        "logistics:read", "consent:read", "consent:record", "dsr:handle"})),
    "ingest_client": ("enterprise", frozenset({"events:write"})),
    # supervision department
    "supervisor_admin": ("supervisor", frozenset({
        "org:manage", "accounts:manage", "apikeys:manage", "events:read",
        "events:read_all", "orgs:read_all",
        "alerts:read", "alerts:read_all"})),  # alerts: monitor
    "supervisor_analyst": ("supervisor", frozenset({
        "events:read", "events:read_all", "orgs:read_all",
        "alerts:read", "alerts:read_all"})),  # alerts: monitor
    # police network-security department and third-party auditors see only what is
    # referred or granted to them; their permissions arrive with those capabilities.
    "police_investigator": ("police", frozenset()),
    "auditor": ("auditor", frozenset()),
}

# -- access: the PI gate (docs/access.md). The account's pi:* permission is only the
# first question; the roster role, assignment and consent decide the rest.
PERMISSIONS.update({
    "pi:reveal": "ask the gate to reveal PI fields of an assigned parcel",
    "pi:search": "search parcels by phone number (blind index, masked hits)",
    "pi:export": "request and run bulk exports of PI",
    "pi:approve_export": "approve another person's bulk export (second person)",
    "pi:print_label": "print the masked privacy waybill of an assigned parcel",
    "pi:share": "give PI to a partner carrier (with the person's separate consent)",
    "pi:break_glass": "emergency reveal outside assignments (justified, always flagged)",
    "pi:suspend": "suspend and restore an employee's or API key's PI access",
    "pi:review": "review break-glass uses",
})
_ACCESS_GRANTS: dict[str, frozenset[str]] = {
    "enterprise_admin": frozenset({"pi:approve_export", "pi:share", "pi:suspend",
                                   "pi:review"}),
    "security_officer": frozenset({"pi:search", "pi:export", "pi:approve_export",
                                   "pi:break_glass", "pi:suspend", "pi:review"}),
    "courier": frozenset({"pi:reveal", "pi:print_label"}),
    "sorter": frozenset({"pi:print_label"}),
    "customer_service": frozenset({"pi:reveal", "pi:search", "pi:export", "pi:break_glass"}),
}
for _role, _granted in _ACCESS_GRANTS.items():
    ROLES[_role] = (ROLES[_role][0], ROLES[_role][1] | _granted)

# -- waybill: labels, virtual numbers, partners (docs/waybill.md). Printing, revealing
# and sharing use the access section's pi:* permissions above.
PERMISSIONS.update({
    "partners:manage": "register partner carriers, their keys and processing contracts",
    "waybill:call": "call a recipient through a parcel's virtual number",
})
ROLES["enterprise_admin"] = (ROLES["enterprise_admin"][0],
                             ROLES["enterprise_admin"][1] | {"partners:manage"})
ROLES["courier"] = (ROLES["courier"][0], ROLES["courier"][1] | {"waybill:call"})

# -- channel and conduct: reports, police referrals, canaries, evaluations (docs/channel.md,
# docs/conduct.md). The police see only referrals addressed to their organisation; the
# supervision department sees every channel's figures and may order data for the police.
PERMISSIONS.update({
    "reports:handle": "handle one's own enterprise's reports: read, acknowledge, answer, link",
    "reports:read_all": "every enterprise's channel figures: volumes, timeliness, overdue",
    "referrals:create": "forward a case, incident or conduct finding to the police",
    "referrals:read": "read referrals: one's own enterprise's, or those addressed to one's "
                      "police organisation",
    "referrals:read_all": "read every referral's status and log (supervision; no evidence)",
    "referrals:investigate": "accept, request more data on and conclude referrals addressed "
                             "to one's police organisation",
    "referrals:approve_data": "approve or refuse the police's requests for more data",
    "referrals:order_data": "order an enterprise to hand the police the data they requested",
    "canary:manage": "seed canary parcels and scan for their use",
    "conduct:read": "read employees' evaluation windows, decisions and appeals",
    "conduct:manage": "issue evaluation links, apply the conduct rules, decide appeals",
    "conduct:appeal": "appeal a conduct decision about oneself",
})
_CHANNEL_GRANTS: dict[str, frozenset[str]] = {
    "enterprise_admin": frozenset({"reports:handle", "referrals:create", "referrals:read",
                                   "referrals:approve_data", "canary:manage",
                                   "conduct:read", "conduct:manage"}),
    "security_officer": frozenset({"reports:handle", "referrals:create", "referrals:read",
                                   "canary:manage", "conduct:read", "conduct:manage"}),
    "customer_service": frozenset({"reports:handle"}),
    "courier": frozenset({"conduct:appeal"}),
    "sorter": frozenset({"conduct:appeal"}),
    "warehouse": frozenset({"conduct:appeal"}),
    "supervisor_admin": frozenset({"reports:read_all", "referrals:read_all",
                                   "referrals:order_data"}),
    "supervisor_analyst": frozenset({"reports:read_all", "referrals:read_all"}),
    "police_investigator": frozenset({"referrals:read", "referrals:investigate"}),
}
for _role, _granted in _CHANNEL_GRANTS.items():
    ROLES[_role] = (ROLES[_role][0], ROLES[_role][1] | _granted)
# -- incidents: plans, incidents, reports, notices, interventions (docs/incidents.md) --
PERMISSIONS.update({
    "plans:read": "read one's own enterprise's security and emergency plans and drills",
    "plans:submit": "file new versions of one's own plans and record drills",
    "plans:read_all": "read every enterprise's plans and drills (supervision)",
    "plans:review": "approve a plan version or return it with comments (supervision)",
    "incidents:read": "read one's own enterprise's incidents, reports and interventions",
    "incidents:manage": "open incidents, add evidence, move them, work tasks, notify people",
    "incidents:report": "file statutory incident reports and their supplements",
    "incidents:read_all": "read every enterprise's incidents; the report inbox and "
                          "escalations (supervision)",
    "interventions:apply": "apply interventions in one's own enterprise (suspend, revoke, "
                           "block, freeze) and acknowledge ordered ones",
    "interventions:order": "order an intervention in any enterprise (supervision)",
    "incidents:forward": "forward filed reports onward to the cyberspace administration "
                         "(supervision)",
    "incidents:receive": "read reports forwarded to one's cyberspace administration and "
                         "acknowledge them",
})
# The cyberspace administration receives what the supervision department forwards; it
# sees forwarded reports (and forwards still owed to it), nothing of the enterprises'.
ROLES["cac_officer"] = ("cac", frozenset())
_INCIDENT_GRANTS: dict[str, frozenset[str]] = {
    "enterprise_admin": frozenset({"plans:read", "plans:submit", "incidents:read",
                                   "incidents:manage", "incidents:report",
                                   "interventions:apply"}),
    "security_officer": frozenset({"plans:read", "plans:submit", "incidents:read",
                                   "incidents:manage", "incidents:report",
                                   "interventions:apply"}),
    "supervisor_admin": frozenset({"plans:read", "plans:read_all", "plans:review",
                                   "incidents:read", "incidents:read_all",
                                   "interventions:order", "incidents:forward"}),
    "supervisor_analyst": frozenset({"plans:read", "plans:read_all", "plans:review",
                                     "incidents:read", "incidents:read_all"}),
    "cac_officer": frozenset({"incidents:receive"}),
}
for _role, _granted in _INCIDENT_GRANTS.items():
    ROLES[_role] = (ROLES[_role][0], ROLES[_role][1] | _granted)

# -- audit: engagements, scorecards, transparency reports (docs/audit.md). Auditors get
# no pi:*, events:*, logistics:*, consent:* or alerts:* permission: everything they see
# comes through an engagement their firm holds, as aggregates and event leaves.
PERMISSIONS.update({
    "audit:commission": "commission a periodic third-party audit of one's own enterprise",
    "audit:order": "order a third-party audit of any enterprise; close rectification orders "
                   "(supervision)",
    "audit:conduct": "run one's firm's engagements inside their access window: evaluate the "
                     "controls, draw event samples with proofs, attest, raise findings, sign",
    "audit:read": "read one's own engagements, findings, reports and scorecard (an auditor: "
                  "the engagements its firm holds)",
    "audit:read_all": "read every enterprise's engagements, reports and scorecards; the "
                      "ranking (supervision)",
    "audit:rectify": "answer rectification orders addressed to one's own enterprise",
    "transparency:publish": "publish a differentially private transparency report (spends "
                            "the period's privacy budget)",
})
_AUDIT_GRANTS: dict[str, frozenset[str]] = {
    "enterprise_admin": frozenset({"audit:commission", "audit:read", "audit:rectify",
                                   "transparency:publish"}),
    "security_officer": frozenset({"audit:read", "audit:rectify"}),
    "supervisor_admin": frozenset({"audit:order", "audit:read", "audit:read_all",
                                   "transparency:publish"}),
    "supervisor_analyst": frozenset({"audit:read", "audit:read_all"}),
    "auditor": frozenset({"audit:conduct", "audit:read"}),
}
for _role, _granted in _AUDIT_GRANTS.items():
    ROLES[_role] = (ROLES[_role][0], ROLES[_role][1] | _granted)
# -- legal: the industry association; auditors' data support to the police --
PERMISSIONS.update({
    "rulebook:publish": "publish a version of the uniform audit rulebook (the industry "
                        "association)",
    "members:read": "read one's member enterprises' scorecards, read-only (the industry "
                    "association)",
    "audit:support_police": "hand a police case data support from one's firm's engagement "
                            "with the enterprise (findings and event references, no PI)",
    "audit:receive_support": "read auditors' data support addressed to one's police "
                             "organisation and give a receipt",
})
ROLES["association_officer"] = ("association", frozenset({"rulebook:publish",
                                                          "members:read"}))
ROLES["auditor"] = (ROLES["auditor"][0], ROLES["auditor"][1] | {"audit:support_police"})
ROLES["police_investigator"] = (ROLES["police_investigator"][0],
                                ROLES["police_investigator"][1] | {"audit:receive_support"})


def role_permissions(role: str) -> frozenset[str]:
    try:
        return ROLES[role][1]
    except KeyError:
        raise ValueError(f"unknown role {role!r}") from None


def check_role_for_org(role: str, org_kind: str) -> None:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; known: {', '.join(sorted(ROLES))}")
    if ROLES[role][0] != org_kind:
        raise ValueError(f"role {role!r} belongs to {ROLES[role][0]} organisations, "
                         f"not {org_kind}")


@dataclass(frozen=True)
class Principal:
    """Who is calling: an account or an API key, always inside one organisation."""

    org_id: str
    org_kind: str
    role: str
    account_id: str | None = None
    api_key_id: str | None = None

    @property
    def permissions(self) -> frozenset[str]:
        return role_permissions(self.role)

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def require(self, permission: str) -> None:
        if permission not in PERMISSIONS:
            raise ValueError(f"unregistered permission {permission!r}")
        if not self.can(permission):
            raise PermissionDenied.of("role %(role)s lacks permission %(permission)s",
                                      role=self.role, permission=permission)

    def may_read_org(self, org_id: str, read_all_permission: str) -> bool:
        """Own organisation always; others only with the explicit read_all permission."""
        return org_id == self.org_id or self.can(read_all_permission)


def system_principal(org_id: str, org_kind: str = "supervisor") -> Principal:
    """The deployment operator acting from the local CLI (trusted, machine-local)."""
    return Principal(org_id=org_id, org_kind=org_kind, role="supervisor_admin")
