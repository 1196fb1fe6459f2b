"""Stripe webhook events: stored once by id, then processed by a task (billing.tasks).

Processing is idempotent and tolerates replays and any delivery order:

* The event row is locked while it is processed and carries ``processed_at``, so a replay or a
  second task does nothing.
* A Stripe invoice's state only moves forward (``STRIPE_STATUS_RANK``): ``invoice.paid``
  delivered before ``invoice.finalized`` ends as paid.
* Money paid on an invoice is read from the invoice's cumulative ``amount_paid``, the one figure
  in which Stripe counts SEPA debits, bank transfers applied from the cash balance and partial
  payments alike. Each increase becomes a Payment keyed ``<stripe invoice>:<paid cents>``: a
  replayed event finds its key, an older event (smaller figure) adds nothing, and
  ``payment_intent.*``/``charge.*`` events, which describe the same money again, are ignored.
* A Stripe invoice is ours by its stored id (``StripeInvoice.stripe_id``). One not stored yet is
  matched by its metadata only when invoice id and number name the same issued invoice and the
  Stripe customer is that municipality's customer; anything else is processed without touching
  an invoice (a note on the event says why), and money paid on it is a payment without invoice
  of the customer's municipality, or nothing when the customer is unknown.
* A bank transfer Stripe could not apply to any invoice (paid too much, or nothing open) stays
  in the customer's cash balance. Payments without invoice mirror that balance: the newest
  balance Stripe reported (``customer_cash_balance_transaction.created``: ``ending_balance``;
  ``cash_balance.funds_available``) is the target, an increase becomes a Payment without invoice
  (municipality from the customer), a decrease (Stripe applied the cash to an invoice, which
  then counts it as invoice money) shrinks those payments again, newest first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from .domain.cents import from_cents
from .models import (
    STRIPE_STATUS_RANK,
    DocumentKind,
    DocumentStatus,
    Invoice,
    Payment,
    PaymentMethod,
    StripeCustomer,
    StripeEvent,
    StripeInvoice,
    StripeInvoiceStatus,
)

logger = logging.getLogger("ozg.billing")

ACTOR = "Stripe"
#: The note on a payment that mirrors a municipality's unapplied Stripe cash balance.
CASH_BALANCE_NOTE = "Überweisung an Stripe, keiner Rechnung zugeordnet (Guthaben)"
CASH_BALANCE_EVENTS = ("customer_cash_balance_transaction.created", "cash_balance.funds_available")
#: Audit entry on a credit note once Stripe knows it (billing.stripe_gateway.credit_note_transfer).
CREDIT_TRANSFERRED = "stripe_credit"
#: On a payment made on a Stripe invoice that collects none of our invoices.
UNMATCHED_INVOICE_NOTE = "keinem Beleg zugeordnet"


class InvalidEvent(ValueError):
    """A verified payload that is not a Stripe event (no id, type or object)."""


# --- storing -------------------------------------------------------------------------------


def _timestamp(value: Any) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if isinstance(value, int) and value > 0 else None


def event_store(*, payload: Mapping[str, Any]) -> tuple[StripeEvent, bool]:
    """Store a verified event once by its id; ``(event, created)``. A replay returns the stored row."""
    event_id, event_type = payload.get("id"), payload.get("type")
    data = payload.get("data")
    if not (isinstance(event_id, str) and event_id and isinstance(event_type, str) and event_type):
        raise InvalidEvent("Ereignis ohne Kennung oder Typ")
    if not (isinstance(data, Mapping) and isinstance(data.get("object"), Mapping)):
        raise InvalidEvent("Ereignis ohne Objekt")
    return StripeEvent.objects.get_or_create(
        event_id=event_id[:100],
        defaults={
            "type": event_type[:100],
            "payload": dict(payload),
            "stripe_created": _timestamp(payload.get("created")),
        },
    )


# --- processing ----------------------------------------------------------------------------


@transaction.atomic
def event_process(*, event_pk: int) -> str:
    """Process one stored event exactly once (row lock + ``processed_at``); returns what happened."""
    event = StripeEvent.objects.select_for_update().get(pk=event_pk)
    if event.processed_at is not None:
        return "bereits verarbeitet"
    handler = _handler_for(event.type)
    event.error = ""  # a handler may leave a note here (an event it processed but did not apply)
    result = handler(event) if handler is not None else "ignoriert"
    event.processed_at = timezone.now()
    event.save(update_fields=["processed_at", "error"])
    return result


def event_fail(*, event_pk: int, error: str) -> None:
    """Keep why processing failed on the event (outside the rolled-back processing transaction)."""
    StripeEvent.objects.filter(pk=event_pk, processed_at__isnull=True).update(error=error[:2000])


def _handler_for(event_type: str) -> Callable[[StripeEvent], str] | None:
    if event_type.startswith("invoice.") and event_type != "invoice.deleted":
        return _invoice_event
    if event_type == "invoice.deleted":
        return _invoice_deleted
    if event_type in CASH_BALANCE_EVENTS:
        return _cash_balance_event
    return None


def _object(event: StripeEvent) -> Mapping[str, Any]:
    return event.payload["data"]["object"]


def _cents(obj: Mapping[str, Any], key: str) -> int:
    value = obj.get(key) or 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidEvent(f"{key} ist kein Cent-Betrag: {value!r}")
    return value


def _received_on(obj: Mapping[str, Any], event: StripeEvent) -> date:
    paid_at = _timestamp((obj.get("status_transitions") or {}).get("paid_at"))
    when = paid_at or event.stripe_created or timezone.now()
    return timezone.localdate(when)


# --- invoices ------------------------------------------------------------------------------


def stripe_invoice_apply(record: StripeInvoice, obj: Mapping[str, Any]) -> bool:
    """Bring our copy of a Stripe invoice up to ``obj`` without ever moving it backwards."""
    fields: list[str] = []
    status = obj.get("status")
    current_rank = STRIPE_STATUS_RANK.get(record.status, 0)
    if status in STRIPE_STATUS_RANK and status in StripeInvoiceStatus.values:
        rank = STRIPE_STATUS_RANK[status]
        if rank > current_rank:
            record.status = status
            fields.append("status")
        if rank >= current_rank and "amount_due" in obj:
            amount_due = from_cents(_cents(obj, "amount_due"))
            if amount_due != record.amount_due:
                record.amount_due = amount_due
                fields.append("amount_due")
    amount_paid = from_cents(_cents(obj, "amount_paid"))
    if amount_paid > record.amount_paid:
        record.amount_paid = amount_paid
        fields.append("amount_paid")
    url = obj.get("hosted_invoice_url")
    if isinstance(url, str) and url and url != record.hosted_url:
        record.hosted_url = url[:500]
        fields.append("hosted_url")
    if fields:
        record.save(update_fields=[*fields, "updated"])
    return bool(fields)


def _customer_id(obj: Mapping[str, Any]) -> str:
    customer = obj.get("customer")
    if isinstance(customer, Mapping):  # expanded
        customer = customer.get("id")
    return customer if isinstance(customer, str) else ""


def _our_invoice(obj: Mapping[str, Any]) -> tuple[Invoice | None, str]:
    """Our invoice a Stripe invoice we do not hold yet names in its metadata, or ``(None, why)``.

    A signed payload is not enough to touch one of our invoices (the secret may have leaked, or
    another Stripe account sends to this endpoint): id and number must both name the same issued
    invoice, and the Stripe customer must be that municipality's customer.
    """
    metadata = obj.get("metadata") or {}
    raw_id, number = str(metadata.get("invoice_id") or ""), str(metadata.get("invoice_number") or "")
    if not raw_id and not number:
        return None, ""
    named = f"Beleg-ID {raw_id or '-'}, Nummer {number or '-'}"
    if not (raw_id.isdigit() and number):
        return None, f"Metadaten unvollständig ({named})"
    invoice = (
        Invoice.objects.filter(pk=int(raw_id), number=number, status=DocumentStatus.ISSUED)
        .exclude(kind=DocumentKind.CREDIT_NOTE)
        .first()
    )
    if invoice is None:
        return None, f"kein ausgestellter Beleg mit {named}"
    customer = StripeCustomer.objects.filter(municipality_id=invoice.municipality_id).first()
    if customer is None or customer.stripe_id != _customer_id(obj):
        return None, f"Stripe-Kunde {_customer_id(obj) or '-'} ist nicht der Kunde der Kommune von {number}"
    return invoice, ""


def _invoice_event(event: StripeEvent) -> str:
    obj = _object(event)
    stripe_id = obj.get("id")
    if not isinstance(stripe_id, str) or not stripe_id:
        return "Rechnung ohne Kennung (Vorschau), ignoriert"  # e.g. invoice.upcoming
    record = StripeInvoice.objects.select_for_update().filter(stripe_id=stripe_id).first()
    if record is not None:
        invoice = record.invoice
    else:
        invoice, why = _our_invoice(obj)
        if invoice is None:
            return _unmatched_invoice_event(event, stripe_id, obj, why)
    if record is None:
        # The event came before the gateway stored the Stripe invoice (or the row was lost).
        record, _ = StripeInvoice.objects.get_or_create(
            invoice=invoice,
            defaults={"stripe_id": stripe_id, "amount_due": from_cents(_cents(obj, "amount_due"))},
        )
        record = StripeInvoice.objects.select_for_update().get(pk=record.pk)
    outcome = []
    if record.stripe_id == stripe_id:
        before = record.status
        if stripe_invoice_apply(record, obj) and record.status != before:
            _log(invoice.pk, "stripe_status", von=before, nach=record.status, ereignis=event.event_id)
            outcome.append(f"Status {record.get_status_display()}")
    else:
        # A second Stripe invoice for the same document (e.g. created by hand in the dashboard):
        # its money is recorded, our copy keeps following the first one.
        logger.warning(
            "Stripe-Rechnung %s gehört zu %s, geführt wird %s", stripe_id, invoice, record.stripe_id
        )
    payment = _record_invoice_payment(invoice, stripe_id, obj, event)
    if payment is not None:
        outcome.append(f"Zahlung {payment.amount} €")
    if event.type == "invoice.payment_failed":
        _log(invoice.pk, "stripe_payment_failed", ereignis=event.event_id)
        outcome.append("Zahlung fehlgeschlagen")
    return ", ".join(outcome) or "unverändert"


def _unmatched_invoice_event(event: StripeEvent, stripe_id: str, obj: Mapping[str, Any], why: str) -> str:
    """A Stripe invoice none of ours is collected by. No Stripe invoice row and no invoice
    payment (collection of the named invoice goes on); money paid on it is a payment without
    invoice when the Stripe customer is one of our municipalities, otherwise nothing."""
    customer = (
        StripeCustomer.objects.filter(stripe_id=_customer_id(obj)).first() if _customer_id(obj) else None
    )
    if customer is None and not why:
        return "fremde Rechnung, ignoriert"  # another product in the same Stripe account
    notes = [f"Stripe-Rechnung {stripe_id} keinem Beleg zugeordnet" + (f": {why}" if why else "")]
    payment = None
    if customer is not None:
        payment = _record_invoice_payment(
            None, stripe_id, obj, event, municipality_id=customer.municipality_id
        )
        if payment is not None:
            notes.append(f"Zahlung ohne Rechnung {payment.amount} € für {customer.municipality}")
    else:
        notes.append("Kunde unbekannt, nichts erfasst")
    event.error = "; ".join(notes)[:2000]
    logger.warning("Stripe-Ereignis %s (%s): %s", event.event_id, event.type, event.error)
    return event.error


def _record_invoice_payment(
    invoice: Invoice | None,
    stripe_id: str,
    obj: Mapping[str, Any],
    event: StripeEvent,
    *,
    municipality_id: int | None = None,
) -> Payment | None:
    """Record the increase of the Stripe invoice's paid amount since what we recorded for it
    (without ``invoice``: a payment without invoice of ``municipality_id``)."""
    paid_cents = _cents(obj, "amount_paid")
    recorded = Payment.objects.filter(external_id__startswith=f"{stripe_id}:").aggregate(s=Sum("amount"))["s"]
    delta = from_cents(paid_cents) - (recorded or Decimal("0"))
    if delta <= 0:
        return None
    payment, created = _payment_once(
        external_id=f"{stripe_id}:{paid_cents}",
        invoice=invoice,
        municipality_id=invoice.municipality_id if invoice is not None else municipality_id,
        amount=delta,
        received_on=_received_on(obj, event),
        method=_method(obj),
        payer_reference=invoice.number if invoice is not None and invoice.number else "",
        note=f"Stripe-Rechnung {stripe_id}" + ("" if invoice is not None else f", {UNMATCHED_INVOICE_NOTE}"),
    )
    if created and invoice is not None:
        _log(invoice.pk, "stripe_payment", betrag=str(delta), gezahlt_gesamt=str(from_cents(paid_cents)))
    return payment if created else None


def _method(obj: Mapping[str, Any]) -> str:
    """How an invoice was paid, where the payload tells (an expanded charge or payment intent, or a
    single allowed payment method type); otherwise ``other``."""
    for key in ("charge", "payment_intent"):
        nested = obj.get(key)
        if isinstance(nested, Mapping):
            kind = (nested.get("payment_method_details") or {}).get("type")
            kinds = [kind] if kind else list(nested.get("payment_method_types") or [])
            if len(kinds) == 1:
                return _method_of_type(kinds[0])
    kinds = list(((obj.get("payment_settings") or {}).get("payment_method_types")) or [])
    return _method_of_type(kinds[0]) if len(kinds) == 1 else PaymentMethod.OTHER


def _method_of_type(kind: str) -> str:
    return {"sepa_debit": PaymentMethod.SEPA_DEBIT, "customer_balance": PaymentMethod.BANK_TRANSFER}.get(
        kind, PaymentMethod.OTHER
    )


def _invoice_deleted(event: StripeEvent) -> str:
    """A deleted draft: forget it, so that collection creates a new one (sweeper)."""
    obj = _object(event)
    deleted = StripeInvoice.objects.filter(
        stripe_id=obj.get("id"), status=StripeInvoiceStatus.DRAFT
    ).delete()[0]
    return "Entwurf vergessen" if deleted else "ignoriert"


# --- cash balance (bank transfers not applied to an invoice) --------------------------------


def _balance_reading(event: StripeEvent) -> tuple[int, int, int] | None:
    """``(when, cents, tie-break)`` of the customer's EUR cash balance an event reports, or None."""
    obj = _object(event)
    if event.type == "customer_cash_balance_transaction.created":
        if str(obj.get("currency", "")).lower() != "eur":
            return None
        when, cents = obj.get("created"), obj.get("ending_balance")
    else:
        when, cents = event.payload.get("created"), (obj.get("available") or {}).get("eur", 0)
    if not isinstance(when, int) or isinstance(cents, bool) or not isinstance(cents, int):
        return None
    # Transactions of the same second: Stripe funds first and applies afterwards, so the smaller
    # balance is the later one (and never records money twice).
    return when, cents, -cents


