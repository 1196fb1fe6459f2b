"""Calendar helpers: inclusive day counts, leap years, splitting at year ends."""

from datetime import date, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.domain.periods import calendar_year_periods, days_inclusive, year_days

pytestmark = pytest.mark.pure


@pytest.mark.parametrize(
    ("year", "days"), [(2022, 365), (2023, 365), (2024, 366), (2000, 366), (1900, 365), (2100, 365)]
)
def test_year_days(year, days):
    assert year_days(year) == days


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        (date(2022, 7, 1), date(2022, 12, 31), 184),
        (date(2022, 3, 1), date(2022, 12, 31), 306),
        (date(2022, 1, 1), date(2022, 1, 1), 1),
        (date(2024, 1, 1), date(2024, 12, 31), 366),
        (date(2024, 2, 28), date(2024, 3, 1), 3),
    ],
)
def test_days_inclusive(start, end, days):
    assert days_inclusive(start, end) == days


def test_days_inclusive_rejects_reversed_range():
    with pytest.raises(ValueError, match="liegt vor Beginn"):
        days_inclusive(date(2022, 2, 1), date(2022, 1, 31))


def test_calendar_year_periods_splits_at_year_ends():
    assert calendar_year_periods(date(2022, 3, 1), date(2024, 2, 29)) == [
        (date(2022, 3, 1), date(2022, 12, 31)),
        (date(2023, 1, 1), date(2023, 12, 31)),
        (date(2024, 1, 1), date(2024, 2, 29)),
    ]


def test_calendar_year_periods_within_one_year():
    assert calendar_year_periods(date(2022, 5, 5), date(2022, 5, 5)) == [(date(2022, 5, 5), date(2022, 5, 5))]


def test_calendar_year_periods_rejects_reversed_range():
    with pytest.raises(ValueError):
        calendar_year_periods(date(2023, 1, 1), date(2022, 12, 31))


@settings(max_examples=1000, deadline=None)
@given(st.dates(date(2000, 1, 1), date(2040, 12, 31)), st.integers(0, 3000))
def test_calendar_year_periods_tile_the_range(start, length):
    end = start + timedelta(days=length)
    parts = calendar_year_periods(start, end)
    assert parts[0][0] == start
    assert parts[-1][1] == end
    assert sum(days_inclusive(a, b) for a, b in parts) == days_inclusive(start, end)
    for a, b in parts:
        assert a.year == b.year
    for (_, b), (a, _) in pairwise(parts):
        assert a == b + timedelta(days=1)
