"""The local telephony simulator and how virtual numbers are printed."""

from __future__ import annotations

from parcelguard.waybill.telephony import BindingMode, LocalTelephony, dialled


def test_numbers_come_from_the_virtual_operator_ranges() -> None:
    tel = LocalTelephony()
    host = tel.lease_number(enterprise_id="ent-a", mode=BindingMode.AXN_EXT)
    pair = tel.lease_number(enterprise_id="ent-a", mode=BindingMode.AXB)
    assert host.startswith("170")
    assert pair.startswith("171")
    assert len(host) == len(pair) == 11
    assert host.isdigit()


def test_printed_form_groups_the_number_and_names_the_extension() -> None:
    assert dialled("17012345678", "0420") == "170 1234 5678 转 0420"
    assert dialled("17112345678", None) == "171 1234 5678"


def test_calls_are_recorded_and_the_receipt_never_names_the_callee() -> None:
    tel = LocalTelephony()
    tel.bind_axn(binding_id="vb_1", number="17012345678", extension="0420",
                 party_a="employee:emp-1", party_b="subject:sub-1")
    receipt = tel.place_call(binding_id="vb_1", caller="employee:emp-1",
                             number="17012345678", extension="0420",
                             callee_phone="13912345678")
    assert receipt.connected
    assert receipt.dialled == "170 1234 5678 转 0420"
    assert "13912345678" not in repr(receipt) + repr(tel.calls) + repr(tel)
    assert tel.calls[0].routed_to == "13912345678"
    tel.unbind(binding_id="vb_1")
    assert tel.bindings == {}
    assert tel.unbound == ["vb_1"]