def _latest_cash_balance(customer_id: str) -> int | None:
    """The newest EUR cash balance any stored event of this customer reports (processed or not)."""
    events = StripeEvent.objects.filter(
        type__in=CASH_BALANCE_EVENTS, payload__data__object__customer=customer_id
    )
    readings = [r for r in (_balance_reading(e) for e in events) if r is not None]
    return max(readings)[1] if readings else None


def _cash_balance_event(event: StripeEvent) -> str:
    obj = _object(event)
    customer = StripeCustomer.objects.select_for_update().filter(stripe_id=obj.get("customer")).first()
    if customer is None:
        return "unbekannter Kunde, ignoriert"
    target_cents = _latest_cash_balance(customer.stripe_id)
    if target_cents is None:
        return "kein Guthaben in EUR"
    target = from_cents(max(target_cents, 0))
    open_payments = Payment.objects.filter(
        municipality_id=customer.municipality_id,
        invoice__isnull=True,
        source="stripe",
        note=CASH_BALANCE_NOTE,
    ).order_by("-received_on", "-pk")
    recorded = open_payments.aggregate(s=Sum("amount"))["s"] or Decimal("0")
    if target > recorded:
        is_transaction = event.type == "customer_cash_balance_transaction.created"
        funded = (obj.get("funded") or {}).get("bank_transfer") or {}
        payment, created = _payment_once(
            external_id=str(obj["id"] if is_transaction and obj.get("id") else event.event_id),
            invoice=None,
            municipality_id=customer.municipality_id,
            amount=target - recorded,
            received_on=timezone.localdate(
                _timestamp(obj.get("created")) or event.stripe_created or timezone.now()
            ),
            method=PaymentMethod.BANK_TRANSFER,
            payer_reference=str(funded.get("reference") or "")[:200],
            note=CASH_BALANCE_NOTE,
        )
        return f"Zahlung ohne Rechnung {payment.amount} €" if created else "unverändert"
    if target < recorded:
        _shrink(list(open_payments), recorded - target)
        return f"Guthaben auf {target} € verringert"
    return "unverändert"


