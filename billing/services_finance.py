"""Finance workflows started from the finance pages (the invoicing itself: billing/invoicing.py)."""

from __future__ import annotations

import logging

from django.db import transaction

from core.models import Job
from core.services import job_create, job_finish

from .selectors_finance import BILLING_RUN_JOB

logger = logging.getLogger("ozg.billing")

BROKER_DOWN_MESSAGE = (
    "Die Jahresabrechnung %(year)s konnte nicht gestartet werden: Der Hintergrunddienst ist nicht "
    "erreichbar. Es wurde nichts abgerechnet. Bitte später erneut starten."
)


def billing_run_dispatch(*, job_id: int, year: int, actor: str) -> bool:
    """Hand the run to the worker. A broker that is down fails the job with a German message
    (nothing was billed; the run is idempotent, so starting it again later is safe)."""
    from .tasks import yearly_billing_run_task

    try:
        yearly_billing_run_task.delay(year=year, job_id=job_id, actor=actor)
    except Exception:  # noqa: BLE001 - any broker failure is reported on the job's page
        logger.warning("Jahresabrechnung %s (Auftrag %s) nicht eingereiht", year, job_id, exc_info=True)
        job_finish(job_id=job_id, failed=True, message=BROKER_DOWN_MESSAGE % {"year": year})
        return False
    return True


def billing_run_start(*, year: int, user) -> Job:
    """Create the job of a yearly run and enqueue its task once the job is committed."""
    with transaction.atomic():
        job = job_create(kind=BILLING_RUN_JOB, label=f"Jahresabrechnung {year}", user=user)
        actor = user.email
        transaction.on_commit(lambda: billing_run_dispatch(job_id=job.pk, year=year, actor=actor))
    return job
