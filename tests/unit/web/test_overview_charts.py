"""The overview charts' figures (web/overview.py) follow the report's rules: severity
colours, China days on a date axis with gaps, whole-number count axes, 0-100 scores;
and Plotly's styles come as a file so the strict CSP holds."""

from __future__ import annotations

from datetime import UTC, date, datetime

from parcelguard.web.i18n import gettext_for
from parcelguard.web.overview import (
    SEVERITY_COLOURS,
    Chart,
    Series,
    china_day,
    injected_style_ids,
    plotly_css,
    window,
)

zh = gettext_for("zh-CN")


def test_days_are_china_days() -> None:
    # 17:30 UTC is already the next day in Beijing
    assert china_day(datetime(2026, 12, 6, 17, 30, tzinfo=UTC)) == date(2026, 12, 7)
    days, start = window(datetime(2026, 12, 6, 17, 30, tzinfo=UTC), days=3)
    assert days == [date(2026, 12, 5), date(2026, 12, 6), date(2026, 12, 7)]
    assert start == datetime(2026, 12, 4, 16, 0, tzinfo=UTC)  # 00:00 UTC+8 on the 5th


def test_a_day_chart_is_a_date_axis_and_words_are_translated() -> None:
    c = Chart("d", "Alerts by severity per day (last 30 days)", ["2026-12-01", "2026-12-02"],
              [Series("high", [None, 2], SEVERITY_COLOURS["high"])], "Alerts",
              "day (China Standard Time)", dates=True)
    fig = c.figure(zh)
    assert fig["layout"]["xaxis"]["type"] == "date"
    assert fig["data"][0]["x"] == ["2026-12-01", "2026-12-02"]  # dates stay dates
    assert fig["data"][0]["y"] == [None, 2]  # an empty day is a gap, not a zero
    assert fig["data"][0]["name"] == "高"
    assert fig["layout"]["xaxis"]["title"]["text"] == "日期（北京时间）"
    assert fig["layout"]["yaxis"]["tickformat"] == ",d"
    assert fig["layout"]["yaxis"]["dtick"] == 1  # small counts: 0, 1, 2, not 0, 0.5, 1


def test_categories_are_translated_unless_they_are_data() -> None:
    states = Chart("s", "Referrals by state", ["sent", "concluded"],
                   [Series("Referrals", [1, 0])], "Referrals")
    assert states.figure(zh)["data"][0]["x"] == ["已移送", "已办结"]
    ids = Chart("c", "Findings by control", ["pi-encryption"], [Series("high", [1])],
                "Findings", horizontal=True, translate_x=False)
    assert ids.figure(zh)["data"][0]["y"] == ["pi-encryption"]


def test_scores_are_drawn_on_0_to_100() -> None:
    c = Chart("sc", "Scores of evaluated engagements (0–100)", ["e1"],
              [Series("Score", [64.3]), Series("Coverage (%)", [80.0])], "0–100",
              stacked=False, y_max=100, translate_x=False)
    assert c.figure(zh)["layout"]["yaxis"]["range"] == [0, 100]


def test_serious_severities_are_never_green() -> None:
    for severity in ("high", "critical"):
        r, g, b = (int(SEVERITY_COLOURS[severity][i:i + 2], 16) for i in (1, 3, 5))
        assert r > g
        assert r > b


def test_the_json_block_cannot_be_closed_by_data() -> None:
    c = Chart("x", "</script><script>alert(1)</script>", ["a&b"], [Series("n", [1])], "n",
              translate_x=False)
    spec = str(c.spec(zh))
    assert "<" not in spec
    assert "&" not in spec


def test_plotly_styles_are_a_file_and_the_map_css_is_skipped() -> None:
    css = plotly_css()
    assert ".js-plotly-plot .plotly .main-svg{" in css
    assert "position:absolute" in css
    assert injected_style_ids()  # the map CSS the bundle would inject is found by id
