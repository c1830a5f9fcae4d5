"""Roster events shape the employee's state: role, station, shift, background check,
and whether they left. Access rules that depend on it (after_leaving,
unvetted_access) live in ``access``."""

from __future__ import annotations

from parcelguard.monitor.model import Ev
from parcelguard.monitor.state import SubjectState, parse_shift


def on_roster(st: SubjectState, ev: Ev, t: int) -> None:
    change = ev.change
    st.last_us = max(st.last_us, t)
    if ev.role:
        st.role = ev.role
    if ev.station_id:
        st.station = ev.station_id
    if ev.shift is not None:
        st.shift = parse_shift(ev.shift.start, ev.shift.end)
    if change == "hired":
        st.left = False  # a rehire starts a new employment
    elif change == "left":
        st.left = True
    elif change == "background_check" and ev.background_check:
        st.check = ev.background_check
