"""Reports: the supervision report, a self-contained HTML file with Plotly charts
(its bundled JavaScript inlined, so the file opens offline and fetches nothing)."""

from parcelguard.reporting.supervision import render_report, supervision_report

__all__ = ["render_report", "supervision_report"]