def _shrink(payments: list[Payment], excess: Decimal) -> None:
    """Stripe applied cash balance to invoices (counted there): take it off the newest payments."""
    for payment in payments:
        if excess <= 0:
            break
        if payment.amount <= excess:
            excess -= payment.amount
            payment.delete()
        else:
            payment.amount -= excess
            payment.save(update_fields=["amount"])
            excess = Decimal("0")


# --- shared helpers ------------------------------------------------------------------------


def _payment_once(*, external_id: str, **fields: Any) -> tuple[Payment, bool]:
    """One payment per external id, also under concurrent processing of two events."""
    existing = Payment.objects.filter(external_id=external_id).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return Payment.objects.create(external_id=external_id, source="stripe", **fields), True
    except IntegrityError:
        return Payment.objects.get(external_id=external_id), False


def _log(invoice_id: int, action: str, **detail: Any) -> None:
    from .invoicing import log_event

    log_event(invoice_id, action, ACTOR, **detail)


# --- what the sweeper catches up with ------------------------------------------------------


#: The sweeper leaves younger events and invoices to the task enqueued for them.
EVENT_GRACE_SECONDS = 60
INVOICE_GRACE_SECONDS = 120
#: Invoices handed over per sweep (the oldest first); the rest follow five minutes later.
SWEEP_INVOICE_LIMIT = 200


