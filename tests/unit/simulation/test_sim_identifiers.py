"""People, parcels and staff carry well-formed identifiers."""

from __future__ import annotations

from parcelguard.logistics.identifiers import (
    is_valid_resident_id,
    is_valid_waybill_no,
    normalize_mobile,
)
from parcelguard.simulation.model import World
from parcelguard.simulation.regions import BY_CODE


def test_resident_ids_pass_gb11643_and_start_with_the_region(small_world: World) -> None:
    for p in small_world.people:
        assert is_valid_resident_id(p.id_number), p.id
        assert p.id_number[:6] == p.region_code
        assert p.region_code in BY_CODE


def test_mobiles_are_mainland_numbers_and_unique(small_world: World) -> None:
    phones = [p.phone for p in small_world.people]
    assert all(len(ph) == 11 and normalize_mobile(ph) == ph for ph in phones)
    assert {ph[:2] for ph in phones} <= {"13", "14", "15", "16", "17", "18", "19"}
    assert len(set(phones)) == len(phones)
    assert len({p.id for p in small_world.people}) == len(small_world.people)


def test_names_and_addresses_look_chinese(small_world: World) -> None:
    for p in small_world.people[:500]:
        assert 2 <= len(p.name) <= 4
        region = BY_CODE[p.region_code]
        assert p.address.startswith(region.province)
        assert region.district in p.address


def test_waybills_are_valid_and_carry_their_enterprise_prefix(small_world: World) -> None:
    prefix = {e.id: e.waybill_prefix for e in small_world.enterprises}
    seen = set()
    for parcel in small_world.parcels:
        assert is_valid_waybill_no(parcel.waybill_no)
        assert parcel.waybill_no.startswith(prefix[parcel.enterprise_id])
        seen.add(parcel.waybill_no)
    assert len(seen) == len(small_world.parcels)


def test_stations_sit_in_real_districts(small_world: World) -> None:
    for s in small_world.stations:
        assert s.region_code in BY_CODE
        assert s.kind in ("hub", "outlet")
    for e in small_world.enterprises:
        kinds = {s.kind for s in small_world.stations if s.enterprise_id == e.id}
        assert kinds == {"hub", "outlet"}


def test_staff_cover_every_contract_role(small_world: World) -> None:
    roles = {e.role for e in small_world.employees}
    assert roles == {"courier", "sorter", "warehouse", "customer_service", "security", "it",
                     "admin"}
    assert all(e.hired_at.tzinfo is not None for e in small_world.employees)
    assert any(e.left_at is not None for e in small_world.employees)
    assert any(e.background_check == "pending" for e in small_world.employees)
