"""The yearly billing run as finance starts it: a Job, the task on a real Celery worker, the
progress recorded, and a second run (redelivery or a second click) billing nothing twice."""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal

import pytest

from billing.models import Invoice, InvoiceLine, NumberSequence
from billing.tasks import yearly_billing_run_task
from core.models import Job
from shop.models import Subscription
from tenants.models import Municipality
from tests.factories.shop import AssistantFactory
from tests.processes import purge_documents

pytestmark = [pytest.mark.worker, pytest.mark.django_db]

YEAR = 2096  # a year of its own


@pytest.fixture
def subscriptions(committed):
    municipalities = list(Municipality.objects.exclude(schema_name="public").order_by("pk"))
    assistants = [
        AssistantFactory(slug=f"run-{n}", title=f"Lauf {n}", category="central" if n % 2 else "efa")
        for n in range(4)
    ]
    created = [
        Subscription.objects.create(
            municipality=municipality,
            assistant=assistant,
            ordered_on=date(YEAR - 1, 5, 1),
            started_on=date(YEAR - 1, 6, 1),
            maintenance_yearly=Decimal("480.00"),
        )
        for municipality in municipalities
        for assistant in assistants
    ]
    yield created
    purge_documents(Invoice.objects.filter(billing_year=YEAR).values_list("pk", flat=True))
    NumberSequence.objects.filter(year=YEAR).delete()
    Subscription.objects.filter(pk__in=[s.pk for s in created]).delete()
    Subscription.history.filter(id__in=[s.pk for s in created]).delete()
    Job.objects.filter(kind="billing_run", label__contains=str(YEAR)).delete()


def _wait_done(job: Job, timeout: float = 60) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in (Job.Status.DONE, Job.Status.FAILED):
            return job
        time.sleep(0.2)
    pytest.fail(f"Abrechnungslauf nicht fertig: {job.status} {job.done}/{job.total}")


def test_the_worker_runs_the_yearly_billing_once(subscriptions, start_worker):
    start_worker(concurrency=2)
    first = Job.objects.create(kind="billing_run", label=f"Jahresabrechnung {YEAR}")
    second = Job.objects.create(kind="billing_run", label=f"Jahresabrechnung {YEAR} (erneut)")
    yearly_billing_run_task.delay(
        year=YEAR, job_id=first.pk, actor="finanzen@kisa.example", issue_date=f"{YEAR}-01-02"
    )
    first = _wait_done(first)
    assert first.status == Job.Status.DONE, first.message
    municipalities = len({s.municipality_id for s in subscriptions})
    assert (first.done, first.total) == (municipalities, municipalities)
    assert first.message.startswith(f"{municipalities} Rechnungen mit {len(subscriptions)} Positionen")
    yearly_billing_run_task.delay(
        year=YEAR, job_id=second.pk, actor="finanzen@kisa.example", issue_date=f"{YEAR}-01-02"
    )
    second = _wait_done(second)
    assert second.status == Job.Status.DONE and second.message.startswith("0 Rechnungen")
    assert Invoice.objects.filter(billing_year=YEAR).count() == municipalities
    assert InvoiceLine.objects.filter(billing_year=YEAR).count() == len(subscriptions)
    numbers = sorted(Invoice.objects.filter(billing_year=YEAR).values_list("sequence", flat=True))
    assert numbers == list(range(1, municipalities + 1))
