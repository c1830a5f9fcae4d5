"""Each detector on a hand-made stream: it fires on the abuse, stays quiet on the
benign look-alike, and names the events that triggered it."""

from __future__ import annotations

from datetime import timedelta

from parcelguard.monitor.settings import MonitorSettings
from tests.unit.monitor.builders import DAY0, Stream, by_detector, run

H = timedelta(hours=1)
M = timedelta(minutes=1)
S = timedelta(seconds=1)


def _roster(s: Stream, *emps: str) -> None:
    for e in emps:
        s.hire(DAY0, e)


def test_reveals_inside_assignments_raise_nothing() -> None:
    s = Stream()
    _roster(s, "emp-1")
    t = DAY0 + 9 * H
    for i in range(30):
        wb = f"WB{i}"
        s.parcel(t, wb, "arrived")
        s.assign(t + M, wb, "emp-1")
        s.access(t + 2 * M, "emp-1", wb=wb)
        t += 10 * M
    assert run(s) == []


def test_unassigned_reveals_at_own_station_alert_with_evidence() -> None:
    s = Stream()
    _roster(s, "emp-1", "emp-2")
    t = DAY0 + 10 * H
    ids = []
    for i in range(6):
        wb = f"WB{i}"
        s.parcel(t, wb, "arrived")
        s.assign(t, wb, "emp-2")  # someone else's parcel at the same outlet
        ids.append(s.access(t + M, "emp-1", wb=wb))
        t += 5 * M
    alerts = by_detector(run(s))
    assert list(alerts) == ["unassigned_access"]
    (alert,) = alerts["unassigned_access"]
    assert alert.subject_id == "emp-1"
    # fired on the first (no form covers it), the others joined the same alert
    assert alert.event_ids == ids
    assert alert.record_count == 6
    assert alert.raised_us == alert.first_us


def test_denied_call_backs_after_the_window_stay_below_the_threshold() -> None:
    s = Stream()
    _roster(s, "emp-1")
    t = DAY0 + 9 * H
    for i in range(4):  # four denied retries in an hour weigh 2 < 5
        s.parcel(t, f"WB{i}", "arrived")
        s.access(t + M, "emp-1", wb=f"WB{i}", outcome="denied")
        t += 10 * M
    assert run(s) == []


def test_denied_probing_alerts_as_a_burst() -> None:
    s = Stream()
    _roster(s, "emp-1")
    t = DAY0 + 9 * H
    ids = []
    for i in range(10):  # ten refusals in an hour weigh 5
        s.parcel(t, f"WB{i}", "arrived")
        ids.append(s.access(t + M, "emp-1", wb=f"WB{i}", outcome="denied"))
        t += 5 * M
    (alert,) = run(s)
    assert alert.detector == "unassigned_access"
    assert alert.event_ids == ids


def test_waybills_of_other_stations_are_out_of_station() -> None:
    s = Stream()
    _roster(s, "emp-1")
    t = DAY0 + 10 * H
    for i in range(3):
        s.parcel(t, f"WB{i}", "arrived", station="st-9")
        s.access(t + 25 * M, "emp-1", wb=f"WB{i}")
        t += 25 * M
    (alert,) = run(s)
    assert alert.detector == "out_of_station_access"
    # a franchise courier reading other outlets' waybills twice an hour is seen at
    # the first read, not when three fall within one hour
    assert alert.raised_us == alert.first_us
    assert len(alert.event_ids) == 3


def test_any_access_after_leaving_alerts_at_once() -> None:
    s = Stream()
    _roster(s, "emp-1")
    s.left(DAY0 + 20 * H, "emp-1")
    login = s.access(DAY0 + 30 * H, "emp-1", "login")
    alerts = run(s)
    assert [(a.detector, a.event_ids) for a in alerts] == [("after_leaving", [login])]
    assert alerts[0].severity == "critical"


def test_pending_background_check_alerts() -> None:
    s = Stream()
    s.hire(DAY0, "emp-1", check="pending")
    s.access(DAY0 + 9 * H, "emp-1", "login")
    assert [a.detector for a in run(s)] == ["unvetted_access"]


