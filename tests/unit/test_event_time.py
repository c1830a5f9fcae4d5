from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from parcelguard.ledger.decode import _epoch_us

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@given(st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30)),
       st.integers(-14 * 60, 14 * 60))
def test_event_times_convert_to_exact_utc_microseconds(naive: datetime, minutes: int) -> None:
    aware = naive.replace(tzinfo=timezone(timedelta(minutes=minutes)))
    assert _epoch_us(aware.isoformat()) == (aware - EPOCH) // timedelta(microseconds=1)


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)))
def test_whole_second_utc_z_times_take_the_cached_path_correctly(naive: datetime) -> None:
    aware = naive.replace(microsecond=0, tzinfo=UTC)
    text = aware.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert _epoch_us(text) == (aware - EPOCH) // timedelta(microseconds=1)
    assert _epoch_us(text.lower()) == _epoch_us(text)


def test_impossible_times_are_refused() -> None:
    import pytest

    for bad in ("2026-11-11T08:30:60+08:00", "2026-02-30T08:30:00+08:00",
                "2026-11-11T24:30:00Z", "2026-11-11T08:30:00+8:00", "2026-11-11 08:30:00Z"):
        with pytest.raises(ValueError, match=r"RFC 3339|range|month|day|hour|second"):
            _epoch_us(bad)
