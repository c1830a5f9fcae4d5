"""Access rules about what was touched: assignment coverage and station, label
prints, bulk and wide-scope searching, denials, scraping, and access by people who
should have none (left, unvetted)."""

from __future__ import annotations

from parcelguard.monitor.detectors import base, cumulative
from parcelguard.monitor.model import DAY_US, PI_ACTIONS, Annot, Ev
from parcelguard.monitor.state import (
    Ctx,
    SubjectState,
    clear_window,
    evidence,
    expire_window,
    fire,
    signal,
    slide,
)


def on_waybill_read(ctx: Ctx, st: SubjectState, ev: Ev, t: int, a: Annot) -> None:
    """Coverage, station and reprint rules for one reveal/print/share by an employee."""
    if ev.actor_type != "employee":
        return  # partners and external clients hold no assignments; see scraping
    s = ctx.settings
    win_us = ctx.minutes(s.unassigned_window_minutes)
    if not a.covered:
        # An allowed read no contract form covers is PI the actor was never given: it
        # alerts at once (uncovered_read_threshold). A refused one leaks nothing and
        # benign couriers call back after their assignment ended, so refusals alert
        # only as a burst (probing), weighted 0.5 against the older thresholds.
        allowed = ev.outcome == "allowed"
        if allowed:
            cumulative.add(ctx, st, ev, t, counter="uncovered", amount=1.0)
        if a.station_match is False:
            name, burst = "out_of_station_access", s.out_of_station_threshold
            what = (f"waybills that never passed their station "
                    f"{st.station or ev.station_id or '?'}, with no assignment")
        else:
            name, burst = "unassigned_access", s.unassigned_threshold
            what = "waybills with no covering assignment"
        signal(ctx, st, name, t, ev.event_id, weight=1.0 if allowed else 0.5,
               window_us=win_us, threshold=s.uncovered_read_threshold if allowed else burst,
               score_scale=burst, base=base(name), win=name if allowed else f"{name}:refused",
               summary=lambda n: f"{st.subject_id} "
               f"{'read' if allowed else 'was refused'} {what} ({n:g} "
               f"{'allowed' if allowed else 'weighted refusals'} in "
               f"{s.unassigned_window_minutes} min)")
    if ev.action == "print_label":
        rw_us = ctx.minutes(s.reprint_window_minutes)
        if not a.covered:
            signal(ctx, st, "label_reprint_burst", t, ev.event_id, weight=1.0,
                   window_us=rw_us, threshold=s.print_uncovered_threshold,
                   base=base("label_reprint_burst"), win="prints_uncovered",
                   summary=lambda n: f"{st.subject_id} printed {n:g} labels of waybills not "
                   f"assigned to them in {s.reprint_window_minutes} min")
        if a.reprints >= 2:
            signal(ctx, st, "label_reprint_burst", t, ev.event_id, weight=1.0,
                   window_us=rw_us, threshold=s.reprint_threshold,
                   base=base("label_reprint_burst"), win="reprints",
                   summary=lambda n: f"{st.subject_id} printed the same labels again and "
                   f"again ({n:g} repeated reprints in {s.reprint_window_minutes} min)")


def on_status(ctx: Ctx, st: SubjectState, ev: Ev, t: int) -> None:
    """Access under an account that should have none. A failed attempt by an outsider
    on such an account is not counted (that is credential stuffing's evidence)."""
    if not st.left and st.check not in ("pending", "failed"):
        return
    if ev.outcome != "allowed" and ev.actor_type != "employee":
        return
    name = "after_leaving" if st.left else "unvetted_access"
    if evidence(ctx, st, name, t, ev.event_id, window_us=DAY_US):
        return
    what = "after leaving" if st.left else f"with the background check {st.check}"
    pi = ev.action in PI_ACTIONS
    score = base(name) + (0.05 if pi else 0.0)
    fire(ctx, st, name, t, [ev.event_id], first_us=t, score=round(min(1.0, score), 3),
         summary=f"{st.subject_id}'s account was used {what} ({ev.action})")


def on_bulk(ctx: Ctx, st: SubjectState, ev: Ev, t: int) -> None:
    """Exports and searches against what internal approval covers."""
    s = ctx.settings
    n = ev.record_count
    single = n >= s.bulk_single_records
    weight = float(n + s.bulk_daily_records) if single else float(n)
    signal(ctx, st, "bulk_access", t, ev.event_id, weight=weight, window_us=DAY_US,
           threshold=s.bulk_daily_records, base=base("bulk_access"),
           summary=lambda _w: f"{st.subject_id} {ev.action}ed {n:,} records at once"
           if single else f"{st.subject_id} exported or searched more than "
           f"{s.bulk_daily_records:,} records in 24 h")


def on_wide_scope(ctx: Ctx, st: SubjectState, ev: Ev, t: int) -> None:
    """SF 2016-18: a warehouse account logging in again and again and searching."""
    s = ctx.settings
    if st.role not in s.wide_scope_roles or ev.outcome != "allowed":
        return
    name = "wide_scope_query"
    if ev.action == "login":
        win, w = "ws_logins", 1.0
    elif ev.action == "search":
        win, w = "ws_search", float(ev.record_count)
    else:
        if ev.action in PI_ACTIONS:
            evidence(ctx, st, name, t, ev.event_id, window_us=DAY_US)
        return
    if evidence(ctx, st, name, t, ev.event_id, window_us=DAY_US):
        return
    # Both windows slide by position with running totals: an account that logs in and
    # searches all day costs the same per event at its thousandth search as at its
    # first (rebuilding both lists per event grew with the day's activity).
    _, total = slide(st, win, t, w, ev.event_id, window_us=DAY_US)
    other = "ws_search" if win == "ws_logins" else "ws_logins"
    other_total = expire_window(st, other, t - DAY_US)
    n_logins, n_records = (total, other_total) if win == "ws_logins" else (other_total, total)
    if n_logins >= s.wide_scope_logins and n_records >= s.wide_scope_search_records:
        logins, searches = st.wins["ws_logins"], st.wins["ws_search"]
        ids = [e for _, _, e in sorted(logins + searches)]
        fire(ctx, st, name, t, ids, first_us=min(logins[0][0], searches[0][0]),
             score=base(name), summary=f"{st.subject_id} ({st.role}) logged in "
             f"{n_logins:g} times and searched {n_records:,.0f} records in 24 h")
        clear_window(st, "ws_logins")
        clear_window(st, "ws_search")


def on_denied(ctx: Ctx, st: SubjectState, ev: Ev, t: int) -> None:
    s = ctx.settings
    signal(ctx, st, "denial_burst", t, ev.event_id, weight=1.0,
           window_us=ctx.minutes(s.denial_window_minutes), threshold=s.denial_threshold,
           base=base("denial_burst"),
           summary=lambda n: f"{st.subject_id} was denied {n:g} times in "
           f"{s.denial_window_minutes} min")


def on_external_pi(ctx: Ctx, st: SubjectState, ev: Ev, t: int) -> None:
    s = ctx.settings
    signal(ctx, st, "scraping", t, ev.event_id, weight=1.0,
           window_us=ctx.minutes(s.scraping_window_minutes), threshold=s.scraping_threshold,
           base=base("scraping"),
           summary=lambda n: f"external client {st.subject_id} accessed PI {n:g} times in "
           f"{s.scraping_window_minutes} min")
