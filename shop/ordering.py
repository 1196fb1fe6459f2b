"""Cart and order workflow: submit → approve/reject → accept → provision (DESIGN.md, main flow 2–3).

Every function is one transaction. Acceptance writes the provisioning outbox in the same
transaction and enqueues the worker only after commit; the sweeper re-sends whatever is
left in the outbox, so a broker that is down at acceptance loses nothing.
"""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Prefetch
from django.utils import timezone

from billing.selectors import engine_programmes, quote_price

from .models import (
    OPEN_LINE_STATES,
    Assistant,
    AssistantCategory,
    AssistantStatus,
    Cart,
    CartItem,
    FeeKind,
    LineStatus,
    Order,
    OrderLine,
    OrderLinePrice,
    OrderStatus,
    ProvisioningOutbox,
)
from .selectors import prices_prefetch

logger = logging.getLogger("ozg.shop")

# Individual developments are reviewed by the association; everything else is accepted at once.
MANUAL_REVIEW_CATEGORIES = frozenset({AssistantCategory.INDIVIDUAL})


def _who(user) -> dict:
    return {"id": user.pk, "email": user.email, "name": user.get_full_name()}


def _open_assistant_ids(municipality) -> set[int]:
    return set(
        OrderLine.objects.filter(municipality=municipality, status__in=OPEN_LINE_STATES).values_list(
            "assistant_id", flat=True
        )
    )


def _check_orderable(assistant: Assistant, municipality, open_ids: set[int]) -> None:
    if assistant.status == AssistantStatus.ANNOUNCED:
        raise ValidationError(
            f"„{assistant.title}“ ist erst angekündigt (voraussichtlich ab {assistant.expected_date:%d.%m.%Y}) "
            "und kann noch nicht bestellt werden. Setzen Sie ihn auf die Merkliste."
        )
    if assistant.status != AssistantStatus.AVAILABLE:
        raise ValidationError(f"„{assistant.title}“ wird nicht mehr angeboten.")
    if assistant.pk in open_ids:
        raise ValidationError(
            f"„{assistant.title}“ hat {municipality.short_name} bereits aktiv oder in Bestellung."
        )


# --- cart ---------------------------------------------------------------------------------


@transaction.atomic
def cart_add(*, municipality, assistant: Assistant, user) -> CartItem:
    _check_orderable(assistant, municipality, _open_assistant_ids(municipality))
    cart, _ = Cart.objects.get_or_create(municipality=municipality)
    item, created = CartItem.objects.get_or_create(
        cart=cart, assistant=assistant, defaults={"added_by_email": user.email}
    )
    if not created:
        raise ValidationError(f"„{assistant.title}“ liegt schon im Warenkorb.")
    cart.save(update_fields=["updated"])
    return item


@transaction.atomic
def cart_remove(*, municipality, item_id: int) -> None:
    deleted, _ = CartItem.objects.filter(pk=item_id, cart__municipality=municipality).delete()
    if not deleted:
        raise ValidationError("Diese Position liegt nicht (mehr) im Warenkorb.")


# --- orders -------------------------------------------------------------------------------


def _freeze_prices(
    line: OrderLine, assistant: Assistant, *, on: date, programmes, recurrences: dict[str, str]
) -> None:
    """Copy the prices valid on the order date and their quotes onto the line (FUNDING.md)."""
    for price in assistant.order_prices:
        recurrence = recurrences[price.fee_kind_id]
        if recurrence == FeeKind.Recurrence.YEARLY:
            # the quote shown at ordering: the first year, as if activated on the order date
            period = (on, date(on.year, 12, 31))
            quote = quote_price(
                price=price, assistant=assistant, recurrence=recurrence, programmes=programmes, period=period
            )
        else:
            quote = quote_price(
                price=price, assistant=assistant, recurrence=recurrence, programmes=programmes, order_date=on
            )
        OrderLinePrice.objects.create(
            line=line,
            fee_kind_id=price.fee_kind_id,
            recurrence=recurrence,
            net_amount=price.net_amount,
            vat_rate=price.vat_rate,
            catalog_price=price,
            subsidy=quote.subsidy,
            net_due=quote.net_due,
            provisional=quote.provisional,
            explanation=quote.explanation[:300],
        )


