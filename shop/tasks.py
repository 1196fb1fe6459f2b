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


# --- provisioning ---------------------------------------------------------------------------

PROVISION_MAX_RETRIES = 8


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=PROVISION_MAX_RETRIES)
def provision_line_task(self, line_id: int) -> str:
    """Thin: provision one order line; retried with backoff, safe to run twice.

    acks_late with reject_on_worker_lost: a worker killed mid-task leaves the message
    unacknowledged, so the broker redelivers it (acks_late alone would lose it).
    Countdowns stay far below the broker's visibility timeout (1 h).
    """
    from .provisioning import line_fail, line_provision, line_start

    if not line_start(line_id=line_id):
        return "nichts zu tun"
    try:
        line_provision(line_id=line_id)
    except Exception as exc:
        if self.request.retries >= PROVISION_MAX_RETRIES:
            line_fail(line_id=line_id, reason=f"{exc.__class__.__name__}: {exc}")
            return "fehlgeschlagen"
        raise self.retry(exc=exc, countdown=min(300, 2**self.request.retries)) from exc
    return "aktiv"


@shared_task(acks_late=True)
def sweep_outbox_task() -> int:
    """Beat, every minute: re-send what is stuck in the provisioning outbox."""
    from .provisioning import outbox_sweep

    return outbox_sweep()
