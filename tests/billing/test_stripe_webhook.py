# ruff: noqa: F811 - fixtures imported from tests.billing.stripe_support are parameters here
"""The Stripe webhook: signature and age checks, events stored once, processed in a task
(in-process here), replays, out-of-order delivery, full, partial and overpayments, and payments
without invoice — payloads signed with Stripe's scheme, real PostgreSQL."""

from __future__ import annotations

import json
import time
from datetime import date
from decimal import Decimal

import pytest
from django.test import Client

from billing.models import (
    InvoiceEvent,
    Payment,
    PaymentMethod,
    StripeCustomer,
    StripeEvent,
    StripeInvoice,
)
from billing.stripe_events import CASH_BALANCE_NOTE, event_process, invoices_to_collect
from billing.tasks import process_stripe_event_task, sweep_stripe_events_task
from tests.billing.stripe_support import (
    WEBHOOK_URL,
    cash_transaction,
    eager_tasks,  # noqa: F401 - fixture
    event,
    issued_invoice,
    post_event,
    sign,
    stripe_invoice_object,
)

D = Decimal
# Tasks run in-process: the processing task runs as the webhook request commits.
pytestmark = pytest.mark.usefixtures("eager_tasks")
STRIPE_ID = "in_test_leipzig_2022"
CUSTOMER = "cus_test_leipzig"


@pytest.fixture
def collected(towns):
    """Leipzig's invoice of 190,92 € as the gateway leaves it: customer and open Stripe invoice."""
    invoice = issued_invoice(towns["leipzig"])
    StripeCustomer.objects.create(municipality=towns["leipzig"].municipality, stripe_id=CUSTOMER)
    StripeInvoice.objects.create(
        invoice=invoice, stripe_id=STRIPE_ID, status="open", amount_due=invoice.gross_due
    )
    return invoice


def deliver(django_capture_on_commit_callbacks, evt, **kwargs):
    """One delivery by Stripe; the processing task runs when the request's transaction commits."""
    with django_capture_on_commit_callbacks(execute=True):
        return post_event(evt, **kwargs)


def paid_event(invoice, amount_paid=19092, *, status="paid", event_type="invoice.paid", **kwargs):
    obj = stripe_invoice_object(
        STRIPE_ID, invoice, status=status, amount_paid=amount_paid, customer=CUSTOMER, paid_at=1641200000
    )
    return event(event_type, obj, **kwargs)


# --- signature -----------------------------------------------------------------------------


def test_missing_signature_is_refused(db):
    response = Client(HTTP_HOST="localhost").post(WEBHOOK_URL, data="{}", content_type="application/json")
    assert response.status_code == 400
    assert response.content.decode() == "Stripe-Signatur fehlt."
    assert not StripeEvent.objects.exists()


