"""Privacy notices (PIPL Art. 17): load the template, fill it for an enterprise,
validate it, hash it, and render it with the key clauses emphasised.

A template is three JSON files in ``notices/``: ``<name>.terms.json`` holds the
language-neutral terms of each purpose (data types, methods, retention, and a
``revision`` authors bump when a purpose's meaning changes), and ``<name>.<locale>.json``
holds the text per locale. The filled document, the *content*, is what a notice
version stores; its SHA-256 over canonical JSON (RFC 8785) is the content hash, and a
new version is published only when that hash changes.

Each purpose also gets a *fingerprint* over its terms only (purpose, methods, data
types, and for a partner its name and purpose). Consent given under one version
still counts under a later one while the purpose's fingerprint is unchanged, so a
reworded heading or a new contact e-mail does not force everyone to consent again,
but a new data type or method does (Art. 14, Art. 23).
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from parcelguard.consent.dsr import DSR_RESPONSE_WORKING_DAYS, REAL_NAME_RETENTION_DAYS
from parcelguard.consent.rules import PARTNER_ID_RE, Purpose, PurposeKind
from parcelguard.core.canonical import canonical_json
from parcelguard.core.errors import InvalidInput

CONTENT_FORMAT = 1
LOCALES = ("zh-CN", "en")
DATA_TYPES = ("name", "phone", "address", "id_number", "parcel_info", "location_track")
# Location tracks are sensitive: sharing them would need a second separate consent
# on top of the partner's, which the consent model does not express, so it is refused.
SHAREABLE_DATA_TYPES = tuple(d for d in DATA_TYPES if d != "location_track")
METHODS = ("collect", "store", "use", "transmit", "provide")
OWN_PURPOSES = ("delivery", "location_tracking", "marketing")
# Art. 17: processor and contact; purposes, methods, data types; retention; how to
# exercise rights. Recipients (Art. 23) and changes (Art. 17 para. 2) as well.
REQUIRED_SECTIONS = ("processor", "purposes", "recipients", "retention", "rights", "changes")
_LINE_FIELDS: dict[str, frozenset[str]] = {
    "basis": frozenset({"basis"}), "data_types": frozenset({"items"}),
    "methods": frozenset({"items"}), "retention": frozenset({"days"}),
    "necessity": frozenset({"text"}), "impact": frozenset({"text"}),
    "partner": frozenset({"name", "contact", "purpose", "methods", "data_types"}),
    "no_partners": frozenset(),
}
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_TEMPLATE_NAME = re.compile(r"^[a-z0-9_-]{1,40}$")
MAX_TEXT = 200


class NoticeError(InvalidInput):
    """A notice template or its parameters break a rule; the message names where."""


@dataclass(frozen=True, slots=True)
class PartnerIn:
    """A recipient processor named in the notice (Art. 23)."""

    id: str
    name: str
    contact: str
    purpose: Mapping[str, str]  # locale -> what the recipient does with the PI
    data_types: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NoticeParams:
    """What an enterprise fills into the template."""

    processor_name: str
    processor_contact: str
    partners: tuple[PartnerIn, ...] = ()
    template: str = "default"


# -- loading and filling -----------------------------------------------------------


def _read(name: str) -> dict[str, Any]:
    path = resources.files("parcelguard.consent") / "notices" / name
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NoticeError(f"notice template file {name} not found") from None
    if not isinstance(doc, dict):
        raise NoticeError(f"{name}: not a JSON object")
    return doc


def load_template(name: str = "default") -> dict[str, Any]:
    """The raw template: ``{"terms": ..., "locales": {locale: text document}}``."""
    if not _TEMPLATE_NAME.match(name):
        raise NoticeError("template name: 1-40 of a-z, 0-9, '_' and '-'")
    return {"terms": _read(f"{name}.terms.json"),
            "locales": {loc: _read(f"{name}.{loc}.json") for loc in LOCALES}}


def _fill(text: Any, values: Mapping[str, str], where: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise NoticeError(f"{where}: must be non-empty text")
    unknown = set(_PLACEHOLDER.findall(text)) - set(values)
    if unknown:
        raise NoticeError(f"{where}: unknown placeholder(s) {', '.join(sorted(unknown))}")
    # One pass, so a value containing "{...}" is never expanded itself.
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def _short(value: str, what: str) -> str:
    cleaned = value.strip()
    if not cleaned or len(cleaned) > MAX_TEXT:
        raise NoticeError(f"{what}: 1-{MAX_TEXT} characters")
    return cleaned


def _check_partner(p: PartnerIn, i: int) -> dict[str, Any]:
    where = f"partners[{i}]"
    if not PARTNER_ID_RE.match(p.id):
        raise NoticeError(f"{where}.id: 1-48 of a-z, 0-9, '.', '_', '-'")
    if set(p.purpose) != set(LOCALES):
        raise NoticeError(f"{where}.purpose: give the text in each of {', '.join(LOCALES)}")
    if not p.data_types or len(set(p.data_types)) != len(p.data_types):
        raise NoticeError(f"{where}.data_types: a non-empty list without repeats")
    bad = [d for d in p.data_types if d not in SHAREABLE_DATA_TYPES]
    if bad:
        raise NoticeError(f"{where}.data_types: {', '.join(bad)} cannot be shared; use "
                          f"{', '.join(SHAREABLE_DATA_TYPES)}")
    return {"id": p.id, "name": _short(p.name, f"{where}.name"),
            "contact": _short(p.contact, f"{where}.contact"),
            "purpose": {loc: _short(p.purpose[loc], f"{where}.purpose.{loc}")
                        for loc in LOCALES},
            "data_types": list(p.data_types)}


def build_content(params: NoticeParams) -> dict[str, Any]:
    """The filled, validated notice content for one enterprise (what gets stored,
    hashed and shown). Raises `NoticeError` naming the first problem."""
    tpl = load_template(params.template)
    partners = [_check_partner(p, i) for i, p in enumerate(params.partners)]
    ids = [p["id"] for p in partners]
    if len(set(ids)) != len(ids):
        raise NoticeError("partners: each partner id may appear once")
    values = {"processor_name": _short(params.processor_name, "processor name"),
              "processor_contact": _short(params.processor_contact, "processor contact"),
              "statutory_retention_days": str(REAL_NAME_RETENTION_DAYS),
              "dsr_working_days": str(DSR_RESPONSE_WORKING_DAYS)}
    terms = tpl["terms"]
    purposes: dict[str, Any] = {}
    for key in OWN_PURPOSES:
        t = terms.get("purposes", {}).get(key)
        if not isinstance(t, dict):
            raise NoticeError(f"terms: purpose {key} missing")
        purposes[key] = _check_terms(t, f"terms.purposes.{key}")
    share = terms.get("partner_sharing", {})
    share_methods = _codes(share.get("methods"), METHODS, "terms.partner_sharing.methods")
    for p in partners:
        purposes[f"partner_sharing:{p['id']}"] = {
            "revision": share.get("revision", 1), "methods": share_methods,
            "data_types": p["data_types"], "partner": p}
    locales = {loc: _fill_locale(tpl["locales"][loc], loc, values) for loc in LOCALES}
    content = {"format": CONTENT_FORMAT, "template": params.template,
               "processor": {"name": values["processor_name"],
                             "contact": values["processor_contact"]},
               "purposes": purposes, "locales": locales}
    render(content, LOCALES[0])  # every label and line must render; fails early if not
    return content


def _codes(value: Any, allowed: Sequence[str], where: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise NoticeError(f"{where}: a non-empty list of codes")
    bad = [v for v in value if v not in allowed]
    if bad:
        raise NoticeError(f"{where}: unknown code(s) {', '.join(bad)}")
    return list(value)


def _check_terms(t: dict[str, Any], where: str) -> dict[str, Any]:
    days = t.get("retention_days")
    if not isinstance(days, int) or isinstance(days, bool) or days <= 0:
        raise NoticeError(f"{where}.retention_days: a positive number of days")
    revision = t.get("revision", 1)
    if not isinstance(revision, int) or revision < 1:
        raise NoticeError(f"{where}.revision: a positive integer")
    return {"revision": revision, "data_types": _codes(t.get("data_types"), DATA_TYPES,
                                                       f"{where}.data_types"),
            "methods": _codes(t.get("methods"), METHODS, f"{where}.methods"),
            "retention_days": days}


def _clauses(raw: Any, values: Mapping[str, str], where: str) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise NoticeError(f"{where}: a list of clauses")
    out = []
    for i, c in enumerate(raw):
        if not isinstance(c, dict):
            raise NoticeError(f"{where}[{i}]: a clause object")
        out.append({"text": _fill(c.get("text"), values, f"{where}[{i}].text"),
                    "prominent": bool(c.get("prominent", False))})
    return out


def _fill_locale(doc: dict[str, Any], loc: str, values: Mapping[str, str]) -> dict[str, Any]:
    w = f"{loc}"
    sections = []
    for i, s in enumerate(doc.get("sections", [])):
        sections.append({"id": s.get("id"),
                         "heading": _fill(s.get("heading"), values, f"{w}.sections[{i}].heading"),
                         "clauses": _clauses(s.get("clauses", []), values,
                                             f"{w}.sections[{i}].clauses")})
    ids = [s["id"] for s in sections]
    missing = [r for r in REQUIRED_SECTIONS if r not in ids]
    if missing:
        raise NoticeError(f"{w}: missing required section(s) {', '.join(missing)} (Art. 17)")
    purposes = {}
    for key in OWN_PURPOSES:
        p = doc.get("purposes", {}).get(key)
        if not isinstance(p, dict):
            raise NoticeError(f"{w}.purposes.{key}: missing")
        entry: dict[str, Any] = {
            "title": _fill(p.get("title"), values, f"{w}.purposes.{key}.title"),
            "clauses": _clauses(p.get("clauses", []), values, f"{w}.purposes.{key}.clauses")}
        if Purpose.parse(key).sensitive:  # Art. 30: necessity and impact must be told
            for extra in ("necessity", "impact"):
                entry[extra] = _fill(p.get(extra), values, f"{w}.purposes.{key}.{extra}")
        purposes[key] = entry
    labels = doc.get("labels", {})
    lines = labels.get("lines", {})
    for name, allowed in _LINE_FIELDS.items():
        _fill(lines.get(name), dict.fromkeys(allowed, ""), f"{w}.labels.lines.{name}")
    for group, codes in (("data_types", DATA_TYPES), ("methods", METHODS),
                         ("basis", ("contract_necessity", "separate_consent", "consent"))):
        for code in codes:
            _fill(labels.get(group, {}).get(code), {}, f"{w}.labels.{group}.{code}")
    if not isinstance(labels.get("list_separator"), str):
        raise NoticeError(f"{w}.labels.list_separator: text")
    return {"locale": loc, "title": _fill(doc.get("title"), values, f"{w}.title"),
            "sections": sections, "purposes": purposes, "labels": labels}


# -- hashing and versioning ------------------------------------------------------


def content_hash(content: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the content's RFC 8785 canonical JSON: stable across key
    order and whitespace, different for any change of text, flag or term."""
    return hashlib.sha256(canonical_json(dict(content))).hexdigest()


