"""FUNDING.md "Worked examples (net, 19 % VAT)", one test each, to the cent."""

from datetime import date
from decimal import Decimal

import pytest

from billing.domain.subsidy import (
    Category,
    OneTimeLine,
    PeriodLine,
    invoice_totals,
    quote_line,
    saxony_programme,
)

pytestmark = pytest.mark.pure

D = Decimal
SAXONY = (saxony_programme(),)


def test_example_1_setup_of_central_assistant_is_free():
    # Given an order on 2022-09-15 of a central assistant, setup 1.200,00 €
    line = OneTimeLine("buergerservice", Category.CENTRAL, "setup", D("1200.00"), date(2022, 9, 15))

    # When quoted under the Saxon programme
    quote = quote_line(line, SAXONY)

    # Then the subsidy is 1.200,00 € and nothing is due
    assert quote.list_net == D("1200.00")
    assert quote.subsidy == D("1200.00")
    assert quote.net_due == D("0.00")
    assert quote.provisional is False
    assert [(a.tranche_id, a.amount, a.covered_days) for a in quote.applied] == [(1, D("1200.00"), None)]
    assert quote.explanation == "Förderung Freistaat Sachsen: 100 % Rabatt auf Einrichtung und Konfiguration"
    totals = invoice_totals([quote])
    assert (totals.vat, totals.gross_due) == (D("0.00"), D("0.00"))
    assert totals.settled_by_subsidy


def test_example_2_maintenance_from_activation_before_programme():
    # Given maintenance 480,00 €/year, activated 2022-03-01, billed to year end
    line = PeriodLine(
        "buergerservice", Category.CENTRAL, "maintenance", D("480.00"), date(2022, 3, 1), date(2022, 12, 31)
    )

    # When quoted and invoiced
    quote = quote_line(line, SAXONY)
    totals = invoice_totals([quote])

    # Then 306 of 365 days are charged and the 184 days from 2022-07-01 are funded
    assert (quote.period_days, quote.year_days) == (306, 365)
    assert quote.list_net == D("402.41")
    assert quote.subsidy == D("241.97")  # 480 × 184/365 = 241,9726…
    assert quote.net_due == D("160.44")
    assert [(a.tranche_id, a.covered_days, a.amount) for a in quote.applied] == [(1, 184, D("241.97"))]
    assert quote.provisional is False
    assert quote.explanation == (
        "Förderung Freistaat Sachsen: 100 % Rabatt auf Softwarepflege und Support, 184 von 306 Tagen"
    )
    assert totals.net_due == D("160.44")
    assert totals.vat == D("30.48")
    assert totals.gross_due == D("190.92")
    assert not totals.settled_by_subsidy


def test_example_3_efa_assistant_gets_no_subsidy():
    line = OneTimeLine("efa-dienst", Category.EFA, "setup", D("1200.00"), date(2023, 5, 2))

    quote = quote_line(line, SAXONY)

    assert quote.subsidy == D("0.00")
    assert quote.net_due == D("1200.00")
    assert quote.applied == ()
    assert quote.provisional is False
    assert quote.explanation == "Keine Förderung: Kategorie Einer für Alle (EfA) ist nicht förderfähig"


def test_example_3_efa_maintenance_gets_no_subsidy_either():
    line = PeriodLine(
        "efa-dienst", Category.EFA, "maintenance", D("480.00"), date(2023, 5, 2), date(2023, 12, 31)
    )

    quote = quote_line(line, SAXONY)

    assert quote.subsidy == D("0.00")
    assert quote.net_due == quote.list_net == D("320.88")  # 480 × 244/365 = 320,876…


def test_example_4_maintenance_for_2025_is_after_the_programme():
    line = PeriodLine(
        "buergerservice", Category.CENTRAL, "maintenance", D("480.00"), date(2025, 1, 1), date(2025, 12, 31)
    )

    quote = quote_line(line, SAXONY)

    assert quote.list_net == D("480.00")
    assert quote.subsidy == D("0.00")
    assert quote.net_due == D("480.00")
    assert quote.applied == ()
    assert quote.explanation == "Keine Förderung: Leistungszeitraum außerhalb des Förderzeitraums"
    assert invoice_totals([quote]).gross_due == D("571.20")
