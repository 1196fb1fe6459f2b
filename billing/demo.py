"""Demo history for the finance area: orders since 2022 through the real order flow, their
activation invoices, the yearly runs up to this year and a few payments.

Idempotent: runs only while no invoice exists. Uses the services users use (cart, submit,
four-eyes approval, provisioning, billing run), back-dated where the flow takes a date.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from accounts.roles import Role

from .models import Invoice, Payment, PaymentMethod

# (AGS, order date, activation date, assistant categories to order, how many of each)
DEMO_ORDERS = [
    ("14713000", date(2022, 9, 15), date(2022, 10, 4), {"central": 3, "efa": 1, "state_licensed": 1}),
    ("14612000", date(2023, 5, 2), date(2023, 5, 22), {"central": 2, "efa": 2}),
    ("14628410", date(2025, 3, 10), date(2025, 3, 24), {"central": 2, "efa": 1}),
]


def _user(municipality, role: str) -> User:
    with schema_context(municipality.schema_name):
        return User.objects.filter(roles__contains=[role], is_active=True).order_by("pk").first()


def demo_billing_load(*, today: date | None = None) -> int:
    """Create the demo history; returns the number of invoices issued (0 if there were some)."""
    from shop.models import Assistant, OrderLine
    from shop.ordering import cart_add, order_approve, order_submit
    from shop.provisioning import line_provision
    from tenants.models import Municipality

    from .invoicing import billing_run

    if Invoice.objects.exists():
        return 0
    today = today or timezone.localdate()
    taken: set[int] = set()
    for ags, ordered_on, activated_on, wanted in DEMO_ORDERS:
        municipality = Municipality.objects.filter(ags=ags).first()
        purchaser = municipality and _user(municipality, Role.PURCHASER)
        approver = municipality and _user(municipality, Role.APPROVER)
        if not (purchaser and approver):
            continue
        with transaction.atomic():
            for category, count in wanted.items():
                assistants = (
                    Assistant.objects.filter(category=category, status="available", prices__isnull=False)
                    .exclude(pk__in=taken)
                    .distinct()
                    .order_by("title")[:count]
                )
                for assistant in assistants:
                    cart_add(municipality=municipality, assistant=assistant, user=purchaser)
                    taken.add(assistant.pk)
            order = order_submit(
                municipality=municipality,
                user=purchaser,
                idempotency_key=f"demo-{ags}",
                today=ordered_on,
            )
            order_approve(order=order, user=approver)
        for line_id in OrderLine.objects.filter(order=order).values_list("pk", flat=True):
            line_provision(line_id=line_id, today=activated_on)
    for year in range(2023, today.year + 1):
        billing_run(year=year, actor="Jahresabrechnung (Demo)", issue_date=date(year, 1, 2))
    _demo_payments(today)
    return Invoice.objects.count()


def _demo_payments(today: date) -> None:
    """Some invoices paid in full, one partly, one overpaid, and a transfer nobody can match."""
    due = list(Invoice.objects.filter(kind="invoice", gross_due__gt=0).order_by("issue_date", "number"))
    for index, invoice in enumerate(due[:-2]):
        amount = invoice.gross_due
        if index == 1:
            amount = (invoice.gross_due / 2).quantize(Decimal("0.01"))
        elif index == 2:
            amount = invoice.gross_due + Decimal("10.00")
        Payment.objects.create(
            invoice=invoice,
            municipality=invoice.municipality,
            amount=amount,
            received_on=min(invoice.due_date, today),
            method=PaymentMethod.BANK_TRANSFER if index % 2 else PaymentMethod.SEPA_DEBIT,
            source="demo",
            external_id=f"demo-{invoice.number}",
            payer_reference=invoice.number,
        )
    if due:
        Payment.objects.create(
            invoice=None,
            municipality=None,
            amount=Decimal("119.00"),
            received_on=today,
            method=PaymentMethod.BANK_TRANSFER,
            source="demo",
            external_id="demo-unmatched",
            payer_reference="Gebühr Q3 ohne Rechnungsnummer",
        )
