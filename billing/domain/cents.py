"""Euro amounts to Stripe's integer cents and back (the only place money becomes an integer).

Plain Python: the gateway and the webhook processing use it, tests need neither Django nor Stripe.
"""

from __future__ import annotations

from decimal import Decimal

CENT = Decimal("0.01")


def to_cents(amount: Decimal) -> int:
    """An exact euro amount as cents; refuses fractions of a cent instead of rounding them away."""
    if not isinstance(amount, Decimal):
        raise TypeError("Beträge sind Decimal")
    cents = amount / CENT
    if cents != cents.to_integral_value():
        raise ValueError(f"{amount} € ist kein Betrag in ganzen Cent")
    return int(cents)


def from_cents(cents: int | None) -> Decimal:
    """Stripe's cents as a euro amount with two places (``None`` counts as nothing)."""
    if cents is None:
        return Decimal("0.00")
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise TypeError(f"Cent-Betrag erwartet, nicht {cents!r}")
    return (Decimal(cents) * CENT).quantize(CENT)
