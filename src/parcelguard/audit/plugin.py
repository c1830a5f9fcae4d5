"""audit: third-party audits, the industry association, transparency reports
(core/plugin.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parcelguard.core.lazy_cli import Lazy
from parcelguard.core.plugin import Plugin

if TYPE_CHECKING:
    import typer


def audit_app() -> typer.Typer:
    from parcelguard.audit.association_cli import support_app
    from parcelguard.audit.cli import build_app
    from parcelguard.vault.provider import vault_service

    # signed audit reports' keys are wrapped by the vault's KMS
    app = build_app(kms_for=lambda settings: vault_service(settings).vault.kms)
    app.add_typer(support_app, name="support")
    return app


PLUGIN = Plugin("audit", commands={
    "audit": Lazy("parcelguard.audit.plugin:audit_app", "Third-party audits: rulebook, "
                  "engagements, scorecards, transparency reports."),
    "association": Lazy("parcelguard.audit.association_cli:app", "The industry association: "
                        "members, rulebook versions, members' scorecards."),
}, routers=("parcelguard.audit.router:router",),
    models=("parcelguard.audit.models",),
    settings={"audit": "parcelguard.audit.settings:AuditSettings"})
