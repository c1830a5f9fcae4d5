"""Identity and tenancy on real databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.core.clock import ManualClock
from parcelguard.core.errors import Conflict, InvalidInput, PermissionDenied, Unauthenticated
from parcelguard.identity import service as identity
from parcelguard.identity.models import Account, ApiKey, LoginSession
from parcelguard.identity.permissions import Principal
from parcelguard.identity.repository import AccountRepository, OrganizationRepository


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 11, tzinfo=UTC))


@pytest.fixture
def world(session: Session, clock: ManualClock) -> dict[str, Principal]:
    identity.initialise(session, clock=clock)
    for org in ("ent-a", "ent-b"):
        identity.create_organization(session, org_id=org, kind="enterprise", name=org,
                                     clock=clock)
    a, _ = identity.create_account(session, org_id="ent-a", username="alice",
                                   role="enterprise_admin", clock=clock,
                                   password="correct horse battery")
    b, _ = identity.create_account(session, org_id="ent-b", username="bob",
                                   role="enterprise_admin", clock=clock)
    sup = session.scalars(select(Account).where(
        Account.username == "admin")).one()
    return {"a": identity.principal_for_account(session, a),
            "b": identity.principal_for_account(session, b),
            "sup": identity.principal_for_account(session, sup)}


def test_password_login_and_sessions(session: Session, clock: ManualClock,
                                     world: dict[str, Principal]) -> None:
    with pytest.raises(Unauthenticated, match="wrong username or password"):
        identity.authenticate(session, username="alice", password="wrong password!!",
                              clock=clock)
    with pytest.raises(Unauthenticated, match="wrong username or password"):
        identity.authenticate(session, username="nobody", password="x" * 12, clock=clock)
    acc = identity.authenticate(session, username="alice", password="correct horse battery",
                                clock=clock)
    assert acc.password_hash.startswith("$argon2id$")
    issued = identity.start_session(session, account=acc, clock=clock, kind="api",
                                    lifetime=timedelta(hours=1))
    assert identity.resolve_session(session, token=issued.secret, clock=clock,
                                    kind="api").org_id == "ent-a"
    # an API session token is no portal session, and the other way round
    with pytest.raises(Unauthenticated, match="not a portal session"):
        identity.resolve_session(session, token=issued.secret, clock=clock, kind="portal")
    cookie = identity.start_session(session, account=acc, clock=clock, kind="portal",
                                    lifetime=timedelta(hours=1))
    with pytest.raises(Unauthenticated, match="not an API session"):
        identity.resolve_session(session, token=cookie.secret, clock=clock, kind="api")
    # only the token's hash is stored
    assert session.get(LoginSession, issued.secret) is None
    clock.advance(timedelta(hours=2))
    with pytest.raises(Unauthenticated, match="expired"):
        identity.resolve_session(session, token=issued.secret, clock=clock, kind="api")


def test_api_keys_are_shown_once_and_stored_hashed(session: Session, clock: ManualClock,
                                                   world: dict[str, Principal]) -> None:
    issued = identity.issue_api_key(session, world["a"], name="feeder", role="ingest_client",
                                    clock=clock)
    stored = session.get(ApiKey, issued.id)
    assert stored is not None
    assert issued.secret not in (stored.key_hash, stored.prefix)
    p = identity.authenticate_api_key(session, secret=issued.secret, clock=clock)
    assert (p.org_id, p.role) == ("ent-a", "ingest_client")
    identity.revoke_api_key(session, world["a"], key_id=issued.id, clock=clock)
    with pytest.raises(Unauthenticated):
        identity.authenticate_api_key(session, secret=issued.secret, clock=clock)


def test_roles_belong_to_organisation_kinds(session: Session, clock: ManualClock,
                                            world: dict[str, Principal]) -> None:
    with pytest.raises(InvalidInput, match="belongs to supervisor"):
        identity.create_account(session, org_id="ent-a", username="eve",
                                role="supervisor_admin", clock=clock)
    with pytest.raises(Conflict):
        identity.create_account(session, org_id="ent-b", username="alice", role="courier",
                                clock=clock)
    with pytest.raises(PermissionDenied):
        identity.issue_api_key(session, Principal("ent-a", "enterprise", "courier"),
                               name="x", role="ingest_client", clock=clock)


def test_queries_are_scoped_to_the_callers_organisation(
        session: Session, world: dict[str, Principal]) -> None:
    assert [o.id for o in OrganizationRepository(session, world["a"]).list_all()] == ["ent-a"]
    assert OrganizationRepository(session, world["a"]).get("ent-b") is None
    assert [a.username for a in AccountRepository(session, world["a"]).list_all()] == ["alice"]
    # the supervision department reads across enterprises by explicit permission
    ids = {o.id for o in OrganizationRepository(session, world["sup"]).list_all()}
    assert {"ent-a", "ent-b", "supervision"} <= ids


def test_initialise_is_idempotent(session: Session, clock: ManualClock) -> None:
    first = identity.initialise(session, clock=clock)
    second = identity.initialise(session, clock=clock)
    assert first.created
    assert first.admin_password
    assert not second.created
    assert second.admin_password is None
