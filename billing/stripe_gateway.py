"""The only module that talks to Stripe (official SDK); it turns Stripe errors into our own.

A municipality is one Stripe Customer. An issued invoice with an amount due becomes one Stripe
Invoice that the municipality pays by bank transfer (``customer_balance``: Stripe shows a
virtual IBAN and reconciles the transfer) or SEPA direct debit, on Stripe's hosted invoice page:

1. create the invoice as a draft (``send_invoice``, due in ``days_until_due``, only those two
   payment method types, our number and id in the metadata, ``auto_advance`` off so an
   abandoned draft is never sent),
2. store it as ``StripeInvoice`` (status draft) at once, so a retry continues with this draft,
3. add one invoice item with the gross amount due (our invoice is the legal document with the
   VAT breakdown; Stripe only collects its total, so there is nothing to round differently),
4. finalize it and store status, amount and the hosted payment page.

A credit note on an invoice Stripe is collecting (``credit_note_transfer``, task
``stripe_credit_task``) changes what Stripe asks for: a fully credited invoice of which nothing was
paid is voided; otherwise a Stripe credit note over the credited gross amount reduces the open
amount (the part beyond it, already paid through Stripe, is credited "out of band": finance pays
it back). Credit notes issued before the Stripe invoice was finalized are transferred right after.

Every creating call carries an idempotency key derived from the AGS or the invoice number, so a
retry within Stripe's 24 hours returns the first result; after that, step 2 keeps retries from
creating a second invoice. Network errors, 5xx and 4xx answers all raise ``StripeGatewayError``:
the invoice is not lost, the task retries with backoff and the sweeper catches up.

Settings are read on every call (``STRIPE_SECRET_KEY``, ``STRIPE_API_BASE`` — empty for the real
API, localstripe in tests and the demo).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from .domain.cents import from_cents, to_cents
from .models import (
    DocumentKind,
    DocumentStatus,
    Invoice,
    InvoiceEvent,
    StripeCustomer,
    StripeInvoice,
    StripeInvoiceStatus,
)
from .stripe_events import CREDIT_TRANSFERRED, stripe_invoice_apply

logger = logging.getLogger("ozg.billing")

T = TypeVar("T")

#: Bank transfer to a virtual IBAN (reconciled by Stripe) and SEPA direct debit, nothing else.
PAYMENT_METHOD_TYPES = ["customer_balance", "sepa_debit"]
BANK_TRANSFER_OPTIONS = {
    "customer_balance": {
        "funding_type": "bank_transfer",
        "bank_transfer": {"type": "eu_bank_transfer", "eu_bank_transfer": {"country": "DE"}},
    }
}
HTTP_TIMEOUT_SECONDS = 30


class StripeGatewayError(Exception):
    """Stripe could not be reached or refused a call. Nothing is lost; try again later."""

    def __init__(self, message: str, *, http_status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.http_status = http_status
        self.code = code


class StripeUnavailable(StripeGatewayError):
    """Network error, timeout, rate limit or a 5xx answer."""


class StripeRejected(StripeGatewayError):
    """Stripe answered 4xx (a request it will not accept as it is)."""


class WebhookRejected(Exception):
    """A webhook request whose signature does not prove it comes from Stripe (German reason)."""


# --- client --------------------------------------------------------------------------------


def _client() -> stripe.StripeClient:
    base = settings.STRIPE_API_BASE
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": base.rstrip("/")} if base else None,
        max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
        http_client=stripe.RequestsClient(timeout=HTTP_TIMEOUT_SECONDS),
    )


def _once(key: str) -> dict[str, str]:
    """Request options with an idempotency key. ``STRIPE_IDEMPOTENCY_PREFIX`` keeps the keys of
    two installations apart that share one Stripe account (e.g. test runs against test mode)."""
    return {"idempotency_key": settings.STRIPE_IDEMPOTENCY_PREFIX + key}


def _plain(obj: Any) -> dict[str, Any]:
    """An SDK object as a plain dict: the SDK's objects are no mappings (``obj.get`` fails)."""
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _call(what: str, operation: Callable[[stripe.StripeClient], T]) -> T:
    try:
        return operation(_client())
    except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
        raise StripeUnavailable(f"{what}: Stripe nicht erreichbar ({exc.user_message or exc})") from exc
    except stripe.StripeError as exc:
        status = exc.http_status
        cls = StripeUnavailable if status is None or status >= 500 else StripeRejected
        raise cls(
            f"{what}: Stripe antwortete {status or '-'} ({exc.user_message or exc})",
            http_status=status,
            code=exc.code,
        ) from exc


# --- customers -----------------------------------------------------------------------------


