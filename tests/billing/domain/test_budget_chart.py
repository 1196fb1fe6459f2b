"""Budget use per month and its chart geometry (pure, no database)."""

from datetime import date
from decimal import Decimal as D

import pytest

from billing.domain.budget_chart import (
    Movement,
    budget_use,
    chart_geometry,
    months_between,
    nice_ceiling,
)


def test_months_between_crosses_the_year():
    assert months_between(date(2022, 11, 15), date(2023, 2, 1)) == [
        date(2022, 11, 1),
        date(2022, 12, 1),
        date(2023, 1, 1),
        date(2023, 2, 1),
    ]


def test_cumulative_use_with_a_release_and_movements_outside_the_range():
    uses = budget_use(
        [
            Movement(date(2022, 1, 3), D("241.97")),  # invoiced in advance, before the tranche starts
            Movement(date(2022, 7, 4), D("58.03")),
            Movement(date(2022, 7, 20), D("10.00")),
            Movement(date(2023, 2, 1), D("-58.03")),  # a credit note after the tranche ended
        ],
        first=date(2022, 7, 1),
        last=date(2022, 12, 31),
        cap=D("300.00"),
    )
    assert uses[0].month == date(2022, 1, 1) and uses[-1].month == date(2023, 2, 1)
    by_month = {u.month: u for u in uses}
    assert by_month[date(2022, 6, 1)].consumed == D("241.97")
    july = by_month[date(2022, 7, 1)]
    assert (july.granted, july.consumed, july.remaining) == (D("68.03"), D("310.00"), D("-10.00"))
    february = by_month[date(2023, 2, 1)]
    assert (february.released, february.consumed, february.remaining) == (
        D("58.03"),
        D("251.97"),
        D("48.03"),
    )


def test_without_movements_the_range_is_the_tranche():
    uses = budget_use([], first=date(2023, 1, 1), last=date(2024, 12, 31), cap=None)
    assert len(uses) == 24 and all(u.consumed == 0 and u.remaining is None for u in uses)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (D("0.5"), D("1")),
        (D("241.97"), D("250")),
        (D("300.00"), D("300")),
        (D("301"), D("400")),
        (D("1000"), D("1000")),
        (D("1000.01"), D("1200")),
        (D("2400000"), D("2500000")),
    ],
)
def test_nice_axis_maximum(value, expected):
    assert nice_ceiling(value) == expected


def test_geometry_puts_the_cap_on_top_and_points_on_the_plot():
    uses = budget_use(
        [Movement(date(2022, 1, 1), D("150.00")), Movement(date(2022, 3, 1), D("150.00"))],
        first=date(2022, 1, 1),
        last=date(2022, 3, 31),
        cap=D("300.00"),
    )
    chart = chart_geometry(uses, cap=D("300.00"), width=400, height=200, left=100, right=0, top=0, bottom=100)
    assert chart.y_max == D("300") and chart.cap_y == D("0.0")
    assert chart.consumed_points == "100.0,50.0 250.0,50.0 400.0,0.0"
    assert [t.label for t in chart.y_ticks] == ["0,00 €", "75,00 €", "150,00 €", "225,00 €", "300,00 €"]
    assert [t.label for t in chart.x_ticks] == ["01/2022", "02/2022", "03/2022"]
    assert chart.markers[-1].label == "03/2022: 300,00 €"


def test_geometry_without_cap_and_with_many_months():
    uses = budget_use([], first=date(2023, 1, 1), last=date(2024, 12, 31), cap=None)
    chart = chart_geometry(uses, cap=None)
    assert chart.cap_y is None and chart.y_max == D("100")
    assert len(chart.x_ticks) == 8 and chart.x_ticks[1].label == "04/2023"
    assert all(m.y == chart.bottom for m in chart.markers)
