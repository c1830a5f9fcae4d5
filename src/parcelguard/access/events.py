"""Domain events of the gate (returned on its outcomes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class BreakGlassUsed:
    """Someone revealed PI outside any assignment under break-glass. Carries ids and
    field names only; the justification stays in the break-glass record."""

    enterprise_id: str
    record_id: str
    event_id: str
    employee_id: str
    station_id: str | None
    waybill_no: str
    fields: tuple[str, ...]
    purpose: str
    at: datetime
