"""Rules about how an account is used: from where, how regularly, and (for login
sources) against how many accounts. Rented and shared accounts, scripts, and
credential stuffing."""

from __future__ import annotations

import math

from parcelguard.monitor.detectors import base
from parcelguard.monitor.model import DAY_US, HOUR_US, US, AlertUpdate, Ev
from parcelguard.monitor.state import Cadence, Ctx, SubjectState, evidence, fire, signal


def _network(ip: str) -> str:
    """The /16 (IPv4) or /32 prefix (IPv6) an address is in: a 'place'. Mobile
    carriers reassign within their block, so a finer prefix would see travel where a
    courier just changed cell."""
    if ":" in ip:
        return ":".join(ip.split(":")[:2])
    return ".".join(ip.split(".")[:2])


def on_source(ctx: Ctx, st: SubjectState, ev: Ev, t: int) -> None:
    """shared_account and concurrent_places for one access with a device or IP.

    Most accesses come from the same device and IP as the one before: then only the
    time moves (``src_t``), and the dictionary of known sources is brought up to
    date when the source changes."""
    dev, ip = ev.device_id, ev.ip
    if st.src is not None and st.src[0] == dev and st.src[1] == ip:
        st.src_t = t
        return
    s = ctx.settings
    memory = s.source_memory_days * DAY_US
    seen = st.sources
    if st.src is not None:
        for key in _keys(st.src[0], st.src[1]):
            seen[key] = st.src_t
    st.src, st.src_t = (dev, ip), t
    new = False
    for key in _keys(dev, ip):
        last = seen.get(key)
        if last is None or t - last > memory:
            new = True
        seen[key] = t
    if new:
        if len(seen) > 64:  # keep state small: forget sources unused for the memory
            for k in [k for k, v in seen.items() if t - v > memory]:
                del seen[k]
        signal(ctx, st, "shared_account", t, ev.event_id, weight=1.0,
               window_us=ctx.minutes(s.new_source_window_minutes),
               threshold=s.new_source_threshold, base=base("shared_account"),
               summary=lambda n: f"{st.subject_id}'s account was used from {n:g} new devices "
               f"or IPs in {s.new_source_window_minutes} min")
    if ip:
        place = _network(ip)
        if st.place is not None and place != st.place:
            signal(ctx, st, "concurrent_places", t, ev.event_id, weight=1.0,
                   window_us=s.concurrent_window_seconds * US,
                   threshold=s.concurrent_switches, base=base("concurrent_places"),
                   summary=lambda n: f"{st.subject_id}'s account switched {n:g} times between "
                   f"networks within {s.concurrent_window_seconds} s")
        st.place = place


def _keys(dev: str | None, ip: str | None) -> list[str]:
    keys = []
    if dev:
        keys.append(f"d:{dev}")
    if ip:
        keys.append(f"i:{ip}")
    return keys


def on_timing(ctx: Ctx, st: SubjectState, ev: Ev, t: int) -> None:
    """machine_timing: the last N intervals on one device are short and regular.

    The intervals' sum and sum of squares are kept as exact integers, so each event
    costs O(1); a long pause starts the device's sequence afresh, so people's
    accesses, minutes apart, keep none."""
    s = ctx.settings
    key = ev.device_id or "-"
    cad = st.timing.get(key)
    max_gap = int(s.timing_max_interval_seconds * US)
    if cad is None:
        if len(st.timing) >= 4:  # scripts rotate devices: forget idle ones
            for k in [k for k, v in st.timing.items() if t - v.seq[-1][0] > HOUR_US]:
                del st.timing[k]
        st.timing[key] = Cadence(seq=[(t, ev.event_id)])
        return
    seq = cad.seq
    gap = t - seq[-1][0]
    # An event older than the last one (a log not in event-time order) breaks any
    # cadence just as a long pause does; a negative gap must never enter the sums.
    if gap > max_gap or gap < 0:
        cad.run, cad.total, cad.squares, cad.seq = 0, 0, 0, [(t, ev.event_id)]
        return
    n = s.timing_intervals
    cad.run += 1
    cad.total += gap
    cad.squares += gap * gap
    seq.append((t, ev.event_id))
    if len(seq) > n + 1:
        old = seq[1][0] - seq[0][0]
        cad.total -= old
        cad.squares -= old * old
        del seq[0]
    if evidence(ctx, st, "machine_timing", t, ev.event_id, window_us=10 * max_gap):
        return
    if cad.run < n:
        return
    mean = cad.total / n
    sd = math.sqrt(max(n * cad.squares - cad.total * cad.total, 0)) / n
    if sd > max(s.timing_max_cv * mean, s.timing_jitter_floor_seconds * US):
        return
    fire(ctx, st, "machine_timing", t, [e for _, e in seq], first_us=seq[0][0],
         score=base("machine_timing"),
         summary=f"{st.subject_id} acted every {mean / US:.1f} s (sd {sd / US:.2f} s) on "
         f"device {ev.device_id or 'unknown'} for {n} actions: machine-regular")
    cad.run, cad.total, cad.squares, cad.seq = 0, 0, 0, seq[-1:]


def on_login_source(ctx: Ctx, st: SubjectState, ev: Ev, t: int) -> None:
    """credential_stuffing, keyed by the login source (``st.subject_id``)."""
    s = ctx.settings
    name = "credential_stuffing"
    window_us = ctx.minutes(s.stuffing_window_minutes)
    if ev.action == "login_failed":
        failed = st.sources
        failed[ev.actor_id or ""] = t
        horizon = t - window_us
        for k in [k for k, v in failed.items() if v < horizon]:
            del failed[k]
        if evidence(ctx, st, name, t, ev.event_id, window_us=window_us):
            return
        window = st.wins.setdefault(name, [])
        window.append((t, 1.0, ev.event_id))
        while window and window[0][0] < horizon:
            del window[0]
        if len(failed) >= s.stuffing_accounts:
            fire(ctx, st, name, t, [e for _, _, e in window], first_us=window[0][0],
                 score=base(name), summary=f"failed logins to {len(failed)} accounts from "
                 f"{st.subject_id} in {s.stuffing_window_minutes} min")
            window.clear()
    elif ev.outcome == "allowed" and evidence(ctx, st, name, t, ev.event_id, window_us=window_us):
        # a login that worked from the attacking source: an account is captured, and
        # that account is a subject of its own (its owner must change the password)
        st.scores[name] = round(min(1.0, st.scores.get(name, 0.0) + 0.1), 3)
        account = ev.actor_id or ""
        ctx.updates.append(AlertUpdate(
            enterprise_id=st.enterprise_id, detector="account_takeover",
            subject_type="employee", subject_id=account, fire=True, t_us=t, first_us=t,
            event_ids=[ev.event_id], score=base("account_takeover"),
            summary=f"{account} logged in from {st.subject_id}, a source stuffing "
            "credentials: the password is known to an attacker"))
