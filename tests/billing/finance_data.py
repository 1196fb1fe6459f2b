"""Test data of the finance pages: subscriptions billed through the real services."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from billing.models import Payment
from shop.models import Subscription
from tests.factories.shop import AssistantFactory

D = Decimal
FINANCE = "finanzen@kisa.example"
CATALOG = "katalog@kisa.example"


def subscribe(town, assistant, *, started_on, yearly="480.00", ends_on=None, vat="19") -> Subscription:
    return Subscription.objects.create(
        municipality=town.municipality,
        assistant=assistant,
        ordered_on=started_on,
        started_on=started_on,
        ends_on=ends_on,
        maintenance_yearly=D(yearly),
        vat_rate=D(vat),
    )


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
