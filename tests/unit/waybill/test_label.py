"""The printed privacy waybill: page size, content, and refusal of unmasked PI."""

from __future__ import annotations

import dataclasses
import io
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from pdf_text import embedded_fonts, page_text

from parcelguard.waybill import fonts
from parcelguard.waybill.label import LabelData, render_label
from parcelguard.waybill.masking import mask_address, mask_name, mask_phone

RECIPIENT_PHONE = "13812345678"
SENDER_PHONE = "+86 139 8765 4321"
RECIPIENT_ADDRESS = "上海市浦东新区张江路88弄5号楼1203室"


def _label(**changes: str) -> LabelData:
    data = LabelData(
        waybill_no="PG1234567890128",
        carrier="示例快递",
        sender_name=mask_name("欧阳娜娜"),
        sender_phone=mask_phone(SENDER_PHONE),
        sender_address=mask_address("广东省深圳市南山区科技园路88号B座1203"),
        recipient_name=mask_name("阿卜杜拉·买买提"),
        recipient_phone=mask_phone(RECIPIENT_PHONE),
        recipient_address=mask_address(RECIPIENT_ADDRESS),
        virtual_number="170 0000 1234 转 5678",
        qr_token="tok_3fJ9kL2mN8pQ4rS6tU1vW5xY",
        origin="SHA01",
        destination="PEK07",
        printed_at=date(2025, 3, 1),
    )
    return dataclasses.replace(data, **changes)


def _render(data: LabelData) -> bytes:
    buf = io.BytesIO()
    render_label(data, buf)
    return buf.getvalue()


def test_label_is_a_100_by_150_mm_pdf() -> None:
    pdf = _render(_label())
    assert pdf.startswith(b"%PDF-")
    boxes = re.findall(rb"/MediaBox \[ ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+) \]", pdf)
    assert len(boxes) == 1  # one label, one page
    x0, y0, x1, y1 = (float(v) for v in boxes[0])
    assert (x0, y0) == (0, 0)
    assert x1 == pytest.approx(283.46, abs=0.01)  # 100 mm
    assert y1 == pytest.approx(425.20, abs=0.01)  # 150 mm


def test_label_shows_waybill_number_and_masked_parties_only() -> None:
    data = _label()
    pdf = _render(data)
    texts = page_text(pdf)
    joined = "\n".join(texts)

    assert data.waybill_no in texts
    # The decoder sees both fonts: masked values are there, so absences below mean
    # something.
    assert "138******78" in joined
    assert "欧阳**" in joined
    assert "上海市浦东新区张江路88弄****" in joined
    assert "170 0000 1234 转 5678" in joined
    assert "2025-03-01" in joined
    assert {"SHA01", "PEK07"} <= set(texts)

    digits_only = re.sub(r"\D", "", joined)
    for real in (RECIPIENT_PHONE, "13987654321"):
        assert real not in joined
        assert real not in digits_only
        assert real.encode() not in pdf
        assert real.encode("utf-16-be") not in pdf
    assert "欧阳娜娜" not in joined
    assert "1203室" not in joined


def test_label_renders_to_a_path(tmp_path: Path) -> None:
    target = tmp_path / "label.pdf"
    render_label(_label(), target)
    assert target.read_bytes() == _render(_label())  # reprints are byte-identical


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"recipient_phone": RECIPIENT_PHONE}, "recipient_phone"),
        ({"recipient_phone": "138****5678"}, "recipient_phone"),  # only 4 hidden
        ({"sender_phone": SENDER_PHONE}, "sender_phone"),
        ({"sender_phone": "13812345678 ******"}, "sender_phone"),
        ({"recipient_name": "阿卜杜拉·买买提"}, "recipient_name"),
        ({"sender_name": "John Smith"}, "sender_name"),
        ({"recipient_address": RECIPIENT_ADDRESS}, "recipient_address"),
        ({"recipient_address": "上海市浦东新区张江路88弄5号楼****"}, "recipient_address"),
        ({"sender_address": "Room 1203, 88 Zhangjiang Rd"}, "sender_address"),
        ({"qr_token": RECIPIENT_PHONE}, "qr_token"),
        ({"qr_token": "张三 13812345678"}, "qr_token"),
        ({"waybill_no": "运单123"}, "waybill_no"),
    ],
)
def test_unmasked_pi_is_refused(changes: dict[str, str], field: str) -> None:
    buf = io.BytesIO()
    with pytest.raises(ValueError, match=f"refusing to print {field}") as excinfo:
        render_label(_label(**changes), buf)
    assert buf.getvalue() == b""  # nothing half-written
    for value in changes.values():
        assert value not in str(excinfo.value)  # the error never repeats the PI


def test_empty_field_is_refused() -> None:
    with pytest.raises(ValueError, match="refusing to print carrier: it is empty"):
        render_label(_label(carrier=" "), io.BytesIO())


def test_already_masked_values_from_other_systems_are_accepted() -> None:
    # 欧**娜 and 138******78 written by another compliant system are still masked.
    pdf = _render(_label(sender_name="欧**娜", sender_phone="139******21"))
    assert "欧**娜" in "\n".join(page_text(pdf))


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler's pdftotext not installed")
def test_pdftotext_sees_masked_values_only(tmp_path: Path) -> None:
    target = tmp_path / "label.pdf"
    render_label(_label(), target)
    text = subprocess.run(
        ["pdftotext", str(target), "-"], capture_output=True, check=True, text=True, timeout=30
    ).stdout
    assert "PG1234567890128" in text
    assert "138******78" in text
    assert RECIPIENT_PHONE not in re.sub(r"\D", "", text)


def test_chinese_text_is_set_in_an_embedded_truetype_subset() -> None:
    # Viewers without Adobe's Asian font packs drew the old CID-font labels blank.
    pdf = _render(_label())
    embedded = embedded_fonts(pdf)
    assert any("WenQuanYi" in name for name in embedded), embedded
    assert b"STSong-Light" not in pdf
    assert "收" in page_text(pdf)  # the subset's ToUnicode map recovers the text


def test_without_any_cjk_font_the_label_falls_back_to_stsong(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fonts, "_packaged", list)
    monkeypatch.setattr(fonts, "_SYSTEM", ())
    fonts.cjk_font.cache_clear()
    try:
        assert fonts.cjk_font() == fonts.LabelFont("STSong-Light", False, "STSong-Light")
        pdf = _render(_label())
        assert b"STSong-Light" in pdf
        assert "138******78" in "\n".join(page_text(pdf))
    finally:
        fonts.cjk_font.cache_clear()


def test_a_configured_font_that_cannot_be_embedded_is_an_error(tmp_path: Path) -> None:
    bogus = tmp_path / "not-a-font.ttf"
    bogus.write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match="not a TrueType font"):
        render_label(_label(), io.BytesIO(), font_path=bogus)


def test_the_vendored_font_is_used_only_when_it_matches_its_pin(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # a font file swapped in the installed package must not end up embedded in labels
    assert fonts._packaged() == [fonts._VENDORED]
    altered = tmp_path / "wqy-microhei.ttc"
    altered.write_bytes(fonts._VENDORED.read_bytes()[:-1] + b"\x00")
    monkeypatch.setattr(fonts, "_VENDORED", altered)
    assert fonts._packaged() == []