@transaction.atomic
def order_submit(
    *, municipality, user, idempotency_key: str, note: str = "", today: date | None = None
) -> Order:
    """Turn the municipality's cart into an order. Submitting twice with the same key
    (double click, reloaded form, two tabs) returns the first order."""
    if not idempotency_key or len(idempotency_key) > 64:
        raise ValidationError("Das Formular ist ungültig. Bitte laden Sie den Warenkorb neu.")
    existing = Order.objects.filter(municipality=municipality, idempotency_key=idempotency_key).first()
    if existing:
        return existing
    cart = Cart.objects.select_for_update().filter(municipality=municipality).first()
    existing = Order.objects.filter(municipality=municipality, idempotency_key=idempotency_key).first()
    if existing:  # a parallel request of the same form won the lock
        return existing
    today = today or timezone.localdate()
    items = (
        list(
            CartItem.objects.filter(cart=cart)
            .select_related("assistant")
            .prefetch_related(
                Prefetch(
                    "assistant__prices",
                    queryset=prices_prefetch(population=municipality.population, on=today).queryset,
                    to_attr="order_prices",
                )
            )
        )
        if cart
        else []
    )
    if not items:
        raise ValidationError("Der Warenkorb ist leer.")
    open_ids = _open_assistant_ids(municipality)
    for item in items:
        _check_orderable(item.assistant, municipality, open_ids)
        if not item.assistant.order_prices and item.assistant.category not in MANUAL_REVIEW_CATEGORIES:
            raise ValidationError(f"Für „{item.assistant.title}“ gibt es heute keinen gültigen Preis.")
    who = _who(user)
    order = Order.objects.create(
        municipality=municipality,
        idempotency_key=idempotency_key,
        note=note.strip(),
        submitted_on=today,
        submitted_by_id=who["id"],
        submitted_by_email=who["email"],
        submitted_by_name=who["name"],
    )
    order.number = f"B-{today.year}-{order.pk:06d}"
    order.save(update_fields=["number"])
    programmes = engine_programmes()
    recurrences = dict(FeeKind.objects.values_list("code", "recurrence"))
    for item in items:
        assistant = item.assistant
        line = OrderLine.objects.create(
            order=order,
            municipality=municipality,
            assistant=assistant,
            assistant_title=assistant.title,
            assistant_category=assistant.category,
            assistant_version=assistant.version,
        )
        _freeze_prices(line, assistant, on=today, programmes=programmes, recurrences=recurrences)
    CartItem.objects.filter(cart=cart).delete()
    logger.info("Bestellung %s von %s eingereicht", order.number, municipality)
    transaction.on_commit(lambda: _notify(order.pk, "submitted"))
    return order


def _set_line_status(lines, status: str) -> None:
    """Line by line (not a bulk update), so that every change lands in the audit history."""
    now = timezone.now()
    for line in lines:
        line.status = status
        line.status_changed = now
        line.save(update_fields=["status", "status_changed"])


def _locked(order: Order) -> Order:
    return Order.objects.select_for_update().get(pk=order.pk)


@transaction.atomic
def order_approve(*, order: Order, user) -> Order:
    """Four-eyes principle: an approver who did not submit the order releases it."""
    order = _locked(order)
    if order.status != OrderStatus.SUBMITTED:
        raise ValidationError(
            f"Über diese Bestellung ist bereits entschieden ({order.get_status_display()})."
        )
    if order.submitted_by_id == user.pk:
        raise ValidationError("Niemand gibt die eigene Bestellung frei (Vier-Augen-Prinzip).")
    who = _who(user)
    order.decided_at = timezone.now()
    order.decided_by_email, order.decided_by_name = who["email"], who["name"]
    order.status = OrderStatus.APPROVED
    order.save(update_fields=["status", "decided_at", "decided_by_email", "decided_by_name"])
    if not order.lines.filter(assistant_category__in=MANUAL_REVIEW_CATEGORIES).exists():
        return _accept(order, accepted_by="automatisch")
    transaction.on_commit(lambda: _notify(order.pk, "review"))
    transaction.on_commit(lambda: _notify(order.pk, "approved"))
    return order


@transaction.atomic
def order_reject(*, order: Order, user, reason: str) -> Order:
    order = _locked(order)
    if order.status != OrderStatus.SUBMITTED:
        raise ValidationError(
            f"Über diese Bestellung ist bereits entschieden ({order.get_status_display()})."
        )
    if not reason.strip():
        raise ValidationError({"reason": "Bitte geben Sie einen Grund für die Ablehnung an."})
    who = _who(user)
    order.status = OrderStatus.REJECTED
    order.rejection_reason = reason.strip()
    order.decided_at = timezone.now()
    order.decided_by_email, order.decided_by_name = who["email"], who["name"]
    order.save(
        update_fields=["status", "rejection_reason", "decided_at", "decided_by_email", "decided_by_name"]
    )
    _set_line_status(order.lines.all(), LineStatus.CANCELLED)
    transaction.on_commit(lambda: _notify(order.pk, "rejected"))
    return order


