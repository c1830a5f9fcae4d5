"""The legitimate forms of waybill access the event contract allows, in one place.

The contract (``shared/contracts/event.schema.json``) grants access two ways:

1. **Assignments**: a ``parcel`` event with step ``assigned`` makes ``assignee_id``
   responsible until ``assignment_until``, for any ``assignment_purpose`` (pickup,
   sorting, delivery, customer_service, or none given), with or without a
   ``station_id`` (customer service works from no station). The waybill stage
   (``waybills.py``) records every one; an access it covers is never "unassigned".
2. **Work that is bound to a role and a place rather than to one parcel**: what an
   access's ``purpose`` says, read against the actor's roster role and where the
   parcel is. ``honoured`` decides these; everything else needs an assignment.

Honouring an access only takes it out of the *scope* rules (unassigned,
out-of-station, uncovered prints). Volume, bulk, cumulative and account rules
still count it: a security officer who reads ten thousand waybills is still seen.
"""

from __future__ import annotations

from typing import Final

from parcelguard.monitor.model import Annot

# purpose -> roster roles whose work it is, wherever the parcel is (no assignment is
# issued for an investigation, an audit sample or a police request)
ROLE_PURPOSES: Final[dict[str, frozenset[str]]] = {
    "security": frozenset({"security"}),
    "law_enforcement": frozenset({"security"}),
    "audit": frozenset({"security", "admin", "it"}),
}
# purpose -> roles whose work it is on parcels that passed their own station: sorting
# and pickup handle what physically lies in front of them
STATION_PURPOSES: Final[dict[str, frozenset[str]]] = {
    "sorting": frozenset({"sorter", "warehouse"}),
    "pickup": frozenset({"courier", "warehouse"}),
}

FORMS: Final = (
    ("assignment, any purpose, with a station", "covered by the assignment"),
    ("assignment, any purpose, station_id null (customer service)",
     "covered by the assignment"),
    ("assignment without assignment_until", "covered for 24 h"),
    ("complaint_handling / customer_service on an assigned waybill",
     "covered by the assignment"),
    ("sorting by a sorter or warehouse role, parcel passed their station", "honoured"),
    ("pickup by a courier or warehouse role, parcel passed their station", "honoured"),
    ("security / law_enforcement by a security role", "honoured"),
    ("audit by a security, admin or it role", "honoured"),
)


def honoured(role: str | None, purpose: str | None, annot: Annot) -> bool:
    """An uncovered waybill read that is still the actor's work by role and place."""
    if role is None or purpose is None:
        return False
    roles = ROLE_PURPOSES.get(purpose)
    if roles is not None:
        return role in roles
    roles = STATION_PURPOSES.get(purpose)
    return roles is not None and role in roles and annot.station_match is True
