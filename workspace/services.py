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


# --- assistant instances: configuration and deactivation ------------------------------------
#
# An instance carries a snapshot of its catalog template (a JSON Schema, Draft 2020-12) in
# ``config_schema``; the municipality fills in ``configuration``. The schema is the only
# authority on what is valid: the generated form (workspace/forms.py) only parses input and
# shows the messages below next to the fields they belong to.


def _is_email(value: object) -> bool:
    from django.core.validators import validate_email

    if not isinstance(value, str):
        return True  # "format" only constrains strings
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


def _is_url(value: object) -> bool:
    from django.core.validators import URLValidator

    if not isinstance(value, str):
        return True
    try:
        URLValidator()(value)
    except ValidationError:
        return False
    return True


def _format_checker():
    from jsonschema import FormatChecker

    # jsonschema's own "email" check only looks for an "@"; Django's validator is what every
    # other e-mail field of the shop uses.
    checker = FormatChecker()
    checker.checks("email")(_is_email)
    checker.checks("uri")(_is_url)
    return checker


def _number_text(value: object) -> str:
    """Numbers the German way for messages: 10.000, 2,5."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return f"{value:,}".replace(",", ".")
    return f"{value:,}".replace(",", "\0").replace(".", ",").replace("\0", ".")


_TYPE_MESSAGES = {
    "string": "Bitte geben Sie einen Text ein.",
    "number": "Bitte geben Sie eine Zahl ein.",
    "integer": "Bitte geben Sie eine ganze Zahl ein.",
    "boolean": "Bitte wählen Sie ja oder nein.",
    "array": "Bitte wählen Sie aus der Liste.",
    "object": "Die Angabe ist ungültig.",
}

_FORMAT_MESSAGES = {
    "email": "Bitte geben Sie eine gültige E-Mail-Adresse ein.",
    "idn-email": "Bitte geben Sie eine gültige E-Mail-Adresse ein.",
    "uri": "Bitte geben Sie eine gültige Internetadresse (URL) ein.",
    "date": "Bitte geben Sie ein gültiges Datum ein.",
    "time": "Bitte geben Sie eine gültige Uhrzeit ein.",
}

REQUIRED_MESSAGE = "Dieses Feld ist erforderlich."

# Several errors on one field: the most basic one is shown (a wrong type before a wrong range).
_ERROR_PRIORITY = {"required": 0, "type": 1, "enum": 2, "const": 2, "format": 4, "pattern": 5}


def _error_order(error) -> tuple:
    return ([str(part) for part in error.absolute_path][:1], _ERROR_PRIORITY.get(error.validator, 3))


def _german_message(error) -> str:
    """A clear German message for one jsonschema error (never the English original)."""
    kind, limit = error.validator, error.validator_value
    if kind == "type":
        types = limit if isinstance(limit, list) else [limit]
        wanted = next((t for t in types if t != "null"), "")
        return _TYPE_MESSAGES.get(wanted, "Die Angabe ist ungültig.")
    if kind == "format":
        return _FORMAT_MESSAGES.get(limit, "Das Format ist ungültig.")
    if kind == "pattern":
        return "Das Format ist ungültig."
    if kind == "minimum":
        return f"Der Wert muss mindestens {_number_text(limit)} sein."
    if kind == "maximum":
        return f"Der Wert darf höchstens {_number_text(limit)} sein."
    if kind == "exclusiveMinimum":
        return f"Der Wert muss größer als {_number_text(limit)} sein."
    if kind == "exclusiveMaximum":
        return f"Der Wert muss kleiner als {_number_text(limit)} sein."
    if kind == "multipleOf":
        return f"Der Wert muss ein Vielfaches von {_number_text(limit)} sein."
    if kind == "minLength":
        return f"Bitte geben Sie mindestens {limit} Zeichen ein." if limit != 1 else REQUIRED_MESSAGE
    if kind == "maxLength":
        return f"Bitte geben Sie höchstens {limit} Zeichen ein."
    if kind in ("enum", "const"):
        return "Bitte wählen Sie einen der angebotenen Werte."
    if kind == "minItems":
        return f"Bitte wählen Sie mindestens {limit} aus."
    if kind == "maxItems":
        return f"Bitte wählen Sie höchstens {limit} aus."
    if kind == "uniqueItems":
        return "Jeder Wert darf nur einmal vorkommen."
    return "Die Angabe ist ungültig."


def configuration_errors(*, schema: dict, data: dict) -> dict[str | None, list[str]]:
    """Validate ``data`` against the instance's JSON Schema (Draft 2020-12, formats checked).

    Returns German messages by field (the top-level property each error belongs to; ``None``
    for errors of the configuration as a whole), at most one message per field: the first
    thing to fix. An empty dict means the configuration is complete and valid. Pure: no
    database.
    """
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError:
        return {None: ["Die Konfigurationsvorlage ist fehlerhaft. Bitte wenden Sie sich an den Verband."]}
    validator = Draft202012Validator(schema, format_checker=_format_checker())
    errors: dict[str | None, list[str]] = {}

    def add(field: str | None, message: str) -> None:
        if not errors.get(field):
            errors[field] = [message]

    for error in sorted(validator.iter_errors(data), key=_error_order):
        path = list(error.absolute_path)
        if error.validator in ("required", "dependentRequired") and not path:
            # one error per missing property; its name is not in the path (it is missing)
            wanted = error.validator_value
            if error.validator == "dependentRequired":
                wanted = [name for names in wanted.values() for name in names]
            for name in wanted:
                if isinstance(error.instance, dict) and name not in error.instance:
                    add(name, REQUIRED_MESSAGE)
            continue
        if error.validator == "additionalProperties" and not path:
            add(None, "Die Konfiguration enthält Angaben, die die Vorlage nicht kennt.")
            continue
        field = path[0] if path and isinstance(path[0], str) else None
        add(field, _german_message(error))
    return errors


def _only_missing(errors: dict[str | None, list[str]]) -> bool:
    return all(messages == [REQUIRED_MESSAGE] for messages in errors.values())


@transaction.atomic
def instance_configure(*, instance, data: dict, user, draft: bool = False):
    """Store the municipality's configuration of an instance (in the current schema).

    A complete configuration (valid against the instance's schema) makes the instance ready
    ("eingerichtet"). ``draft`` stores an incomplete one, where only required values are still
    missing, while the instance is being set up; a wrong value is never stored, and a ready
    instance cannot be made incomplete again. Raises ``ValidationError`` with messages by
    field; nothing is saved then.
    """
    from .models import AssistantInstance, InstanceStatus

    locked = AssistantInstance.objects.select_for_update().get(pk=instance.pk)
    if locked.status == InstanceStatus.DEACTIVATED:
        raise ValidationError(
            "„%(title)s“ ist deaktiviert und kann nicht mehr eingerichtet werden.",
            code="deactivated",
            params={"title": locked.title},
        )
    if not isinstance(data, dict):
        raise ValidationError("Die Konfiguration muss ein JSON-Objekt sein.", code="not_an_object")
    errors = configuration_errors(schema=locked.config_schema, data=data)
    complete = not errors
    if errors and not (draft and locked.status == InstanceStatus.CONFIGURING and _only_missing(errors)):
        raise ValidationError(
            {field or "__all__": messages for field, messages in errors.items()}, code="invalid"
        )
    locked.configuration = data
    locked.configured_at = timezone.now()
    locked.configured_by_email = user.email
    if complete:
        locked.status = InstanceStatus.READY
    locked.save(update_fields=["configuration", "configured_at", "configured_by_email", "status"])
    return locked


def instances_deactivate_ended(*, municipality: Municipality, today) -> int:
    """Deactivate the municipality's instances whose subscription has ended (``ends_on`` before
    ``today``). Runs in the municipality's schema; safe to run again (a deactivated instance is
    left alone). Returns the number of instances deactivated now."""
    from shop.models import Subscription

    from .models import AssistantInstance, InstanceStatus

    ended_lines = list(
        Subscription.objects.filter(
            municipality=municipality, ends_on__lt=today, order_line__isnull=False
        ).values_list("order_line_id", flat=True)
    )
    if not ended_lines:
        return 0
    with tenant_context(municipality), transaction.atomic():
        count = (
            AssistantInstance.objects.filter(order_line_id__in=ended_lines)
            .exclude(status=InstanceStatus.DEACTIVATED)
            .update(status=InstanceStatus.DEACTIVATED, deactivated_on=today)
        )
    _end_order_lines(ended_lines)
    if count:
        logger.info("%s Assistent(en) in %s deaktiviert", count, municipality.schema_name)
    return count


def _end_order_lines(line_ids: list[int]) -> None:
    """An ended subscription closes its order line, so the assistant can be ordered again.
    Line by line, so that each change is in the audit history."""
    from shop.models import LineStatus, OrderLine

    with transaction.atomic():
        for line in OrderLine.objects.select_for_update().filter(pk__in=line_ids, status=LineStatus.ACTIVE):
            line.status = LineStatus.ENDED
            line.status_changed = timezone.now()
            line.save(update_fields=["status", "status_changed"])


def municipalities_with_ended_subscriptions(*, today) -> list[Municipality]:
    """Municipalities (with a schema) that have at least one subscription ended before ``today``:
    the ones the daily deactivation visits."""
    from shop.models import Subscription

    ids = set(
        Subscription.objects.filter(ends_on__lt=today, order_line__isnull=False).values_list(
            "municipality_id", flat=True
        )
    )
    return [municipality for municipality in _municipalities_with_schema() if municipality.pk in ids]
