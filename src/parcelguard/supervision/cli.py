"""``parcelguard ledger witness``: the supervision department checks every log.

Registered under the ``ledger`` sub-app by supervision/plugin.py, because
operators look for it next to the other ledger commands; it lives here because the
witness is the regulator's, not the enterprise's.
"""

from __future__ import annotations

from typing import Any

import typer

from parcelguard.core.errors import DomainError
from parcelguard.ledger.cli import kms, print_json, runtime, transaction
from parcelguard.ledger.tiles import TileConflictError, TileMissingError
from parcelguard.supervision.witness import witness_enterprise, witnessed_enterprises


def witness(ctx: typer.Context) -> None:
    """Take a fresh signed checkpoint of every enterprise's log and check it extends
    the last one the witness accepted. A rewritten, reordered, truncated or forked
    history is recorded as a ledger_tamper finding with both checkpoints and the
    failed proof as evidence. Prints JSON; exits 1 if any log failed."""
    rt = runtime(ctx)
    with transaction(ctx) as session:
        enterprises = witnessed_enterprises(session)
    key_wrapper = kms(ctx)
    results: list[dict[str, Any]] = []
    ok = True
    for enterprise_id in enterprises:  # one transaction each: findings are kept per log
        try:
            with rt.db.unit_of_work() as uow:
                outcome = witness_enterprise(uow.session, enterprise_id, kms=key_wrapper,
                                             clock=rt.clock)
                uow.commit()  # a tamper finding's alert and incident follow (outbox)
        except (DomainError, TileMissingError, TileConflictError) as exc:
            # A log never witnessed that cannot be checkpointed, or a key/KMS fault:
            # not evidence of tampering, but the check did not pass either.
            ok = False
            results.append({"enterprise_id": enterprise_id, "status": "error",
                            "reason": str(exc)})
            continue
        ok = ok and outcome.ok
        results.append(outcome.as_dict())
    print_json({"ok": ok, "enterprises": results})
    if not ok:
        raise typer.Exit(1)
