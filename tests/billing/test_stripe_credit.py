# ruff: noqa: F811 - fixtures imported from tests.billing.stripe_support are parameters here
"""Credit notes reach Stripe: a fully credited invoice of which nothing was paid is voided in
Stripe, otherwise a Stripe credit note over the credited gross amount reduces what Stripe asks
for. Enqueued on commit of the credit note (Stripe enabled), retried, caught up by the sweeper.

localstripe 1.15.10 creates open invoices only for subscriptions (``localstripe_open_invoice``),
reads and voids them (``POST /v1/invoices/{id}/void``), so voiding runs against it for real. It has
no credit notes at all (``/v1/credit_notes`` answers 404) and no ``amount_remaining``, paid
amounts or credit-note totals on open invoices: the credit-note request is checked as it is built
(``credit_note_params``) and as localstripe refuses it, and runs for real only in
``test_credit_notes_in_stripe_test_mode`` with ``STRIPE_TEST_SECRET_KEY``.
"""

from __future__ import annotations

import os
import uuid
from datetime import date
from decimal import Decimal

import pytest
import stripe

from billing import stripe_events
from billing.invoicing import credit_note_issue
from billing.models import InvoiceEvent, InvoiceLine, StripeCustomer, StripeInvoice
from billing.stripe_events import CREDIT_TRANSFERRED, credit_notes_to_transfer
from billing.stripe_gateway import (
    StripeRejected,
    collect_invoice,
    credit_note_params,
    credit_note_transfer,
    customer_for,
)
from billing.tasks import stripe_credit_task, sweep_stripe_events_task
from tests.billing.stripe_support import (
    eager_tasks,  # noqa: F401 - fixture
    issued_invoice,
    issued_invoice_of,
    localstripe_open_invoice,
    localstripe_url,  # noqa: F401 - fixture
    needs_localstripe,
    stripe_client,
    stripe_settings,  # noqa: F401 - fixture
)

D = Decimal


def open_in_stripe(invoice, settings, *, status: str = "open") -> StripeInvoice:
    """``invoice`` as the gateway leaves it once Stripe holds it: an open Stripe invoice over its
    amount (in localstripe) and our row for it."""
    customer = customer_for(invoice.municipality)
    stripe_id = localstripe_open_invoice(
        stripe_client(settings), customer.stripe_id, int(invoice.gross_due * 100)
    )
    return StripeInvoice.objects.create(
        invoice=invoice, stripe_id=stripe_id, status=status, amount_due=invoice.gross_due
    )


def remote_status(settings, record: StripeInvoice) -> str:
    return stripe_client(settings).v1.invoices.retrieve(record.stripe_id).status


def transferred(credit) -> bool:
    return InvoiceEvent.objects.filter(invoice=credit, action=CREDIT_TRANSFERRED).exists()


def pending() -> set:
    return set(credit_notes_to_transfer(older_than_seconds=0, limit=100_000))


# --- voiding (localstripe) ------------------------------------------------------------------


@needs_localstripe
def test_a_full_credit_note_voids_the_open_stripe_invoice(
    towns, stripe_settings, eager_tasks, django_capture_on_commit_callbacks
):
    invoice = issued_invoice(towns["leipzig"])
    record = open_in_stripe(invoice, stripe_settings)
    stripe_settings.STRIPE_ENABLED = True

    with django_capture_on_commit_callbacks(execute=True):
        credit = credit_note_issue(invoice=invoice, reason="Doppelt berechnet", actor="finanzen@kisa.example")

    assert remote_status(stripe_settings, record) == "void"
    record.refresh_from_db()
    assert record.status == "void"
    assert transferred(credit) and credit not in pending()
    voided = InvoiceEvent.objects.get(invoice=invoice, action="stripe_void")
    assert voided.detail == {"gutschrift": credit.number, "stripe_rechnung": record.stripe_id}
    # Again (a redelivered task): nothing more happens.
    assert stripe_credit_task.apply(args=[credit.pk]).get() == "Stripe-Rechnung storniert, nichts zu ändern"
    assert InvoiceEvent.objects.filter(invoice=invoice, action="stripe_void").count() == 1


@needs_localstripe
def test_with_stripe_disabled_nothing_is_sent_and_the_sweeper_catches_up(
    towns, stripe_settings, eager_tasks, django_capture_on_commit_callbacks, monkeypatch
):
    invoice = issued_invoice(towns["dresden"])
    record = open_in_stripe(invoice, stripe_settings)
    with django_capture_on_commit_callbacks(execute=True):
        credit = credit_note_issue(invoice=invoice, reason="Storno", actor="t")
    assert remote_status(stripe_settings, record) == "open"
    assert pending() == {credit}

    monkeypatch.setattr(stripe_events, "INVOICE_GRACE_SECONDS", 0)
    assert sweep_stripe_events_task.apply().get()["credit_notes"] == 0  # Stripe disabled
    stripe_settings.STRIPE_ENABLED = True
    assert sweep_stripe_events_task.apply().get()["credit_notes"] == 1
    assert remote_status(stripe_settings, record) == "void"
    assert pending() == set()