def events_unprocessed(*, older_than_seconds: int | None = None, limit: int = 500) -> QuerySet[StripeEvent]:
    """Stored events whose processing task never ran or failed (oldest first)."""
    grace = EVENT_GRACE_SECONDS if older_than_seconds is None else older_than_seconds
    cutoff = timezone.now() - timedelta(seconds=grace)
    return StripeEvent.objects.filter(processed_at__isnull=True, received_at__lte=cutoff).order_by(
        "received_at"
    )[:limit]


def invoices_to_collect(
    *, older_than_seconds: int | None = None, limit: int = SWEEP_INVOICE_LIMIT
) -> QuerySet[Invoice]:
    """Issued invoices with an amount due that Stripe does not hold yet: no Stripe invoice, or one
    still in draft (creation was interrupted). Invoices already settled by payments and credit
    notes are left alone."""
    grace = INVOICE_GRACE_SECONDS if older_than_seconds is None else older_than_seconds
    cutoff = timezone.now() - timedelta(seconds=grace)
    zero = Value(Decimal("0"), output_field=DecimalField(max_digits=14, decimal_places=2))
    paid = (
        Payment.objects.filter(invoice=OuterRef("pk")).values("invoice").annotate(s=Sum("amount")).values("s")
    )
    credited = (
        Invoice.objects.filter(
            references=OuterRef("pk"), kind=DocumentKind.CREDIT_NOTE, status=DocumentStatus.ISSUED
        )
        .values("references")
        .annotate(s=Sum("gross_due"))
        .values("s")
    )
    return (
        Invoice.objects.filter(status=DocumentStatus.ISSUED, gross_due__gt=0, issued_at__lte=cutoff)
        .exclude(kind=DocumentKind.CREDIT_NOTE)
        .filter(Q(stripe__isnull=True) | Q(stripe__status=StripeInvoiceStatus.DRAFT))
        .annotate(settled=Coalesce(Subquery(paid), zero) + Coalesce(Subquery(credited), zero))
        .filter(settled__lt=F("gross_due"))
        .order_by("issued_at")[:limit]
    )


def credit_notes_to_transfer(
    *, older_than_seconds: int | None = None, limit: int = SWEEP_INVOICE_LIMIT
) -> QuerySet[Invoice]:
    """Issued credit notes on an invoice with an open Stripe invoice that Stripe does not know
    yet (their task never ran or gave up)."""
    grace = INVOICE_GRACE_SECONDS if older_than_seconds is None else older_than_seconds
    cutoff = timezone.now() - timedelta(seconds=grace)
    return (
        Invoice.objects.filter(
            kind=DocumentKind.CREDIT_NOTE,
            status=DocumentStatus.ISSUED,
            issued_at__lte=cutoff,
            references__stripe__status=StripeInvoiceStatus.OPEN,
        )
        .exclude(events__action=CREDIT_TRANSFERRED)
        .order_by("issued_at")[:limit]
    )


__all__ = [
    "CASH_BALANCE_NOTE",
    "CREDIT_TRANSFERRED",
    "UNMATCHED_INVOICE_NOTE",
    "InvalidEvent",
    "credit_notes_to_transfer",
    "event_fail",
    "event_process",
    "event_store",
    "events_unprocessed",
    "invoices_to_collect",
    "stripe_invoice_apply",
]
