"""Audit-log attribution that respects tenancy."""

from contextlib import suppress

from simple_history.models import HistoricalRecords

from accounts.permissions import is_public


def HistoryRequestMiddleware(get_response):  # noqa: N802 - a middleware factory, named like a class
    """Record the acting user in the audit log only on the association's domain.

    The history tables of the public models point at the public user table; a municipal
    user has an id in their own schema, which there would name somebody else. Municipal
    actions are attributed on the rows themselves (e.g. ``Order.submitted_by_email``).
    (django-simple-history's own middleware does the same on every domain.)
    """

    def middleware(request):
        if not is_public(getattr(request, "tenant", None)):
            return get_response(request)
        HistoricalRecords.context.request = request
        try:
            return get_response(request)
        finally:
            with suppress(AttributeError):
                del HistoricalRecords.context.request

    return middleware
