"""Reading what lives in the current municipality's schema (the caller is already in it)."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Watch


def watches_for_user(*, user) -> QuerySet[Watch]:
    """The user's watch list, soonest expected assistant first (the assistant joined from public)."""
    return (
        Watch.objects.filter(user=user)
        .select_related("assistant")
        .order_by("assistant__expected_date", "assistant__title")
    )


def watch_of(*, user, assistant_id: int) -> Watch | None:
    return Watch.objects.filter(user=user, assistant_id=assistant_id).first()
