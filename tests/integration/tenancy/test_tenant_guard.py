"""The tenant guard (core/tenancy.py): in an enterprise's request, a query that
reaches another enterprise's rows without the tenant scope fails (404, as for a row
that does not exist) instead of leaking.
The served app enters the caller's enterprise for every API key and portal log-in
(identity/http.py, web/auth.py); the attack suite (tests/e2e/attack) then drives every
route as every principal, as another carrier included, and checks each answer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.core import tenancy
from parcelguard.core.clock import ManualClock
from parcelguard.identity.service import create_organization
from parcelguard.logistics.models import Station

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def _two_carriers(session: Session) -> None:
    clock = ManualClock(T0)
    for org in ("carrier-a", "carrier-b"):
        create_organization(session, org_id=org, kind="enterprise", name=org, clock=clock)
        session.add(Station(id=f"st-{org}", enterprise_id=org, name="hub", region_code="110000",
                            created_at=T0))
    session.flush()
    session.expunge_all()  # the guard checks rows as they are loaded


def test_an_unscoped_query_in_an_enterprise_request_fails(session: Session) -> None:
    _two_carriers(session)
    tenancy.enter(session, "carrier-a")
    with pytest.raises(tenancy.CrossTenantRead, match="no such stations row"):
        session.scalars(select(Station)).all()


def test_the_scoped_query_reads_only_its_own_rows(session: Session) -> None:
    _two_carriers(session)
    tenancy.enter(session, "carrier-a")
    rows = session.scalars(select(Station).where(Station.enterprise_id == "carrier-a")).all()
    assert [r.id for r in rows] == ["st-carrier-a"]


def test_callers_that_read_across_enterprises_are_not_guarded(session: Session) -> None:
    # supervision, police, auditors and background jobs: no tenant entered
    _two_carriers(session)
    assert len(session.scalars(select(Station)).all()) == 2


def test_a_merge_is_checked_too(session: Session) -> None:
    # Session.merge loads without a query context (the node's directory uses it)
    _two_carriers(session)
    assert session.merge(Station(id="st-carrier-b", enterprise_id="carrier-b", name="hub2",
                                 region_code="110000", created_at=T0)).name == "hub2"
    session.expunge_all()
    tenancy.enter(session, "carrier-a")
    with pytest.raises(tenancy.CrossTenantRead):
        session.merge(Station(id="st-carrier-b", enterprise_id="carrier-b", name="hub3",
                              region_code="110000", created_at=T0))
