"""Billing tasks: the yearly run (beat, 1 January, or finance for a chosen year) and Stripe."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

logger = logging.getLogger("ozg.billing")


@shared_task(acks_late=True, reject_on_worker_lost=True)
def yearly_billing_run_task(
    year: int | None = None, job_id: int | None = None, actor: str = "", issue_date: str | None = None
) -> dict:
    """Bill maintenance for ``year`` (default: the current year), invoices dated ``issue_date``
    (ISO date, default today). Idempotent, so a redelivered task or a second run bills nothing twice."""
    from datetime import date

    from core.models import Job

    from .invoicing import billing_run

    year = year or timezone.localdate().year
    job = Job.objects.filter(pk=job_id).first() if job_id else None
    if job is not None:
        job.status = Job.Status.RUNNING
        job.save(update_fields=["status"])
    try:
        result = billing_run(
            year=year,
            actor=actor or "Jahresabrechnung (automatisch)",
            job=job,
            issue_date=date.fromisoformat(issue_date) if issue_date else None,
        )
    except Exception as exc:
        if job is not None:
            job.status = Job.Status.FAILED
            job.message = f"Abbruch: {exc}"
            job.finished = timezone.now()
            job.save(update_fields=["status", "message", "finished"])
        raise
    if job is not None:
        job.status = Job.Status.DONE
        job.done = job.total
        job.message = (
            f"{result.invoices} Rechnungen mit {result.lines} Positionen ausgestellt"
            + (f", {result.skipped} Positionen waren bereits abgerechnet" if result.skipped else "")
            + "."
            + (
                f" Nicht abgerechnet ({len(result.errors)}): " + "; ".join(result.errors[:10])
                if result.errors
                else ""
            )
        )
        job.finished = timezone.now()
        job.save(update_fields=["status", "done", "message", "finished"])
    return {"year": year, "invoices": result.invoices, "lines": result.lines}


# --- Stripe ---------------------------------------------------------------------------------

STRIPE_MAX_RETRIES = 8


def _backoff(retries: int) -> int:
    """30 s, 1 min, 2 min … capped at 30 min: far below the broker's visibility timeout (1 h)."""
    return min(1800, 30 * 2**retries)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=STRIPE_MAX_RETRIES)
def stripe_collect_invoice_task(self, invoice_id: int, retry: bool = True) -> str:
    """Thin: hand one issued invoice to Stripe (billing.stripe_gateway); safe to run twice.

    Stripe errors (network, 5xx, 4xx) are retried with backoff; after the last retry, and for
    the sweeper's own calls (``retry=False``), the sweeper tries again every few minutes.
    """
    from .stripe_gateway import invoice_collect

    try:
        record = invoice_collect(invoice_id=invoice_id)
    except Exception as exc:
        if not retry or self.request.retries >= STRIPE_MAX_RETRIES:
            logger.warning("Stripe-Übergabe von Beleg %s fehlgeschlagen: %s", invoice_id, exc)
            return "später erneut"
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
    return record.status if record is not None else "nichts einzuziehen"


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=STRIPE_MAX_RETRIES)
def process_stripe_event_task(self, event_pk: int, retry: bool = True) -> str:
    """Thin: process one stored Stripe event (billing.stripe_events); idempotent under a row lock.
    A failure is kept on the event and retried (by this task, then by the sweeper)."""
    from .stripe_events import event_fail, event_process

    try:
        return event_process(event_pk=event_pk)
    except Exception as exc:
        event_fail(event_pk=event_pk, error=f"{exc.__class__.__name__}: {exc}")
        if not retry or self.request.retries >= STRIPE_MAX_RETRIES:
            logger.warning("Stripe-Ereignis %s nicht verarbeitet: %s", event_pk, exc)
            return "fehlgeschlagen"
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=STRIPE_MAX_RETRIES)
def stripe_credit_task(self, credit_note_id: int, retry: bool = True) -> str:
    """Thin: bring one issued credit note to Stripe (void the Stripe invoice or add a Stripe credit
    note, billing.stripe_gateway); safe to run twice. Retried like the collection."""
    from .stripe_gateway import credit_note_transfer

    try:
        return credit_note_transfer(credit_note_id=credit_note_id)
    except Exception as exc:
        if not retry or self.request.retries >= STRIPE_MAX_RETRIES:
            logger.warning("Stripe-Übergabe der Gutschrift %s fehlgeschlagen: %s", credit_note_id, exc)
            return "später erneut"
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc


def stripe_credit_enqueue(credit_note_id: int) -> None:
    """After a credit note is committed (billing.invoicing.credit_note_issue): tell Stripe, when
    Stripe is enabled. A broker outage is caught up by the sweeper."""
    from django.conf import settings

    if not settings.STRIPE_ENABLED:
        return
    try:
        stripe_credit_task.delay(credit_note_id)
    except Exception:
        logger.warning("Stripe-Übergabe der Gutschrift %s nicht eingereiht", credit_note_id, exc_info=True)


@shared_task(acks_late=True)
def sweep_stripe_events_task() -> dict:
    """Beat, every 5 minutes: process stored events no task processed, and (with Stripe enabled)
    hand over issued invoices that have no finalized Stripe invoice yet and credit notes Stripe
    does not know yet. The sweep is the retry here, so the tasks it sends do not retry themselves."""
    from django.conf import settings

    from .stripe_events import credit_notes_to_transfer, events_unprocessed, invoices_to_collect

    events = list(events_unprocessed().values_list("pk", flat=True))
    for pk in events:
        process_stripe_event_task.delay(pk, retry=False)
    invoices: list[int] = []
    credit_notes: list[int] = []
    if settings.STRIPE_ENABLED:
        invoices = list(invoices_to_collect().values_list("pk", flat=True))
        for pk in invoices:
            stripe_collect_invoice_task.delay(pk, retry=False)
        credit_notes = list(credit_notes_to_transfer().values_list("pk", flat=True))
        for pk in credit_notes:
            stripe_credit_task.delay(pk, retry=False)
    return {"events": len(events), "invoices": len(invoices), "credit_notes": len(credit_notes)}
