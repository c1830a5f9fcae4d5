"""The detectors: each a named rule with a base score, documented here once (the
docs and the API list come from this table). Parameters live in ``MonitorSettings``.

A detector's score starts at its base and rises by 0.1 for every doubling past its
threshold, plus ``off_shift_boost`` when the triggering access was off shift;
``alerts.severity`` maps the score to low/medium/high/critical.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Detector:
    name: str
    base: float
    subject: str
    rule: str


_ALL = (
    Detector("unassigned_access", 0.5, "actor",
             "Reveals, prints or shares by an employee that no assignment and no honoured "
             "form of work covers, on parcels of their own station (or unknown ones): "
             "uncovered_read_threshold allowed ones (1: at the first) within "
             "unassigned_window_minutes, or refused ones weighing unassigned_threshold "
             "(0.5 each)."),
    Detector("out_of_station_access", 0.6, "actor",
             "Uncovered reveals, prints or shares of waybills that never passed the actor's "
             "station (YTO 2020): uncovered_read_threshold allowed ones, or refused ones "
             "weighing out_of_station_threshold, in the window."),
    Detector("volume_spike", 0.5, "actor",
             "PI records in one hour exceed median + volume_mad_k * MAD of the actor's own "
             "active hours, volume_peak_factor times their busiest hour so far, and median "
             "+ volume_mad_k * MAD of the daily peak hours of the role's peers in the "
             "enterprise the previous day (never below volume_min_records)."),
    Detector("wide_scope_query", 0.6, "actor",
             "A warehouse/sorting role (wide_scope_roles) logs in wide_scope_logins times "
             "and searches wide_scope_search_records records within 24 h (SF 2016-18)."),
    Detector("bulk_access", 0.6, "actor",
             "One export or search above bulk_single_records (what approval covers), or "
             "bulk_daily_records exported or searched in 24 h (half the 5,000-record "
             "criminal threshold: the insider figure)."),
    Detector("cumulative_access", 0.6, "actor",
             "Slow abuse: records exported (cumulative_export_records), records searched "
             "(cumulative_search_records) or allowed uncovered waybill reads "
             "(cumulative_uncovered_reads) by one actor reach their threshold within 1, 7 "
             "or 30 days, however thinly sliced; or export_repeat_count exports within "
             "export_repeat_minutes (an export taken in slices, seen at the slice)."),
    Detector("after_leaving", 0.9, "actor",
             "Any access under an employee's account after their `left` roster event."),
    Detector("unvetted_access", 0.75, "actor",
             "Any access by an employee whose background check is pending or failed."),
    Detector("shared_account", 0.6, "actor",
             "new_source_threshold accesses from devices or IPs the account had not used in "
             "source_memory_days, within new_source_window_minutes (rented or shared "
             "accounts rotate devices and proxies)."),
    Detector("concurrent_places", 0.7, "actor",
             "The account flips between two /16 networks concurrent_switches times within "
             "concurrent_window_seconds: two places at once cannot both be true."),
    Detector("machine_timing", 0.55, "actor",
             "timing_intervals consecutive intervals on one device, each at most "
             "timing_max_interval_seconds, with a coefficient of variation at most "
             "timing_max_cv (scripts; people are irregular)."),
    Detector("label_reprint_burst", 0.5, "actor",
             "reprint_threshold prints of waybills the actor already printed twice in 24 h, "
             "or print_uncovered_threshold prints with no covering assignment, within "
             "reprint_window_minutes."),
    Detector("denial_burst", 0.4, "actor",
             "denial_threshold denied accesses within denial_window_minutes."),
    Detector("credential_stuffing", 0.7, "source",
             "Failed logins to stuffing_accounts distinct accounts from one source (IP, else "
             "device) within stuffing_window_minutes; successful logins from it join the "
             "evidence (captured accounts)."),
    Detector("account_takeover", 0.85, "account",
             "A successful login to an account from a source while it is stuffing "
             "credentials (an open credential_stuffing episode): the account is "
             "captured."),
    Detector("scraping", 0.7, "actor",
             "scraping_threshold PI accesses by an external client within "
             "scraping_window_minutes: external clients have no legitimate PI access."),
    Detector("ledger_tamper", 1.0, "ledger",
             "The supervision witness found that an enterprise's log no longer extends the "
             "checkpoint it accepted (rewritten, reordered, truncated or forked history)."),
)

DETECTORS: dict[str, Detector] = {d.name: d for d in _ALL}

# off_shift is a modifier, not a detector: it never alerts on its own.
OFF_SHIFT_RULE = ("An access outside the rostered shift (off_shift_grace_minutes either "
                  "side) adds off_shift_boost to the score of any alert it triggers.")


def base(name: str) -> float:
    return DETECTORS[name].base
