"""Invoice totals: VAT per rate on summed net due (EN 16931 BR-CO-17)."""

from datetime import date
from decimal import Decimal

import pytest

from billing.domain.subsidy import (
    Category,
    OneTimeLine,
    PeriodLine,
    VatGroup,
    invoice_totals,
    quote_line,
    saxony_programme,
)

pytestmark = pytest.mark.pure

D = Decimal
SAXONY = (saxony_programme(),)


def customization(net, vat_rate="19"):
    return quote_line(
        OneTimeLine("x", Category.CENTRAL, "customization", D(net), date(2022, 9, 15), vat_rate=D(vat_rate)),
        SAXONY,
    )


def test_vat_is_rounded_once_per_rate_not_per_line():
    # Three lines of 0,10 €: per line 0,019 → 0,02 each (0,06), per rate 0,30 × 19 % = 0,057 → 0,06.
    # Two lines of 0,03 €: per line 0,0057 → 0,01 each (0,02), per rate 0,06 × 19 % = 0,0114 → 0,01.
    totals = invoice_totals([customization("0.03"), customization("0.03")])
    assert totals.vat == D("0.01")
    assert totals.gross_due == D("0.07")


def test_groups_sorted_by_rate_and_totals_are_sums():
    quotes = [customization("100.00", "19"), customization("50.00", "7"), customization("0.10", "19")]

    totals = invoice_totals(quotes)

    assert totals.vat_groups == (
        VatGroup(rate=D("7"), base=D("50.00"), vat=D("3.50")),
        VatGroup(rate=D("19"), base=D("100.10"), vat=D("19.02")),  # 19,019 → 19,02
    )
    assert totals.list_net == D("150.10")
    assert totals.subsidy == D("0.00")
    assert totals.net_due == D("150.10")
    assert totals.vat == D("22.52")
    assert totals.gross_due == D("172.62")


def test_equal_rates_written_differently_are_one_group():
    totals = invoice_totals([customization("10.00", "19"), customization("10.00", "19.00")])
    assert len(totals.vat_groups) == 1
    assert totals.vat == D("3.80")


def test_fully_subsidised_invoice_is_settled_by_subsidy():
    setup = quote_line(OneTimeLine("x", Category.CENTRAL, "setup", D("1200.00"), date(2022, 9, 15)), SAXONY)
    maintenance = quote_line(
        PeriodLine("x", Category.CENTRAL, "maintenance", D("480.00"), date(2023, 1, 1), date(2023, 12, 31)),
        SAXONY,
    )

    totals = invoice_totals([setup, maintenance])

    assert totals.list_net == D("1680.00")
    assert totals.subsidy == D("1680.00")
    assert (totals.net_due, totals.vat, totals.gross_due) == (D("0.00"), D("0.00"), D("0.00"))
    assert totals.vat_groups == (VatGroup(rate=D("19"), base=D("0.00"), vat=D("0.00")),)
    assert totals.settled_by_subsidy


def test_empty_invoice_is_all_zero():
    totals = invoice_totals([])
    assert (totals.list_net, totals.subsidy, totals.net_due, totals.vat, totals.gross_due) == (D("0.00"),) * 5
    assert totals.vat_groups == ()
    assert not totals.settled_by_subsidy


def test_zero_rate_group():
    totals = invoice_totals([customization("10.00", "0")])
    assert totals.vat_groups == (VatGroup(rate=D("0"), base=D("10.00"), vat=D("0.00")),)
    assert totals.gross_due == D("10.00")
