"""Money helpers: half-up rounding, German formatting and parsing."""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.domain.money import CENT, format_eur, format_percent, parse_amount, round_money

pytestmark = pytest.mark.pure

D = Decimal


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (D("0.005"), D("0.01")),
        (D("0.0049999"), D("0.00")),
        (D("2.675"), D("2.68")),  # the classic float trap: 2.675 is 2.67499… as float
        (D("-0.005"), D("-0.01")),  # kaufmännisch: ties away from zero
        (D("241.972602739726"), D("241.97")),
        (D("1E+3"), D("1000.00")),
        (7, D("7.00")),
        (D("123456789012345678901234567.895"), D("123456789012345678901234567.90")),
    ],
)
def test_round_money_half_up(value, expected):
    assert round_money(value) == expected
    assert round_money(value).as_tuple().exponent == -2


def test_cent_constant():
    assert D("0.01") == CENT


@pytest.mark.parametrize("bad", [0.1, 1.0])
def test_round_money_rejects_float(bad):
    with pytest.raises(TypeError, match="float"):
        round_money(bad)


@pytest.mark.parametrize("bad", ["1.00", None, True])
def test_round_money_rejects_non_decimal(bad):
    with pytest.raises(TypeError):
        round_money(bad)


@pytest.mark.parametrize("bad", [D("NaN"), D("Infinity"), D("-Infinity")])
def test_round_money_rejects_non_finite(bad):
    with pytest.raises(ValueError, match="Ungültiger Betrag"):
        round_money(bad)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (D("1234.56"), "1.234,56 €"),
        (D("-1234.56"), "\u22121.234,56 €"),
        (D("0"), "0,00 €"),
        (D("-0.00"), "0,00 €"),
        (D("-0.004"), "0,00 €"),
        (D("0.5"), "0,50 €"),
        (D("1200"), "1.200,00 €"),
        (D("1234567.891"), "1.234.567,89 €"),
        (D("999.995"), "1.000,00 €"),
    ],
)
def test_format_eur(value, text):
    assert format_eur(value) == text


def test_format_eur_rejects_float():
    with pytest.raises(TypeError):
        format_eur(1.5)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (D("100"), "100 %"),
        (D("100.00"), "100 %"),
        (D("1E+2"), "100 %"),
        (D("50.5"), "50,5 %"),
        (D("50.50"), "50,5 %"),
        (D("0"), "0 %"),
        (D("0.00"), "0 %"),
        (D("12.125"), "12,125 %"),
        (19, "19 %"),
        (D("-5"), "\u22125 %"),
    ],
)
def test_format_percent(value, text):
    assert format_percent(value) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234.56", D("1234.56")),
        ("1.234,56", D("1234.56")),
        ("1234,56", D("1234.56")),
        ("1234", D("1234.00")),
        ("1234,5", D("1234.50")),
        ("0.5", D("0.50")),
        ("  480,00 € ", D("480.00")),
        ("480 EUR", D("480.00")),
        ("1.234.567,89", D("1234567.89")),
        ("1.234.567", D("1234567.00")),
        ("-12,30", D("-12.30")),
        ("\u22121.234,56 €", D("-1234.56")),
        ("+3", D("3.00")),
        ("480,00\u00a0€", D("480.00")),
    ],
)
def test_parse_amount(text, expected):
    parsed = parse_amount(text)
    assert parsed == expected
    assert parsed.as_tuple().exponent == -2


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "abc",
        "1,234.56",  # English grouping: refuse rather than guess
        "12.34.56",
        "1.2345",
        "1234,567",
        "1.23,45",
        "1e3",
        "NaN",
        "Infinity",
        "12 34",
        "--1",
        "1.234",  # ambiguous: 1234 € or 1,234 €
        "\u0661\u0662",  # Arabic-Indic digits
        "€ 12",
    ],
)
def test_parse_amount_rejects_garbage(text):
    with pytest.raises(ValueError, match="Ungültiger Betrag"):
        parse_amount(text)


def test_parse_amount_rejects_non_text():
    with pytest.raises(TypeError):
        parse_amount(D("1"))


def _reference_half_up(x: Decimal) -> Decimal:
    exact = Fraction(x) * 100
    sign = -1 if exact < 0 else 1
    cents = sign * int(abs(exact) + Fraction(1, 2))  # int() floors non-negatives
    return Decimal(cents).scaleb(-2)


@settings(max_examples=3000, deadline=None)
@given(st.decimals(min_value=-(10**9), max_value=10**9, places=6, allow_nan=False, allow_infinity=False))
def test_round_money_matches_fraction_reference(x):
    assert round_money(x) == _reference_half_up(x)


@settings(max_examples=2000, deadline=None)
@given(st.decimals(min_value=-(10**12), max_value=10**12, places=2, allow_nan=False, allow_infinity=False))
def test_format_then_parse_round_trips(x):
    assert parse_amount(format_eur(x)) == x


@settings(max_examples=1000, deadline=None)
@given(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False))
def test_plain_decimal_text_parses(x):
    assert parse_amount(f"{x:.2f}") == x
