"""Invalid programmes, tranches and lines are refused with German messages."""

import pickle
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

import pytest

from billing.domain.subsidy import (
    Category,
    OneTimeLine,
    PeriodLine,
    Programme,
    Tranche,
    TrancheStatus,
    quote_line,
    saxony_programme,
)

pytestmark = pytest.mark.pure

D = Decimal
CONFIRMED = TrancheStatus.CONFIRMED


def programme(**changes):
    fields = {
        "id": "p",
        "name": "Testprogramm",
        "funder": "Testland",
        "categories": frozenset({Category.CENTRAL}),
        "coverage": {"setup": D("100")},
        "tranches": (Tranche(1, "T1", date(2026, 1, 1), date(2026, 12, 31), CONFIRMED),),
    }
    return Programme(**{**fields, **changes})


# --- Tranches ---------------------------------------------------------------------


def test_tranche_end_before_start():
    with pytest.raises(ValueError, match="Ende 31.12.2025 liegt vor Beginn 01.01.2026"):
        Tranche(1, "T", date(2026, 1, 1), date(2025, 12, 31), CONFIRMED)


def test_tranche_of_one_day_is_fine():
    assert Tranche(1, "T", date(2026, 1, 1), date(2026, 1, 1), CONFIRMED).start == date(2026, 1, 1)


def test_tranche_status_from_string_and_unknown_status():
    assert (
        Tranche(1, "T", date(2026, 1, 1), date(2026, 1, 1), "provisional").status is TrancheStatus.PROVISIONAL
    )
    with pytest.raises(ValueError, match="Unbekannter Status"):
        Tranche(1, "T", date(2026, 1, 1), date(2026, 1, 1), "maybe")


@pytest.mark.parametrize(
    ("cap", "error"), [(D("-1"), ValueError), (D("0.001"), ValueError), (1.5, TypeError)]
)
def test_tranche_cap_must_be_cents(cap, error):
    with pytest.raises(error):
        Tranche(1, "T", date(2026, 1, 1), date(2026, 1, 1), CONFIRMED, cap=cap)


def test_tranche_rejects_datetime():
    with pytest.raises(TypeError, match="datetime.date"):
        Tranche(1, "T", datetime(2026, 1, 1, 12), date(2026, 1, 1), CONFIRMED)


def test_tranche_status_labels():
    assert [s.label for s in TrancheStatus] == ["bestätigt", "vorbehaltlich Haushaltsbeschluss", "abgelehnt"]


# --- Programmes -------------------------------------------------------------------


@pytest.mark.parametrize("pct", [D("-0.01"), D("100.01"), D("150")])
def test_coverage_must_be_between_0_and_100(pct):
    with pytest.raises(ValueError, match="zwischen 0 und 100 %"):
        programme(coverage={"setup": pct})


def test_coverage_float_is_refused():
    with pytest.raises(TypeError, match="float"):
        programme(coverage={"setup": 100.0})


@pytest.mark.parametrize("pct", [D("0"), D("100"), 50])
def test_coverage_bounds_are_inclusive(pct):
    assert programme(coverage={"setup": pct}).coverage["setup"] == pct


def test_overlapping_tranches_are_refused():
    with pytest.raises(ValueError, match="überschneiden sich"):
        programme(
            tranches=(
                Tranche(1, "T1", date(2026, 1, 1), date(2026, 6, 30), CONFIRMED),
                Tranche(2, "T2", date(2026, 6, 30), date(2026, 12, 31), CONFIRMED),  # shares 30 June
            )
        )


def test_tranche_ids_must_be_unique():
    with pytest.raises(ValueError, match="nicht eindeutig"):
        programme(
            tranches=(
                Tranche(1, "T1", date(2026, 1, 1), date(2026, 6, 30), CONFIRMED),
                Tranche(1, "T2", date(2026, 7, 1), date(2026, 12, 31), CONFIRMED),
            )
        )


def test_tranches_are_sorted_by_start():
    late = Tranche(2, "T2", date(2027, 1, 1), date(2027, 12, 31), CONFIRMED)
    early = Tranche(1, "T1", date(2026, 1, 1), date(2026, 12, 31), CONFIRMED)
    assert [t.id for t in programme(tranches=(late, early)).tranches] == [1, 2]


def test_unknown_category_is_refused():
    with pytest.raises(ValueError, match="Unbekannte Kategorie"):
        programme(categories=frozenset({"kommunal"}))


def test_explanation_label_defaults_to_funder():
    assert programme().explanation_label == "Förderung Testland"


def test_programme_is_immutable():
    p = saxony_programme()
    with pytest.raises(AttributeError):
        p.name = "anders"
    with pytest.raises(TypeError):
        p.coverage["setup"] = D("0")


