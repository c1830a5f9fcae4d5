"""``GET /api/v1/health``: named checks of what a node needs to accept work.

Each check is a function of the runtime returning a ``CheckResult``; the route runs
the list kept in ``app.state.health_checks`` (``CHECKS`` by default: a new subsystem
adds its own entry there) and answers 503 if any fails. A check that raises fails
with the storage fault's message, never a traceback. Details name no PI and no
enterprise: the probe is unauthenticated.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import func, select

from parcelguard.core.errors import StoreError
from parcelguard.core.http import API
from parcelguard.core.outbox import OutboxMessage
from parcelguard.core.outbox_admin import backlog
from parcelguard.core.runtime import Runtime
from parcelguard.core.storage import as_storage_fault
from parcelguard.ledger.models import LedgerCheckpoint, LedgerHead
from parcelguard.ops.settings import OpsSettings
from parcelguard.vault.provider import check_master_key


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str


Check = Callable[[Runtime], CheckResult]


def database(rt: Runtime) -> CheckResult:
    """A real write, rolled back: a read-only file, a lost lock or a corrupt page
    header fails here (a SELECT alone passes on all three)."""
    with rt.db.engine.connect() as conn:
        conn.exec_driver_sql("SELECT count(*) FROM ledger_heads").scalar_one()
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = version_num")
        conn.rollback()
    return CheckResult("database", True, "readable and writable")


def disk_space(rt: Runtime) -> CheckResult:
    """Free space where the home lives (the SQLite database, archives, exports)."""
    floor = rt.settings.section(OpsSettings).min_free_disk_mb
    free = shutil.disk_usage(rt.settings.home).free // (1024 * 1024)
    ok = free >= floor
    return CheckResult("disk_space", ok, f"{free:,} MiB free (floor {floor:,} MiB)"
                       + ("" if ok else ": free space before writes start failing"))


def master_key(rt: Runtime) -> CheckResult:
    """The master key is read afresh (the process's cached copy would hide a key
    file deleted or made unreadable since start-up)."""
    problem = check_master_key(rt.settings)
    return CheckResult("master_key", problem is None, problem or "readable")


def checkpoints(rt: Runtime) -> CheckResult:
    """Every log's entries are covered by a signed checkpoint at most
    ``ops.max_checkpoint_age_hours`` old (what the supervision witness relies on)."""
    max_age = timedelta(hours=rt.settings.section(OpsSettings).max_checkpoint_age_hours)
    now = rt.clock.now()
    with rt.db.unit_of_work() as uow:
        last = dict(uow.session.execute(
            select(LedgerCheckpoint.enterprise_id, func.max(LedgerCheckpoint.id))
            .group_by(LedgerCheckpoint.enterprise_id)).tuples().all())
        stale = never = 0
        for enterprise_id, size in uow.session.execute(
                select(LedgerHead.enterprise_id, LedgerHead.size)).tuples():
            cp = uow.session.get(LedgerCheckpoint, last[enterprise_id]) \
                if enterprise_id in last else None
            # A log never checkpointed has no age to judge yet (a new enterprise's first
            # events, a fresh node): reported, not failed; a 503 there would take a node
            # out of service for its first event.
            never += bool(size) and cp is None
            stale += bool(size) and cp is not None and cp.size < size \
                and now - cp.created_at > max_age
    if stale:
        return CheckResult("checkpoints", False, f"{stale} log(s) hold entries not covered by "
                           f"a signed checkpoint younger than {max_age}; run `parcelguard "
                           "ledger checkpoint` (and push it to the witness) on schedule")
    return CheckResult("checkpoints", True, f"every checkpointed log checkpointed within "
                       f"{max_age}" + (f"; {never} log(s) not yet checkpointed" if never else ""))


def outbox(rt: Runtime) -> CheckResult:
    """Reactions are flowing: no message dead-lettered, and none waiting longer than
    ``ops.max_outbox_lag_minutes`` (a dispatcher down or a handler failing)."""
    lag = timedelta(minutes=rt.settings.section(OpsSettings).max_outbox_lag_minutes)
    with rt.db.unit_of_work() as uow:
        counts = backlog(uow.session)
        oldest = uow.session.scalar(select(func.min(OutboxMessage.created_at)).where(
            OutboxMessage.status.in_(("pending", "failed"))))
    waiting = counts.get("pending", 0) + counts.get("failed", 0)
    if counts.get("dead", 0):
        return CheckResult("outbox", False, f"{counts['dead']} message(s) dead-lettered: "
                           "`parcelguard events outbox --status dead`, then `events retry`")
    if oldest is not None and rt.clock.now() - oldest > lag:
        return CheckResult("outbox", False, f"{waiting} message(s) waiting, the oldest longer "
                           f"than {lag}: is a dispatcher running (`events dispatch --follow`)?")
    return CheckResult("outbox", True, f"{waiting} message(s) waiting")


# A check is named after its function: a check that raises reports under that name
# too, so a monitoring system keyed on the names sees the same check fail.
CHECKS: list[Check] = [database, disk_space, master_key, checkpoints, outbox]


def run_checks(rt: Runtime, checks: Sequence[Check]) -> dict[str, Any]:
    results = []
    for check in checks:
        name = check.__name__
        try:
            results.append(check(rt))
        except StoreError as exc:
            results.append(CheckResult(name, False, exc.message))
        except Exception as exc:  # a probe reports, it never crashes
            fault = as_storage_fault(exc, rt.settings)
            results.append(CheckResult(name, False, fault.message if fault else
                                       f"check failed: {type(exc).__name__}"))
    ok = all(r.ok for r in results)
    return {"status": "ok" if ok else "failing", "checks": [asdict(r) for r in results]}


def mount(app: FastAPI) -> None:
    """``GET /api/v1/health`` over ``app.state.health_checks`` (``CHECKS``; a subsystem
    adds its own entry there)."""
    app.state.health_checks = list(CHECKS)
    app.include_router(_router)


_router = APIRouter(tags=["health"])


@_router.get(f"{API}/health")
def health(request: Request) -> JSONResponse:
    """Readiness: database writable, disk space above the floor, master key readable,
    every log recently checkpointed (and whatever else is listed). 503 with the failing
    checks named when any fails."""
    result = run_checks(request.app.state.runtime, request.app.state.health_checks)
    return JSONResponse(result, status_code=200 if result["status"] == "ok" else 503)