@transaction.atomic
def order_cancel(*, order: Order, user) -> Order:
    """The municipality withdraws its order, possible until provisioning starts."""
    order = _locked(order)
    started = order.lines.exclude(status__in=[LineStatus.PENDING, LineStatus.QUEUED]).exists()
    if order.status not in (OrderStatus.SUBMITTED, OrderStatus.APPROVED, OrderStatus.ACCEPTED) or started:
        raise ValidationError(
            "Diese Bestellung kann nicht mehr storniert werden: die Bereitstellung hat begonnen."
        )
    order.status = OrderStatus.CANCELLED
    order.cancelled_at = timezone.now()
    order.save(update_fields=["status", "cancelled_at"])
    _set_line_status(order.lines.all(), LineStatus.CANCELLED)
    ProvisioningOutbox.objects.filter(line__order=order, done_at__isnull=True).update(done_at=timezone.now())
    return order


def _accept(order: Order, *, accepted_by: str) -> Order:
    now = timezone.now()
    order.status = OrderStatus.ACCEPTED
    order.accepted_at = now
    order.accepted_by_email = accepted_by if "@" in accepted_by else ""
    order.save(update_fields=["status", "accepted_at", "accepted_by_email"])
    lines = list(order.lines.filter(status=LineStatus.PENDING))
    _set_line_status(lines, LineStatus.QUEUED)
    ProvisioningOutbox.objects.bulk_create([ProvisioningOutbox(line=line) for line in lines])
    line_ids = [line.pk for line in lines]
    transaction.on_commit(lambda: dispatch_lines(line_ids))
    transaction.on_commit(lambda: _notify(order.pk, "approved"))
    return order


@transaction.atomic
def order_accept(
    *, order: Order, staff_user, individual_prices: dict[int, list[tuple[str, Decimal, str]]] | None = None
) -> Order:
    """The association accepts an approved order after review (individual developments),
    adding the free price lines it agreed on: ``{line_id: [(fee_kind, net_amount, description)]}``."""
    order = _locked(order)
    if order.status != OrderStatus.APPROVED:
        raise ValidationError("Nur freigegebene Bestellungen können angenommen werden.")
    for line_id, prices in (individual_prices or {}).items():
        line = order.lines.get(pk=line_id)
        for fee_kind, amount, description in prices:
            if amount < 0:
                raise ValidationError("Ein Preis darf nicht negativ sein.")
            kind = FeeKind.objects.get(code=fee_kind)
            # individual developments are never subsidised (FUNDING.md)
            OrderLinePrice.objects.create(
                line=line,
                fee_kind=kind,
                recurrence=kind.recurrence,
                net_amount=amount,
                vat_rate=Decimal("19"),
                is_individual=True,
                description=description,
                subsidy=Decimal("0"),
                net_due=amount,
                explanation="Keine Förderung: individuelle Eigenentwicklung",
            )
    return _accept(order, accepted_by=staff_user.email)


# --- provisioning dispatch ----------------------------------------------------------------


def dispatch_lines(line_ids: list[int]) -> int:
    """Hand lines to the worker. A broker that is down leaves them in the outbox for the sweeper."""
    from .tasks import provision_line_task

    sent = 0
    for index, line_id in enumerate(line_ids):
        try:
            provision_line_task.apply_async(args=[line_id], retry=False)
        except Exception:  # noqa: BLE001 - the outbox keeps the lines; the sweeper sends them later
            # One refused connection already costs kombu's connect timeout (seconds); trying each
            # remaining line would keep the approver's request (or the sweeper) waiting that long
            # per line. The broker is down for all of them: leave them all in the outbox.
            logger.warning(
                "Broker nicht erreichbar: %s Position(en) bleiben im Ausgang",
                len(line_ids) - index,
                exc_info=True,
            )
            break
        ProvisioningOutbox.objects.filter(line_id=line_id).update(
            dispatched_at=timezone.now(), dispatch_count=F("dispatch_count") + 1
        )
        sent += 1
    return sent


def _notify(order_id: int, event: str) -> None:
    from .notifications import order_notify

    try:
        order_notify(order_id=order_id, event=event)
    except Exception:  # noqa: BLE001 - a mail server problem must not undo the order
        logger.exception("Benachrichtigung %s zu Bestellung %s fehlgeschlagen", event, order_id)