@pytest.mark.parametrize("field", ["categories", "excluded_assistants"])
def test_a_single_string_is_not_taken_for_a_set_of_letters(field):
    with pytest.raises(TypeError, match="Menge"):
        programme(**{field: "central"})


def test_programmes_lines_and_quotes_survive_pickling():
    # The platform may cache programmes or hand quotes to workers.
    p = saxony_programme()
    line = PeriodLine("x", Category.CENTRAL, "maintenance", D("480.00"), date(2022, 3, 1), date(2022, 12, 31))
    quote = quote_line(line, [p])

    p2, line2, quote2 = pickle.loads(pickle.dumps((p, line, quote)))

    assert (p2, line2, quote2) == (p, line, quote)
    assert hash(p2) == hash(p)
    assert quote_line(line2, [p2]) == quote


def test_changed_copy_is_validated_again():
    with pytest.raises(ValueError):
        replace(saxony_programme(), coverage={"setup": D("101")})


# --- Lines ------------------------------------------------------------------------


def test_period_across_two_calendar_years_is_refused():
    with pytest.raises(ValueError, match="mehr als ein Kalenderjahr"):
        PeriodLine("x", Category.CENTRAL, "maintenance", D("480.00"), date(2022, 12, 1), date(2023, 1, 31))


def test_period_end_before_start_is_refused():
    with pytest.raises(ValueError, match="Ende 01.01.2022 liegt vor Beginn 01.02.2022"):
        PeriodLine("x", Category.CENTRAL, "maintenance", D("480.00"), date(2022, 2, 1), date(2022, 1, 1))


@pytest.mark.parametrize("amount", [D("-0.01"), D("-480")])
def test_negative_amounts_are_refused(amount):
    with pytest.raises(ValueError, match="nicht negativ"):
        PeriodLine("x", Category.CENTRAL, "maintenance", amount, date(2022, 1, 1), date(2022, 12, 31))
    with pytest.raises(ValueError, match="nicht negativ"):
        OneTimeLine("x", Category.CENTRAL, "setup", amount, date(2022, 1, 1))


def test_float_amount_is_a_type_error():
    with pytest.raises(TypeError, match="float"):
        OneTimeLine("x", Category.CENTRAL, "setup", 1200.0, date(2022, 9, 15))
    with pytest.raises(TypeError, match="float"):
        PeriodLine("x", Category.CENTRAL, "maintenance", 480.0, date(2022, 1, 1), date(2022, 12, 31))


def test_float_vat_rate_is_a_type_error():
    with pytest.raises(TypeError):
        OneTimeLine("x", Category.CENTRAL, "setup", D("1"), date(2022, 9, 15), vat_rate=19.0)


@pytest.mark.parametrize("amount", [D("1.001"), D("NaN"), D("Infinity")])
def test_amounts_must_be_finite_cents(amount):
    with pytest.raises(ValueError):
        OneTimeLine("x", Category.CENTRAL, "setup", amount, date(2022, 9, 15))


def test_int_amount_is_exact_and_accepted():
    line = OneTimeLine("x", Category.CENTRAL, "setup", 1200, date(2022, 9, 15))
    assert line.net == D("1200")


@pytest.mark.parametrize("rate", [D("-1"), D("101")])
def test_vat_rate_range(rate):
    with pytest.raises(ValueError, match="Umsatzsteuersatz"):
        OneTimeLine("x", Category.CENTRAL, "setup", D("1"), date(2022, 9, 15), vat_rate=rate)


def test_maintenance_is_not_a_one_time_fee_and_setup_not_a_period_fee():
    with pytest.raises(ValueError, match="je Leistungszeitraum"):
        OneTimeLine("x", Category.CENTRAL, "maintenance", D("480.00"), date(2022, 9, 15))
    with pytest.raises(ValueError, match="einmalig"):
        PeriodLine("x", Category.CENTRAL, "setup", D("1200.00"), date(2022, 1, 1), date(2022, 12, 31))


def test_empty_fee_kind_is_refused():
    with pytest.raises(ValueError, match="Leistungsart"):
        OneTimeLine("x", Category.CENTRAL, "", D("1"), date(2022, 9, 15))


def test_line_rejects_datetime():
    with pytest.raises(TypeError):
        OneTimeLine("x", Category.CENTRAL, "setup", D("1"), datetime(2022, 9, 15, 8, 30))


def test_unknown_line_category_is_refused():
    with pytest.raises(ValueError, match="Unbekannte Kategorie"):
        OneTimeLine("x", "zentral", "setup", D("1"), date(2022, 9, 15))