@pytest.mark.parametrize(
    "header",
    ["t=123,v1=", "nonsense", "v1=abc", "t=abc,v1=abc"],
    ids=["empty-signature", "no-fields", "no-timestamp", "bad-timestamp"],
)
def test_malformed_signature_is_refused(db, header):
    response = Client(HTTP_HOST="localhost").post(
        WEBHOOK_URL, data="{}", content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_signature_with_the_wrong_secret_is_refused(db):
    response = post_event(event("invoice.paid", {"id": "in_x"}), secret="whsec_someone_else")
    assert response.status_code == 400
    assert response.content.decode() == "Stripe-Signatur ist ungültig."
    assert not StripeEvent.objects.exists()


def test_a_changed_payload_is_refused(db):
    payload = json.dumps(event("invoice.paid", {"id": "in_x", "amount_paid": 100}))
    header = sign(payload)
    forged = payload.replace('"amount_paid": 100', '"amount_paid": 100000')
    response = Client(HTTP_HOST="localhost").post(
        WEBHOOK_URL, data=forged, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


@pytest.mark.parametrize(
    ("offset", "reason"),
    [(-360, "Stripe-Signatur ist zu alt."), (360, "Zeitstempel der Stripe-Signatur liegt in der Zukunft.")],
    ids=["6-min-old", "6-min-ahead"],
)
def test_timestamps_beyond_five_minutes_are_refused(db, offset, reason):
    response = post_event(event("customer.created", {"id": "cus_x"}), timestamp=int(time.time()) + offset)
    assert response.status_code == 400
    assert response.content.decode() == reason
    assert not StripeEvent.objects.exists()


@pytest.mark.parametrize("offset", [-240, 0, 240], ids=["4-min-old", "now", "4-min-ahead"])
def test_timestamps_within_tolerance_are_accepted(db, offset, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post_event(event("customer.created", {"id": "cus_x"}), timestamp=int(time.time()) + offset)
    assert response.status_code == 200
    assert StripeEvent.objects.get().type == "customer.created"
    assert len(callbacks) == 1  # the processing task is enqueued once the event is committed


def test_only_post(db):
    client = Client(HTTP_HOST="localhost")
    assert client.get(WEBHOOK_URL).status_code == 405
    assert client.put(WEBHOOK_URL, data="{}").status_code == 405


def test_a_signed_body_that_is_no_event_is_refused(db):
    payload = json.dumps({"hello": "world"})
    response = Client(HTTP_HOST="localhost").post(
        WEBHOOK_URL, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(payload)
    )
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


# --- storing and processing ----------------------------------------------------------------


def test_the_same_event_three_times_is_one_event_and_one_payment(
    collected, django_capture_on_commit_callbacks
):
    evt = paid_event(collected)
    answers = [deliver(django_capture_on_commit_callbacks, evt) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    stored = StripeEvent.objects.get()
    assert stored.event_id == evt["id"] and stored.processed_at is not None and stored.error == ""
    payment = Payment.objects.get()
    assert (payment.invoice, payment.amount, payment.external_id) == (
        collected,
        D("190.92"),
        f"{STRIPE_ID}:19092",
    )
    assert payment.municipality == collected.municipality and payment.received_on == date(2022, 1, 3)
    record = StripeInvoice.objects.get()
    assert (record.status, record.amount_paid) == ("paid", D("190.92"))


def test_a_replay_is_not_processed_again(collected, django_capture_on_commit_callbacks):
    evt = paid_event(collected)
    deliver(django_capture_on_commit_callbacks, evt)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert post_event(evt).content.decode() == "bereits erhalten"
    assert callbacks == []
    pk = StripeEvent.objects.get().pk
    assert event_process(event_pk=pk) == "bereits verarbeitet"


def test_paid_before_finalized_ends_paid(collected, django_capture_on_commit_callbacks):
    StripeInvoice.objects.filter(invoice=collected).update(status="draft")
    deliver(django_capture_on_commit_callbacks, paid_event(collected))
    finalized = event(
        "invoice.finalized",
        stripe_invoice_object(STRIPE_ID, collected, status="open", customer=CUSTOMER),
        created=int(time.time()) - 60,
    )
    deliver(django_capture_on_commit_callbacks, finalized)
    record = StripeInvoice.objects.get()
    assert (record.status, record.amount_paid, record.amount_due) == ("paid", D("190.92"), D("190.92"))
    assert record.hosted_url == f"https://invoice.stripe.com/i/{STRIPE_ID}"
    assert Payment.objects.get().amount == D("190.92")
    assert StripeEvent.objects.filter(processed_at__isnull=False).count() == 2
    assert list(
        InvoiceEvent.objects.filter(invoice=collected, action="stripe_status").values_list(
            "detail__nach", flat=True
        )
    ) == ["paid"]


def test_partial_payments_are_recorded_as_they_come(collected, django_capture_on_commit_callbacks):
    deliver(
        django_capture_on_commit_callbacks,
        paid_event(collected, 10000, status="open", event_type="invoice.updated"),
    )
    record = StripeInvoice.objects.get()
    assert (record.status, record.amount_paid) == ("open", D("100.00"))
    assert list(Payment.objects.values_list("amount", flat=True)) == [D("100.00")]

    deliver(django_capture_on_commit_callbacks, paid_event(collected, 19092))
    assert sorted(Payment.objects.values_list("amount", flat=True)) == [D("90.92"), D("100.00")]
    assert sum(Payment.objects.values_list("amount", flat=True)) == collected.gross_due
    assert StripeInvoice.objects.get().status == "paid"


def test_an_older_partial_state_after_the_full_payment_adds_nothing(
    collected, django_capture_on_commit_callbacks
):
    deliver(django_capture_on_commit_callbacks, paid_event(collected, 19092))
    deliver(
        django_capture_on_commit_callbacks,
        paid_event(collected, 10000, status="open", event_type="invoice.updated"),
    )
    assert list(Payment.objects.values_list("amount", flat=True)) == [D("190.92")]
    record = StripeInvoice.objects.get()
    assert (record.status, record.amount_paid) == ("paid", D("190.92"))


def test_a_payment_larger_than_the_open_amount_is_recorded_in_full(
    collected, django_capture_on_commit_callbacks
):
    """Finance booked 50 € received by hand; Stripe then collects the whole invoice: both stay,
    and the invoice shows as overpaid by 50 € for reconciliation."""
    Payment.objects.create(
        invoice=collected,
        municipality=collected.municipality,
        amount=D("50.00"),
        received_on=date(2022, 1, 10),
        method=PaymentMethod.BANK_TRANSFER,
        source="manual",
    )
    deliver(django_capture_on_commit_callbacks, paid_event(collected))
    stripe_payment = Payment.objects.get(source="stripe")
    assert (stripe_payment.invoice, stripe_payment.amount) == (collected, D("190.92"))
    total = sum(Payment.objects.filter(invoice=collected).values_list("amount", flat=True))
    assert total - collected.gross_due == D("50.00")


def test_a_bank_transfer_beyond_the_invoice_leaves_a_payment_without_invoice(
    collected, django_capture_on_commit_callbacks
):
    """250 € arrive for the 190,92 € invoice: Stripe funds the cash balance, applies 190,92 € to the
    invoice and keeps 59,08 €. Delivered out of order, the result is the same."""
    now = int(time.time())
    funded = event(
        "customer_cash_balance_transaction.created",
        cash_transaction(
            "ccsbtxn_funded",
            CUSTOMER,
            kind="funded",
            net_amount=25000,
            ending_balance=25000,
            created=now - 5,
            reference=collected.number,
        ),
    )
    applied = event(
        "customer_cash_balance_transaction.created",
        cash_transaction(
            "ccsbtxn_applied",
            CUSTOMER,
            kind="applied_to_payment",
            net_amount=-19092,
            ending_balance=5908,
            created=now,
        ),
    )
    for evt in (applied, paid_event(collected), funded):
        assert deliver(django_capture_on_commit_callbacks, evt).status_code == 200
    on_invoice = Payment.objects.get(invoice=collected)
    without = Payment.objects.get(invoice__isnull=True)
    assert on_invoice.amount == D("190.92")
    assert (without.amount, without.municipality, without.method) == (
        D("59.08"),
        collected.municipality,
        PaymentMethod.BANK_TRANSFER,
    )
    assert without.note == CASH_BALANCE_NOTE


def test_cash_balance_in_delivery_order_converges_too(collected, django_capture_on_commit_callbacks):
    now = int(time.time())
    funded = cash_transaction(
        "ccsbtxn_f", CUSTOMER, kind="funded", net_amount=25000, ending_balance=25000, created=now - 5
    )
    applied = cash_transaction(
        "ccsbtxn_a", CUSTOMER, kind="applied_to_payment", net_amount=-19092, ending_balance=5908, created=now
    )
    deliver(django_capture_on_commit_callbacks, event("customer_cash_balance_transaction.created", funded))
    assert Payment.objects.get(invoice__isnull=True).amount == D("250.00")  # not applied yet
    deliver(django_capture_on_commit_callbacks, event("customer_cash_balance_transaction.created", applied))
    deliver(django_capture_on_commit_callbacks, paid_event(collected))
    assert Payment.objects.get(invoice__isnull=True).amount == D("59.08")
    assert Payment.objects.get(invoice=collected).amount == D("190.92")
    assert sum(Payment.objects.values_list("amount", flat=True)) == D("250.00")


def test_a_transfer_matching_no_invoice_is_a_payment_without_invoice(
    towns, django_capture_on_commit_callbacks
):
    dresden = towns["dresden"].municipality
    StripeCustomer.objects.create(municipality=dresden, stripe_id="cus_test_dresden")
    txn = cash_transaction(
        "ccsbtxn_dresden",
        "cus_test_dresden",
        kind="funded",
        net_amount=12345,
        ending_balance=12345,
        created=int(time.time()),
        reference="Spende?",
    )
    deliver(django_capture_on_commit_callbacks, event("customer_cash_balance_transaction.created", txn))
    deliver(
        django_capture_on_commit_callbacks,
        event(
            "cash_balance.funds_available",
            {
                "object": "cash_balance",
                "customer": "cus_test_dresden",
                "available": {"eur": 12345},
            },
        ),
    )
    payment = Payment.objects.get()
    assert (payment.invoice, payment.municipality, payment.amount) == (None, dresden, D("123.45"))
    assert (payment.external_id, payment.payer_reference, payment.method) == (
        "ccsbtxn_dresden",
        "Spende?",
        PaymentMethod.BANK_TRANSFER,
    )


def test_invoice_found_by_metadata_when_the_stripe_invoice_is_not_stored_yet(
    towns, django_capture_on_commit_callbacks
):
    """The event came before the gateway stored its Stripe invoice: id, number and the
    municipality's Stripe customer all agree, so it is ours."""
    invoice = issued_invoice(towns["wilsdruff"])
    StripeCustomer.objects.create(municipality=invoice.municipality, stripe_id="cus_test_wilsdruff")
    obj = stripe_invoice_object(
        "in_test_new", invoice, status="paid", amount_paid=19092, customer="cus_test_wilsdruff"
    )
    deliver(django_capture_on_commit_callbacks, event("invoice.paid", obj))
    record = StripeInvoice.objects.get(invoice=invoice)
    assert (record.stripe_id, record.status) == ("in_test_new", "paid")
    assert Payment.objects.get().invoice == invoice
    assert StripeEvent.objects.get().error == ""


def test_the_stored_stripe_id_decides_without_metadata(collected, django_capture_on_commit_callbacks):
    obj = stripe_invoice_object(STRIPE_ID, None, status="paid", amount_paid=19092, customer=CUSTOMER)
    deliver(django_capture_on_commit_callbacks, event("invoice.paid", obj))
    assert Payment.objects.get().invoice == collected
    assert StripeInvoice.objects.get().status == "paid"


def unmatched(towns, metadata: dict, *, customer: str) -> tuple:
    """Wilsdruff's invoice (customer ``cus_test_wilsdruff``, not handed to Stripe yet) and a
    validly signed ``invoice.paid`` over its full amount for a Stripe invoice we do not hold."""
    invoice = issued_invoice(towns["wilsdruff"])
    StripeCustomer.objects.create(municipality=invoice.municipality, stripe_id="cus_test_wilsdruff")
    obj = stripe_invoice_object("in_forged", None, status="paid", amount_paid=19092, customer=customer)
    obj["metadata"] = {
        key: value.format(id=invoice.pk, number=invoice.number) for key, value in metadata.items()
    }
    return invoice, event("invoice.paid", obj)


def assert_invoice_untouched(invoice) -> None:
    """No invoice payment, no Stripe invoice row: collection of the invoice goes on."""
    assert not Payment.objects.filter(invoice=invoice).exists()
    assert not StripeInvoice.objects.exists()
    assert invoice in set(invoices_to_collect(older_than_seconds=0, limit=100_000))
    assert not InvoiceEvent.objects.filter(invoice=invoice, action__startswith="stripe").exists()


@pytest.mark.parametrize(
    ("metadata", "why"),
    [
        ({"invoice_id": "{id}"}, "Metadaten unvollständig"),
        ({"invoice_id": "{id}", "invoice_number": "RE-1999-99999"}, "kein ausgestellter Beleg"),
        ({"invoice_number": "{number}"}, "Metadaten unvollständig"),
    ],
    ids=["id-alone", "wrong-number", "number-alone"],
)
def test_metadata_must_name_id_and_number(towns, django_capture_on_commit_callbacks, metadata, why):
    """A payload naming the invoice by its id alone (or with another number) does not mark it
    paid; the money of the known customer is a payment without invoice."""
    invoice, evt = unmatched(towns, metadata, customer="cus_test_wilsdruff")
    assert deliver(django_capture_on_commit_callbacks, evt).status_code == 200
    assert_invoice_untouched(invoice)
    stored = StripeEvent.objects.get()
    assert stored.processed_at is not None
    assert stored.error.startswith("Stripe-Rechnung in_forged keinem Beleg zugeordnet: " + why)
    payment = Payment.objects.get()
    assert (payment.invoice, payment.municipality, payment.amount) == (
        None,
        invoice.municipality,
        D("190.92"),
    )
    assert payment.external_id == "in_forged:19092" and "keinem Beleg zugeordnet" in payment.note


def test_metadata_with_an_unknown_customer_records_nothing(towns, django_capture_on_commit_callbacks):
    """Id and number match, but the Stripe customer is no municipality's (a leaked secret, or
    another Stripe account sending here): nothing is recorded at all."""
    invoice, evt = unmatched(
        towns, {"invoice_id": "{id}", "invoice_number": "{number}"}, customer="cus_someone_else"
    )
    deliver(django_capture_on_commit_callbacks, evt)
    assert_invoice_untouched(invoice)
    assert not Payment.objects.exists()
    stored = StripeEvent.objects.get()
    assert stored.processed_at is not None
    assert "Stripe-Kunde cus_someone_else ist nicht der Kunde der Kommune" in stored.error
    assert stored.error.endswith("Kunde unbekannt, nichts erfasst")


def test_metadata_of_another_municipalitys_invoice(towns, django_capture_on_commit_callbacks):
    """Dresden's customer pays a Stripe invoice claiming to be Wilsdruff's: Wilsdruff's invoice
    stays open; Dresden's money is a payment without invoice of Dresden."""
    dresden = towns["dresden"].municipality
    StripeCustomer.objects.create(municipality=dresden, stripe_id="cus_test_dresden")
    invoice, evt = unmatched(
        towns, {"invoice_id": "{id}", "invoice_number": "{number}"}, customer="cus_test_dresden"
    )
    deliver(django_capture_on_commit_callbacks, evt)
    assert_invoice_untouched(invoice)
    payment = Payment.objects.get()
    assert (payment.invoice, payment.municipality) == (None, dresden)
    assert "nicht der Kunde der Kommune" in StripeEvent.objects.get().error


def test_events_of_foreign_invoices_and_unknown_types_are_stored_and_ignored(
    db, django_capture_on_commit_callbacks
):
    foreign = event("invoice.paid", stripe_invoice_object("in_foreign", None, status="paid", amount_paid=500))
    other = event("charge.dispute.created", {"id": "dp_1", "object": "dispute"})
    upcoming = event("invoice.upcoming", {"object": "invoice", "amount_due": 100, "customer": "cus_x"})
    for evt in (foreign, other, upcoming):
        assert deliver(django_capture_on_commit_callbacks, evt).status_code == 200
    assert StripeEvent.objects.filter(processed_at__isnull=False, error="").count() == 3
    assert not Payment.objects.exists() and not StripeInvoice.objects.exists()


def test_voided_and_failed_only_move_forward(collected, django_capture_on_commit_callbacks):
    failed = paid_event(collected, 0, status="open", event_type="invoice.payment_failed")
    deliver(django_capture_on_commit_callbacks, failed)
    assert StripeInvoice.objects.get().status == "open"
    assert InvoiceEvent.objects.filter(invoice=collected, action="stripe_payment_failed").count() == 1
    deliver(
        django_capture_on_commit_callbacks,
        paid_event(collected, 0, status="void", event_type="invoice.voided"),
    )
    deliver(
        django_capture_on_commit_callbacks,
        paid_event(collected, 0, status="uncollectible", event_type="invoice.marked_uncollectible"),
    )
    assert StripeInvoice.objects.get().status == "void"
    assert not Payment.objects.exists()


def test_a_processing_error_is_kept_and_the_sweeper_retries(collected, django_capture_on_commit_callbacks):
    broken = paid_event(collected)
    broken["data"]["object"]["amount_paid"] = "19092"  # not an integer: processing fails
    with django_capture_on_commit_callbacks(execute=False):
        post_event(broken)
    stored = StripeEvent.objects.get()
    assert (
        process_stripe_event_task.apply(args=[stored.pk], kwargs={"retry": False}).get() == "fehlgeschlagen"
    )
    stored.refresh_from_db()
    assert stored.processed_at is None and "amount_paid" in stored.error
    assert not Payment.objects.exists()

    # Repaired (as a redelivery by Stripe with the corrected object would be): the sweeper picks it up.
    stored.payload["data"]["object"]["amount_paid"] = 19092
    stored.save(update_fields=["payload"])
    StripeEvent.objects.filter(pk=stored.pk).update(received_at=stored.received_at.replace(year=2000))
    assert sweep_stripe_events_task.apply().get()["events"] >= 1
    stored.refresh_from_db()
    assert stored.processed_at is not None and stored.error == ""
    assert Payment.objects.get().amount == D("190.92")