@needs_localstripe
def test_a_credit_note_while_the_stripe_invoice_is_a_draft_is_applied_when_it_is_finalized(
    towns, stripe_settings, eager_tasks, django_capture_on_commit_callbacks
):
    """The collection was interrupted after Stripe finalized the invoice (our row still says
    draft), then the invoice was fully credited: the credit task leaves it to the collection,
    which brings the row up to date and voids the Stripe invoice."""
    invoice = issued_invoice(towns["wilsdruff"])
    record = open_in_stripe(invoice, stripe_settings, status="draft")
    stripe_settings.STRIPE_ENABLED = True
    with django_capture_on_commit_callbacks(execute=True):
        credit = credit_note_issue(invoice=invoice, reason="Storno", actor="t")
    assert remote_status(stripe_settings, record) == "open" and not transferred(credit)

    assert collect_invoice(invoice).status == "void"
    assert remote_status(stripe_settings, record) == "void" and transferred(credit)


@needs_localstripe
def test_collecting_reads_the_stripe_invoice_back(towns, stripe_settings):
    """Our row says draft, Stripe's invoice is open already (the answer to finalizing was lost):
    the next collection takes Stripe's state over (the SDK's objects are read as plain dicts)."""
    invoice = issued_invoice(towns["leipzig"])
    record = open_in_stripe(invoice, stripe_settings, status="draft")
    again = collect_invoice(invoice)
    assert again.pk == record.pk
    assert (again.status, again.amount_due, again.amount_paid) == ("open", D("190.92"), D("0"))


