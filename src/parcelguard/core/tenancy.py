"""The tenant guard: a carrier's request never loads another carrier's rows.

Repositories scope every query to the caller's organisation; this is the check that
they did. When a request is made by an enterprise's account or API key, its session
carries that enterprise (``enter``), and every ORM row loaded in the session that
belongs to an enterprise (it has an ``enterprise_id``) must belong to that one; any
other raises :class:`CrossTenantRead`: the caller gets 404, as for a row that does
not exist (a carrier cannot even learn that another's row exists), and the log gets a
warning naming the table (never the row). A query that forgot the scope fails closed
instead of leaking, and a look-up by id that checks the owner after loading answers
the same 404 it would have.
Supervision, police and auditor callers read across enterprises by their own
permissions and are not guarded here; neither are background jobs, which act for no
caller.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from sqlalchemy import event
from sqlalchemy.orm import Session, object_session

from parcelguard.core.db import Base
from parcelguard.core.errors import NotFound

TENANT: Final = "tenant.enterprise_id"
log = logging.getLogger(__name__)


class CrossTenantRead(NotFound):
    """A query in an enterprise's request loaded another enterprise's row."""


def enter(session: Session, enterprise_id: str) -> None:
    """From now on ``session`` acts for ``enterprise_id`` (an enterprise caller)."""
    session.info[TENANT] = enterprise_id


def _check(target: Any, context: Any) -> None:
    # a query's load has its context; ``Session.merge`` loads with none
    session = context.session if context is not None else object_session(target)
    tenant = session.info.get(TENANT) if session is not None else None
    if tenant is None:
        return
    owner = getattr(target, "enterprise_id", None)
    if owner is not None and owner != tenant:
        table = type(target).__tablename__
        log.warning("tenant guard: a %s row of another enterprise was loaded in an "
                    "enterprise's request (a query without the tenant scope?)", table)
        raise CrossTenantRead(f"no such {table} row")


event.listen(Base, "load", _check, propagate=True)
