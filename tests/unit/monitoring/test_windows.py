"""Window arithmetic: durations, hour partitions, hourly / daily / rolling windows."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from steward.core.errors import InvalidArgument
from steward.monitoring.windows import (
    DAY,
    HOUR,
    MINUTE,
    Window,
    WindowSpec,
    format_duration,
    format_ms,
    hour_fully_inside,
    hour_key,
    hour_start,
    hours_of,
    parse_duration,
    parse_iso,
)

T = parse_iso("2024-05-01T10:20:30Z")


@pytest.mark.parametrize(
    ("text", "ms"),
    [("150ms", 150), ("90s", 90_000), ("30m", 30 * MINUTE), ("1h", HOUR), ("7d", 7 * DAY), ("1w", 7 * DAY)],
)
def test_durations_parse_with_their_units(text: str, ms: int) -> None:
    assert parse_duration(text) == ms
    assert parse_duration(format_duration(ms)) == ms


@pytest.mark.parametrize("text", ["", "7", "7 parsecs", "-1h", "0m", "h", "1.5.2h"])
def test_bad_durations_name_the_rule(text: str) -> None:
    with pytest.raises(InvalidArgument, match="duration"):
        parse_duration(text)


def test_times_parse_with_offsets_and_naive_means_utc() -> None:
    assert parse_iso("2024-05-01T12:20:30+02:00") == T
    assert parse_iso("2024-05-01T10:20:30") == T
    assert format_ms(T) == "2024-05-01T10:20:30Z"
    with pytest.raises(InvalidArgument):
        parse_iso("yesterday")


@given(st.integers(min_value=0, max_value=4_000_000_000_000))
def test_every_time_lies_in_its_hour_partition(ms: int) -> None:
    start = hour_start(hour_key(ms))
    assert start <= ms < start + HOUR and start % HOUR == 0


def test_a_window_must_end_after_it_starts() -> None:
    with pytest.raises(InvalidArgument):
        Window(5, 5)
    w = Window(0, 10)
    assert w.contains(0) and not w.contains(10) and w.length_ms == 10
    assert w.covers(0, 9) and not w.covers(0, 10)
    assert w.overlaps(9, 20) and not w.overlaps(10, 20) and w.overlaps(-5, 0)


def test_a_window_reads_the_hours_it_overlaps_and_filters_only_the_cut_ones() -> None:
    w = Window(T - 2 * HOUR, T)  # 08:20:30 .. 10:20:30
    assert list(hours_of(w)) == ["2024-05-01T08", "2024-05-01T09", "2024-05-01T10"]
    assert [hour_fully_inside(h, w) for h in hours_of(w)] == [False, True, False]
    aligned = Window(hour_start("2024-05-01T08"), hour_start("2024-05-01T10"))
    assert list(hours_of(aligned)) == ["2024-05-01T08", "2024-05-01T09"]
    assert all(hour_fully_inside(h, aligned) for h in hours_of(aligned))


def test_rolling_windows_end_now() -> None:
    spec = WindowSpec.parse("7d")
    assert spec.kind == "rolling" and spec.text == "7d"
    assert spec.window_at(T) == Window(T - 7 * DAY, T)
    assert WindowSpec.parse("rolling 6h") == WindowSpec.parse("6h")


def test_hourly_and_daily_windows_are_the_last_complete_period() -> None:
    hourly = WindowSpec.parse("hourly").window_at(T)
    assert (format_ms(hourly.start_ms), format_ms(hourly.end_ms)) == ("2024-05-01T09:00:00Z", "2024-05-01T10:00:00Z")
    daily = WindowSpec.parse("daily").window_at(T)
    assert (format_ms(daily.start_ms), format_ms(daily.end_ms)) == ("2024-04-30T00:00:00Z", "2024-05-01T00:00:00Z")
    exactly = WindowSpec.parse("hourly").window_at(hour_start("2024-05-01T10"))
    assert format_ms(exactly.end_ms) == "2024-05-01T10:00:00Z"


def test_windows_between_tile_a_range() -> None:
    start, end = hour_start("2024-05-01T00"), hour_start("2024-05-01T06")
    hourly = WindowSpec.parse("hourly").windows_between(start, end)
    assert len(hourly) == 6 and hourly[0].start_ms == start and hourly[-1].end_ms == end
    assert all(a.end_ms == b.start_ms for a, b in itertools.pairwise(hourly))
    rolling = WindowSpec.parse("3h").windows_between(start, end, step_ms=HOUR)
    assert [w.end_ms for w in rolling] == [start + k * HOUR for k in range(1, 7)]
    assert all(w.length_ms == 3 * HOUR for w in rolling)
    assert WindowSpec.parse("daily").windows_between(end, start) == []
