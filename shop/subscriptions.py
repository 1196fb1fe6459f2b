"""Subscriptions: cancellation by the municipality (public schema).

The notice rule (DESIGN.md, issue 5): a subscription ends at the end of a calendar year; the
cancellation must be declared at least ``SUBSCRIPTION_NOTICE_MONTHS`` months (default 3)
before that day, otherwise it takes effect at the end of the following year. With three
months, a cancellation on 30.09.2026 ends the subscription on 31.12.2026, one on 01.10.2026
on 31.12.2027 (the period runs from the day of the declaration: 01.10. + 3 months = 01.01.).
"""

from __future__ import annotations

import calendar
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .models import Subscription


def _add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months; the day is clamped to the target month's length
    (31.08. + 3 months = 30.11.), as §188 (3) BGB does for periods in months."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def cancellation_effective_on(*, declared_on: date, notice_months: int) -> date:
    """The last day of a subscription cancelled on ``declared_on``: the first 31.12. that is at
    least ``notice_months`` months away. Pure: no database, no clock."""
    if notice_months < 0:
        raise ValueError("notice_months must not be negative")
    earliest = _add_months(declared_on, notice_months)
    year_end = date(declared_on.year, 12, 31)
    while year_end < earliest:
        year_end = date(year_end.year + 1, 12, 31)
    return year_end


def notice_months() -> int:
    return int(getattr(settings, "SUBSCRIPTION_NOTICE_MONTHS", 3))


def cancellation_preview(*, subscription: Subscription, today: date) -> date:
    """The end date a cancellation declared ``today`` would have (shown before confirming)."""
    end = cancellation_effective_on(declared_on=today, notice_months=notice_months())
    # A subscription that starts later than that year end (activated in advance) runs at least
    # until the end of its first calendar year.
    while end < subscription.started_on:
        end = date(end.year + 1, 12, 31)
    return end


@transaction.atomic
def subscription_cancel(
    *, subscription: Subscription, user, today: date, expected_ends_on: date | None = None
) -> Subscription:
    """Cancel ``subscription`` on behalf of ``user`` (a municipal admin), effective at the end of
    the calendar year the notice period allows.

    ``expected_ends_on`` is the end date the user saw and confirmed: if the deadline has passed
    in the meantime (the page was shown on 30.09., confirmed on 01.10.), nothing changes and the
    user is told the new date, so nobody confirms a date other than the one they read.
    """
    locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
    if locked.cancelled_at is not None:
        raise ValidationError(
            "Dieses Abonnement ist bereits gekündigt (zum %(day)s).",
            code="already_cancelled",
            params={"day": f"{locked.ends_on:%d.%m.%Y}" if locked.ends_on else "–"},
        )
    ends_on = cancellation_preview(subscription=locked, today=today)
    if expected_ends_on is not None and expected_ends_on != ends_on:
        raise ValidationError(
            "Die Kündigungsfrist zum %(expected)s ist inzwischen abgelaufen. Eine Kündigung heute "
            "wird erst zum %(ends_on)s wirksam. Bitte bestätigen Sie die Kündigung erneut.",
            code="deadline_passed",
            params={"expected": f"{expected_ends_on:%d.%m.%Y}", "ends_on": f"{ends_on:%d.%m.%Y}"},
        )
    locked.ends_on = ends_on
    locked.cancelled_at = timezone.now()
    # The audit log (simple-history) keeps who cancelled. Municipal accounts live in their own
    # schema, not in the public one the history table points to, so the e-mail address goes
    # into the change reason instead of a (wrong) user reference.
    locked._history_user = None
    locked._change_reason = f"Kündigung durch {user.email}"[:100]
    locked.save(update_fields=["ends_on", "cancelled_at"])
    return locked