def customer_for(municipality) -> StripeCustomer:
    """The municipality's Stripe Customer, created on first use (idempotency key ``customer-<AGS>``)."""
    existing = StripeCustomer.objects.filter(municipality=municipality).first()
    if existing is not None:
        return existing
    params: dict[str, Any] = {
        "name": (municipality.invoice_recipient or municipality.official_name)[:256],
        "metadata": {"ags": municipality.ags, "municipality_id": str(municipality.pk)},
        "preferred_locales": ["de"],
    }
    if municipality.contact_email:
        params["email"] = municipality.contact_email
    if municipality.invoice_city:
        params["address"] = {
            "line1": municipality.invoice_street,
            "postal_code": municipality.invoice_postal_code,
            "city": municipality.invoice_city,
            "country": "DE",
        }
    customer = _call(
        f"Kunde {municipality.ags}",
        lambda c: c.v1.customers.create(params=params, options=_once(f"customer-{municipality.ags}")),
    )
    try:
        with transaction.atomic():
            return StripeCustomer.objects.create(municipality=municipality, stripe_id=customer.id)
    except IntegrityError:  # a concurrent call stored it first (same customer with the same key)
        return StripeCustomer.objects.get(municipality=municipality)


# --- invoices ------------------------------------------------------------------------------


def collectable(invoice: Invoice) -> bool:
    return invoice.status == DocumentStatus.ISSUED and invoice.gross_due > 0 and not invoice.is_credit_note


def invoice_collect(*, invoice_id: int, today: date | None = None) -> StripeInvoice | None:
    """Hand one issued invoice to Stripe for collection; safe to call again at any point."""
    invoice = Invoice.objects.select_related("municipality").get(pk=invoice_id)
    return collect_invoice(invoice, today=today)


def collect_invoice(invoice: Invoice, *, today: date | None = None) -> StripeInvoice | None:
    """The finalized Stripe invoice collecting ``invoice`` (None for credit notes and nothing due)."""
    if not collectable(invoice):
        return None
    record = StripeInvoice.objects.filter(invoice=invoice).first()
    if record is not None and record.status != StripeInvoiceStatus.DRAFT:
        _transfer_pending_credit_notes(invoice)
        return record
    if record is None and credited(invoice) >= invoice.gross_due:
        return None  # fully credited before Stripe got it: nothing to collect
    customer = customer_for(invoice.municipality)
    cents = to_cents(invoice.gross_due)
    key = invoice.number
    if record is None:
        draft = _call(
            f"Rechnung {key}",
            lambda c: c.v1.invoices.create(
                params=_invoice_params(invoice, customer.stripe_id, today or timezone.localdate()),
                options=_once(f"invoice-{key}"),
            ),
        )
        record = _store_draft(invoice, draft)
    current = _plain(_call(f"Rechnung {key} lesen", lambda c: c.v1.invoices.retrieve(record.stripe_id)))
    if current.get("status") == "draft":
        total = current.get("total") or 0
        if total == 0:
            _call(
                f"Position {key}",
                lambda c: c.v1.invoice_items.create(
                    params={
                        "customer": customer.stripe_id,
                        "invoice": record.stripe_id,
                        "amount": cents,
                        "currency": invoice.currency.lower(),
                        "description": f"{invoice.title} {key}",
                        "metadata": _metadata(invoice),
                    },
                    options=_once(f"invoice-item-{key}"),
                ),
            )
        elif total != cents:
            raise StripeRejected(f"Stripe-Entwurf {record.stripe_id} über {total} Cent, erwartet {cents}")
        current = _plain(
            _call(
                f"Rechnung {key} abschließen",
                lambda c: c.v1.invoices.finalize_invoice(
                    record.stripe_id,
                    params={"auto_advance": False},
                    options=_once(f"invoice-finalize-{key}"),
                ),
            )
        )
    with transaction.atomic():
        locked = StripeInvoice.objects.select_for_update().get(pk=record.pk)
        stripe_invoice_apply(locked, current)
    if _transfer_pending_credit_notes(invoice):
        locked.refresh_from_db()
    return locked


def _metadata(invoice: Invoice) -> dict[str, str]:
    return {"invoice_id": str(invoice.pk), "invoice_number": invoice.number or "", "ags": invoice.buyer_ags}


def _invoice_params(invoice: Invoice, customer_id: str, today: date) -> dict[str, Any]:
    return {
        "customer": customer_id,
        "currency": invoice.currency.lower(),
        "collection_method": "send_invoice",
        # Stripe's due date lies in the future; an invoice handed over late gets at least a day.
        "days_until_due": max(1, (invoice.due_date - today).days),
        "auto_advance": False,
        "pending_invoice_items_behavior": "exclude",
        "payment_settings": {
            "payment_method_types": PAYMENT_METHOD_TYPES,
            "payment_method_options": BANK_TRANSFER_OPTIONS,
        },
        "description": f"{invoice.title} {invoice.number} vom {invoice.issue_date:%d.%m.%Y}",
        "custom_fields": [{"name": "Rechnungsnummer", "value": invoice.number or ""}],
        "metadata": _metadata(invoice),
    }


