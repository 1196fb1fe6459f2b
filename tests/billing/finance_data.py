"""Test data of the finance pages: subscriptions billed through the real services."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from billing.models import Payment
from tests.factories.billing import subscribe  # noqa: F401  (re-exported for the tests)
from tests.factories.shop import AssistantFactory

D = Decimal
FINANCE = "finanzen@kisa.example"
CATALOG = "katalog@kisa.example"


def pay(invoice, amount, *, on: date | None = None, municipality=None, **extra) -> Payment:
    """A payment received (directly as a row: how it arrives is not the finance pages' concern)."""
    return Payment.objects.create(
        invoice=invoice,
        municipality=municipality or (invoice.municipality if invoice else None),
        amount=D(amount),
        received_on=on or date(2026, 1, 5),
        method="bank_transfer",
        source="manual",
        **extra,
    )


def make_assistants() -> dict:
    """A central assistant (subsidised) and an EfA assistant (never subsidised)."""
    return {
        "central": AssistantFactory(slug="fin-gewerbe", title="Gewerbe-Anmeldung", category="central"),
        "efa": AssistantFactory(slug="fin-wohngeld", title="Wohngeld", category="efa"),
    }
