"""The tenant guard: a carrier's request never loads another carrier's rows.

Repositories scope every query to the caller's organisation; this is the check that
they did. When a request is made by an enterprise's account or API key, its session
carries that enterprise (``enter``), and every ORM row loaded in the session that
belongs to an enterprise (it has an ``enterprise_id``) must belong to that one; any
other raises :class:`CrossTenantRead` (a 500 and a log line naming the table, never
the row), so a query that forgot the scope fails loudly instead of leaking.
Supervision, police and auditor callers read across enterprises by their own
permissions and are not guarded here; neither are background jobs, which act for no
caller.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import event
from sqlalchemy.orm import Session

from parcelguard.core.db import Base

TENANT: Final = "tenant.enterprise_id"


class CrossTenantRead(RuntimeError):
    """A query in an enterprise's request loaded another enterprise's row (a bug)."""


def enter(session: Session, enterprise_id: str) -> None:
    """From now on ``session`` acts for ``enterprise_id`` (an enterprise caller)."""
    session.info[TENANT] = enterprise_id


def _check(target: Any, context: Any) -> None:
    tenant = context.session.info.get(TENANT)
    if tenant is None:
        return
    owner = getattr(target, "enterprise_id", None)
    if owner is not None and owner != tenant:
        raise CrossTenantRead(f"a {type(target).__tablename__} row of another enterprise "
                              "was loaded in an enterprise's request (a query without the "
                              "tenant scope)")


event.listen(Base, "load", _check, propagate=True)