def _store_draft(invoice: Invoice, draft: Any) -> StripeInvoice:
    try:
        with transaction.atomic():
            return StripeInvoice.objects.create(
                invoice=invoice,
                stripe_id=draft.id,
                status=StripeInvoiceStatus.DRAFT,
                amount_due=invoice.gross_due,
            )
    except IntegrityError:  # stored meanwhile (webhook or a concurrent task): continue with that one
        record = StripeInvoice.objects.get(invoice=invoice)
        if record.stripe_id != draft.id:
            logger.warning("Stripe-Entwurf %s für %s bleibt ungenutzt", draft.id, invoice.number)
        return record


# --- credit notes --------------------------------------------------------------------------


def credited(invoice: Invoice) -> Decimal:
    """Gross amount of the issued credit notes on ``invoice``."""
    total = Invoice.objects.filter(
        references=invoice, kind=DocumentKind.CREDIT_NOTE, status=DocumentStatus.ISSUED
    ).aggregate(s=Sum("gross_due"))["s"]
    return total or Decimal("0")


def credit_note_transfer(*, credit_note_id: int) -> str:
    """Bring one issued credit note to the Stripe invoice collecting the invoice it corrects; safe
    to call again at any point. Returns what happened.

    Only an open Stripe invoice changes. Without one there is nothing to do now: a Stripe invoice
    still in draft, or not yet created, takes the credit notes into account in ``collect_invoice``;
    a paid or voided one asks for nothing any more (a refund is up to finance).
    """
    credit = Invoice.objects.select_related("references").get(pk=credit_note_id)
    invoice = credit.references
    if not (credit.is_credit_note and credit.is_issued and invoice is not None):
        return "keine ausgestellte Gutschrift"
    with transaction.atomic():
        record = StripeInvoice.objects.select_for_update().filter(invoice=invoice).first()
        if record is None or record.status == StripeInvoiceStatus.DRAFT:
            return "Stripe-Rechnung noch nicht abgeschlossen, die Übergabe berücksichtigt die Gutschrift"
        if record.status != StripeInvoiceStatus.OPEN:
            return f"Stripe-Rechnung {record.get_status_display()}, nichts zu ändern"
        if InvoiceEvent.objects.filter(invoice=credit, action=CREDIT_TRANSFERRED).exists():
            return "bereits an Stripe übermittelt"
        current = _plain(
            _call(f"Rechnung {invoice.number} lesen", lambda c: c.v1.invoices.retrieve(record.stripe_id))
        )
        stripe_invoice_apply(record, current)
        if current.get("status") != StripeInvoiceStatus.OPEN:
            return f"Stripe-Rechnung {record.get_status_display()}, nichts zu ändern"
        # Voided only as Stripe issued it: nothing paid on it and no credit note on it yet.
        untouched = _cents_of(current, "amount_paid") == 0 and _stripe_credited_cents(current) == 0
        if untouched and credited(invoice) >= invoice.gross_due:
            return _void(record, invoice, credit)
        return _create_credit_note(record, invoice, credit, current)


def _void(record: StripeInvoice, invoice: Invoice, credit: Invoice) -> str:
    """Fully credited and nothing paid: Stripe no longer asks for anything."""
    voided = _plain(
        _call(
            f"Rechnung {invoice.number} stornieren",
            lambda c: c.v1.invoices.void_invoice(
                record.stripe_id, options=_once(f"invoice-void-{invoice.number}")
            ),
        )
    )
    stripe_invoice_apply(record, voided)
    _log(invoice.pk, "stripe_void", gutschrift=credit.number, stripe_rechnung=record.stripe_id)
    _log(credit.pk, CREDIT_TRANSFERRED, stripe_rechnung=record.stripe_id, storniert=True)
    return "Stripe-Rechnung storniert"


def _create_credit_note(
    record: StripeInvoice, invoice: Invoice, credit: Invoice, current: Mapping[str, Any]
) -> str:
    params = credit_note_params(credit, invoice, current)
    if params is None:
        _log(credit.pk, CREDIT_TRANSFERRED, stripe_rechnung=record.stripe_id, betrag="0.00")
        return "auf der Stripe-Rechnung ist nichts mehr gutzuschreiben"
    note = _call(
        f"Gutschrift {credit.number}",
        lambda c: c.v1.credit_notes.create(params=params, options=_once(f"credit-note-{credit.number}")),
    )
    amount = str(from_cents(params["amount"]))
    _log(invoice.pk, "stripe_credit_note", gutschrift=credit.number, stripe_gutschrift=note.id, betrag=amount)
    _log(
        credit.pk,
        CREDIT_TRANSFERRED,
        stripe_rechnung=record.stripe_id,
        stripe_gutschrift=note.id,
        betrag=amount,
    )
    return f"Stripe-Gutschrift über {amount} €"


