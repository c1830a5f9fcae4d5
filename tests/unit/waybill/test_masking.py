"""Privacy-waybill masking (GB/T 41833-2022): real-world shapes and properties."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parcelguard.waybill.masking import (
    COMPOUND_SURNAMES,
    MASKERS,
    mask,
    mask_address,
    mask_name,
    mask_phone,
)


def _digits(text: str) -> str:
    return "".join(str(unicodedata.decimal(c)) for c in text if c.isdecimal())


# (field, input, expected output): shapes seen on real waybills. Every row is also
# checked against its field's invariant below.
CASES: list[tuple[str, str, str]] = [
    # names: single, 2-4 characters, compound surnames
    ("name", "张", "*"),
    ("name", "张三", "张*"),
    ("name", "王小明", "王**"),
    ("name", "李四光明", "李***"),
    ("name", "  李四 ", "李*"),
    ("name", "张 三", "张*"),
    ("name", "张先生", "张**"),
    ("name", "欧阳娜娜", "欧阳**"),
    ("name", "司马光", "司马*"),
    ("name", "诸葛亮", "诸葛*"),
    ("name", "上官婉儿", "上官**"),
    ("name", "歐陽修", "歐陽*"),
    ("name", "欧阳", "欧*"),
    # names with each interpunct variant: first char of the first segment, dots kept
    ("name", "阿卜杜拉·买买提", "阿***·***"),
    ("name", "爱新觉罗‧溥仪", "爱***‧**"),
    ("name", "阿卜杜拉・买买提", "阿***・***"),
    ("name", "阿卜杜拉•买买提", "阿***•***"),
    ("name", "阿卜杜拉･买买提", "阿***･***"),
    ("name", "阿卜杜拉.买买提", "阿***.***"),
    ("name", "阿卜杜拉 · 买买提", "阿***·***"),
    ("name", "阿·", "*·"),
    # Latin and other scripts: first letter of each word
    ("name", "John Smith", "J*** S****"),
    ("name", "  John   Smith ", "J*** S****"),
    ("name", "Mary-Jane O'Neil", "M***-**** O'****"),
    ("name", "J. K.", "J. *."),
    ("name", "Ｊｏｈｎ", "Ｊ***"),
    ("name", "", ""),
    # phones: mainland mobiles in every dress
    ("phone", "13812345678", "138******78"),
    ("phone", "138 1234 5678", "138******78"),
    ("phone", "138-1234-5678", "138******78"),
    ("phone", "+86 138 1234 5678", "138******78"),
    ("phone", "+8613812345678", "138******78"),
    ("phone", "86-138-1234-5678", "138******78"),
    ("phone", "0086 13812345678", "138******78"),
    ("phone", "(+86)138-1234-5678", "138******78"),
    ("phone", "１３８１２３４５６７８", "138******78"),
    ("phone", "＋８６　１３８ １２３４ ５６７８", "138******78"),
    ("phone", "013812345678", "138******78"),
    ("phone", "Tel: 19912345678", "199******78"),
    # landlines, extensions, service and short numbers
    ("phone", "010-12345678", "010-******78"),
    ("phone", "(0755)12345678", "0755-******78"),
    ("phone", "0755-1234567", "0755-******7"),
    ("phone", "+86 10 1234 5678", "010-******78"),
    ("phone", "010-12345678-123", "010-******78转***"),
    ("phone", "0755-1234567-8888", "0755-******7转****"),
    ("phone", "010-12345678转123", "010-******78转***"),
    ("phone", "010 1234 5678 ext. 12", "010-******78转**"),
    ("phone", "400-123-4567", "400-******7"),
    ("phone", "800 820 8820", "800-******0"),
    ("phone", "95338", "*****"),
    ("phone", "123456", "******"),
    ("phone", "1234567", "******7"),
    ("phone", "1381234567", "********67"),
    ("phone", "+1 415 555 0100", "*********00"),
    ("phone", "", ""),
    ("phone", "n/a", ""),
    # addresses: 弄, 号楼, 室
    ("address", "上海市浦东新区张江路88弄5号楼1203室", "上海市浦东新区张江路88弄****"),
    ("address", "上海市浦东新区张江路88弄5号1203室", "上海市浦东新区张江路88弄****"),
    # 栋/单元/室 and 号楼 with the road number before them kept
    ("address", "北京市朝阳区建国路88号3号楼2单元402", "北京市朝阳区建国路88号****"),
    ("address", "浙江省杭州市西湖区文三路5栋2单元1203室", "浙江省杭州市西湖区文三路****"),
    ("address", "江苏省南京市鼓楼区中山路12号楼3单元402", "江苏省南京市鼓楼区中山路****"),
    ("address", "江苏省苏州市姑苏区人民路100号7幢301室", "江苏省苏州市姑苏区人民路100号****"),
    ("address", "广东省深圳市南山区科技园路88号B座1203", "广东省深圳市南山区科技园路88号****"),
    ("address", "浙江省宁波市海曙区中山西路1号12楼", "浙江省宁波市海曙区中山西路1号****"),
    ("address", "湖北省武汉市洪山区珞喻路1037号8层", "湖北省武汉市洪山区珞喻路1037号****"),
    ("address", "山东省济南市历下区泉城路2号3楼层", "山东省济南市历下区泉城路2号****"),
    ("address", "重庆市渝中区解放碑XX大厦第12层", "重庆市渝中区解放碑XX大厦****"),
    ("address", "上海市徐汇区漕溪北路88号圣爱大厦12F", "上海市徐汇区漕溪北路88号圣爱大厦****"),
    # hyphenated, full-width, Chinese numerals, no designator at all
    ("address", "幸福小区3-2-501", "幸福小区****"),
    ("address", "星湖街328号创意产业园3－201", "星湖街328号创意产业园****"),
    ("address", "广州市天河区体育西路１２３号５栋１２０３", "广州市天河区体育西路123号****"),
    ("address", "成都市武侯区人民南路四段一号三楼", "成都市武侯区人民南路四段一号****"),
    ("address", "长沙市岳麓区麓山南路一二〇三", "长沙市岳麓区麓山南路****"),
    ("address", "长沙市岳麓区枫林小区1203", "长沙市岳麓区枫林小区****"),
    # house numbers that end the address are the unit: masked
    ("address", "北京市海淀区中关村大街1号", "北京市海淀区中关村大街****"),
    ("address", "天津市和平区睦南道50号", "天津市和平区睦南道****"),
    ("address", "北京市东城区东四十条甲22号1号楼B座808", "北京市东城区东四十条甲22号****"),
    # 村, 组, 号院
    ("address", "河北省保定市某县张庄村3组15号", "河北省保定市某县张庄村3组****"),
    ("address", "河南省某县李家村5号", "河南省某县李家村****"),
    # households with Chinese numerals, traditional characters (issue 16 item 7)
    ("address", "河北省某县张庄村东头第三户", "河北省某县张庄村东头****"),
    ("address", "河北省某县张莊村十五號", "河北省某县张莊村****"),
    ("address", "台北市信義區松仁路三棟五樓", "台北市信義區松仁路****"),
    ("address", "香港九龍彌敦道12號5樓B室", "香港九龍彌敦道12號****"),
    ("address", "幸福花園2單元301", "幸福花園****"),
    # a leading postcode is kept, not taken for the unit number
    ("address", "200120 上海市浦东新区张江路88弄5号楼1203室", "200120 上海市浦东新区张江路88弄****"),  # noqa: E501
    ("address", "邮编：200120上海市浦东新区张江路88弄5号楼", "邮编:200120上海市浦东新区张江路88弄****"),  # noqa: E501
    ("address", "北京市朝阳区三里屯路19号院8号楼", "北京市朝阳区三里屯路19号院****"),
    ("address", "上海市浦东新区张江路 88 号 5 栋", "上海市浦东新区张江路 88 号****"),
    ("address", "上海市浦东新区张江路88号，5栋", "上海市浦东新区张江路88号****"),
    ("address", "上海市浦东新区张江路88号Room 1203", "上海市浦东新区张江路88号****"),
    # nothing below the building to hide
    (
        "address",
        "湖北省武汉市江汉区新华路218号浦发银行大厦",
        "湖北省武汉市江汉区新华路218号浦发银行大厦",
    ),
    ("address", "北京市东城区王府井大街", "北京市东城区王府井大街"),
    # English: smallest part first, units replaced in place
    (
        "address",
        "Room 1203, Unit 5, Bldg 2, 88 Zhangjiang Rd, Pudong, Shanghai",
        "Room ****, Unit ****, Bldg ****, 88 Zhangjiang Rd, Pudong, Shanghai",
    ),
    ("address", "Apt 5B, 120 Main St, Springfield", "Apt ****, 120 Main St, Springfield"),
    ("address", "Flat 3/F, Block B, 12 Nathan Road", "Flat ****, Block ****, 12 Nathan Road"),
    ("address", "88 Zhangjiang Rd #12-34", "88 Zhangjiang Rd ****"),
    ("address", "12th Floor, 88 Century Ave", "****, 88 Century Ave"),
    (
        "address",
        "1203, 88 Zhangjiang Road, Shanghai 201203",
        "****, 88 Zhangjiang Road, Shanghai ****",
    ),
    ("address", "", ""),
    # identity numbers: screens only, first and last character
    ("id_number", "11010519491231002X", "1****************X"),
    ("id_number", "1101 0519 4912 3100 2X", "1****************X"),
    ("id_number", "AB", "**"),
]


@pytest.mark.parametrize(("field", "value", "expected"), CASES)
def test_masking_table(field: str, value: str, expected: str) -> None:
    assert mask(field, value) == expected


@pytest.mark.parametrize(("field", "value", "expected"), CASES)
def test_masking_table_invariants(field: str, value: str, expected: str) -> None:
    out = mask(field, value)
    if field == "name" and value.strip():
        assert "*" in out
        assert out != value.strip()
    if field == "phone":
        total = len(_digits(value))
        assert len(_digits(out)) <= max(0, total - 6)
    if field == "address":
        assert not re.search(r"\d\W*$", out)
        assert mask_address(out) == out  # a masked address passes the label re-check
    if field == "name":
        assert mask_name(out) == out


def test_table_is_broad() -> None:
    kinds = {field for field, _, _ in CASES}
    assert kinds == set(MASKERS)
    assert len(CASES) >= 60


def test_non_compliant_four_star_form_is_never_produced() -> None:
    # 138****5678 hides only 4 digits; GB/T 41833-2022 asks for at least 6.
    assert mask_phone("13812345678") != "138****5678"
    assert mask_phone("13812345678").count("*") >= 6


def test_unknown_field_is_refused_without_echoing_the_value() -> None:
    with pytest.raises(ValueError, match="unknown field kind 'email'") as excinfo:
        mask("email", "13812345678")
    assert "13812345678" not in str(excinfo.value)


# --------------------------------------------------------------------- properties

_FULL_WIDTH = str.maketrans("0123456789+", "０１２３４５６７８９＋")


@st.composite
def formatted_mobiles(draw: st.DrawFn) -> tuple[str, str]:
    mobile = (
        "1" + draw(st.sampled_from("3456789")) + draw(st.text("0123456789", min_size=9, max_size=9))
    )
    prefix = draw(st.sampled_from(["", "+86", "+86 ", "86", "0086 ", "(+86)", "+86-"]))
    sep = draw(st.sampled_from(["", " ", "-", "\u3000"]))
    body = sep.join([mobile[:3], mobile[3:7], mobile[7:]]) if sep else mobile
    text = draw(st.sampled_from(["", " "])) + prefix + body
    if draw(st.booleans()):
        text = text.translate(_FULL_WIDTH)
    return mobile, text


@settings(max_examples=200)
@given(formatted_mobiles())
def test_formatted_mobiles_hide_six_digits(case: tuple[str, str]) -> None:
    mobile, text = case
    out = mask_phone(text)
    assert out.count("*") >= 6
    assert mobile not in out
    assert mobile not in _digits(out)
    assert out == f"{mobile[:3]}******{mobile[-2:]}"


@settings(max_examples=200)
@given(st.text(alphabet="0123456789０１２３+-() 转x", max_size=30))
def test_any_phone_shows_at_most_total_minus_six_digits(text: str) -> None:
    total = _digits(text)
    out = mask_phone(text)
    assert len(_digits(out)) <= max(0, len(total) - 6)
    if total:
        assert total not in _digits(out)


_SURNAMES = ["张", "王", "李", "赵", "刘", "陈", "欧阳", "司马", "诸葛", "上官", "慕容", "令狐"]
_HAN = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)


@settings(max_examples=200)
@given(st.sampled_from(_SURNAMES), st.text(_HAN, min_size=1, max_size=3))
def test_chinese_names_keep_the_surname_and_hide_a_character(surname: str, given_name: str) -> None:
    name = surname + given_name
    out = mask_name(name)
    assert out.count("*") >= 1
    assert len(out) == len(name)
    if len(name) > 2 or surname not in COMPOUND_SURNAMES:
        assert out.startswith(surname)
    else:  # 欧阳 + one char is a three-char name; a bare 欧阳 keeps only 欧
        assert out.startswith(surname[0])
    assert mask_name(out) == out


_PLACES = st.tuples(
    st.sampled_from(["广东省", "浙江省", "四川省", "上海市", "北京市"]),
    st.sampled_from(["深圳市", "杭州市", "成都市", ""]),
    st.sampled_from(["南山区", "西湖区", "武侯区", "浦东新区"]),
    st.sampled_from(["科技园路", "文三路", "人民南路", "张江路", "中关村大街"]),
)
_ROOM_FORMS = [
    "{b}栋{u}单元{r}室",
    "{b}号楼{u}单元{r}",
    "{b}幢{r}室",
    "{b}-{u}-{r}",
    "{b}座{r}",
    "B座{r}",
    "{b}楼{r}",
    "{r}室",
    "{r}",
]


@settings(max_examples=200)
@given(
    _PLACES,
    st.integers(1, 999),
    st.sampled_from(_ROOM_FORMS),
    st.integers(1, 30),
    st.integers(1, 9),
    st.integers(101, 3208),
)
def test_generated_addresses_hide_the_room(
    place: tuple[str, str, str, str], road_no: int, form: str, building: int, unit: int, room: int
) -> None:
    road_prefix = "".join(place)
    kept = f"{road_prefix}{road_no}号"
    address = kept + form.format(b=building, u=unit, r=room)
    out = mask_address(address)
    assert out == kept + "****"
    assert not re.search(r"\d\W*$", out)
    assert str(room) not in out[len(kept) :]
