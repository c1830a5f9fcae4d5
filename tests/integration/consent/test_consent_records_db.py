"""Notices and consent records on real SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from consent_world import PARTNER_B, World, notice_params
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from parcelguard.consent import service
from parcelguard.consent.models import ConsentRecord, NoticeVersion
from parcelguard.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from parcelguard.identity.permissions import Principal


def test_a_new_version_only_when_content_changes_and_old_ones_are_kept(
        session: Session, world: World) -> None:
    same = service.publish_notice(session, world.admin_a, params=notice_params(),
                                  clock=world.clock)
    assert (same.created, same.version.version) == (False, 1)
    world.clock.advance(timedelta(days=1))
    v2 = service.publish_notice(session, world.admin_a, clock=world.clock,
                                params=notice_params(processor_contact="dpo@example.com"))
    assert (v2.created, v2.version.version) == (True, 2)
    versions = service.notice_versions(session, world.admin_a)
    assert [v.version for v in versions] == [1, 2]
    v1 = service.notice_version(session, world.admin_a, version=1)
    assert v1.content["processor"]["contact"] == "privacy@carrier-a.example.com"
    assert v1.content_hash != v2.version.content_hash


def test_a_tampered_notice_version_is_not_shown(session: Session, world: World) -> None:
    v1 = service.notice_version(session, world.admin_a)
    content = {**v1.content, "processor": {"name": "伪造", "contact": "x@example.com"}}
    session.execute(update(NoticeVersion).where(NoticeVersion.id == v1.id)
                    .values(content=content))
    session.expire_all()
    with pytest.raises(DomainError, match="does not match its content hash"):
        service.notice_version(session, world.admin_a)


def test_consent_is_recorded_and_withdrawal_is_immediate(session: Session,
                                                         world: World) -> None:
    c, a = world.clock, world.admin_a
    allows = service.consent_allows
    assert not allows(session, "ent-a", "sub-alice", "delivery", c.now())
    service.acknowledge_notice(session, a, subject_id="sub-alice", channel="app", clock=c)
    service.grant_consent(session, a, subject_id="sub-alice", purpose="marketing",
                          channel="app", clock=c)
    granted_at = c.now()
    assert allows(session, "ent-a", "sub-alice", "delivery", granted_at)
    assert allows(session, "ent-a", "sub-alice", "marketing", granted_at)
    assert not allows(session, "ent-a", "sub-alice", "location_tracking", granted_at)
    c.advance(timedelta(minutes=10))
    service.withdraw_consent(session, a, subject_id="sub-alice", purpose="marketing",
                             channel="phone", clock=c)
    assert not allows(session, "ent-a", "sub-alice", "marketing", c.now())
    assert allows(session, "ent-a", "sub-alice", "marketing", granted_at)  # the past holds
    assert allows(session, "ent-a", "sub-alice", "delivery", c.now())
    status = service.consent_status(session, a, subject_id="sub-alice", clock=c)
    by_purpose = {p.purpose: (p.allowed, p.reason) for p in status.purposes}
    assert by_purpose["marketing"] == (False, "withdrawn")
    assert by_purpose["partner_sharing:partner-b"] == (False, "no_consent")
    assert [h["action"] for h in status.history] == ["acknowledge", "grant", "withdraw"]


def test_changed_recipient_terms_need_fresh_consent(session: Session, world: World) -> None:
    c, a = world.clock, world.admin_a
    service.grant_consent(session, a, subject_id="sub-bob", purpose="partner_sharing:partner-b",
                          channel="web", clock=c)
    service.grant_consent(session, a, subject_id="sub-bob", purpose="marketing",
                          channel="web", clock=c)
    c.advance(timedelta(days=7))
    new_use = replace(PARTNER_B, purpose={"zh-CN": "营销推广", "en": "marketing"})
    service.publish_notice(session, a, params=notice_params(partners=(new_use,)), clock=c)
    assert not service.consent_allows(session, "ent-a", "sub-bob",
                                      "partner_sharing:partner-b", c.now())
    assert service.consent_allows(session, "ent-a", "sub-bob", "marketing", c.now())
    with pytest.raises(Conflict, match="not the one in force"):
        service.grant_consent(session, a, subject_id="sub-bob", version=1,
                              purpose="partner_sharing:partner-b", channel="web", clock=c)
    service.grant_consent(session, a, subject_id="sub-bob", purpose="partner_sharing:partner-b",
                          channel="web", clock=c)
    assert service.consent_allows(session, "ent-a", "sub-bob", "partner_sharing:partner-b",
                                  c.now())


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"purpose": "shipping"}, "unknown purpose"),
    ({"purpose": "delivery"}, "contract necessity"),
    ({"purpose": "partner_sharing:partner-z"}, "not named in notice"),
    ({"channel": "carrier-pigeon"}, "channel must be one of"),
    ({"subject_id": "13812345678"}, "pseudonymous"),
    ({"subject_id": "11010519491231002X"}, "pseudonymous"),
    ({"subject_id": "sub alice"}, "subject id"),
    ({"version": 9}, "not the one in force"),
])
def test_bad_input_is_refused_and_changes_nothing(session: Session, world: World,
                                                  kwargs: dict[str, Any],
                                                  error: str) -> None:
    args: dict[str, Any] = {"subject_id": "sub-alice", "purpose": "marketing",
                               "channel": "app", **kwargs}
    before = session.scalar(select(func.count()).select_from(ConsentRecord))
    with pytest.raises(DomainError, match=error):
        service.grant_consent(session, world.admin_a, clock=world.clock, **args)
    args.pop("version", None)
    with pytest.raises(DomainError):
        service.withdraw_consent(session, world.admin_a, clock=world.clock, **args)
    assert session.scalar(select(func.count()).select_from(ConsentRecord)) == before


def test_another_enterprise_sees_and_changes_nothing(session: Session, world: World) -> None:
    c = world.clock
    service.grant_consent(session, world.admin_a, subject_id="sub-alice", purpose="marketing",
                          channel="app", clock=c)
    with pytest.raises(NotFound):
        service.notice_version(session, world.admin_b)
    assert service.notice_versions(session, world.admin_b) == []
    status_b = service.consent_status(session, world.admin_b, subject_id="sub-alice", clock=c)
    assert status_b.history == []
    assert status_b.notice_version is None
    assert not service.consent_allows(session, "ent-b", "sub-alice", "marketing", c.now())
    with pytest.raises(Conflict, match="nothing to withdraw"):
        service.withdraw_consent(session, world.admin_b, subject_id="sub-alice",
                                 purpose="marketing", channel="app", clock=c)
    assert service.consent_allows(session, "ent-a", "sub-alice", "marketing", c.now())


def test_roles_without_the_permission_are_refused(session: Session, world: World) -> None:
    with pytest.raises(PermissionDenied, match="consent:record"):
        service.grant_consent(session, world.courier_a, subject_id="sub-alice",
                              purpose="marketing", channel="pda", clock=world.clock)
    supervisor = Principal("supervision", "supervisor", "supervisor_admin", account_id="s")
    with pytest.raises(PermissionDenied):
        service.publish_notice(session, supervisor, params=notice_params(), clock=world.clock)
