"""Budget use of a tranche over time, and the geometry of its chart (pure: no Django, no clock).

A grant counts in the month of the invoice that granted it; a withdrawal (credit note or
rebilling after a rejection) releases it in the month of the document that withdrew it, as the
budget ledger does (billing/invoicing.py). The chart is drawn on the server as SVG; its
coordinates are computed here so that they can be tested without a browser.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from .money import ZERO, format_eur

__all__ = [
    "ChartGeometry",
    "Marker",
    "MonthUse",
    "Movement",
    "Tick",
    "budget_use",
    "chart_geometry",
    "months_between",
]


@dataclass(frozen=True)
class Movement:
    """Budget booked in a month: positive = granted, negative = released again."""

    month: date
    amount: Decimal


@dataclass(frozen=True)
class MonthUse:
    month: date
    granted: Decimal
    released: Decimal
    #: cumulative at the end of the month
    consumed: Decimal
    #: cap − consumed; None for a tranche without cap
    remaining: Decimal | None


def _month(day: date) -> date:
    return day.replace(day=1)


def months_between(first: date, last: date) -> list[date]:
    """First days of every month from ``first``'s month to ``last``'s month (inclusive)."""
    current, end = _month(first), _month(last)
    months = []
    while current <= end:
        months.append(current)
        current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
    return months


def budget_use(
    movements: Iterable[Movement], *, first: date, last: date, cap: Decimal | None
) -> tuple[MonthUse, ...]:
    """Cumulative use per month. The range covers ``first``–``last`` and every movement."""
    granted: dict[date, Decimal] = {}
    released: dict[date, Decimal] = {}
    for movement in movements:
        month = _month(movement.month)
        first, last = min(first, month), max(last, month)
        target = granted if movement.amount >= 0 else released
        target[month] = target.get(month, ZERO) + abs(movement.amount)
    consumed = ZERO
    result = []
    for month in months_between(first, last):
        plus, minus = granted.get(month, ZERO), released.get(month, ZERO)
        consumed += plus - minus
        result.append(
            MonthUse(
                month=month,
                granted=plus,
                released=minus,
                consumed=consumed,
                remaining=None if cap is None else cap - consumed,
            )
        )
    return tuple(result)


# --- chart geometry -------------------------------------------------------------------------


@dataclass(frozen=True)
class Tick:
    position: Decimal
    label: str


@dataclass(frozen=True)
class Marker:
    x: Decimal
    y: Decimal
    label: str


@dataclass(frozen=True)
class ChartGeometry:
    width: int
    height: int
    left: int
    top: int
    right: int
    bottom: int
    #: SVG ``points`` of the consumed line
    consumed_points: str
    markers: tuple[Marker, ...]
    #: y of the cap line; None without cap
    cap_y: Decimal | None
    y_max: Decimal
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]


_PIXEL = Decimal("0.1")
_NICE_STEPS = tuple(Decimal(s) for s in ("1", "1.2", "1.5", "2", "2.5", "3", "4", "5", "6", "8", "10"))


def _px(value: Decimal) -> Decimal:
    return value.quantize(_PIXEL, rounding=ROUND_HALF_UP)


def nice_ceiling(value: Decimal) -> Decimal:
    """The smallest round axis maximum (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k) >= ``value``; at least 1."""
    if value <= 1:
        return Decimal(1)
    exponent = value.adjusted()
    scale = Decimal(10) ** exponent
    for step in _NICE_STEPS:
        if step * scale >= value:
            return (step * scale).quantize(Decimal(1), rounding=ROUND_CEILING)
    return Decimal(10) * scale  # not reached: 10 × 10^k > value


def chart_geometry(
    uses: Sequence[MonthUse],
    *,
    cap: Decimal | None,
    width: int = 680,
    height: int = 260,
    left: int = 112,
    right: int = 16,
    top: int = 16,
    bottom: int = 40,
    y_ticks: int = 4,
    max_x_labels: int = 8,
) -> ChartGeometry:
    """Coordinates of a line chart: cumulative consumption per month against the cap."""
    plot_left, plot_right = left, width - right
    plot_top, plot_bottom = top, height - bottom
    highest = max([u.consumed for u in uses] + [cap or ZERO, ZERO])
    y_max = nice_ceiling(highest) if highest > 0 else Decimal(100)
    plot_height = Decimal(plot_bottom - plot_top)
    plot_width = Decimal(plot_right - plot_left)

    def y_of(amount: Decimal) -> Decimal:
        return _px(Decimal(plot_bottom) - plot_height * max(amount, ZERO) / y_max)

    def x_of(index: int) -> Decimal:
        if len(uses) <= 1:
            return _px(Decimal(plot_left) + plot_width / 2)
        return _px(Decimal(plot_left) + plot_width * index / (len(uses) - 1))

    markers = tuple(
        Marker(
            x=x_of(i),
            y=y_of(u.consumed),
            label=f"{u.month:%m/%Y}: {format_eur(u.consumed)}",
        )
        for i, u in enumerate(uses)
    )
    step = max(1, -(-len(uses) // max_x_labels))  # ceiling division
    x_ticks = tuple(Tick(x_of(i), f"{u.month:%m/%Y}") for i, u in enumerate(uses) if i % step == 0)
    ticks = tuple(
        Tick(y_of(y_max * i / y_ticks), format_eur(y_max * i / y_ticks)) for i in range(y_ticks + 1)
    )
    return ChartGeometry(
        width=width,
        height=height,
        left=plot_left,
        top=plot_top,
        right=plot_right,
        bottom=plot_bottom,
        consumed_points=" ".join(f"{m.x},{m.y}" for m in markers),
        markers=markers,
        cap_y=None if cap is None else y_of(cap),
        y_max=y_max,
        y_ticks=ticks,
        x_ticks=x_ticks,
    )
