"""Languages: negotiation, and catalogs that cover every template string."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from parcelguard.web.i18n import gettext_for, negotiate, supported

WEB = Path(__file__).resolve().parents[3] / "src" / "parcelguard" / "web"


def _catalog(locale: str) -> dict[str, str]:
    with (WEB / "locale" / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return {str(m.id): str(m.string) for m in read_po(f) if m.id}


@pytest.mark.parametrize(("query", "cookie", "accept", "expected"), [
    ("en", "zh-CN", "zh-CN", "en"),  # ?lang= wins
    (None, "en", "zh-CN,zh;q=0.9", "en"),  # then the remembered choice
    (None, None, "fr-FR, en-GB;q=0.8", "en"),  # then the first supported browser language
    (None, None, "zh-TW", "zh-CN"),
    ("xx", None, None, "zh-CN"),  # unknown: the default
])
def test_language_negotiation(query: str | None, cookie: str | None, accept: str | None,
                              expected: str) -> None:
    assert negotiate(query, cookie, accept, "zh-CN") == expected


def test_supported_tags() -> None:
    assert supported("zh_Hans_CN") == "zh-CN"
    assert supported("EN-us") == "en"
    assert supported("ja") is None


def test_every_template_string_has_a_chinese_translation() -> None:
    zh = _catalog("zh_CN")
    ids = {m if isinstance(m, str) else m[0] for _, _, m, _, _ in extract_from_dir(
        str(WEB / "templates"), method_map=[("**.html", "jinja2")], keywords={"_": None})}
    assert len(ids) > 100
    missing = sorted(i for i in ids if not zh.get(i))
    assert missing == []


def test_catalogs_agree_and_placeholders_survive_translation() -> None:
    zh, en = _catalog("zh_CN"), _catalog("en")
    assert zh.keys() == en.keys()
    for msgid, text in zh.items():
        for name in ("%(v)s", "%(n)s", "%(t)s", "%(w)s", "%(id)s", "%(code)s", "%(h)s"):
            assert (name in msgid) == (name in text), msgid


def test_gettext_translates_and_fills_values() -> None:
    assert gettext_for("zh-CN")("Track") == "查件"
    assert gettext_for("en")("Track") == "Track"
    assert gettext_for("zh-CN")("Request received. Reference: %(id)s", id="dsr_1") == \
        "申请已收到。编号：dsr_1"
    assert gettext_for("zh-CN")("a message with no entry") == "a message with no entry"


def _portal_labels() -> set[str]:
    """The labels the portals' Python code writes: titles, columns, intros, empties of
    sections, labels of inputs, buttons and navigation (capitalised string constants in
    those calls; values and codes are lower case or not constants)."""
    import ast

    found: set[str] = set()
    for path in sorted((WEB / "portals").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name not in ("Section", "Input", "Action", "Nav"):
                continue
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                for sub in ast.walk(arg):
                    if isinstance(sub, ast.Constant) and isinstance(sub.value, str) and \
                            sub.value[:1].isupper() and "/" not in sub.value:
                        found.add(sub.value)
    return found


def test_every_portal_label_has_a_chinese_translation() -> None:
    # A single English word ("Message", "Revoke") slips past the served pages' phrase
    # check; every label the portals write is looked up here instead.
    labels = _portal_labels()
    assert len(labels) > 200
    zh = _catalog("zh_CN")
    assert sorted(x for x in labels if not zh.get(x)) == []
