"""The simulated world's nouns: plain frozen dataclasses, no behaviour.

The event stream is the product; these records are the cast behind it, kept so the
demo can show a roster and tests can check that no PI value leaked into events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

# China has one time zone and no daylight saving, so a fixed offset is exact and far
# cheaper than zoneinfo when formatting a million timestamps.
CST = timezone(timedelta(hours=8), "CST")
DEFAULT_START = datetime(2026, 11, 9, tzinfo=CST)
TZ_NAME = "Asia/Shanghai"

ROLES = ("courier", "sorter", "warehouse", "customer_service", "security", "it", "admin")

SCENARIO_KINDS = (
    "out_of_assignment",
    "out_of_station",
    "warehouse_bulk_query",
    "rented_account",
    "bulk_export",
    "label_reprint_burst",
    "after_leaving",
    "before_background_check",
    "credential_stuffing",
    "scraping",
)


@dataclass(frozen=True, slots=True)
class WorldConfig:
    """What to simulate. The same config always yields the same world."""

    seed: int = 7
    enterprises: int = 3
    parcels: int = 100_000
    days: int = 3
    start: datetime = DEFAULT_START
    stations_per_enterprise: int = 12
    inject_abuse: bool = True

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.start.utcoffset() is None:
            raise ValueError("start must be timezone-aware")
        if self.enterprises < 1:
            raise ValueError("enterprises must be at least 1")
        if self.days < 1:
            raise ValueError("days must be at least 1")
        if self.parcels < 10 * self.enterprises:
            raise ValueError("parcels must be at least 10 per enterprise")
        if self.stations_per_enterprise < 2:
            # at least one hub to sort in and one outlet to deliver from
            raise ValueError("stations_per_enterprise must be at least 2")
        if self.inject_abuse and self.days < 2:
            # day 1 is the clean baseline the monitor learns from
            raise ValueError("inject_abuse needs days >= 2 (day 1 is the baseline)")
        if self.inject_abuse and self.stations_per_enterprise < 3:
            # the scenarios need couriers at more than one outlet to cast from
            raise ValueError("inject_abuse needs stations_per_enterprise >= 3")


@dataclass(frozen=True, slots=True)
class Enterprise:
    id: str
    name: str
    waybill_prefix: str


@dataclass(frozen=True, slots=True)
class Station:
    """An outlet (营业部) or a hub (转运中心); ``kind`` says which."""

    id: str
    enterprise_id: str
    name: str
    region_code: str
    kind: str = "outlet"


@dataclass(frozen=True, slots=True)
class Employee:
    """An employee as of the end of the simulated window (final station, check
    status and training; ``left_at`` when they left during it)."""

    id: str
    enterprise_id: str
    station_id: str
    role: str
    shift_start: str
    shift_end: str
    tz: str
    hired_at: datetime
    background_check: str
    trained: bool
    left_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Person:
    """A consumer or merchant. Only ``id`` is pseudonymous; the rest is PI that must
    never reach the event stream."""

    id: str
    name: str
    phone: str
    address: str
    region_code: str
    id_number: str


@dataclass(frozen=True, slots=True)
class Parcel:
    waybill_no: str
    enterprise_id: str
    sender_id: str
    recipient_id: str
    origin_station_id: str
    destination_station_id: str
    destination_region: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Scenario:
    """One injected abuse instance: exactly its malicious events, nothing benign."""

    scenario: str
    enterprise_id: str
    actors: list[str]
    event_ids: list[str]
    start: datetime
    end: datetime


@dataclass(slots=True)
class World:
    config: WorldConfig
    enterprises: list[Enterprise]
    stations: list[Station]
    employees: list[Employee]
    people: list[Person]
    parcels: list[Parcel]
    events: list[dict[str, Any]] = field(default_factory=list)
    scenarios: list[Scenario] = field(default_factory=list)
