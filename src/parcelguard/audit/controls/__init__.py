"""The evaluators the rulebook names, and running them.

Each evaluator measures one control on live data for one enterprise and period and
returns a ``Measurement``; the rulebook's thresholds turn it into a ``ControlResult``
(``model.judge``). ``evaluate_control(session, control, enterprise_id, period)`` is
the per-control entry point the tests use; ``evaluate`` runs a whole scope sharing
one context, so the period's events are read once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from parcelguard.audit.controls import access, governance, ledger, records
from parcelguard.audit.controls.context import AttestationView, Ctx
from parcelguard.audit.model import ControlResult, Measurement, Period, judge
from parcelguard.audit.rulebook import DEFAULT_PATH, Control, Rulebook, load_with

Evaluator = Callable[[Ctx, Mapping[str, Any]], Measurement]

EVALUATORS: dict[str, Evaluator] = {
    "pi_encryption": records.pi_encryption,
    "notice_consent": records.notice_consent,
    "privacy_waybill": records.privacy_waybill,
    "reveal_assignment": access.reveal_assignment,
    "background_check": access.background_check,
    "offboarding": access.offboarding,
    "access_denials": access.access_denials,
    "ledger_integrity": ledger.ledger_integrity,
    "training": governance.training,
    "emergency_plan": governance.emergency_plan,
    "incident_reporting": governance.incident_reporting,
    "complaint_handling": governance.complaint_handling,
    "sanctions": governance.sanctions,
    "alert_handling": governance.alert_handling,
    "audit_frequency": governance.audit_frequency,
    "pi_officer": governance.pi_officer,
}


def run(ctx: Ctx, control: Control) -> ControlResult:
    params = {**control.params, "control_id": control.id}
    return judge(control, EVALUATORS[control.evaluator](ctx, params))


def evaluate(session: Session, controls: Iterable[Control], enterprise_id: str,
             period: Period, *, attestations: Mapping[str, AttestationView] | None = None,
             engagement_id: str | None = None,
             now: datetime | None = None) -> list[ControlResult]:
    """Evaluate ``controls`` for one enterprise and period, in order."""
    ctx = Ctx(session, enterprise_id, period, attestations=attestations or {},
              engagement_id=engagement_id, now=now)
    return [run(ctx, c) for c in controls]


def evaluate_control(session: Session, control: Control, enterprise_id: str,
                     period: Period, **kwargs: Any) -> ControlResult:
    """One control for one enterprise and period."""
    return evaluate(session, [control], enterprise_id, period, **kwargs)[0]


def load_rulebook(path: Path | None = None) -> Rulebook:
    """The rulebook at ``path`` (default: the one shipped with parcelguard), every
    control naming an evaluator above."""
    return load_with(str(path or DEFAULT_PATH), tuple(sorted(EVALUATORS)))
