"""Nothing in the portals' templates or stylesheet points at another host, so a page
can never fetch from off the machine (the browser tests check the live pages too)."""

from __future__ import annotations

import re
from pathlib import Path

WEB = Path(__file__).resolve().parents[3] / "src" / "parcelguard" / "web"
# src=, href=, action=, url(...) and @import that name a scheme or a //host.
EXTERNAL = re.compile(
    r"""(?:src|href|action)\s*=\s*["'](?:[a-z]+:)?//|url\(\s*["']?(?:[a-z]+:)?//|@import""",
    re.IGNORECASE)


def test_templates_and_css_reference_only_this_origin() -> None:
    files = [*WEB.glob("templates/**/*.html"), *WEB.glob("static/*.css")]
    assert len(files) > 10
    offenders = [str(f.relative_to(WEB)) for f in files if EXTERNAL.search(f.read_text())]
    assert offenders == []


# A script element the CSP (script-src 'self') lets run: this origin's file, nothing
# inline; or a JSON data block (the overview charts' figures), which never runs.
SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S)


def test_no_inline_scripts_or_styles_that_the_csp_would_block() -> None:
    for f in WEB.glob("templates/**/*.html"):
        text = f.read_text()
        for attrs, body in SCRIPT.findall(text):
            if 'type="application/json"' in attrs:
                continue
            assert re.search(r'\bsrc="/[a-z]', attrs), (f.name, attrs)
            assert body.strip() == "", f.name
        assert text.count("<script") == len(SCRIPT.findall(text)), f.name
        assert "<style" not in text, f.name
        assert " style=" not in text, f.name


def test_overview_charts_are_data_blocks_and_files_of_this_origin() -> None:
    text = (WEB / "templates" / "overview.html").read_text()
    assert '<script type="application/json"' in text
    assert '<script src="/assets/plotly.min.js"></script>' in text
    assert '<script src="/static/charts.js"></script>' in text
