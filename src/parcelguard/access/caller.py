"""Who is at the gate: the account (or API key), the roster employee behind it, and
where the request came from (channel, device, IP) for the access event.

Device ids and IPs arrive from clients; they go into the ledger, so anything that is
not a plain identifier or a valid IP address is dropped rather than stored (a client
could put a phone number in a header).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Final

from sqlalchemy.orm import Session

from parcelguard.core.errors import InvalidInput
from parcelguard.identity import read as identity_read
from parcelguard.identity.permissions import Principal, role_permissions
from parcelguard.ledger.contract import is_contract_id

CHANNELS: Final = ("pda", "app", "web", "api")
# Device ids are opaque tokens with at least one letter, so a bare phone or ID number
# can never pass as one.
_DEVICE_RE: Final = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9._:-]{1,64}")

# The account role a roster role normally logs in with: used where no account is at
# hand (the operator CLI, the demo) so the same permission layer still applies.
ACCOUNT_ROLE_FOR: Final = {
    "courier": "courier", "sorter": "sorter", "warehouse": "warehouse",
    "customer_service": "customer_service", "security": "security_officer",
    "admin": "enterprise_admin"}


@dataclass(frozen=True, slots=True)
class Caller:
    enterprise_id: str
    permissions: frozenset[str]
    employee_id: str | None = None
    account_id: str | None = None
    api_key_id: str | None = None
    channel: str = "app"
    device_id: str | None = None
    ip: str | None = None

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise InvalidInput(f"channel must be one of {', '.join(CHANNELS)}")

    @property
    def actor_id(self) -> str:
        """The id access events carry: the employee; else the account or key."""
        return self.employee_id or self.account_id or self.api_key_id or "unknown"

    @property
    def actor_type(self) -> str:
        return "employee" if self.employee_id else "system"

    def can(self, permission: str) -> bool:
        return permission in self.permissions


def clean_device(value: str | None) -> str | None:
    # The device id goes into the access event: it must be an id of the contract.
    ok = value is not None and _DEVICE_RE.fullmatch(value) and is_contract_id(value)
    return value if ok else None


def clean_ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def caller_for_principal(session: Session, principal: Principal, *, channel: str = "api",
                         device_id: str | None = None, ip: str | None = None) -> Caller:
    """The caller of an API request. Only enterprise accounts linked to a roster
    employee can pass the gate; others still get a (denied, recorded) answer."""
    employee_id = None
    if principal.account_id is not None:
        acc = identity_read.account(session, principal.account_id)
        if acc is not None and acc.org_id == principal.org_id:
            employee_id = acc.employee_id
    perms = principal.permissions if principal.org_kind == "enterprise" else frozenset()
    return Caller(enterprise_id=principal.org_id, permissions=perms, employee_id=employee_id,
                  account_id=principal.account_id, api_key_id=principal.api_key_id,
                  channel=channel, device_id=clean_device(device_id), ip=clean_ip(ip))


def caller_for_employee(enterprise_id: str, employee_id: str, roster_role: str, *,
                        channel: str = "app", device_id: str | None = None,
                        ip: str | None = None) -> Caller:
    """A caller acting as a roster employee with the permissions of the account role
    that roster role logs in with (operator CLI, demo, tests)."""
    role = ACCOUNT_ROLE_FOR.get(roster_role)
    perms = role_permissions(role) if role is not None else frozenset()
    return Caller(enterprise_id=enterprise_id, permissions=perms, employee_id=employee_id,
                  channel=channel, device_id=clean_device(device_id), ip=clean_ip(ip))