def credit_note_params(
    credit: Invoice, invoice: Invoice, current: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The Stripe credit note for ``credit`` on the Stripe invoice ``current`` (None: nothing left).

    The credited gross amount, at most what the Stripe invoice still holds uncredited. Up to the
    amount remaining it reduces what Stripe asks for; the part beyond, already paid through
    Stripe, is credited out of band (paid back by finance, not by Stripe).
    """
    amount = min(to_cents(credit.gross_due), _cents_of(current, "total") - _stripe_credited_cents(current))
    if amount <= 0:
        return None
    remaining = current.get("amount_remaining")
    if not isinstance(remaining, int) or isinstance(remaining, bool):  # older API versions, localstripe
        remaining = max(_cents_of(current, "amount_due") - _cents_of(current, "amount_paid"), 0)
    params: dict[str, Any] = {
        "invoice": current["id"],
        "amount": amount,
        "memo": (
            f"{credit.title} {credit.number} vom {credit.issue_date:%d.%m.%Y} zu {invoice.number}: "
            f"{credit.reason}"
        )[:500],
        "metadata": {
            "credit_note_id": str(credit.pk),
            "credit_note_number": credit.number or "",
            "invoice_id": str(invoice.pk),
            "invoice_number": invoice.number or "",
            "ags": invoice.buyer_ags,
        },
    }
    if amount > remaining:
        params["out_of_band_amount"] = amount - remaining
    return params


def _transfer_pending_credit_notes(invoice: Invoice) -> bool:
    """Credit notes issued while the Stripe invoice was not finalized yet (True: there were some).
    A failure is left to the sweeper; collecting the invoice itself succeeded."""
    pending = list(
        Invoice.objects.filter(
            references=invoice, kind=DocumentKind.CREDIT_NOTE, status=DocumentStatus.ISSUED
        )
        .exclude(events__action=CREDIT_TRANSFERRED)
        .order_by("issued_at", "pk")
        .values_list("pk", flat=True)
    )
    for credit_note_id in pending:
        try:
            credit_note_transfer(credit_note_id=credit_note_id)
        except StripeGatewayError as exc:
            logger.warning("Gutschrift %s nicht an Stripe übermittelt: %s", credit_note_id, exc)
    return bool(pending)


def _cents_of(obj: Mapping[str, Any], key: str) -> int:
    value = obj.get(key) or 0
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _stripe_credited_cents(obj: Mapping[str, Any]) -> int:
    """What credit notes already took off the Stripe invoice (missing in localstripe: 0)."""
    return _cents_of(obj, "pre_payment_credit_notes_amount") + _cents_of(
        obj, "post_payment_credit_notes_amount"
    )


def _log(invoice_id: int, action: str, **detail: Any) -> None:
    from .invoicing import log_event

    log_event(invoice_id, action, "Stripe", **detail)


# --- webhooks ------------------------------------------------------------------------------


def verify_webhook(payload: str, header: str | None) -> None:
    """Check Stripe's signature (``t=…,v1=…``: HMAC-SHA256 of ``"<t>.<payload>"``) and the age.

    The SDK only refuses timestamps older than the tolerance; one more than the tolerance in the
    future is refused here too (a clock far ahead, or a signature prepared for later replay).
    """
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:  # production without a secret of its own: an empty key would prove nothing
        raise WebhookRejected("Stripe-Webhook ist nicht eingerichtet.")
    if not header:
        raise WebhookRejected("Stripe-Signatur fehlt.")
    tolerance = settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS
    try:
        stripe.WebhookSignature.verify_header(payload, header, secret, tolerance)
    except stripe.SignatureVerificationError as exc:
        if "tolerance" in str(exc):
            raise WebhookRejected("Stripe-Signatur ist zu alt.") from exc
        raise WebhookRejected("Stripe-Signatur ist ungültig.") from exc
    timestamp = _signature_timestamp(header)
    if timestamp is None:
        raise WebhookRejected("Stripe-Signatur ist ungültig.")
    if timestamp > timezone.now().timestamp() + tolerance:
        raise WebhookRejected("Zeitstempel der Stripe-Signatur liegt in der Zukunft.")


def _signature_timestamp(header: str) -> int | None:
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t":
            return int(value) if value.isdigit() else None
    return None
