"""The monitor's section of the settings tree: detector thresholds and runner batching
(``PARCELGUARD_MONITOR__*``, docs/monitor.md).

Registered by ``monitor/plugin.py`` (``Plugin.settings``); core/settings.py builds the tree."""

from __future__ import annotations

from pydantic import BaseModel, Field


class MonitorSettings(BaseModel):
    """Real-time supervision monitor: detector parameters and runner batching.

    Windows are in event time. Thresholds were tuned on simulator seed 7 and checked
    on other seeds; each states the benign behaviour it must stay above."""

    batch_size: int = Field(
        default=20_000, ge=100, le=500_000,
        description="Events per micro-batch of `monitor run`; state, cursor and new alerts "
        "commit together once per batch.")
    follow_poll_seconds: float = Field(
        default=2.0, gt=0, description="How often `monitor run --follow` looks for new events.")
    evidence_cap: int = Field(
        default=500, ge=10, description="Most event ids kept as an alert's evidence; record_count "
        "keeps counting past it.")
    assignment_lookback_hours: int = Field(
        default=168, ge=1, description="How long a waybill's assignments, stations and prints are "
        "remembered after its last event; older ones cannot cover an access.")
    unassigned_window_minutes: int = Field(
        default=60, ge=1, description="unassigned_access / out_of_station_access: sliding window.")
    uncovered_read_threshold: int = Field(
        default=1, ge=1,
        description="unassigned_access / out_of_station_access: ALLOWED reveals, prints or "
        "shares that no assignment and no honoured form of work covers, in the window. Every "
        "legitimate read rests on a contract form (monitor/forms.py), so one such read is "
        "already a read of PI nobody gave the actor: it alerts at once (low and slow abuse, "
        "a few reads an hour, would otherwise run for hours before any window fills).")
    unassigned_threshold: float = Field(
        default=5.0, gt=0,
        description="unassigned_access: refused reveals or prints with no covering "
        "assignment in the window, weighted 0.5 each (ten refusals in an hour). A benign "
        "courier has a refused call-back after the assignment ended or two a day; refused "
        "reads leak nothing, so only a burst of them (probing) alerts.")
    out_of_station_threshold: float = Field(
        default=3.0, gt=0,
        description="out_of_station_access: refused uncovered accesses to waybills that "
        "never passed the actor's station, weighted 0.5 each, in the window.")
    volume_mad_k: float = Field(
        default=6.0, gt=0,
        description="volume_spike: an hour's PI records must exceed median + k * "
        "MAD of the actor's own active hours and of the role's peers' daily peak hours.")
    volume_min_records: int = Field(
        default=200, ge=1, description="volume_spike: never below this many records in an hour.")
    volume_peak_factor: float = Field(
        default=2.0, ge=1, description="volume_spike: never below this multiple of the actor's own "
        "busiest hour so far (busy hubs peak every afternoon; peers at quiet hubs do not).")
    volume_min_history_hours: int = Field(
        default=6, ge=1, description="volume_spike: active hours of own history needed first.")
    volume_min_peers: int = Field(
        default=5, ge=2, description="volume_spike: peers needed to use the role's baseline.")
    bulk_single_records: int = Field(
        default=1_000, ge=1,
        description="bulk_access: largest single export or search that internal "
        "approval covers (GB/T 35273 §7 bulk copies need approval; approved ones here stay "
        "at a few hundred).")
    bulk_daily_records: int = Field(
        default=2_500, ge=1,
        description="bulk_access: records exported or searched in 24 h. 2,500 is "
        "half of the 5,000 'other records' criminal threshold, the insider figure (SPC/SPP "
        "2017 interpretation, Art. 5).")
    cumulative_export_records: list[int] = Field(
        default_factory=lambda: [1_000, 2_500, 2_500],
        description="cumulative_access: records exported by one actor within 1, 7 and 30 "
        "days. Slicing an export into small pieces adds up: the week and month reach the "
        "insider criminal figure (2,500 'other' records) at most.")
    cumulative_search_records: list[int] = Field(
        default_factory=lambda: [2_500, 2_500, 10_000],
        description="cumulative_access: records returned by one actor's searches within 1, "
        "7 and 30 days: a day or a week reaching the insider criminal figure (2,500), a "
        "month at four times it (benign peaks: ~160 a day on simulator seed 7).")
    export_repeat_count: int = Field(
        default=2, ge=2,
        description="cumulative_access: exports by one actor within export_repeat_minutes "
        "that show an export being sliced (approved exports are one at a time, days apart; "
        "a slicer needs many small ones in a row). Alerts at the slice, not hours later "
        "when the day's records reach cumulative_export_records.")
    export_repeat_minutes: int = Field(
        default=30, ge=1, description="cumulative_access: window of export_repeat_count.")
    cumulative_uncovered_reads: list[float] = Field(
        default_factory=lambda: [8.0, 20.0, 40.0],
        description="cumulative_access: allowed reveals/prints/shares with no covering "
        "assignment or honoured work within 1, 7 and 30 days (refused ones leak nothing): "
        "a few an hour all day stays under unassigned_access's hourly window, not here.")
    wide_scope_roles: list[str] = Field(
        default_factory=lambda: ["warehouse", "sorter"],
        description="wide_scope_query: roles whose job never needs free-form search at "
        "volume.")
    wide_scope_logins: int = Field(
        default=4, ge=2, description="wide_scope_query: logins in 24 h (a shift has one or two).")
    wide_scope_search_records: int = Field(
        default=200, ge=1, description="wide_scope_query: records searched in 24 h.")
    new_source_window_minutes: int = Field(
        default=60, ge=1, description="shared_account: window for new devices or IPs.")
    new_source_threshold: int = Field(
        default=3, ge=2, description="shared_account: accesses from a device or IP the account had "
        "not used in the lookback, in the window (a spare PDA or a day's new mobile IP is "
        "one).")
    source_memory_days: int = Field(
        default=7, ge=1, description="shared_account: how long a device or IP stays known.")
    concurrent_window_seconds: int = Field(
        default=600, ge=10, description="concurrent_places: window in which the account alternates "
        "between networks.")
    concurrent_switches: int = Field(
        default=3, ge=2, description="concurrent_places: back-and-forth switches between two /16 "
        "networks in the window (one person moves, they do not flip-flop).")
    timing_intervals: int = Field(
        default=20, ge=5, description="machine_timing: consecutive intervals examined per device.")
    timing_max_interval_seconds: float = Field(
        default=120.0, gt=0, description="machine_timing: every interval at most this long.")
    timing_max_cv: float = Field(
        default=0.25, gt=0, description="machine_timing: most coefficient of variation of the "
        "intervals (people are near 1).")
    timing_jitter_floor_seconds: float = Field(
        default=0.75, ge=0,
        description="machine_timing: standard deviation always tolerated, because "
        "timestamps have one-second resolution.")
    reprint_window_minutes: int = Field(
        default=30, ge=1, description="label_reprint_burst: window.")
    reprint_threshold: int = Field(
        default=3, ge=1, description="label_reprint_burst: prints, in the window, of waybills the "
        "actor had already printed twice in 24 h (a jammed label is reprinted once; busy "
        "sorting shifts make single reprints cluster, repeated ones do not).")
    print_uncovered_threshold: int = Field(
        default=10, ge=2, description="label_reprint_burst: prints of waybills with no covering "
        "assignment in the window.")
    denial_window_minutes: int = Field(default=30, ge=1, description="denial_burst: window.")
    denial_threshold: int = Field(
        default=10, ge=2, description="denial_burst: denied accesses in the window.")
    stuffing_window_minutes: int = Field(
        default=15, ge=1, description="credential_stuffing: window.")
    stuffing_accounts: int = Field(
        default=10, ge=2,
        description="credential_stuffing: distinct accounts failing to log in from "
        "one source in the window (a typo is one account).")
    scraping_window_minutes: int = Field(default=60, ge=1, description="scraping: window.")
    scraping_threshold: int = Field(
        default=5, ge=1, description="scraping: PI accesses by an external client in the window "
        "(external clients have no legitimate PI access).")
    off_shift_grace_minutes: int = Field(
        default=60, ge=0, description="off_shift: minutes around the rostered shift still counted "
        "as on shift (logins before, late deliveries after).")
    off_shift_boost: float = Field(
        default=0.15, ge=0, le=1, description="off_shift: added to an alert's score when its "
        "triggering access was off shift. Off-shift access alone never alerts.")
    day_offset_hours: int = Field(
        default=8, ge=-12, le=14,
        description="UTC offset of the local day used for daily baselines "
        "(China Standard Time).")
