"""Workspace background work: deactivating assistants whose subscription has ended.

One beat task a day fans out one task per municipality (STYLE.md): each is sent from inside
the municipality's ``tenant_context``, so tenant-schemas-celery carries the schema with it and
the worker runs it there. Every task is safe to run twice (the service skips instances that
are already deactivated).
"""

from __future__ import annotations

from datetime import date

from celery import shared_task
from django.utils import timezone
from django_tenants.utils import tenant_context

from tenants.models import Municipality

from .services import instances_deactivate_ended, municipalities_with_ended_subscriptions


@shared_task(acks_late=True)
def deactivate_ended_instances_task(today: str | None = None) -> int:
    """Beat, daily: one :func:`deactivate_municipality_instances_task` per municipality that has
    an ended subscription. All use the same day, even if some run after midnight."""
    day = date.fromisoformat(today) if today else timezone.localdate()
    sent = 0
    for municipality in municipalities_with_ended_subscriptions(today=day):
        with tenant_context(municipality):
            deactivate_municipality_instances_task.delay(municipality.pk, day.isoformat())
        sent += 1
    return sent


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=5)
def deactivate_municipality_instances_task(self, municipality_id: int, today: str) -> int:
    """Thin: deactivate one municipality's ended instances; retried with backoff."""
    municipality = Municipality.objects.filter(pk=municipality_id).first()
    if municipality is None:
        return 0
    try:
        return instances_deactivate_ended(municipality=municipality, today=date.fromisoformat(today))
    except Exception as exc:
        raise self.retry(exc=exc, countdown=min(600, 30 * 2**self.request.retries)) from exc
