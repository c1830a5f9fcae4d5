"""Masking rules for the privacy waybill: what a printed label or a screen may show.

Sources: GB/T 41833-2022 *Electronic express waybill* (the privacy-waybill rules for
name, phone and address) and the Express Delivery Interim Regulations Art. 22 (a
waybill shows no identity information beyond name, address and phone). GB/T
35273-2020 section 7 asks for the same de-identified display on screens.

Rules (pure functions, no I/O; ``*`` is the mask character):

name
    At least one character is always hidden; one ``*`` per hidden character.
    Chinese names keep the surname only: 张三 -> 张*, 王小明 -> 王**. A compound
    surname (欧阳, 司马, ...) is kept whole: 欧阳娜娜 -> 欧阳**; a name that is only a
    compound surname keeps one character: 欧阳 -> 欧*. Names with an interpunct
    (· ‧ ・ • ･ ． and "." next to Chinese characters) keep the first character of the
    first segment and the dots: 阿卜杜拉·买买提 -> 阿***·***. Other names keep the
    first character of each word and the punctuation: John Smith -> J*** S****.
    A one-character name is "*". Surrounding whitespace is trimmed.
phone
    At least 6 digits are always hidden (GB/T 41833-2022; 138****5678 is not
    enough). The output is in national form, with any country code dropped:
    mobile 13812345678 -> 138******78 (3 + 2 digits kept); landline with area code
    010-12345678 -> 010-******78, 0755-1234567 -> 0755-******7; service numbers
    400-123-4567 -> 400-******7; an extension is hidden whole (转***); anything
    else keeps at most its last 2 digits and hides at least 6 (all digits when it
    has 6 or fewer). Visible digits never exceed ``total digits - 6``. Nothing but
    digits, stars and our own separators is ever echoed, so text typed into a
    phone field by mistake (a name, an e-mail) is dropped, not shown.
address
    Everything from the first building-level part on is replaced by "****": a
    number followed by 号楼 栋 幢 座 楼 层 单元 室 房 户 or 号 (Arabic, full-width or
    Chinese numerals, letters as in B座), hyphenated forms (3-2-501), bare numbers
    and English unit words (Room, Unit, Bldg, Apt ...). Traditional forms read the
    same (號 樓 棟 層 單元 戶: 张莊村十五號 -> 张莊村****), and a leading six-digit
    postcode is kept rather than taken for a unit number. Province, city, district,
    street, road, community and estate names are kept, and so are road, lane and
    area numbers (张江路88号 when a building follows it, 88弄, 3组, 1号院, 二期):
    上海市浦东新区张江路88弄5号楼1203室 -> 上海市浦东新区张江路88弄****. A road
    number that ends the address *is* the house number and is masked
    (中关村大街1号 -> 中关村大街****). English addresses (smallest part first) have
    each unit number replaced in place: Room 1203, 88 Zhangjiang Rd ->
    Room ****, 88 Zhangjiang Rd. The output never ends with a digit and is
    NFKC-normalised (full-width digits become ASCII).
id_number
    Never printed (Art. 22). For screens only the first and last characters stay.

Every rule is idempotent on its own output (masking a masked name or address
changes nothing), which is how the label renderer re-checks what it is given.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final

MASK_CHAR: Final = "*"
# A fixed-width address mask also hides how long the unit/room part was.
ADDRESS_MASK: Final = "****"
# GB/T 41833-2022: a printed phone number hides at least six digits.
MIN_HIDDEN_DIGITS: Final = 6
# At most this many trailing digits stay visible, whatever the number's shape.
_MAX_TAIL_DIGITS: Final = 2

# --------------------------------------------------------------------------- names

# Compound surnames (复姓), simplified and traditional forms. Keeping the whole
# surname visible is what couriers need to greet the recipient; listing them stops
# 欧阳娜娜 turning into 欧*** (which hides the surname the standard lets us show).
COMPOUND_SURNAMES: Final[frozenset[str]] = frozenset(
    """
    欧阳 太史 端木 上官 司马 东方 独孤 南宫 万俟 闻人 夏侯 诸葛 尉迟 公羊 赫连 澹台
    皇甫 宗政 濮阳 公冶 太叔 申屠 公孙 慕容 仲孙 钟离 长孙 宇文 司徒 鲜于 司空 闾丘
    子车 亓官 司寇 巫马 公西 颛孙 壤驷 公良 漆雕 乐正 宰父 谷梁 拓跋 夹谷 轩辕 令狐
    段干 百里 呼延 东郭 南门 羊舌 微生 公户 公玉 公仪 梁丘 公仲 公上 公门 公山 公坚
    左丘 公伯 西门 公祖 第五 公乘 贯丘 公皙 南荣 东里 东宫 仲长 子书 子桑 即墨 达奚
    褚师 歐陽 司馬 東方 獨孤 南宮 萬俟 聞人 諸葛 尉遲 赫連 濮陽 公孫 鍾離 長孫 鮮于
    閭丘 顓孫 壤駟 樂正 穀梁 軒轅 東郭 東里 東宮 仲長
    """.split()  # noqa: SIM905 - a table of 100+ names reads better as text than as a list
)

# Interpuncts separating the parts of ethnic-minority and transliterated names:
# U+00B7 (the one ID cards use), U+2027, U+30FB, U+2022, U+FF65, U+FF0E. An ASCII
# "." only counts next to Chinese text, because in Latin names it marks initials.
_NAME_DOTS: Final = "·‧・•･．"
_HAN_RE: Final = re.compile(r"[\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


def _maskable(ch: str) -> bool:
    # Letters, marks and digits carry the name; punctuation and spaces do not.
    return unicodedata.category(ch)[0] in "LMN"


def _mask_all(text: str, keep: int = 0) -> str:
    """Mask every maskable character after the first ``keep`` maskable ones."""
    out = []
    seen = 0
    for ch in text:
        if _maskable(ch):
            seen += 1
            out.append(ch if seen <= keep else MASK_CHAR)
        else:
            out.append(ch)
    return "".join(out)


def _mask_han_name(name: str) -> str:
    name = "".join(name.split())  # spaces inside a Chinese name carry nothing
    surname_len = 2 if len(name) > 2 and name[:2] in COMPOUND_SURNAMES else 1
    return name[:surname_len] + MASK_CHAR * (len(name) - surname_len)


def _mask_dotted_name(name: str, *, han: bool) -> str:
    if han:
        name = "".join(name.split())
    dots = re.escape(_NAME_DOTS + ("." if han else ""))
    parts = re.split(f"([{dots}])", name)
    # parts alternates segment, dot, segment, ...: only the first segment keeps a char.
    return "".join(
        part if i % 2 else _mask_all(part, keep=1 if i == 0 else 0) for i, part in enumerate(parts)
    )


def _mask_words(name: str) -> str:
    return " ".join(_mask_all(word, keep=1) for word in name.split())


def mask_name(value: str) -> str:
    """Mask a person's name, always hiding at least one character.

    >>> mask_name("欧阳娜娜"), mask_name("John Smith")
    ('欧阳**', 'J*** S****')
    """
    name = value.strip()
    if not name:
        return ""
    if len(name) == 1:
        return MASK_CHAR
    han = bool(_HAN_RE.search(name))
    if any(d in name for d in _NAME_DOTS) or (han and "." in name):
        masked = _mask_dotted_name(name, han=han)
    elif han:
        masked = _mask_han_name(name)
    else:
        masked = _mask_words(name)
    if MASK_CHAR not in masked:
        # Every segment was one character long ("J. K.", "阿·"): keep only the
        # first character overall, and nothing at all if that is the only one.
        masked = _mask_all(masked, keep=1)
        if MASK_CHAR not in masked:
            masked = _mask_all(masked)
    return masked


# -------------------------------------------------------------------------- phones

# Mainland mobiles: 11 digits, 13x-19x (MIIT numbering plan); some people write a
# trunk 0 in front when dialling from a landline in another city.
_MOBILE_RE: Final = re.compile(r"0?(1[3-9]\d{9})")
# Landlines: trunk 0, area code (010 and 02x are 3 digits, the rest 4), 7-8 digit
# subscriber number. A 6-digit subscriber is accepted too: all six are then hidden.
_LANDLINE_RE: Final = re.compile(r"(0(?:10|2\d|[3-9]\d\d))(\d{6,8})")
# 400/800 nationwide service numbers: 10 digits.
_SERVICE_RE: Final = re.compile(r"([48]00)(\d{7})")
# "转", "分机", "ext", "x" or "#" start an extension.
_EXTENSION_RE: Final = re.compile(r"转|分机|ext(?:ension)?\.?|[x#]", re.IGNORECASE)
_LEADING_PLUS_RE: Final = re.compile(r"^[\s(\[]*\+")
_EXTENSION_MAX_DIGITS: Final = 6


def _ascii_digits(text: str) -> str:
    """The decimal digits of ``text`` in order, in any script, as ASCII."""
    return "".join(str(unicodedata.decimal(ch)) for ch in text if ch.isdecimal())


def _tail(digits: str, hidden_at_least: int) -> str:
    """The last digits that may stay visible while ``hidden_at_least`` are hidden."""
    keep = min(_MAX_TAIL_DIGITS, max(0, len(digits) - hidden_at_least))
    return digits[len(digits) - keep :] if keep else ""


def _mask_national(national: str) -> str | None:
    """Mask a recognised national number, or None when it has no known shape."""
    if m := _MOBILE_RE.fullmatch(national):
        mobile = m.group(1)
        return mobile[:3] + MASK_CHAR * MIN_HIDDEN_DIGITS + mobile[-_MAX_TAIL_DIGITS:]
    if m := _LANDLINE_RE.fullmatch(national):
        area, subscriber = m.groups()
        tail = _tail(subscriber, MIN_HIDDEN_DIGITS)
        return f"{area}-{MASK_CHAR * (len(subscriber) - len(tail))}{tail}"
    if m := _SERVICE_RE.fullmatch(national):
        prefix, rest = m.groups()
        tail = _tail(rest, MIN_HIDDEN_DIGITS)
        return f"{prefix}-{MASK_CHAR * (len(rest) - len(tail))}{tail}"
    return None


def _mask_generic(digits: str) -> str:
    tail = _tail(digits, MIN_HIDDEN_DIGITS)
    return MASK_CHAR * (len(digits) - len(tail)) + tail


def _national_number(main: str, digits: str) -> str | None:
    """Strip a +86 / 0086 / 86 country code; None for a foreign number."""
    if _LEADING_PLUS_RE.match(main):
        if not digits.startswith("86"):
            return None
        national = digits[2:]
        # International format drops the trunk 0 of a landline (+86 10 1234 5678).
        if not _MOBILE_RE.fullmatch(national) and not national.startswith("0"):
            national = "0" + national
        return national
    if digits.startswith("0086"):
        return digits[4:]
    if digits.startswith("00"):
        return None
    if digits.startswith("86") and _MOBILE_RE.fullmatch(digits[2:]):
        return digits[2:]
    return digits


def mask_phone(value: str) -> str:
    """Mask a phone number, hiding at least six digits (all of them if 6 or fewer).

    >>> mask_phone("+86 138-1234-5678"), mask_phone("0755-1234567-8888")
    ('138******78', '0755-******7转****')
    """
    text = unicodedata.normalize("NFKC", value).strip()
    main, extension = text, ""
    if m := _EXTENSION_RE.search(text):
        main, extension = text[: m.start()], text[m.end() :]
    digits = _ascii_digits(main)
    ext_digits = _ascii_digits(extension)
    national = _national_number(main, digits)

    masked = _mask_national(national) if national is not None else None
    if masked is None and national is not None and not ext_digits:
        # "010-12345678-123": a trailing dash group after a complete number is an
        # extension, not part of the number.
        groups = re.findall(r"\d+", "".join(c if c.isdecimal() else " " for c in main))
        last = _ascii_digits(groups[-1]) if len(groups) > 1 else ""
        if 0 < len(last) <= _EXTENSION_MAX_DIGITS:
            masked = _mask_national(national[: -len(last)])
            if masked is not None:
                ext_digits = last
    if masked is None:
        # Unknown shape or a foreign number: nothing of it is worth keeping.
        masked = _mask_generic(digits)
    if ext_digits:
        masked += "转" + MASK_CHAR * len(ext_digits)
    return masked


# ----------------------------------------------------------------------- addresses

_DASHES: Final = "-‐‑‒–—―−"
_NUM_AR: Final = rf"[A-Za-z]{{0,2}}\d+(?:[{_DASHES}/][A-Za-z]?\d+)*[A-Za-z]?"
_NUM_CN: Final = "[零〇一二三四五六七八九十百两]+"
# Building-level designators: everything from here on is the unit/room part. 户 is the
# household of a village address (张庄村东头第三户).
_UNIT: Final = "号楼|号房|楼层|单元|栋|幢|座|楼|层|室|房|户|F(?![A-Za-z])|f(?![A-Za-z])"
# Road, lane and area designators: the number belongs to the part we may show.
_AREA: Final = "号院|号线|支弄|弄|组|期|区|街坊|队|社|国道|省道|县道|大道|路|街|巷"
# A 号 directly after a road name (or its section 段, a Beijing 条, with an optional
# 甲/乙 sub-number) is the street number; anywhere else it numbers a house or a
# building (88弄5号, 张庄村15号, 幸福小区5号).
_ROAD_BEFORE_NUMBER_RE: Final = re.compile(r"(?:路|街|道|巷|胡同|段|条)[甲乙丙丁]?\s*$")
_EN_UNIT_WORDS: Final = (
    "room|rm|unit|apt|apartment|suite|ste|flat|bldg|building|block|blk|floor|fl|level|lvl|tower|twr"
)
_ADDRESS_TOKEN_RE: Final = re.compile(
    rf"""
    (?P<en>(?<![A-Za-z])(?:{_EN_UNIT_WORDS})\.?\s*\#?\s*(?=[A-Za-z]?\d|[A-Za-z]\b))
    | (?P<hash>\#\s*\d)
    | (?P<first>第)?
      (?: (?<![A-Za-z])(?P<ar>{_NUM_AR}) (?:\s*(?P<ar_des>{_UNIT}|{_AREA}|号))?
        | (?P<cn>{_NUM_CN}) (?: (?P<cn_des>{_UNIT}|{_AREA}|号) | \s*$ )
        | (?<![A-Za-z])(?P<letter>[A-Za-z]{{1,2}}) (?P<letter_des>{_UNIT}|{_AREA}) )
    """,
    re.VERBOSE | re.IGNORECASE,
)
_AREA_SET: Final = frozenset(_AREA.split("|"))
_TRAILING_SEPARATORS: Final = " \t,，、;；:：-"

# Traditional forms of the characters the rules read (Taiwan, Hong Kong, Macao and
# many hand-typed mainland addresses: 张莊村十五號, 三棟五樓). Every pair maps one
# character to one character, so positions found in the folded text are positions in
# the original, which is what is kept and shown.
_TRADITIONAL: Final = str.maketrans(
    "號樓棟層單戶區組條隊線門兩",
    "号楼栋层单户区组条队线门两",
)
# A six-digit mainland postcode written before the address (200120 上海市…, 邮编：200120
# 上海市…) is no unit number: it is kept, and the address after it is masked as usual.
_LEADING_POSTCODE_RE: Final = re.compile(r"^(?:邮编|郵編)?[:：]?\s*\d{6}(?!\d)[\s,，、]*")

# English addresses run smallest part first, so unit numbers are replaced in place.
_EN_UNIT_RE: Final = re.compile(
    rf"(?<![A-Za-z])((?:{_EN_UNIT_WORDS})\.?\s*#?\s*)([A-Za-z]?\d[{_DASHES}\w/]*|[A-Za-z]\b)",
    re.IGNORECASE,
)
_EN_PATTERNS: Final = (
    re.compile(rf"#\s*\d[{_DASHES}\w/]*"),  # #12-34
    re.compile(r"\b\d+(?:st|nd|rd|th)\s+(?:floor|fl)\b\.?", re.IGNORECASE),  # 12th Floor
    re.compile(r"\b\d+\s*/?\s*F\b"),  # 12F, 3/F
    re.compile(rf"\b\d+(?:[{_DASHES}]\w+)+"),  # 3-2-501
    re.compile(r"(?:^|(?<=,))\s*[A-Za-z]?\d+[A-Za-z]?\s*(?=,)"),  # "1203, 88 X Rd"
    re.compile(r"\b\w*\d\w*\W*$"),  # trailing number: unit or postcode
)


def _han_cut(address: str) -> int | None:
    """Index where the unit/room part of a Chinese address starts, if any."""
    for m in _ADDRESS_TOKEN_RE.finditer(address):
        des = m.group("ar_des") or m.group("cn_des") or m.group("letter_des")
        if m.group("en") is not None or m.group("hash") is not None:
            return m.start()
        if des in _AREA_SET:
            continue
        if des == "号":
            before, after = address[: m.start()], address[m.end() :].strip()
            if _ROAD_BEFORE_NUMBER_RE.search(before) and after:
                continue
        return m.start()
    return None


def _mask_english_address(address: str) -> str:
    masked = _EN_UNIT_RE.sub(lambda m: m.group(1) + ADDRESS_MASK, address)
    for pattern in _EN_PATTERNS:
        masked = pattern.sub(
            lambda m: (" " if m.group(0)[:1].isspace() else "") + ADDRESS_MASK, masked
        )
    return masked


def mask_address(value: str) -> str:
    """Mask the building, unit and room part of an address.

    >>> mask_address("上海市浦东新区张江路88弄5号楼1203室")
    '上海市浦东新区张江路88弄****'
    """
    address = " ".join(unicodedata.normalize("NFKC", value).split())
    if not address:
        return ""
    if not _HAN_RE.search(address):
        return _mask_english_address(address)
    postcode = _LEADING_POSTCODE_RE.match(address)
    start = postcode.end() if postcode and postcode.end() < len(address) else 0
    cut = _han_cut(address[start:].translate(_TRADITIONAL))
    if cut is None:
        return address
    return address[: start + cut].rstrip(_TRAILING_SEPARATORS) + ADDRESS_MASK


# ---------------------------------------------------------------------- id numbers


def mask_id_number(value: str) -> str:
    """Mask an identity document number for screens: first and last character only.

    ID numbers are never printed on a waybill (Express Delivery Interim Regulations
    Art. 22); this is for the real-name check screens at pickup.
    """
    compact = "".join(value.split())
    if len(compact) <= 2:
        return MASK_CHAR * len(compact)
    return compact[0] + MASK_CHAR * (len(compact) - 2) + compact[-1]


# ---------------------------------------------------------------------- dispatcher

MASKERS: Final[Mapping[str, Callable[[str], str]]] = MappingProxyType(
    {
        "name": mask_name,
        "phone": mask_phone,
        "address": mask_address,
        "id_number": mask_id_number,
    }
)


def mask(field: str, value: str) -> str:
    """Mask ``value`` by the rule for ``field``: name, phone, address or id_number."""
    try:
        masker = MASKERS[field]
    except KeyError:
        # The value is PI and stays out of the message; the field kind does not.
        kinds = ", ".join(sorted(MASKERS))
        raise ValueError(f"unknown field kind {field!r}: expected one of {kinds}") from None
    return masker(value)
