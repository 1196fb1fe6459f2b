"""Stripe webhooks with a real Celery worker: the same event delivered three times at once, and
``invoice.paid`` before ``invoice.finalized``, end as one stored event each, one payment and a
paid Stripe invoice (committed rows, processed by the worker process)."""

from __future__ import annotations

import json
import threading
import time
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client

from billing.invoicing import billing_run
from billing.models import Invoice, NumberSequence, Payment, StripeCustomer, StripeEvent, StripeInvoice
from shop.models import Subscription
from tenants.models import Municipality
from tests.billing.stripe_support import WEBHOOK_URL, event, sign, stripe_invoice_object
from tests.factories.shop import AssistantFactory
from tests.processes import purge_documents

pytestmark = [pytest.mark.worker, pytest.mark.django_db]

YEAR = 2095  # a year of its own


@pytest.fixture
def stripe_invoice(committed):
    municipality = Municipality.objects.exclude(schema_name="public").order_by("pk").first()
    assistant = AssistantFactory(slug="stripe-worker", title="Stripe-Test", category="central")
    subscription = Subscription.objects.create(
        municipality=municipality,
        assistant=assistant,
        ordered_on=date(YEAR - 1, 5, 1),
        started_on=date(YEAR - 1, 6, 1),
        maintenance_yearly=Decimal("480.00"),
    )
    billing_run(year=YEAR, actor="t", issue_date=date(YEAR, 1, 2))
    invoice = Invoice.objects.get(billing_year=YEAR, municipality=municipality)
    customer = StripeCustomer.objects.filter(municipality=municipality).first()
    created_customer = customer is None
    if created_customer:
        customer = StripeCustomer.objects.create(municipality=municipality, stripe_id="cus_worker_test")
    record = StripeInvoice.objects.create(
        invoice=invoice, stripe_id="in_worker_test", status="open", amount_due=invoice.gross_due
    )
    yield record
    StripeEvent.objects.filter(event_id__startswith="evt_worker_").delete()
    if created_customer:
        customer.delete()
    purge_documents([invoice.pk])  # with its payments, Stripe invoice and audit log (triggers off)
    NumberSequence.objects.filter(year=YEAR).delete()
    Subscription.objects.filter(pk=subscription.pk).delete()
    Subscription.history.filter(id=subscription.pk).delete()


def _post(evt: dict, answers: list[int]) -> None:
    payload = json.dumps(evt)
    try:
        response = Client(HTTP_HOST="localhost").post(
            WEBHOOK_URL, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(payload)
        )
        answers.append(response.status_code)
    finally:
        connection.close()


def _wait_processed(event_ids: list[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if StripeEvent.objects.filter(event_id__in=event_ids, processed_at__isnull=False).count() == len(
            event_ids
        ):
            return
        time.sleep(0.2)
    states = list(
        StripeEvent.objects.filter(event_id__in=event_ids).values("event_id", "processed_at", "error")
    )
    pytest.fail(f"Ereignisse nicht verarbeitet: {states}")


def test_replays_and_out_of_order_delivery_on_a_real_worker(stripe_invoice, start_worker):
    start_worker(concurrency=2)
    invoice = stripe_invoice.invoice
    cents = int(invoice.gross_due * 100)
    paid = event(
        "invoice.paid",
        stripe_invoice_object(
            "in_worker_test", invoice, status="paid", amount_due=cents, amount_paid=cents, paid_at=1641200000
        ),
        event_id="evt_worker_paid",
    )
    answers: list[int] = []
    threads = [threading.Thread(target=_post, args=(paid, answers)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200, 200, 200]
    finalized = event(
        "invoice.finalized",
        stripe_invoice_object("in_worker_test", invoice, status="open", amount_due=cents),
        event_id="evt_worker_finalized",
        created=paid["created"] - 30,
    )
    _post(finalized, answers)
    _wait_processed(["evt_worker_paid", "evt_worker_finalized"])

    assert StripeEvent.objects.filter(event_id="evt_worker_paid").count() == 1
    payment = Payment.objects.get(invoice=invoice)
    assert payment.amount == invoice.gross_due == Decimal("571.20")
    stripe_invoice.refresh_from_db()
    assert (stripe_invoice.status, stripe_invoice.amount_paid) == ("paid", Decimal("571.20"))