def purpose_fingerprints(content: Mapping[str, Any]) -> dict[str, str]:
    """Per declared purpose, SHA-256 over what consent to it is consent to: the
    purpose, its revision, methods and data types, and a partner's name and purpose
    (not its contact details: a new phone number is not a new recipient)."""
    out = {}
    for key, terms in content["purposes"].items():
        basis: dict[str, Any] = {"purpose": key, "revision": terms["revision"],
                                 "methods": terms["methods"], "data_types": terms["data_types"]}
        if "partner" in terms:
            basis["partner"] = {"name": terms["partner"]["name"],
                                "purpose": terms["partner"]["purpose"]}
        out[key] = hashlib.sha256(canonical_json(basis)).hexdigest()
    return out


def needs_new_version(latest_hash: str | None, new_hash: str) -> bool:
    """A new version exists only when the content changed; old versions are kept."""
    return latest_hash != new_hash


# -- rendering -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Clause:
    text: str
    prominent: bool = False


@dataclass(frozen=True, slots=True)
class Section:
    heading: str
    level: int  # 1: a numbered section; 2: one purpose inside "purposes"
    clauses: tuple[Clause, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class RenderedNotice:
    locale: str
    title: str
    sections: tuple[Section, ...]


def _line(labels: Mapping[str, Any], line: str, **values: str) -> str:
    return _fill(labels["lines"][line], values, f"labels.lines.{line}")


def _join(labels: Mapping[str, Any], group: str, codes: Sequence[str]) -> str:
    return str(labels["list_separator"]).join(labels[group][c] for c in codes)


def render(content: Mapping[str, Any], locale: str) -> RenderedNotice:
    """The notice as sections of clauses in one locale, purposes and recipients
    written out from the terms so the text can never disagree with them."""
    if locale not in content["locales"]:
        raise NoticeError(f"locale must be one of {', '.join(content['locales'])}")
    doc = content["locales"][locale]
    labels = doc["labels"]
    sections: list[Section] = []
    for s in doc["sections"]:
        clauses = [Clause(c["text"], c["prominent"]) for c in s["clauses"]]
        if s["id"] == "recipients":
            clauses += _partner_clauses(content, locale, labels)
        sections.append(Section(s["heading"], 1, tuple(clauses)))
        if s["id"] == "purposes":
            sections += [_purpose_section(content, doc, labels, key) for key in OWN_PURPOSES]
    return RenderedNotice(locale, doc["title"], tuple(sections))


def _purpose_section(content: Mapping[str, Any], doc: Mapping[str, Any],
                     labels: Mapping[str, Any], key: str) -> Section:
    purpose = Purpose.parse(key)
    terms, text = content["purposes"][key], doc["purposes"][key]
    clauses = [Clause(c["text"], c["prominent"]) for c in text["clauses"]]
    clauses += [
        Clause(_line(labels, "basis", basis=labels["basis"][purpose.basis.value]),
               purpose.needs_consent),
        Clause(_line(labels, "data_types", items=_join(labels, "data_types",
                                                       terms["data_types"])), purpose.sensitive),
        Clause(_line(labels, "methods", items=_join(labels, "methods", terms["methods"]))),
        Clause(_line(labels, "retention", days=str(terms["retention_days"])))]
    if purpose.sensitive:  # Art. 30, shown prominently
        clauses += [Clause(_line(labels, "necessity", text=text["necessity"]), True),
                    Clause(_line(labels, "impact", text=text["impact"]), True)]
    return Section(text["title"], 2, tuple(clauses))


def _partner_clauses(content: Mapping[str, Any], locale: str,
                     labels: Mapping[str, Any]) -> list[Clause]:
    shared = [(k, t) for k, t in content["purposes"].items()
              if Purpose.parse(k).kind is PurposeKind.PARTNER_SHARING]
    if not shared:
        return [Clause(_line(labels, "no_partners"))]
    # Each recipient is a separate-consent purpose: always shown prominently (Art. 23).
    return [Clause(_line(labels, "partner", name=t["partner"]["name"],
                         contact=t["partner"]["contact"],
                         purpose=t["partner"]["purpose"][locale],
                         methods=_join(labels, "methods", t["methods"]),
                         data_types=_join(labels, "data_types", t["data_types"])), True)
            for _, t in shared]


def _emphasise_text(text: str, locale: str) -> str:
    # Chinese has no capitals: the ※ mark and 【】 brackets carry the emphasis.
    return f"※【{text}】" if locale.startswith("zh") else f"※ {text.upper()}"


def render_text(content: Mapping[str, Any], locale: str) -> str:
    """Plain text for SMS, terminals and printed slips; prominent clauses are marked
    with ※ and 【】 (zh) or ※ and CAPITALS (en)."""
    n = render(content, locale)
    out = [n.title, ""]
    for s in n.sections:
        indent = "  " if s.level == 2 else ""
        out.append(f"{indent}{s.heading}")
        for c in s.clauses:
            text = _emphasise_text(c.text, locale) if c.prominent else c.text
            out.append(f"{indent}  {text}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def render_html(content: Mapping[str, Any], locale: str) -> str:
    """An HTML fragment (no page chrome); prominent clauses are bold, marked with ※
    (and 【】 or capitals as in text) and carry class ``pg-prominent`` for styling.
    Every text is escaped: partner names come from enterprise input."""
    n = render(content, locale)
    lang = html.escape(n.locale, quote=True)
    parts = [f'<section class="pg-notice" lang="{lang}">', f"<h1>{html.escape(n.title)}</h1>"]
    for s in n.sections:
        tag = "h2" if s.level == 1 else "h3"
        parts.append(f"<{tag}>{html.escape(s.heading)}</{tag}>")
        for c in s.clauses:
            if c.prominent:
                parts.append('<p class="pg-prominent"><strong>'
                             f"{html.escape(_emphasise_text(c.text, locale))}</strong></p>")
            else:
                parts.append(f"<p>{html.escape(c.text)}</p>")
    parts.append("</section>")
    return "\n".join(parts) + "\n"


def parse_partners(raw: Any) -> tuple[PartnerIn, ...]:
    """Partners from JSON (the CLI's file, the API's body), with errors naming the entry."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise NoticeError("partners: a JSON list of {id, name, contact, purpose, data_types}")
    out = []
    for i, p in enumerate(raw):
        if not isinstance(p, dict):
            raise NoticeError(f"partners[{i}]: an object")
        missing = [k for k in ("id", "name", "contact", "purpose", "data_types") if k not in p]
        if missing:
            raise NoticeError(f"partners[{i}]: missing {', '.join(missing)}")
        purpose, types = p["purpose"], p["data_types"]
        if not isinstance(purpose, dict) or not all(isinstance(v, str)
                                                    for v in purpose.values()):
            raise NoticeError(f"partners[{i}].purpose: an object of locale -> text")
        if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
            raise NoticeError(f"partners[{i}].data_types: a list of codes")
        if not all(isinstance(p[k], str) for k in ("id", "name", "contact")):
            raise NoticeError(f"partners[{i}]: id, name and contact are text")
        out.append(PartnerIn(id=p["id"], name=p["name"], contact=p["contact"],
                             purpose=dict(purpose), data_types=tuple(types)))
    return tuple(out)
