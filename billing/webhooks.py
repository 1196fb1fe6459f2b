"""Stripe's webhook endpoint (public domain): verify → store the event once → enqueue → 200.

Nothing is processed in the request: Stripe waits for a quick 2xx and redelivers otherwise, and
a stored event survives a broker outage (the sweeper processes what no task did).
"""

from __future__ import annotations

import json
import logging

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .stripe_events import InvalidEvent, event_store
from .stripe_gateway import WebhookRejected, verify_webhook

logger = logging.getLogger("ozg.billing")


def _answer(text: str, status: int) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


def _enqueue(event_pk: int) -> None:
    from .tasks import process_stripe_event_task

    try:
        process_stripe_event_task.delay(event_pk)
    except Exception:  # broker down: the event is stored, the sweeper processes it
        logger.warning("Stripe-Ereignis %s nicht eingereiht", event_pk, exc_info=True)


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    try:
        payload = request.body.decode("utf-8")
    except UnicodeDecodeError:
        return _answer("Inhalt ist kein UTF-8.", 400)
    try:
        verify_webhook(payload, request.headers.get("Stripe-Signature"))
    except WebhookRejected as exc:
        return _answer(str(exc), 400)
    try:
        data = json.loads(payload)
        if not isinstance(data, dict):
            raise InvalidEvent("kein Objekt")
        with transaction.atomic():
            event, created = event_store(payload=data)
            # A replay of an event whose processing failed so far is a welcome second chance.
            if created or event.processed_at is None:
                transaction.on_commit(lambda: _enqueue(event.pk))
    except (ValueError, InvalidEvent):
        return _answer("Kein gültiges Stripe-Ereignis.", 400)
    return _answer("bereits erhalten" if not created else "ok", 200)
