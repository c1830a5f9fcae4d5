"""`parcelguard waybill ...` as an operator runs it (in-process Typer runner on a real
SQLite file and the local key-file KMS). Printing a stored parcel's label and sharing
it go through the access gate, so they act as a roster employee: a cleared courier
assigned to the parcel, a cleared administrator for sharing."""

from __future__ import annotations

import json
import re
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from faker import Faker
from typer.testing import CliRunner, Result

from parcelguard.cli import app
from parcelguard.core.clock import SystemClock
from parcelguard.core.runtime import Runtime
from parcelguard.core.settings import Settings
from parcelguard.identity.permissions import Principal
from parcelguard.logistics import service as logistics
from parcelguard.logistics.identifiers import make_waybill_no
from parcelguard.logistics.intake import ParcelIn, PartyIn, register_parcels
from parcelguard.logistics.rules import Window
from parcelguard.vault.provider import vault_service
from tests.unit.waybill.pdf_text import embedded_fonts, page_text

runner = CliRunner()
WAYBILL = make_waybill_no("SF", 1)
PARTNERS = [{"id": "partner-b", "name": "乙速运有限公司", "contact": "dpo@partner-b.example.com",
             "purpose": {"zh-CN": "末端派送", "en": "last-mile delivery"},
             "data_types": ["name", "phone", "address"]}]


def run(home: Path, *args: str, stdin: str | None = None) -> Result:
    return runner.invoke(app, list(args), input=stdin,
                         env={"PARCELGUARD_HOME": str(home), "PARCELGUARD_DATABASE_URL": ""})


@pytest.mark.parametrize(("field", "value", "masked"), [
    ("name", "欧阳娜娜", "欧阳**"),
    ("phone", "+86 138-1234-5678", "138******78"),
    ("address", "上海市浦东新区张江路88弄5号楼1203室", "上海市浦东新区张江路88弄****"),
    ("address", "张庄村东头第三户", "张庄村东头****"),
    ("address", "张莊村十五號", "张莊村****"),
    ("address", "200120 上海市浦东新区张江路88弄5号楼", "200120 上海市浦东新区张江路88弄****"),
])
def test_mask_prints_only_the_masked_value(tmp_path: Path, field: str, value: str,
                                           masked: str) -> None:
    as_arg = run(tmp_path, "waybill", "mask", "--field", field, value)
    from_stdin = run(tmp_path, "waybill", "mask", "--field", field, stdin=value + "\n")
    assert as_arg.exit_code == from_stdin.exit_code == 0
    assert as_arg.stdout == from_stdin.stdout == masked + "\n"


def test_mask_refuses_an_unknown_field_without_echoing_the_value(tmp_path: Path) -> None:
    r = run(tmp_path, "waybill", "mask", "--field", "email", "13812345678")
    assert r.exit_code == 2
    assert "unknown field 'email'" in r.output
    assert "13812345678" not in r.output


@pytest.fixture
def home(tmp_path: Path) -> tuple[Path, dict[str, PartyIn]]:
    home = tmp_path / "home"
    assert run(home, "init").exit_code == 0
    partners = tmp_path / "partners.json"
    partners.write_text(json.dumps(PARTNERS, ensure_ascii=False), encoding="utf-8")
    assert run(home, "org", "create", "ent-a", "--kind", "enterprise",
               "--name", "甲快递").exit_code == 0
    assert run(home, "consent", "notice", "publish", "-e", "ent-a", "--processor-name",
               "甲快递有限公司", "--processor-contact", "privacy@carrier-a.example.com",
               "--partners", str(partners)).exit_code == 0
    fake = Faker("zh_CN")
    fake.seed_instance(3)
    people = {s: PartyIn(s, fake.name(), fake.phone_number(), fake.address())
              for s in ("sub-alice", "sub-bob")}
    rt = Runtime(settings=Settings(home=home))
    clock, now = SystemClock(), datetime.now(UTC)
    admin = Principal("ent-a", "enterprise", "enterprise_admin", account_id="acc-admin")
    with rt.db.unit_of_work() as uow:
        s = uow.session
        logistics.create_station(s, admin, station_id="st-1", name="一号网点",
                                 region_code="310115", clock=clock)
        for emp, role in (("emp-c", "courier"), ("emp-admin", "admin")):
            logistics.hire_employee(s, admin, role=role, station_id="st-1",
                                    shift_start="08:00", shift_end="20:00", employee_id=emp,
                                    clock=clock)
            logistics.record_background_check(s, admin, employee_id=emp, result="passed",
                                              clock=clock)
        register_parcels(s, vault_service(rt.settings), enterprise_id="ent-a",
                         record_created=False, parcels=[ParcelIn(
                             WAYBILL, people["sub-alice"], people["sub-bob"], now)])
        logistics.assign(s, admin, waybill_no=WAYBILL, employee_id="emp-c", purpose="pickup",
                         window=Window(now - timedelta(hours=1), now + timedelta(hours=8)),
                         clock=clock)
        uow.commit()
    rt.close()
    return home, people


