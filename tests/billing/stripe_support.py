"""Shared pieces of the Stripe tests: an issued invoice, webhook payloads signed exactly as Stripe
signs them, Celery running tasks in-process, and a real localstripe server."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from datetime import date
from decimal import Decimal
from itertools import count
from pathlib import Path

import pytest
import stripe
from django.conf import settings
from django.test import Client

from billing.invoicing import billing_run
from billing.models import Invoice
from config.celery import app as celery_app
from shop.models import Subscription
from tests.factories.shop import AssistantFactory

WEBHOOK_URL = "/stripe/webhook/"
_ids = count(1)


def issued_invoice(town, *, slug: str = "gewerbe", started_on: date = date(2022, 3, 1)) -> Invoice:
    """FUNDING.md example 2: a yearly invoice of 190,92 € gross for the town."""
    invoice = issued_invoice_of(town, slugs=(slug,), started_on=started_on)
    assert invoice.gross_due == Decimal("190.92")
    return invoice


def issued_invoice_of(town, *, slugs: Sequence[str], started_on: date = date(2022, 3, 1)) -> Invoice:
    """One yearly invoice for the town with one line per assistant in ``slugs``."""
    for slug in slugs:
        assistant = AssistantFactory(slug=slug, title=f"Assistent {slug}", category="central")
        Subscription.objects.create(
            municipality=town.municipality,
            assistant=assistant,
            ordered_on=started_on,
            started_on=started_on,
            maintenance_yearly=Decimal("480.00"),
            vat_rate=Decimal("19"),
        )
    billing_run(year=started_on.year, actor="finanzen@kisa.example", issue_date=date(started_on.year, 1, 3))
    return Invoice.objects.get(municipality=town.municipality, billing_year=started_on.year)


# --- webhook payloads ----------------------------------------------------------------------


def sign(payload: str, *, timestamp: int | None = None, secret: str | None = None) -> str:
    """Stripe's scheme: ``t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<payload>")>``."""
    t = int(time.time()) if timestamp is None else timestamp
    key = (secret or settings.STRIPE_WEBHOOK_SECRET).encode()
    digest = hmac.new(key, f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def post_event(event: dict, *, client: Client | None = None, **sign_kwargs):
    payload = json.dumps(event)
    client = client or Client(HTTP_HOST="localhost")
    return client.post(
        WEBHOOK_URL,
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload, **sign_kwargs),
    )


def event(event_type: str, obj: dict, *, event_id: str | None = None, created: int | None = None) -> dict:
    return {
        "id": event_id or f"evt_test_{next(_ids):06d}",
        "object": "event",
        "api_version": "2026-10-28",
        "type": event_type,
        "created": created if created is not None else int(time.time()),
        "livemode": False,
        "data": {"object": obj},
    }


def stripe_invoice_object(
    stripe_id: str,
    invoice: Invoice | None,
    *,
    status: str,
    amount_due: int = 19092,
    amount_paid: int = 0,
    customer: str = "cus_test",
    paid_at: int | None = None,
) -> dict:
    """An invoice object as Stripe puts it into ``data.object`` (the fields we read and a few more)."""
    return {
        "id": stripe_id,
        "object": "invoice",
        "customer": customer,
        "status": status,
        "currency": "eur",
        "collection_method": "send_invoice",
        "amount_due": amount_due,
        "amount_paid": amount_paid,
        "amount_remaining": max(amount_due - amount_paid, 0),
        "total": amount_due,
        "hosted_invoice_url": f"https://invoice.stripe.com/i/{stripe_id}" if status != "draft" else None,
        "metadata": {"invoice_id": str(invoice.pk), "invoice_number": invoice.number} if invoice else {},
        "payment_settings": {"payment_method_types": ["customer_balance", "sepa_debit"]},
        "status_transitions": {"finalized_at": None, "paid_at": paid_at, "voided_at": None},
    }


def cash_transaction(
    txn_id: str,
    customer: str,
    *,
    kind: str,
    net_amount: int,
    ending_balance: int,
    created: int,
    reference: str = "",
) -> dict:
    obj = {
        "id": txn_id,
        "object": "customer_cash_balance_transaction",
        "customer": customer,
        "currency": "eur",
        "type": kind,
        "net_amount": net_amount,
        "ending_balance": ending_balance,
        "created": created,
    }
    if kind == "funded":
        obj["funded"] = {"bank_transfer": {"type": "eu_bank_transfer", "reference": reference}}
    if kind == "applied_to_payment":
        obj["applied_to_payment"] = {"payment_intent": "pi_test_applied"}
    return obj


# --- Celery in-process -----------------------------------------------------------------------


@pytest.fixture
def eager_tasks() -> Iterator[None]:
    """``.delay()`` runs the task right here, in the test's transaction (no broker, no worker)."""
    saved = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = True, True
    try:
        yield
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = saved


# --- localstripe ---------------------------------------------------------------------------


def localstripe_executable() -> str | None:
    beside_python = Path(sys.executable).with_name("localstripe")
    return str(beside_python) if beside_python.exists() else shutil.which("localstripe")


needs_localstripe = pytest.mark.skipif(
    localstripe_executable() is None, reason="localstripe ist nicht installiert (pip install -e .[dev])"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def localstripe_url(tmp_path_factory) -> Iterator[str]:
    """A real localstripe process on a free port for the whole session (empty store)."""
    port = _free_port()
    log = (tmp_path_factory.mktemp("localstripe") / "localstripe.log").open("w")
    process = subprocess.Popen(
        [localstripe_executable(), "--port", str(port), "--from-scratch"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            request = urllib.request.Request(
                f"{url}/v1/customers", headers={"Authorization": "Bearer sk_test_x"}
            )
            try:
                with urllib.request.urlopen(request, timeout=1) as response:  # noqa: S310 - local test server
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"localstripe ist nicht gestartet (Protokoll: {log.name})")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def stripe_settings(settings, localstripe_url):
    """The gateway pointed at localstripe (no SDK-level retries: the tests look at single calls)."""
    settings.STRIPE_API_BASE = localstripe_url
    settings.STRIPE_SECRET_KEY = "sk_test_ozgshop"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    return settings


def stripe_client(settings) -> stripe.StripeClient:
    """The test's own look at the server, independent of the gateway."""
    base = settings.STRIPE_API_BASE
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY, base_addresses={"api": base} if base else None, max_network_retries=0
    )


#: A card that can be attached but declines every charge (Stripe's and localstripe's test number).
DECLINING_CARD = {"number": "4000000000000341", "exp_month": 12, "exp_year": 2040, "cvc": "123"}


def localstripe_open_invoice(client: stripe.StripeClient, customer_id: str, cents: int) -> str:
    """An open Stripe invoice over ``cents`` in localstripe, which creates invoices only for
    subscriptions: the first invoice of a yearly plan, its charge declined, stays open."""
    card = client.v1.payment_methods.create(params={"type": "card", "card": DECLINING_CARD})
    client.v1.payment_methods.attach(card.id, params={"customer": customer_id})
    client.v1.customers.update(customer_id, params={"invoice_settings": {"default_payment_method": card.id}})
    product = client.v1.products.create(params={"name": "Beleg"})
    plan = client.v1.plans.create(
        params={"amount": cents, "currency": "eur", "interval": "year", "product": product.id}
    )
    subscription = client.v1.subscriptions.create(
        params={"customer": customer_id, "items": [{"plan": plan.id}]}
    )
    invoice = client.v1.invoices.retrieve(subscription.latest_invoice)
    assert (invoice.status, invoice.amount_due, invoice.amount_paid) == ("open", cents, 0)
    return invoice.id
