"""Issuing labels for stored parcels on SQLite and PostgreSQL: masked values only,
an embedded CJK font, an opaque QR token stored hashed, each print recorded. (The
system printer's path; people print through the gate, test_access_label_share_db.)"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.unit.waybill.pdf_text import embedded_fonts, page_text
from waybill_world import World, make_world

from parcelguard.access.waybills import labels
from parcelguard.access.waybills.audit import Actor
from parcelguard.core.errors import Conflict, InvalidInput, NotFound
from parcelguard.waybill import service
from parcelguard.waybill.masking import mask_address, mask_name, mask_phone
from parcelguard.waybill.models import WaybillLabel

PRINTER = Actor("system", "label-printer", None, "pda")


@pytest.fixture
def world(session: Session) -> World:
    return make_world(session)


def _issue(world: World, waybill: str | None = None) -> labels.IssuedLabel:
    return labels.issue_label(world.session, world.vault, world.tel, enterprise_id="ent-a",
                              waybill_no=waybill or world.waybill, actor=PRINTER,
                              at=world.clock.now())


def test_a_stored_parcels_label_shows_masked_pi_only(world: World) -> None:
    issued = _issue(world)
    text = "\n".join(page_text(issued.pdf))
    alice, bob = world.people["sub-alice"], world.people["sub-bob"]
    for person in (alice, bob):
        assert mask_name(person.name) in text
        assert mask_phone(person.phone) in text
        assert mask_address(person.address)[:6] in text  # long addresses wrap
        assert person.name not in text
        assert re.sub(r"\D", "", person.phone) not in re.sub(r"\D", "", text)
        for raw in (person.name, person.phone, person.address):
            assert raw.encode() not in issued.pdf
            assert raw.encode("utf-16-be") not in issued.pdf
    assert issued.virtual_number in text
    assert any("WenQuanYi" in f for f in embedded_fonts(issued.pdf))


def test_the_qr_token_is_opaque_stored_hashed_and_resolves_to_the_waybill(
        world: World) -> None:
    issued = _issue(world)
    assert issued.qr_token not in repr(issued)
    row = world.session.scalars(select(WaybillLabel)).one()
    assert row.token_hash == service.token_hash(issued.qr_token) != issued.qr_token
    found = service.label_for_token(world.session, enterprise_id="ent-a",
                                    token=issued.qr_token)
    assert found.waybill_no == world.waybill
    with pytest.raises(NotFound):
        service.label_for_token(world.session, enterprise_id="ent-b", token=issued.qr_token)
    with pytest.raises(InvalidInput):
        service.label_for_token(world.session, enterprise_id="ent-a", token="13812345678")


def test_every_print_and_reprint_is_counted_and_recorded(world: World) -> None:
    first, second = _issue(world), _issue(world)
    assert first.binding_id == second.binding_id  # the same number on every reprint
    assert first.qr_token != second.qr_token
    assert service.labels_issued(world.session, "ent-a") == 2
    events = world.access_events("print_label")
    assert [(e["actor_id"], e["waybill_no"], e["outcome"]) for e in events] == [
        ("label-printer", world.waybill, "allowed")] * 2


def test_no_label_for_another_tenant_or_an_erased_person(world: World) -> None:
    with pytest.raises(NotFound):
        _issue(world, world.parcel(5, enterprise="ent-b"))
    world.vault.erase_subject(world.session, "ent-a", "sub-bob", reason="test",
                              at=world.clock.now())
    with pytest.raises(Conflict, match="erased"):
        _issue(world)
    assert service.labels_issued(world.session) == 0
