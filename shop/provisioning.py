"""Provisioning an accepted order line into the municipality's own schema.

Idempotent: the instance is keyed by its order line (unique), the line and the outbox are
locked while they change, and a line that is already active is left alone. The worker may be
killed at any point: the task is acknowledged late and redelivered, and the sweeper re-sends
lines that stay queued or provisioning for too long.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from .models import (
    FeeKind,
    LineStatus,
    OrderLine,
    OrderStatus,
    ProvisioningOutbox,
    Subscription,
)

logger = logging.getLogger("ozg.shop")


def _settle_order(order_id: int) -> None:
    from .models import Order

    order = Order.objects.select_for_update().get(pk=order_id)
    states = set(order.lines.exclude(status=LineStatus.CANCELLED).values_list("status", flat=True))
    if order.status not in (OrderStatus.ACCEPTED, OrderStatus.FAILED):
        return
    if states == {LineStatus.ACTIVE}:
        new = OrderStatus.COMPLETED
    elif LineStatus.FAILED in states and not states & {LineStatus.QUEUED, LineStatus.PROVISIONING}:
        new = OrderStatus.FAILED
    else:
        new = OrderStatus.ACCEPTED
    if new != order.status:
        order.status = new
        order.save(update_fields=["status"])
        if new in (OrderStatus.COMPLETED, OrderStatus.FAILED):
            from .ordering import _notify

            event = "provisioned" if new == OrderStatus.COMPLETED else "failed"
            transaction.on_commit(lambda: _notify(order.pk, event))


def line_start(*, line_id: int) -> bool:
    """Mark a line as being provisioned (visible to the purchaser). False: nothing to do."""
    with transaction.atomic():
        line = OrderLine.objects.select_for_update().get(pk=line_id)
        if line.status not in (LineStatus.QUEUED, LineStatus.PROVISIONING, LineStatus.FAILED):
            ProvisioningOutbox.objects.filter(line_id=line_id, done_at__isnull=True).update(
                done_at=timezone.now()
            )
            return False
        line.status = LineStatus.PROVISIONING
        line.attempts += 1
        line.failure_reason = ""
        line.status_changed = timezone.now()
        line.save(update_fields=["status", "attempts", "failure_reason", "status_changed"])
    return True


@transaction.atomic
def line_provision(*, line_id: int, today: date | None = None) -> OrderLine:
    """Create the assistant instance in the municipality's schema, activate the line and start
    the subscription. Safe to run any number of times."""
    from workspace.models import AssistantInstance

    # of=("self",): lock the line only. A plain select_for_update() with select_related() also
    # locks the joined order, municipality and assistant rows until commit, which serialises every
    # line of the same order, municipality or assistant (and blocks staff editing them).
    line = (
        OrderLine.objects.select_for_update(of=("self",))
        .select_related("order", "municipality", "assistant")
        .get(pk=line_id)
    )
    if line.status == LineStatus.ACTIVE or line.status == LineStatus.CANCELLED:
        ProvisioningOutbox.objects.filter(line=line, done_at__isnull=True).update(done_at=timezone.now())
        return line
    today = today or timezone.localdate()
    assistant = line.assistant
    with tenant_context(line.municipality):
        instance, _ = AssistantInstance.objects.get_or_create(
            order_line_id=line.pk,
            defaults={
                "assistant": assistant,
                "title": line.assistant_title,
                "version": line.assistant_version,
                "activated_on": today,
                "config_schema": assistant.config_schema,
            },
        )
    line.status = LineStatus.ACTIVE
    line.activated_on = instance.activated_on
    line.instance_id = instance.pk
    line.status_changed = timezone.now()
    line.save(update_fields=["status", "activated_on", "instance_id", "status_changed"])
    yearly = line.prices.filter(fee_kind_id="maintenance", recurrence=FeeKind.Recurrence.YEARLY).first()
    subscription, _ = Subscription.objects.get_or_create(
        order_line=line,
        defaults={
            "municipality": line.municipality,
            "assistant": assistant,
            "ordered_on": line.order.submitted_on,
            "started_on": instance.activated_on,
            "maintenance_yearly": yearly.net_amount if yearly else Decimal("0"),
            "vat_rate": yearly.vat_rate if yearly else Decimal("19"),
        },
    )
    ProvisioningOutbox.objects.filter(line=line, done_at__isnull=True).update(done_at=timezone.now())
    _settle_order(line.order_id)
    # The activation invoice (one-time fees, maintenance of the first year pro rata) is issued in
    # the same transaction: an activated line is always billed, and exactly once. Last, because
    # drawing its number locks the series' counter until commit.
    from billing.invoicing import activation_invoice

    activation_invoice(order_line=line, subscription=subscription, issue_date=today)
    return line


@transaction.atomic
def line_fail(*, line_id: int, reason: str) -> None:
    line = OrderLine.objects.select_for_update().get(pk=line_id)
    if line.status == LineStatus.ACTIVE:
        return
    line.status = LineStatus.FAILED
    line.failure_reason = reason[:2000]
    line.status_changed = timezone.now()
    line.save(update_fields=["status", "failure_reason", "status_changed"])
    _settle_order(line.order_id)


@transaction.atomic
def line_retry(*, line_id: int) -> None:
    """Staff send a failed line again."""
    line = OrderLine.objects.select_for_update().get(pk=line_id)
    if line.status != LineStatus.FAILED:
        from django.core.exceptions import ValidationError

        raise ValidationError("Nur fehlgeschlagene Positionen können erneut bereitgestellt werden.")
    line.status = LineStatus.QUEUED
    line.status_changed = timezone.now()
    line.save(update_fields=["status", "status_changed"])
    ProvisioningOutbox.objects.update_or_create(line=line, defaults={"done_at": None})
    from .models import Order

    Order.objects.filter(pk=line.order_id, status=OrderStatus.FAILED).update(status=OrderStatus.ACCEPTED)
    from .ordering import dispatch_lines

    transaction.on_commit(lambda: dispatch_lines([line.pk]))


def outbox_sweep(*, stale_after: timedelta = timedelta(minutes=5)) -> int:
    """Re-send lines that were never dispatched, or that are stuck queued/provisioning."""
    from .ordering import dispatch_lines

    now = timezone.now()
    stale = now - stale_after
    pending = list(
        ProvisioningOutbox.objects.filter(done_at__isnull=True)
        .filter(line__status__in=[LineStatus.QUEUED, LineStatus.PROVISIONING])
        .exclude(dispatched_at__gt=stale)
        .values_list("line_id", flat=True)[:1000]
    )
    stuck = OrderLine.objects.filter(pk__in=pending, status=LineStatus.PROVISIONING, status_changed__lt=stale)
    stuck.update(status=LineStatus.QUEUED, status_changed=now)
    return dispatch_lines(pending) if pending else 0