def test_off_shift_access_alone_never_alerts_but_raises_scores() -> None:
    s = Stream()
    _roster(s, "emp-1")  # shift 08:00-20:00
    t = DAY0 + 23 * H
    s.access(t, "emp-1", "login")
    s.access(t + M, "emp-1", "search", records=3)
    assert run(s) == []
    s2 = Stream()
    _roster(s2, "emp-1")
    s2.left(DAY0 + 21 * H, "emp-1")
    s2.access(t, "emp-1", "login")
    alert = run(s2)[0]
    assert alert.score > 0.9
    assert "outside the rostered shift" in alert.summary


def test_credential_stuffing_keys_on_the_source() -> None:
    s = Stream()
    t = DAY0 + 3 * H
    for i in range(12):
        s.access(t + i * 2 * S, f"emp-{i:04d}", "login_failed", actor_type="external",
                 outcome="denied", device="ua-1", ip="192.0.2.7", channel="web")
    login = s.access(t + 30 * S, "emp-0003", "login", actor_type="external",
                     device="ua-1", ip="192.0.2.7", channel="web")
    alerts = run(s)
    assert [(a.detector, a.subject_type, a.subject_id) for a in alerts] == [
        ("credential_stuffing", "external", "192.0.2.7"),
        ("account_takeover", "employee", "emp-0003")]
    assert alerts[0].record_count == 13
    assert alerts[1].event_ids == [login]


def test_typos_from_many_offices_are_not_stuffing() -> None:
    s = Stream()
    _roster(s, *(f"emp-{i}" for i in range(12)))
    for i in range(12):
        s.access(DAY0 + 9 * H + i * S, f"emp-{i}", "login_failed", outcome="denied",
                 ip=f"10.0.0.{i}", device=f"ws-{i}")
    assert run(s) == []


def test_machine_regular_timing_and_new_devices_flag_a_rented_account() -> None:
    s = Stream()
    _roster(s, "emp-1")
    t = DAY0 + 22 * H
    for i in range(75):
        dev = f"dev-{i // 25}"  # the renter's tool rotates devices and proxies
        s.access(t + i * 3 * S, "emp-1", "search", records=1, device=dev,
                 ip=f"198.51.100.{i // 25}")
    detectors = {a.detector for a in run(s)}
    assert {"machine_timing", "shared_account"} <= detectors


def test_label_reprints_of_the_same_waybill() -> None:
    s = Stream()
    _roster(s, "emp-1")
    t = DAY0 + 10 * H
    s.parcel(t, "WB1", "arrived")
    s.assign(t, "WB1", "emp-1")
    for i in range(6):
        s.access(t + i * M, "emp-1", "print_label", wb="WB1")
    assert [a.detector for a in run(s)] == ["label_reprint_burst"]


def test_bulk_export_beyond_approval() -> None:
    s = Stream()
    _roster(s, "emp-1")
    s.access(DAY0 + 10 * H, "emp-1", "export", records=300)  # an approved audit export
    assert run(s) == []
    big = s.access(DAY0 + 11 * H, "emp-1", "export", records=40_000)
    alert = run(s)[0]
    assert alert.detector == "bulk_access"
    assert big in alert.event_ids


def test_external_client_reading_pi_is_scraping() -> None:
    s = Stream()
    for i in range(5):
        s.access(DAY0 + 10 * H + i * 7 * M, "cli-1", wb=f"WB{i}", actor_type="external",
                 device=None, ip="198.51.100.9", channel="api")
    assert [a.detector for a in run(s)] == ["scraping"]


def test_thresholds_come_from_settings() -> None:
    s = Stream()
    _roster(s, "emp-1")
    t = DAY0 + 10 * H
    for i in range(3):
        s.parcel(t, f"WB{i}", "arrived")
        s.access(t + M, "emp-1", wb=f"WB{i}")
    assert run(s, MonitorSettings(uncovered_read_threshold=4)) == []
    assert [a.detector for a in run(s, MonitorSettings(uncovered_read_threshold=3))] == [
        "unassigned_access"]
