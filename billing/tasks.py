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
        )
        job.finished = timezone.now()
        job.save(update_fields=["status", "done", "message", "finished"])
    return {"year": year, "invoices": result.invoices, "lines": result.lines}

