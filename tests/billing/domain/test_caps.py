"""Budget caps, pure part: the crossing line gets the remainder, later lines none."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from billing.domain.subsidy import (
    Category,
    OneTimeLine,
    PeriodLine,
    Programme,
    Tranche,
    TrancheStatus,
    allocate_cap,
    apply_caps,
    initial_budgets,
    quote_line,
    saxony_programme,
)

pytestmark = pytest.mark.pure

D = Decimal


@pytest.mark.parametrize(
    ("requested", "remaining", "granted", "after"),
    [
        (D("100.00"), None, D("100.00"), None),  # no cap
        (D("100.00"), D("500.00"), D("100.00"), D("400.00")),
        (D("100.00"), D("100.00"), D("100.00"), D("0.00")),  # exactly used up
        (D("100.00"), D("30.01"), D("30.01"), D("0.00")),  # crossing line: the remainder
        (D("100.00"), D("0.00"), D("0.00"), D("0.00")),  # later lines: none
        (D("0.00"), D("0.00"), D("0.00"), D("0.00")),
        (D("100.00"), D("-5.00"), D("0.00"), D("-5.00")),  # overspent budget is not made worse
    ],
)
def test_allocate_cap(requested, remaining, granted, after):
    assert allocate_cap(requested, remaining) == (granted, after)


def test_allocate_cap_refuses_negative_and_float():
    with pytest.raises(ValueError):
        allocate_cap(D("-1"), D("10"))
    with pytest.raises(TypeError):
        allocate_cap(1.0, D("10"))


def capped_saxony(cap):
    p = saxony_programme()
    return replace(p, tranches=(replace(p.tranches[0], cap=D(cap)), p.tranches[1]))


def setup(net, day=date(2022, 9, 15)):
    return OneTimeLine("x", Category.CENTRAL, "setup", D(net), day)


def test_lines_in_issue_order_use_up_the_cap():
    # Given tranche 1 capped at 2.500,00 € and three setups of 1.200,00 €
    programme = capped_saxony("2500.00")
    budgets = initial_budgets([programme])
    assert budgets == {("saxony-2022", 1): D("2500.00")}

    # When issued in order
    results = []
    for _ in range(3):
        quote, budgets = apply_caps(quote_line(setup("1200.00"), [programme]), budgets)
        results.append(quote)

    # Then 1.200 + 1.200 + the 100,00 € remainder, and the cap is used up
    assert [q.subsidy for q in results] == [D("1200.00"), D("1200.00"), D("100.00")]
    assert [q.net_due for q in results] == [D("0.00"), D("0.00"), D("1100.00")]
    assert [q.budget_exhausted for q in results] == [False, False, True]
    assert budgets == {("saxony-2022", 1): D("0.00")}
    crossing = results[2]
    assert [(a.amount, a.capped) for a in crossing.applied] == [(D("100.00"), True)]
    assert crossing.explanation == (
        "Förderung Freistaat Sachsen: 100 % Rabatt auf Einrichtung und Konfiguration, "
        "Förderbudget ausgeschöpft"
    )

    # And a later line gets nothing, and says why
    later, budgets = apply_caps(quote_line(setup("1200.00"), [programme]), budgets)
    assert later.subsidy == D("0.00")
    assert later.net_due == D("1200.00")
    assert later.applied == ()
    assert later.provisional is False
    assert later.explanation == "Keine Förderung: Förderbudget ausgeschöpft"
    assert budgets == {("saxony-2022", 1): D("0.00")}


def test_uncapped_tranche_is_untouched():
    quote = quote_line(setup("1200.00"), [saxony_programme()])

    same, budgets = apply_caps(quote, {("saxony-2022", 2): D("5.00")})

    assert same is quote
    assert budgets == {("saxony-2022", 2): D("5.00")}


def test_none_remaining_means_no_cap():
    quote = quote_line(setup("1200.00"), [saxony_programme()])
    same, budgets = apply_caps(quote, {("saxony-2022", 1): None})
    assert same is quote
    assert budgets == {("saxony-2022", 1): None}


def test_apply_caps_does_not_mutate_the_callers_mapping():
    programme = capped_saxony("10.00")
    budgets = initial_budgets([programme])
    apply_caps(quote_line(setup("1200.00"), [programme]), budgets)
    assert budgets == {("saxony-2022", 1): D("10.00")}


def test_cap_cuts_only_the_capped_tranche_of_a_line():
    # A year whose halves are two tranches, the second capped at 10,00 €.
    programme = Programme(
        id="p",
        name="Halbjahre",
        funder="Testland",
        categories=frozenset({Category.CENTRAL}),
        coverage={"maintenance": D("100")},
        tranches=(
            Tranche("h1", "H1", date(2026, 1, 1), date(2026, 6, 30), TrancheStatus.CONFIRMED),
            Tranche(
                "h2", "H2", date(2026, 7, 1), date(2026, 12, 31), TrancheStatus.PROVISIONAL, cap=D("10.00")
            ),
        ),
    )
    line = PeriodLine("x", Category.CENTRAL, "maintenance", D("100.00"), date(2026, 1, 1), date(2026, 12, 31))

    quote, budgets = apply_caps(quote_line(line, [programme]), initial_budgets([programme]))

    assert [(a.tranche_id, a.amount, a.capped) for a in quote.applied] == [
        ("h1", D("49.59"), False),
        ("h2", D("10.00"), True),
    ]
    assert quote.subsidy == D("59.59")
    assert quote.net_due == D("40.41")
    assert quote.provisional is True
    assert budgets == {("p", "h2"): D("0.00")}
    assert quote.explanation.endswith("(vorbehaltlich Haushaltsbeschluss), Förderbudget ausgeschöpft")

    # Next year's line: H2's budget is gone, H1 still pays, the line is no longer provisional
    quote2, _ = apply_caps(quote_line(line, [programme]), budgets)
    assert [(a.tranche_id, a.amount) for a in quote2.applied] == [("h1", D("49.59"))]
    assert quote2.provisional is False
    assert quote2.subsidy == D("49.59")


def test_partly_exhausted_second_programme_is_named():
    other = Programme(
        id="bund",
        name="Bundesprogramm",
        funder="Bund",
        categories=frozenset({Category.CENTRAL}),
        coverage={"setup": D("20")},
        tranches=(
            Tranche("b", "B", date(2022, 1, 1), date(2022, 12, 31), TrancheStatus.CONFIRMED, cap=D("0.00")),
        ),
    )
    sax = replace(saxony_programme(), coverage={"setup": D("50")})

    quote, _ = apply_caps(quote_line(setup("1000.00"), [sax, other]), initial_budgets([sax, other]))

    assert quote.subsidy == D("500.00")
    assert quote.explanation == (
        "Förderung Freistaat Sachsen: 50 % Rabatt auf Einrichtung und Konfiguration; "
        "Förderung Bund: Förderbudget ausgeschöpft"
    )
