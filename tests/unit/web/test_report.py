"""The supervision report on a database with nothing in it yet: it still renders,
says what is missing instead of inventing figures, and names no other host."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.orm import Session

from parcelguard.reporting import supervision_report


def test_an_empty_database_gives_a_self_contained_report(session: Session,
                                                         tmp_path: Path) -> None:
    out = supervision_report({"world": {"parcels": 12}}, session, tmp_path / "r" / "report.html")
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "Plotly" in html  # the bundled library, inlined
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", html)  # nothing to fetch
    assert html.count("not available yet") >= 4  # no events, alerts, cases or audits yet
    assert "12" in html  # figures from the summary that exist are shown
