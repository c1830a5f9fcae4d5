"""Filing and following reports on SQLite and PostgreSQL: the receipt code and secret
are the only way in, a wrong secret reveals nothing, guessing is throttled, floods
are slowed without refusing a new source, attachments are limited and sealed, and
staff see a pseudonym unless the reporter agreed otherwise."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from parcelguard.channel import intake, service
from parcelguard.channel.intake import Refusal, ReportIn, TooManyRequests
from parcelguard.channel.models import ChannelAttachment, ChannelReport
from parcelguard.channel.repository import CIPHERTEXT_COLUMNS
from parcelguard.core.errors import InvalidInput, NotFound
from parcelguard.logistics.models import CIPHERTEXT_COLUMNS as PARCEL_COLUMNS
from parcelguard.vault import rotation

from .channel_world import ENT, World, make_world

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


@pytest.fixture
def world(session: Session) -> World:
    return make_world(session, parcels=20)


def _file(w: World, source: str | None = "198.51.100.7", **kw: object) -> intake.Filed:
    report = ReportIn(**{"kind": "scam_call", "body": "对方报出了我的快递单号和地址，冒充客服",
                         "waybills": [w.waybills[0]], "scam_caller": "+86 171 0000 1234",
                         **kw})  # type: ignore[arg-type]
    return intake.file_report(w.session, w.vault, w.channel, enterprise_id=ENT, report=report,
                              source=source, clock=w.clock)


def _follow(w: World, code: str, secret: str, source: str = "203.0.113.9",
            ) -> ChannelReport | Refusal:
    return intake.authenticate(w.session, w.vault, w.channel, enterprise_id=ENT,
                               receipt_code=code, secret=secret, source=source, clock=w.clock)


def test_receipt_and_secret_open_the_report_and_nothing_else_does(world: World) -> None:
    filed = _file(world)
    assert filed.ack_due_at - world.clock.now() == timedelta(hours=24)
    assert filed.answer_due_at - world.clock.now() == timedelta(days=30)
    row = _follow(world, filed.receipt_code.lower(), filed.secret)
    assert isinstance(row, ChannelReport)
    view = intake.reporter_view(world.session, world.vault, row)
    assert view.status == "received"
    assert view.waybills == [world.waybills[0]]
    stored = world.session.get(ChannelReport, filed.report_id)
    assert stored is not None
    assert filed.secret not in stored.secret_hash
    assert b"\xe5\xbf\xab\xe9\x80\x92" not in stored.body_ct  # "快递" is sealed, not stored


def test_a_wrong_secret_reveals_nothing_not_even_existence(world: World) -> None:
    filed = _file(world)
    wrong = _follow(world, filed.receipt_code, "not-the-secret")
    unknown = _follow(world, "ABCD-EFGH-JKMN", filed.secret)
    garbage = _follow(world, "'; drop table --", filed.secret)
    assert wrong == unknown == garbage == Refusal(401, intake.WRONG)


def test_guessing_one_receipt_locks_it_even_for_the_right_secret(world: World) -> None:
    filed = _file(world)
    for i in range(world.channel.secret_failures_per_receipt):
        assert _follow(world, filed.receipt_code, f"guess-{i}", source=f"192.0.2.{i}") \
            == Refusal(401, intake.WRONG)
    assert _follow(world, filed.receipt_code, filed.secret) == Refusal(429, intake.WAIT)
    # a receipt that does not exist locks the same way: the lock is no oracle
    for i in range(world.channel.secret_failures_per_receipt):
        _follow(world, "ZZZZ-ZZZZ-ZZZZ", f"guess-{i}", source=f"192.0.2.{i}")
    assert _follow(world, "ZZZZ-ZZZZ-ZZZZ", "x") == Refusal(429, intake.WAIT)
    world.clock.advance(timedelta(minutes=world.channel.lockout_minutes + 1))
    assert isinstance(_follow(world, filed.receipt_code, filed.secret), ChannelReport)


def test_one_source_guessing_many_receipts_is_locked(world: World) -> None:
    filed = _file(world)
    for i in range(world.channel.secret_failures_per_source):
        _follow(world, f"AAAA-AAAA-{i:04d}", "guess", source="198.51.100.66")
    assert _follow(world, filed.receipt_code, filed.secret,
                   source="198.51.100.66") == Refusal(429, intake.WAIT)
    assert isinstance(_follow(world, filed.receipt_code, filed.secret,
                              source="198.51.100.67"), ChannelReport)


def test_floods_are_slowed_but_a_new_source_is_never_refused(world: World) -> None:
    for _ in range(world.channel.reports_per_source_per_hour):
        _file(world, source="198.51.100.200")
    with pytest.raises(TooManyRequests):
        _file(world, source="198.51.100.200")
    assert _file(world, source="198.51.100.201").receipt_code  # first from a new source
    world.clock.advance(timedelta(hours=1, seconds=1))
    assert _file(world, source="198.51.100.200").receipt_code
    hashes = set(world.session.scalars(select(ChannelReport.source_hash)))
    assert all(h and "198.51" not in h for h in hashes)


def test_attachments_are_checked_and_sealed(world: World) -> None:
    filed = _file(world, attachments=[("image/png", PNG)])
    att = world.session.scalars(select(ChannelAttachment).where(
        ChannelAttachment.report_id == filed.report_id)).one()
    assert att.content_type == "image/png"
    assert att.size == len(PNG)
    assert PNG[16:64] not in att.content_ct
    kind, data = service.attachment(world.session, world.vault, world.staff(),
                                    filed.report_id, att.id)
    assert (kind, data) == ("image/png", PNG)
    with pytest.raises(InvalidInput, match="does not match"):
        _file(world, attachments=[("image/png", b"MZ\x90\x00" + PNG)])
    with pytest.raises(InvalidInput, match="larger than"):
        _file(world, attachments=[("text/plain", b"a" * (world.channel.max_attachment_bytes
                                                         + 1))])


def test_staff_see_a_pseudonym_unless_the_reporter_agreed(world: World) -> None:
    hidden = _file(world, anonymous=False, reporter_name="王芳", reporter_contact="wf@example.com")
    shown = _file(world, anonymous=False, reporter_name="李强", reporter_contact="lq@example.com",
                  identity_consent=True)
    staff = world.staff("customer_service")
    h = service.get_report(world.session, world.vault, staff, hidden.report_id,
                           now=world.clock.now())
    s = service.get_report(world.session, world.vault, staff, shown.report_id,
                           now=world.clock.now())
    assert "王芳" not in repr(h.reporter.values())
    assert "name" not in h.reporter
    assert h.reporter["pseudonym"].startswith("reporter-")
    assert s.reporter["name"] == "李强"
    assert h.scam_caller == "+86 171 0000 1234"  # evidence, not the reporter's identity
    assert set(h.case_reports) >= {hidden.report_id, shown.report_id}  # same caller


def test_the_enterprise_handles_reports_within_its_deadlines(world: World) -> None:
    filed, late = _file(world), _file(world)
    staff = world.staff()
    service.acknowledge(world.session, staff, filed.report_id, clock=world.clock)
    world.clock.advance(timedelta(hours=30))
    service.acknowledge(world.session, staff, late.report_id, clock=world.clock)
    service.link(world.session, staff, filed.report_id, target_type="employee",
                 target_id="emp-nosy", clock=world.clock)
    with pytest.raises(NotFound):
        service.link(world.session, staff, filed.report_id, target_type="employee",
                     target_id="emp-of-someone-else", clock=world.clock)
    service.answer(world.session, world.vault, staff, filed.report_id,
                   body="已核实并处理，涉事员工已停职。", clock=world.clock)
    row = _follow(world, filed.receipt_code, filed.secret)
    assert isinstance(row, ChannelReport)
    view = intake.reporter_view(world.session, world.vault, row)
    assert view.status == "answered"
    assert view.messages[-1]["body"] == "已核实并处理，涉事员工已停职。"
    figures = service.stats(world.session, world.supervisor(), now=world.clock.now())[ENT]
    assert figures["received"] == 2
    assert figures["acknowledged_on_time"] == 1
    assert figures["answered_on_time"] == 1
    assert figures["answer_overdue"] == 0
    world.clock.advance(timedelta(days=31))
    assert service.stats(world.session, world.staff(), now=world.clock.now())[ENT][
        "answer_overdue"] == 1
    overdue = service.list_reports(world.session, staff, now=world.clock.now(),
                                   overdue_only=True)
    assert [r.id for r in overdue] == [late.report_id]


def test_reports_survive_a_re_encrypting_key_rotation(world: World) -> None:
    filed = _file(world, anonymous=False, reporter_name="赵敏", identity_consent=True,
                  attachments=[("image/png", PNG)])
    staff = world.staff()
    service.staff_message(world.session, world.vault, staff, filed.report_id,
                          body="请提供通话截图", clock=world.clock)
    before = world.session.get(ChannelReport, filed.report_id)
    assert before is not None
    old_ct = bytes(before.body_ct)
    job = rotation.start_rotation(world.session, world.vault, enterprise_id=ENT,
                                  reencrypt=True, at=world.clock.now())
    while not rotation.run_batch(world.session, world.vault, job,
                                 locations=(*PARCEL_COLUMNS, *CIPHERTEXT_COLUMNS), batch=500,
                                 at=world.clock.now()).done:
        pass
    world.session.expire_all()
    after = world.session.get(ChannelReport, filed.report_id)
    assert after is not None
    assert bytes(after.body_ct) != old_ct
    detail = service.get_report(world.session, world.vault, staff, filed.report_id,
                                now=world.clock.now())
    assert detail.reporter["name"] == "赵敏"
    assert detail.messages[0]["body"] == "请提供通话截图"
    att = detail.attachments[0]["id"]
    assert service.attachment(world.session, world.vault, staff, filed.report_id,
                              att)[1] == PNG
