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
}

ROLES: dict[str, tuple[str, frozenset[str]]] = {
    # enterprise roles
    "enterprise_admin": ("enterprise", frozenset({
        "accounts:manage", "apikeys:manage", "events:write", "events:read",
        "logistics:read", "logistics:write"})),
    "security_officer": ("enterprise", frozenset({
        "events:read", "logistics:read"})),
    "courier": ("enterprise", frozenset({"logistics:read"})),
    "sorter": ("enterprise", frozenset({"logistics:read"})),
    "warehouse": ("enterprise", frozenset({"logistics:read"})),
    "customer_service": ("enterprise", frozenset({"logistics:read"})),
    "ingest_client": ("enterprise", frozenset({"events:write"})),
    # supervision department
    "supervisor_admin": ("supervisor", frozenset({
        "org:manage", "accounts:manage", "apikeys:manage", "events:read",
        "events:read_all", "orgs:read_all"})),
    "supervisor_analyst": ("supervisor", frozenset({
        "events:read", "events:read_all", "orgs:read_all"})),
    # police network-security department and third-party auditors see only what is
    # referred or granted to them; their permissions arrive with those capabilities.
    "police_investigator": ("police", frozenset()),
    "auditor": ("auditor", frozenset()),
}


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
            raise PermissionDenied(f"role {self.role} lacks permission {permission}")

    def may_read_org(self, org_id: str, read_all_permission: str) -> bool:
        """Own organisation always; others only with the explicit read_all permission."""
        return org_id == self.org_id or self.can(read_all_permission)


def system_principal(org_id: str, org_kind: str = "supervisor") -> Principal:
    """The deployment operator acting from the local CLI (trusted, machine-local)."""
    return Principal(org_id=org_id, org_kind=org_kind, role="supervisor_admin")
