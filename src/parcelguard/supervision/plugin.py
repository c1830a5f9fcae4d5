"""supervision: the regulator's cross-enterprise views, checkpoint witnessing (and
its API, ``/api/v1/checkpoints``) and mirroring (core/plugin.py). It composes the
``ledger`` command group, adding its ``witness`` command, and owns the reaction that
turns a tampered log into a monitor alert."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parcelguard.core.lazy_cli import Lazy
from parcelguard.core.plugin import Plugin

if TYPE_CHECKING:
    import typer

    from parcelguard.core.outbox import Reaction
    from parcelguard.core.runtime import Runtime


def ledger_app() -> typer.Typer:
    from parcelguard.ledger import cli as ledger_cli
    from parcelguard.supervision.cli import witness
    from parcelguard.vault.provider import vault_service

    # checkpoint keys are wrapped by the vault's KMS
    return ledger_cli.build_app(kms_factory=lambda settings: vault_service(settings).vault.kms,
                                extra_commands={"witness": witness})


def reactions(rt: Runtime) -> tuple[Reaction, ...]:
    from sqlalchemy.orm import Session

    from parcelguard.core.outbox import Reaction
    from parcelguard.monitor.service import raise_ledger_tamper
    from parcelguard.supervision.events import LedgerTamperDetected

    def tamper_alert(s: Session, ev: LedgerTamperDetected) -> None:
        raise_ledger_tamper(s, ev)

    return (Reaction(LedgerTamperDetected, "monitor.ledger_tamper_alert", tamper_alert,
                     "a ledger_tamper alert (and so an incident)"),)


PLUGIN = Plugin(
    "supervision",
    commands={"ledger": Lazy("parcelguard.supervision.plugin:ledger_app", "The enterprise's "
                             "tamper-evident event log: checkpoints, proofs, export, "
                             "verification, retention.")},
    routers=("parcelguard.supervision.router:router",),  # /api/v1/checkpoints
    reactions="parcelguard.supervision.plugin:reactions",
    models=("parcelguard.supervision.models",))
