"""The documents enterprises file: the information-security plan, the emergency plan
and the statutory incident report. Validated here (not by FastAPI) so that an
error names the place and the rule but never echoes what was typed, and every
string is checked for PI-shaped content before it is kept.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from parcelguard.core.errors import InvalidInput
from parcelguard.incidents.model import Category
from parcelguard.incidents.timeline import clean_json

_M = TypeVar("_M", bound=BaseModel)
HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Risk(_Doc):
    name: str = Field(min_length=1)
    source: Literal["internal", "external"]
    threat: str = Field(min_length=1, description="e.g. insider resale, hacker attack, "
                        "malware, credential stuffing")
    controls: list[str] = Field(min_length=1)


class SecurityPlanContent(_Doc):
    """Information-security plan: the risks and the controls against each."""

    scope: str = Field(min_length=1)
    risks: list[Risk] = Field(min_length=1)

    @field_validator("risks")
    @classmethod
    def _external_risks_too(cls, risks: list[Risk]) -> list[Risk]:
        # The supervision department asks for external threats (hacker attacks,
        # malware) next to insider ones; a plan that names none is incomplete.
        if not any(r.source == "external" for r in risks):
            raise ValueError("name at least one external risk (e.g. hacker attack, malware)")
        return risks


class RotaSlot(_Doc):
    """Local time in the settings' zone; ``end`` <= ``start`` runs past midnight."""

    weekdays: list[int] = Field(min_length=1, description="0 = Monday ... 6 = Sunday")
    start: str = Field(pattern=HHMM)
    end: str = Field(pattern=HHMM)

    @field_validator("weekdays")
    @classmethod
    def _days(cls, days: list[int]) -> list[int]:
        if any(not 0 <= d <= 6 for d in days):
            raise ValueError("weekdays are 0 (Monday) to 6 (Sunday)")
        return sorted(set(days))


class Technician(_Doc):
    employee_id: str = Field(min_length=1, max_length=64)
    on_call: list[RotaSlot] = Field(min_length=1)


class Contact(_Doc):
    role: str = Field(min_length=1)
    unit: str = Field(min_length=1)
    reach: str = Field("", description="How to reach the role (duty line, account)")


class EmergencyPlanContent(_Doc):
    """Emergency plan: a playbook per incident category, the designated technicians
    with their on-call rota, contacts and the reporting chain."""

    playbooks: dict[Category, list[str]]
    technicians: list[Technician] = Field(min_length=1)
    contacts: list[Contact] = Field(min_length=1)
    reporting_chain: list[str] = Field(min_length=1)

    @field_validator("playbooks")
    @classmethod
    def _every_category(cls, books: dict[Category, list[str]]) -> dict[Category, list[str]]:
        missing = [c.value for c in Category if not books.get(c)]
        if missing:
            raise ValueError(f"a playbook with steps for every category; missing: "
                             f"{', '.join(missing)}")
        return books


class ReportContent(_Doc):
    """A statutory incident report (CAC measures). A first report may carry only the
    unit, the affected system and when it was found and happened; the rest follows
    in supplements."""

    unit: str = Field(min_length=1, description="The reporting enterprise")
    affected_system: str = Field(min_length=1)
    detected_at: datetime
    occurred_at: datetime | None = None
    category: str | None = None
    grade: str | None = None
    people_affected: int | None = Field(None, ge=0)
    records_affected: int | None = Field(None, ge=0)
    data_types: list[str] | None = None
    measures_taken: list[str] | None = None
    preliminary_cause: str | None = None
    cause_class: Literal["subjective", "objective"] | None = None
    likely_further_impact: str | None = None
    help_requested: str | None = None
    # summary reports: what was found and changed
    root_cause: str | None = None
    lessons: list[str] | None = None
    # statutory figures set away from the law when the incident was graded (settings'
    # statutory_override): the recipient sees what the grade and deadlines rest on
    statutory_overrides: list[str] | None = None
    # the inputs beyond people that reached a reportable grade (CAC measures' annex:
    # direct loss, a CII system's outage, important or core data and its threat)
    grading_basis: list[str] | None = None
    # CAC measures: where it happened, how well the measures worked, clues to the
    # perpetrator or the attack path, and how the scene (logs, devices) was preserved
    location: str | None = None
    measures_effect: str | None = None
    perpetrator_clues: str | None = None
    scene_preserved: str | None = None
    # PIPL Art. 57: the possible harm, what people can do themselves, whom to contact
    possible_harm: list[str] | None = None
    what_people_can_do: list[str] | None = None
    contact: str | None = None


REQUIRED_FIRST = ("unit", "affected_system", "detected_at")
# What a report must carry to count as complete, by kind. A CAC report may go first
# with REQUIRED_FIRST only (the measures allow it) and be completed by supplements; the
# PIPL Art. 57 notice has no such relief: it names the data, cause and possible harm,
# the measures taken and what people can do, and a contact (Art. 57 para. 1 (1)-(3)).
_CAC_ITEMS = ("occurred_at", "category", "grade", "people_affected", "records_affected",
              "data_types", "location", "measures_taken", "measures_effect",
              "preliminary_cause", "perpetrator_clues", "scene_preserved",
              "likely_further_impact", "help_requested")
REQUIRED_ITEMS: dict[str, tuple[str, ...]] = {
    "pipl_notice": ("data_types", "preliminary_cause", "possible_harm", "measures_taken",
                    "what_people_can_do", "contact"),
    "cac_initial": _CAC_ITEMS,
    "cii_police": _CAC_ITEMS,
}
FIRST_ITEMS_ALLOWED = frozenset({"cac_initial", "cii_police"})


# An empty list is a statement for these (no PI type exposed, no one affected yet);
# for every other item it is a gap.
_EMPTY_ALLOWED = frozenset({"data_types"})


def missing_items(kind: str, doc: ReportContent) -> list[str]:
    """The items ``kind`` requires that ``doc`` leaves empty."""
    return [k for k in REQUIRED_ITEMS.get(kind, ())
            if getattr(doc, k) in (None, "") or (getattr(doc, k) == []
                                                 and k not in _EMPTY_ALLOWED)]


# A contact's reach is the duty line or role mailbox the plan publishes (business
# contact data, which notices to people must carry), not a person's PI.
NOT_PI = frozenset({"reach"})


def validate(model: type[_M], data: Any, what: str) -> _M:
    """``model`` from ``data``; errors say where and why, never the value."""
    try:
        doc = model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(document)'}: {e['msg']}"
            for e in exc.errors(include_input=False, include_url=False))
        raise InvalidInput(f"{what}: {problems}") from None
    clean_json(doc.model_dump(), what, skip=NOT_PI)
    return doc