def test_render_writes_a_masked_label_of_the_stored_parcel(
        home: tuple[Path, dict[str, PartyIn]], tmp_path: Path) -> None:
    path, people = home
    out = tmp_path / "label.pdf"
    as_courier = ("-e", "ent-a", "--employee", "emp-c", "--purpose", "pickup")
    r = run(path, "waybill", "render", WAYBILL, "--out", str(out), *as_courier)
    assert r.exit_code == 0, r.output
    pdf = out.read_bytes()
    text = "\n".join(page_text(pdf))
    assert WAYBILL in text
    for person in people.values():
        assert person.name not in text
        assert re.sub(r"\D", "", person.phone) not in re.sub(r"\D", "", text)
    assert any("WenQuanYi" in f for f in embedded_fonts(pdf))
    listed = json.loads(run(path, "waybill", "bindings", "--json").stdout)
    assert [b["waybill_no"] for b in listed["bindings"]] == [WAYBILL]
    assert listed["bindings"][0]["virtual_number"] in " ".join(r.stdout.split())  # wrapped lines

    # An unknown waybill is an attempt at the gate: refused and recorded (exit 1); a
    # malformed one is bad input (exit 2). Neither writes a file.
    unknown = run(path, "waybill", "render", "SF0000000000000", "--out",
                  str(tmp_path / "x.pdf"), *as_courier)
    assert unknown.exit_code == 1
    assert "parcel_not_found" in unknown.output
    bad = run(path, "waybill", "render", "SF123", "--out", str(tmp_path / "x.pdf"),
              *as_courier)
    assert bad.exit_code == 2
    assert not (tmp_path / "x.pdf").exists()


def test_share_is_refused_without_consent_and_opens_for_the_partner_with_it(
        home: tuple[Path, dict[str, PartyIn]], tmp_path: Path) -> None:
    path, people = home
    key = tmp_path / "partner-b.key"
    public = run(path, "waybill", "partners", "keygen", "--out", str(key)).stdout.strip()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    added = run(path, "waybill", "partners", "add", "partner-b", "-e", "ent-a", "--name",
                "乙速运有限公司", "--relationship", "third_party", "--public-key", public)
    assert added.exit_code == 0, added.output
    assert "partner-b" in run(path, "waybill", "partners", "list", "-e", "ent-a").stdout

    payload = tmp_path / "share.json"
    args = ("waybill", "share", WAYBILL, "-e", "ent-a", "--partner", "partner-b",
            "--out", str(payload), "--employee", "emp-admin")
    unassessed = run(path, *args)
    assert unassessed.exit_code == 1
    assert "refused (no_impact_assessment)" in unassessed.output
    assessed = run(path, "waybill", "partners", "assess", "partner-b", "-e", "ent-a",
                   "--field", "recipient_name", "--field", "recipient_phone",
                   "--field", "recipient_address", "--conclusion",
                   "necessary for the last mile; resale risk limited by masked labels")
    assert assessed.exit_code == 0, assessed.output
    refused = run(path, *args)
    assert refused.exit_code == 1
    assert "refused (recipient_consent_" in refused.output
    assert not payload.exists()

    for cmd in (("acknowledge",), ("grant", "--purpose", "partner_sharing:partner-b")):
        assert run(path, "consent", *cmd, "-e", "ent-a", "-s", "sub-bob").exit_code == 0
    shared = run(path, *args)
    assert shared.exit_code == 0, shared.output
    assert people["sub-bob"].phone.encode() not in payload.read_bytes()

    opened = tmp_path / "opened.json"
    r = run(path, "waybill", "open-share", str(payload), "--key", str(key), "--out",
            str(opened))
    assert r.exit_code == 0, r.output
    assert json.loads(opened.read_text())["fields"]["recipient_phone"] == \
        people["sub-bob"].phone
    assert people["sub-bob"].phone not in r.output
