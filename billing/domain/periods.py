"""Calendar helpers for billed periods; all ranges are inclusive of both ends.

FUNDING.md: maintenance is billed per calendar year in advance; partial years
are charged pro rata by days (365 or 366).
"""

from __future__ import annotations

import calendar
from datetime import date

__all__ = ["billed_period", "calendar_year_periods", "days_inclusive", "year_days"]


def year_days(year: int) -> int:
    """Days of the calendar year: 366 in leap years, else 365."""
    return 366 if calendar.isleap(year) else 365


def days_inclusive(start: date, end: date) -> int:
    """Days from ``start`` to ``end``, both counted: 2022-07-01–2022-12-31 → 184."""
    if end < start:
        raise ValueError(f"Ende {end:%d.%m.%Y} liegt vor Beginn {start:%d.%m.%Y}")
    return (end - start).days + 1


def calendar_year_periods(start: date, end: date) -> list[tuple[date, date]]:
    """Split ``start``–``end`` at year boundaries, for billing runs.

    2022-03-01–2023-02-28 → [(2022-03-01, 2022-12-31), (2023-01-01, 2023-02-28)].
    """
    if end < start:
        raise ValueError(f"Ende {end:%d.%m.%Y} liegt vor Beginn {start:%d.%m.%Y}")
    return [
        (max(start, date(year, 1, 1)), min(end, date(year, 12, 31)))
        for year in range(start.year, end.year + 1)
    ]


def billed_period(started_on: date, ends_on: date | None, year: int) -> tuple[date, date] | None:
    """The part of calendar ``year`` a subscription running from ``started_on`` to ``ends_on``
    (open: None) is billed for, or None when it does not run in that year."""
    start = max(started_on, date(year, 1, 1))
    end = min(ends_on or date(year, 12, 31), date(year, 12, 31))
    return (start, end) if start <= end else None
