"""The ledger control: consistent, witnessed, retained.

Retention needs no figure of its own: ``logs.verify`` recomputes the tree from every
leaf from position 0, archived ones included (their files' SHA-256 checked), so a
log that verifies still holds everything it ever logged: more than the six months
the Cybersecurity Law asks, and ``ledger/retention.py`` refuses to archive anything
younger. The witness's tables belong to supervision (same row), so they are read
with SQL text when they exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import text

from parcelguard.audit.controls.context import Ctx
from parcelguard.audit.model import Measurement
from parcelguard.core.errors import NotFound
from parcelguard.ledger import logs
from parcelguard.ledger import read as ledger_read
from parcelguard.ledger.signing import log_size


def ledger_integrity(ctx: Ctx, params: Mapping[str, Any]) -> Measurement:
    s, ent, p = ctx.session, ctx.enterprise_id, ctx.period
    try:
        size = log_size(s, ent)
    except NotFound:
        return Measurement.not_evaluable("the enterprise has no event log")
    report = logs.verify(s, ent)
    last = ledger_read.last_position_before(s, ent, p.end_us)
    # Every leaf up to the period's last event must be under a witnessed checkpoint.
    needed = int(last) + 1 if last is not None else 0
    archives = ledger_read.archive_count(s, ent)
    evidence: dict[str, Any] = {
        "log_size": size, "verified": report.ok, "first_bad_index": report.first_bad_index,
        "checkpoint_size": report.checkpoint_size, "archives": archives,
        "leaves_to_witness": needed}
    checks = [("verified", report.ok)]
    if ctx.has_tables("supervision_witnessed_checkpoints"):
        witnessed = s.execute(text("SELECT size FROM supervision_witnessed_checkpoints "
                                   "WHERE enterprise_id = :e"), {"e": ent}).scalar()
        evidence["witnessed_size"] = witnessed
        checks.append(("witnessed", witnessed is not None and int(witnessed) >= needed))
    if ctx.has_tables("supervision_findings"):
        open_findings = int(s.execute(text(
            "SELECT count(*) FROM supervision_findings WHERE enterprise_id = :e AND "
            "kind = 'ledger_tamper' AND status <> 'closed'"), {"e": ent}).scalar() or 0)
        evidence["open_tamper_findings"] = open_findings
        checks.append(("no open tamper finding", open_findings == 0))
    if not report.ok:
        return Measurement(0.0, f"the log does not verify: {report.reason}", evidence)
    value = sum(ok for _, ok in checks) / len(checks)
    missing = [name for name, ok in checks if not ok]
    summary = ("the log verifies from position 0, is witnessed past the period and has no "
               "open tamper finding" if not missing
               else f"the log verifies, but: {', '.join(missing)} failed")
    return Measurement(value, summary, evidence)
