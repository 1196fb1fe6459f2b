"""Reading what lives in the current municipality's schema (the caller is already in it)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.db.models import Case, QuerySet, When

from shop.models import Subscription
from shop.selectors import config_fields

from .models import AssistantInstance, InstanceStatus, Watch


def watches_for_user(*, user) -> QuerySet[Watch]:
    """The user's watch list, soonest expected assistant first (the assistant joined from public)."""
    return (
        Watch.objects.filter(user=user)
        .select_related("assistant")
        .order_by("assistant__expected_date", "assistant__title")
    )


def watch_of(*, user, assistant_id: int) -> Watch | None:
    return Watch.objects.filter(user=user, assistant_id=assistant_id).first()


# --- assistant instances ---------------------------------------------------------------------


@dataclass(frozen=True)
class InstanceRow:
    """An instance of the current schema with its subscription from the public schema (None for
    an instance without one, e.g. created by hand)."""

    instance: AssistantInstance
    subscription: Subscription | None

    @property
    def cancelled(self) -> bool:
        return self.subscription is not None and self.subscription.cancelled_at is not None


def _subscriptions_by_line(*, municipality, line_ids: list[int]) -> dict[int, Subscription]:
    # Always filtered by the request's municipality as well: an order line id alone never
    # reaches another municipality's subscription.
    subscriptions = Subscription.objects.filter(municipality=municipality, order_line_id__in=line_ids)
    return {subscription.order_line_id: subscription for subscription in subscriptions}


def instances_for_municipality(*, municipality) -> list[InstanceRow]:
    """The municipality's instances ("Meine Assistenten"), deactivated ones last."""
    instances = list(
        AssistantInstance.objects.annotate(
            gone=Case(When(status=InstanceStatus.DEACTIVATED, then=1), default=0)
        ).order_by("gone", "title", "pk")
    )
    subscriptions = _subscriptions_by_line(
        municipality=municipality, line_ids=[instance.order_line_id for instance in instances]
    )
    return [InstanceRow(instance, subscriptions.get(instance.order_line_id)) for instance in instances]


def instance_of(*, municipality, pk: int) -> InstanceRow:
    """One instance of the current schema; raises ``AssistantInstance.DoesNotExist`` otherwise
    (another municipality's id is simply not there: views answer 404)."""
    instance = AssistantInstance.objects.get(pk=pk)
    subscriptions = _subscriptions_by_line(municipality=municipality, line_ids=[instance.order_line_id])
    return InstanceRow(instance, subscriptions.get(instance.order_line_id))


@dataclass(frozen=True)
class ConfigValue:
    """One field of an instance's configuration as the detail page shows it."""

    title: str
    value: str
    required: bool
    missing: bool


def _value_text(value) -> str:
    if isinstance(value, bool):
        return "ja" if value else "nein"
    if isinstance(value, float | int):
        return str(value).replace(".", ",")
    if isinstance(value, list):
        return ", ".join(_value_text(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def configuration_values(*, instance: AssistantInstance) -> list[ConfigValue]:
    """The instance's configuration, field by field in the template's order."""
    configuration = instance.configuration if isinstance(instance.configuration, dict) else {}
    return [
        ConfigValue(
            title=field.title,
            value=_value_text(configuration[field.name]) if field.name in configuration else "",
            required=field.required,
            missing=field.name not in configuration,
        )
        for field in config_fields(instance.config_schema)
    ]
