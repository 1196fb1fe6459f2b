"""Euro ↔ cents at the Stripe edge: exact both ways, never rounding silently."""

from decimal import Decimal

import pytest

from billing.domain.cents import from_cents, to_cents

D = Decimal


@pytest.mark.parametrize(
    ("amount", "cents"),
    [(D("190.92"), 19092), (D("0.01"), 1), (D("1234.5"), 123450), (D("0"), 0), (D("-12.30"), -1230)],
)
def test_round_trip(amount, cents):
    assert to_cents(amount) == cents
    assert from_cents(cents) == amount.quantize(D("0.01"))


def test_fractions_of_a_cent_are_refused():
    with pytest.raises(ValueError, match="ganzen Cent"):
        to_cents(D("10.005"))


@pytest.mark.parametrize("bad", [10.5, "10.50", 10])
def test_only_decimals_become_cents(bad):
    with pytest.raises(TypeError):
        to_cents(bad)


@pytest.mark.parametrize("bad", ["100", 1.0, True])
def test_only_integers_are_cents(bad):
    with pytest.raises(TypeError):
        from_cents(bad)


def test_missing_cents_are_nothing():
    assert from_cents(None) == D("0.00")