def test_a_fully_credited_invoice_is_not_handed_to_stripe(towns, settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens: any call would fail
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    invoice = issued_invoice(towns["dresden"])
    credit = credit_note_issue(invoice=invoice, reason="Storno", actor="t")
    assert credit_note_transfer(credit_note_id=credit.pk).startswith(
        "Stripe-Rechnung noch nicht abgeschlossen"
    )
    assert collect_invoice(invoice) is None
    assert not StripeCustomer.objects.exists() and not StripeInvoice.objects.exists()


def test_paid_or_voided_stripe_invoices_are_left_alone(towns, settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    invoice = issued_invoice(towns["leipzig"])
    StripeInvoice.objects.create(invoice=invoice, stripe_id="in_paid", status="paid", amount_due=D("190.92"))
    credit = credit_note_issue(invoice=invoice, reason="Kulanz", actor="t")
    assert credit_note_transfer(credit_note_id=credit.pk) == "Stripe-Rechnung bezahlt, nichts zu ändern"
    assert credit not in pending()


# --- credit notes (localstripe refuses them) -------------------------------------------------


def two_lines(town):
    invoice = issued_invoice_of(town, slugs=("gewerbe", "wohngeld"))
    lines = list(InvoiceLine.objects.filter(invoice=invoice).order_by("position"))
    assert len(lines) == 2
    return invoice, lines


@needs_localstripe
def test_localstripe_has_no_credit_notes(stripe_settings):
    """Why the Stripe credit note is not created against localstripe. When this fails, a newer
    localstripe knows credit notes: create them against it in the tests below."""
    client = stripe_client(stripe_settings)
    with pytest.raises(stripe.StripeError) as create:
        client.v1.credit_notes.create(params={"invoice": "in_anything", "amount": 100})
    assert create.value.http_status == 404
    with pytest.raises(stripe.StripeError) as listing:
        client.v1.credit_notes.list(params={"invoice": "in_anything"})
    assert listing.value.http_status == 404


@needs_localstripe
def test_a_partial_credit_note_asks_stripe_for_a_credit_note(
    towns, stripe_settings, eager_tasks, django_capture_on_commit_callbacks
):
    """One of two lines is credited: the Stripe invoice stays, reduced by a Stripe credit note.
    localstripe refuses ``POST /v1/credit_notes`` (404): the task retries and gives up quietly,
    nothing is marked as transferred, and the sweeper keeps the credit note."""
    invoice, (first, _second) = two_lines(towns["leipzig"])
    record = open_in_stripe(invoice, stripe_settings)
    stripe_settings.STRIPE_ENABLED = True
    with django_capture_on_commit_callbacks(execute=True):
        credit = credit_note_issue(invoice=invoice, reason="Teilstorno", actor="t", line_ids=[first.pk])
    assert D("0") < credit.gross_due < invoice.gross_due

    assert remote_status(stripe_settings, record) == "open"  # not voided
    assert not transferred(credit) and pending() == {credit}
    with pytest.raises(StripeRejected) as refused:
        credit_note_transfer(credit_note_id=credit.pk)
    assert refused.value.http_status == 404 and str(refused.value).startswith(f"Gutschrift {credit.number}:")
    assert stripe_credit_task.apply(args=[credit.pk], kwargs={"retry": False}).get() == "später erneut"
    assert StripeInvoice.objects.get().status == "open"


def test_the_credit_note_request(towns):
    """What the gateway sends as ``POST /v1/credit_notes`` (idempotency key ``credit-note-<number>``)."""
    invoice, (first, _second) = two_lines(towns["leipzig"])
    credit = credit_note_issue(invoice=invoice, reason="Teilstorno", actor="t", line_ids=[first.pk])
    total = int(invoice.gross_due * 100)
    cents = int(credit.gross_due * 100)
    untouched = {"id": "in_1", "status": "open", "total": total, "amount_due": total, "amount_paid": 0}

    params = credit_note_params(credit, invoice, {**untouched, "amount_remaining": total})
    assert params == {
        "invoice": "in_1",
        "amount": cents,
        "memo": f"Gutschrift {credit.number} vom {credit.issue_date:%d.%m.%Y} zu {invoice.number}: Teilstorno",
        "metadata": {
            "credit_note_id": str(credit.pk),
            "credit_note_number": credit.number,
            "invoice_id": str(invoice.pk),
            "invoice_number": invoice.number,
            "ags": invoice.buyer_ags,
        },
    }
    # Without amount_remaining (older API versions, localstripe): amount due less paid.
    assert credit_note_params(credit, invoice, untouched) == params

    # Partly paid through Stripe: what Stripe still asks for is reduced, the rest is out of band.
    paid = total - 1000
    partly_paid = {**untouched, "amount_paid": paid, "amount_remaining": 1000}
    assert credit_note_params(credit, invoice, partly_paid)["out_of_band_amount"] == cents - 1000
    assert credit_note_params(credit, invoice, partly_paid)["amount"] == cents

    # Earlier credit notes already took most of it off: only what is left is credited.
    mostly_credited = {**untouched, "pre_payment_credit_notes_amount": total - 500, "amount_remaining": 500}
    assert credit_note_params(credit, invoice, mostly_credited)["amount"] == 500
    nothing_left = {**untouched, "post_payment_credit_notes_amount": total, "amount_remaining": 0}
    assert credit_note_params(credit, invoice, nothing_left) is None


# --- against Stripe's test mode (only with a key) -------------------------------------------


@pytest.mark.skipif(
    not os.environ.get("STRIPE_TEST_SECRET_KEY"),
    reason="STRIPE_TEST_SECRET_KEY (sk_test_…) nicht gesetzt; localstripe kennt keine Gutschriften",
)
def test_credit_notes_in_stripe_test_mode(towns, settings):
    """Partial credit → Stripe credit note over its gross amount; the rest credited → another
    one (the invoice has credit notes, so it is not voided); a second invoice fully credited →
    voided."""
    settings.STRIPE_API_BASE = ""
    settings.STRIPE_SECRET_KEY = os.environ["STRIPE_TEST_SECRET_KEY"]
    assert settings.STRIPE_SECRET_KEY.startswith("sk_test_")
    settings.STRIPE_IDEMPOTENCY_PREFIX = f"test-{uuid.uuid4().hex[:12]}-"
    client = stripe_client(settings)

    invoice, (first, second) = two_lines(towns["leipzig"])
    record = collect_invoice(invoice)
    assert record.status == "open"
    part = credit_note_issue(invoice=invoice, reason="Teilstorno", actor="t", line_ids=[first.pk])
    assert credit_note_transfer(credit_note_id=part.pk).startswith("Stripe-Gutschrift über")
    notes = client.v1.credit_notes.list(params={"invoice": record.stripe_id}).data
    assert [(n.amount, n.metadata["credit_note_number"]) for n in notes] == [
        (int(part.gross_due * 100), part.number)
    ]
    assert credit_note_transfer(credit_note_id=part.pk) == "bereits an Stripe übermittelt"
    rest = credit_note_issue(invoice=invoice, reason="Storno Rest", actor="t", line_ids=[second.pk])
    assert credit_note_transfer(credit_note_id=rest.pk).startswith("Stripe-Gutschrift über")
    remote = client.v1.invoices.retrieve(record.stripe_id)
    assert remote.amount_remaining == 0

    other = issued_invoice(towns["dresden"], started_on=date(2023, 3, 1))
    other_record = collect_invoice(other)
    full = credit_note_issue(invoice=other, reason="Storno", actor="t")
    assert credit_note_transfer(credit_note_id=full.pk) == "Stripe-Rechnung storniert"
    assert client.v1.invoices.retrieve(other_record.stripe_id).status == "void"
