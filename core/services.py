from __future__ import annotations

from django.db.models import F
from django.utils import timezone

from .models import Job


def job_create(*, kind: str, label: str, total: int = 0, user=None) -> Job:
    return Job.objects.create(
        kind=kind, label=label, total=total, created_by=user if user and user.pk else None
    )


def job_start(*, job_id: int, total: int) -> None:
    Job.objects.filter(pk=job_id).update(status=Job.Status.RUNNING, total=total, done=0)


def job_advance(*, job_id: int, step: int = 1) -> None:
    Job.objects.filter(pk=job_id).update(done=F("done") + step)


def job_finish(*, job_id: int, message: str = "", failed: bool = False) -> None:
    Job.objects.filter(pk=job_id).update(
        status=Job.Status.FAILED if failed else Job.Status.DONE, message=message, finished=timezone.now()
    )
