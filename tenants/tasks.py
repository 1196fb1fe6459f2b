from celery import shared_task

from core.services import job_advance, job_finish, job_start

from .models import Municipality
from .services import MunicipalityData, municipality_onboard


def _data_of(municipality: Municipality) -> MunicipalityData:
    return MunicipalityData(
        ags=municipality.ags,
        official_name=municipality.official_name,
        short_name=municipality.short_name,
        kind=municipality.kind,
        district=municipality.district,
        population=municipality.population,
    )


def onboard_pending(*, job_id: int | None = None) -> int:
    """Create the schema and domain of every municipality that has none yet (after an admin import)."""
    pending = list(
        Municipality.objects.exclude(schema_name="public").filter(domains__isnull=True).order_by("ags")
    )
    if job_id:
        job_start(job_id=job_id, total=len(pending))
    for municipality in pending:
        municipality_onboard(data=_data_of(municipality), admin_email=municipality.contact_email or None)
        if job_id:
            job_advance(job_id=job_id)
    if job_id:
        job_finish(job_id=job_id, message=f"{len(pending)} Kommunen eingerichtet.")
    return len(pending)


@shared_task(bind=True, max_retries=5, acks_late=True)
def onboard_pending_task(self, job_id: int | None = None) -> int:
    try:
        return onboard_pending(job_id=job_id)
    except Exception as exc:
        if job_id:
            job_finish(job_id=job_id, message=f"Abgebrochen: {exc}", failed=True)
        raise self.retry(exc=exc, countdown=min(60, 2**self.request.retries)) from exc
