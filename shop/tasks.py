"""Catalog background work. Tasks stay thin: load by id, call one service, retry on failure."""

from celery import shared_task

from workspace.services import watchers_notify


@shared_task(bind=True, max_retries=5, acks_late=True)
def notify_watchers_task(self, assistant_id: int) -> int:
    """Mail the watchers of an assistant that has become available.

    Enqueued with ``transaction.on_commit`` when an assistant's status changes to
    available; safe to run twice (the service marks each watch entry as notified).
    """
    try:
        return watchers_notify(assistant_id=assistant_id)
    except Exception as exc:
        raise self.retry(exc=exc, countdown=min(600, 30 * 2**self.request.retries)) from exc
