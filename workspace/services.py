"""Writing what lives in a municipality's schema: the watch list and its notifications."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, tenant_context

from accounts.services import base_url_for
from shop.models import Assistant, AssistantStatus
from tenants.models import Municipality

from .models import Watch

logger = logging.getLogger("ozg.workspace")


class WatchersNotifyError(Exception):
    """Some watchers could not be mailed; they stay un-notified and a retry mails only them."""


@transaction.atomic
def watch_add(*, user, assistant: Assistant) -> Watch:
    """Put an announced assistant on the user's watch list (in the current schema). Idempotent."""
    if assistant.status != AssistantStatus.ANNOUNCED:
        raise ValidationError(
            "Nur angekündigte Assistenten können gemerkt werden; „%(title)s“ ist %(status)s.",
            code="not_announced",
            params={"title": assistant.title, "status": assistant.get_status_display()},
        )
    watch, _ = Watch.objects.get_or_create(user=user, assistant=assistant)
    return watch


@transaction.atomic
def watch_remove(*, user, watch_id: int) -> Watch:
    """Remove one of the user's own watch entries.

    Raises ``Watch.DoesNotExist`` for any other id (someone else's entry, another
    municipality's), which views turn into a 404.
    """
    watch = Watch.objects.select_related("assistant").get(pk=watch_id, user=user)
    watch.delete()
    return watch


def _municipalities_with_schema() -> list[Municipality]:
    """Every municipality whose schema exists (rows from an import may still wait for theirs)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace")
        schemas = {row[0] for row in cursor.fetchall()}
    municipalities = (
        Municipality.objects.exclude(schema_name=get_public_schema_name())
        .prefetch_related("domains")
        .order_by("schema_name")
    )
    return [municipality for municipality in municipalities if municipality.schema_name in schemas]


def watchers_notify(*, assistant_id: int) -> int:
    """E-mail everyone in every municipality who watches ``assistant_id``, now that it is available.

    Safe to run again and concurrently: each watch entry is locked, mailed and marked
    ``notified`` in one transaction of its own, and entries already notified are skipped,
    so nobody gets a second mail. Returns the number of mails sent. If some mails fail,
    the others are still sent and marked, then :class:`WatchersNotifyError` is raised so
    that a retry mails only those left.
    """
    assistant = Assistant.objects.filter(pk=assistant_id).first()
    if assistant is None or assistant.status != AssistantStatus.AVAILABLE:
        return 0
    sent, failed = 0, 0
    for municipality in _municipalities_with_schema():
        with tenant_context(municipality):
            pending = list(
                Watch.objects.filter(assistant_id=assistant_id, notified__isnull=True, user__is_active=True)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            for watch_id in pending:
                try:
                    sent += _notify_one(watch_id=watch_id, assistant=assistant, municipality=municipality)
                except Exception:
                    failed += 1
                    logger.exception(
                        "Merkliste: E-Mail zu Eintrag %s in %s nicht gesendet",
                        watch_id,
                        municipality.schema_name,
                    )
    if failed:
        raise WatchersNotifyError(
            f"{failed} Benachrichtigung(en) zu Assistent {assistant_id} nicht gesendet."
        )
    return sent


@transaction.atomic
def _notify_one(*, watch_id: int, assistant: Assistant, municipality: Municipality) -> int:
    watch = (
        Watch.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("user")
        .filter(pk=watch_id, notified__isnull=True)
        .first()
    )
    if watch is None:  # notified meanwhile, or another run holds it right now
        return 0
    base_url = base_url_for(municipality.primary_domain or "")
    path = reverse("shop:detail", kwargs={"slug": assistant.slug}, urlconf="config.urls_tenants")
    context = {
        "user": watch.user,
        "assistant": assistant,
        "municipality": municipality,
        "link": base_url + path,
        "watch_list_link": base_url + reverse("shop:watch_list", urlconf="config.urls_tenants"),
    }
    subject = " ".join(render_to_string("shop/emails/assistant_available_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject, render_to_string("shop/emails/assistant_available.txt", context), to=[watch.user.email]
    )
    message.attach_alternative(render_to_string("shop/emails/assistant_available.html", context), "text/html")
    message.send()
    watch.notified = timezone.now()
    watch.save(update_fields=["notified"])
    return 1
