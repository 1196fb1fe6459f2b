"""The finance pages that start work: the yearly billing run (a job for the worker), the
rebilling of a rejected tranche, the period close; and who may reach the finance area at all."""

from datetime import date

import pytest
from kombu.exceptions import OperationalError

from accounts.roles import Role
from billing import tasks
from billing.invoicing import billing_run
from billing.models import DocumentKind, Invoice, PeriodClose, Tranche
from billing.services import tranche_record_decision
from core.models import Job
from tests.billing.finance_data import CATALOG, FINANCE, make_assistants, subscribe

BASE = "/verwaltung/finanzen/"
RUN_URL = f"{BASE}jahresabrechnung/"
CLOSE_URL = f"{BASE}periodenabschluss/"
REBILL_URL = f"{BASE}nachberechnung/"


@pytest.fixture
def assistants(db):
    return make_assistants()


@pytest.fixture
def dispatched(monkeypatch):
    sent = []
    monkeypatch.setattr(tasks.yearly_billing_run_task, "delay", lambda **kwargs: sent.append(kwargs))
    return sent


# --- yearly billing run -----------------------------------------------------------------


def test_billing_run_creates_a_job_and_dispatches_after_commit(
    towns,
    assistants,
    staff_client,
    dispatched,
    django_capture_on_commit_callbacks,
):
    subscribe(towns["leipzig"], assistants["efa"], started_on=date(2025, 1, 1))
    subscribe(towns["dresden"], assistants["central"], started_on=date(2025, 1, 1))
    client = staff_client(FINANCE)
    assert client.get(RUN_URL).status_code == 200
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(RUN_URL, {"year": "2025"})
    job = Job.objects.get(kind="billing_run")
    assert response.status_code == 302 and response["Location"] == f"/verwaltung/auftraege/{job.pk}/"
    assert (job.label, job.status, job.created_by.email) == ("Jahresabrechnung 2025", "queued", FINANCE)
    assert dispatched == [] and len(callbacks) == 1  # enqueued only once the job is committed
    callbacks[0]()
    assert dispatched == [{"year": 2025, "job_id": job.pk, "actor": FINANCE}]

    tasks.yearly_billing_run_task(**dispatched[0])  # what the worker runs
    job.refresh_from_db()
    assert job.status == "done" and job.percent == 100
    assert job.message == "2 Rechnungen mit 2 Positionen ausgestellt."
    assert Invoice.objects.filter(billing_year=2025).count() == 2
    assert set(Invoice.objects.values_list("issued_by", flat=True)) == {FINANCE}
    progress = client.get(response["Location"]).content.decode()
    assert "Jahresabrechnung 2025" in progress and "2 Rechnungen mit 2 Positionen" in progress
    assert "Jahresabrechnung 2025" in client.get(RUN_URL).content.decode()  # listed as a recent run


def test_broker_down_fails_the_job_with_a_german_message(
    towns, staff_client, monkeypatch, django_capture_on_commit_callbacks
):
    def refuse(**kwargs):
        raise OperationalError("[Errno 111] Connection refused")

    monkeypatch.setattr(tasks.yearly_billing_run_task, "delay", refuse)
    client = staff_client(FINANCE)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(RUN_URL, {"year": "2024"})
    job = Job.objects.get(kind="billing_run")
    assert response.status_code == 302
    assert job.status == "failed" and job.finished is not None
    assert "Hintergrunddienst ist nicht erreichbar" in job.message and "2024" in job.message
    assert "Hintergrunddienst ist nicht erreichbar" in client.get(response["Location"]).content.decode()
    assert not Invoice.objects.exists()


@pytest.mark.parametrize(
    ("year", "message"),
    [
        ("2019", "Abgerechnet werden die Jahre 2020 bis"),
        ("2999", "Abgerechnet werden die Jahre 2020 bis"),
        ("zwanzig", "Bitte ein Jahr als Zahl angeben, z. B. 2025."),
        ("", "Bitte ein Abrechnungsjahr angeben."),
    ],
)
def test_billing_run_year_is_validated(towns, staff_client, dispatched, year, message):
    response = staff_client(FINANCE).post(RUN_URL, {"year": year})
    assert response.status_code == 200 and message in response.content.decode()
    assert not Job.objects.exists() and dispatched == []


def test_next_year_is_allowed(towns, staff_client, dispatched, django_capture_on_commit_callbacks):
    from django.utils import timezone

    next_year = timezone.localdate().year + 1
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client(FINANCE).post(RUN_URL, {"year": str(next_year)})
    assert response.status_code == 302 and dispatched[0]["year"] == next_year


# --- rebilling --------------------------------------------------------------------------


def test_rebilling_lists_rejected_tranches_confirms_and_issues(towns, assistants, staff_client):
    subscribe(towns["leipzig"], assistants["central"], started_on=date(2022, 3, 1))
    for year in (2022, 2023, 2024):
        billing_run(year=year, actor=FINANCE, issue_date=date(year, 1, 3))
    client = staff_client(FINANCE)
    assert "Keine Tranche ist abgelehnt" in client.get(REBILL_URL).content.decode()
    tranche = Tranche.objects.get(name="Tranche 2023–2024")
    assert client.get(f"{REBILL_URL}{tranche.pk}/").status_code == 404  # not rejected (yet)

    tranche_record_decision(tranche=tranche, status="rejected", decided_on=date(2025, 3, 1))
    listing = client.get(REBILL_URL).content.decode()
    assert "2 Förderanteile" in listing and "960,00 €" in listing
    confirm = client.get(f"{REBILL_URL}{tranche.pk}/").content.decode()
    assert "RE-2023-000001" in confirm and "RE-2024-000001" in confirm
    assert "2 Nachberechnungen jetzt ausstellen" in confirm
    assert not Invoice.objects.filter(kind=DocumentKind.SUPPLEMENTARY).exists()  # GET changes nothing

    response = client.post(f"{REBILL_URL}{tranche.pk}/", follow=True)
    numbers = sorted(Invoice.objects.filter(kind=DocumentKind.SUPPLEMENTARY).values_list("number", flat=True))
    assert len(numbers) == 2
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == REBILL_URL
    assert f"2 Nachberechnung(en) mit 2 Position(en) ausgestellt: {', '.join(numbers)}." in html
    assert "erledigt" in html

    again = client.post(f"{REBILL_URL}{tranche.pk}/", follow=True).content.decode()
    assert "war nichts mehr nachzuberechnen" in again
    assert Invoice.objects.filter(kind=DocumentKind.SUPPLEMENTARY).count() == 2


# --- period close -----------------------------------------------------------------------


def test_period_close_closes_a_past_month(towns, staff_client):
    client = staff_client(FINANCE)
    assert client.get(CLOSE_URL).status_code == 200
    response = client.post(CLOSE_URL, {"month": "2025-03", "note": "Quartalsabschluss"}, follow=True)
    closed = PeriodClose.objects.get()
    assert (closed.month, closed.closed_by, closed.note) == (date(2025, 3, 1), FINANCE, "Quartalsabschluss")
    html = response.content.decode()
    assert "Der Zeitraum 03/2025 ist abgeschlossen" in html and "Quartalsabschluss" in html
    client.post(CLOSE_URL, {"month": "04/2025"})
    assert PeriodClose.objects.filter(month=date(2025, 4, 1)).exists()


@pytest.mark.parametrize(
    ("month", "message"),
    [
        ("2025-03", "Der Zeitraum 03/2025 ist bereits abgeschlossen."),
        ("current", "Abgeschlossen werden nur vergangene Monate"),
        ("2099-01", "01/2099 läuft noch oder liegt in der Zukunft"),
        ("März 2025", "Bitte einen Monat angeben (JJJJ-MM, z. B. 2025-03)."),
        ("2025-13", "Bitte einen Monat angeben (JJJJ-MM, z. B. 2025-03)."),
        ("", "Bitte einen Monat angeben."),
    ],
)
def test_period_close_errors_are_shown_on_the_form(towns, staff_client, month, message):
    from django.utils import timezone

    PeriodClose.objects.create(month=date(2025, 3, 1), closed_by=FINANCE)
    if month == "current":
        month = f"{timezone.localdate():%Y-%m}"
    response = staff_client(FINANCE).post(CLOSE_URL, {"month": month})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert PeriodClose.objects.count() == 1


# --- who may ----------------------------------------------------------------------------

PAGES = [
    ("get", ""),
    ("get", "abgleich/"),
    ("get", "foerderabruf/"),
    ("get", "foerderabruf/export.csv"),
    ("get", "foerderabruf/export.xlsx"),
    ("get", "foerderabruf/export.pdf"),
    ("get", "jahresabrechnung/"),
    ("post", "jahresabrechnung/"),
    ("get", "nachberechnung/"),
    ("get", "nachberechnung/1/"),
    ("post", "nachberechnung/1/"),
    ("get", "periodenabschluss/"),
    ("post", "periodenabschluss/"),
]


@pytest.mark.parametrize(("method", "path"), PAGES)
def test_catalog_managers_are_refused(towns, staff_client, dispatched, method, path):
    response = getattr(staff_client(CATALOG), method)(BASE + path, {"year": "2025", "month": "2025-01"})
    assert response.status_code == 403
    assert not Job.objects.exists() and not PeriodClose.objects.exists()


@pytest.mark.parametrize(("method", "path"), PAGES)
def test_anonymous_visitors_are_sent_to_the_login(towns, client, dispatched, method, path):
    response = getattr(client, method)(BASE + path, HTTP_HOST="localhost")
    assert response.status_code == 302 and response["Location"].startswith("/konto/anmelden/?next=")


@pytest.mark.parametrize(("method", "path"), PAGES)
def test_the_finance_area_does_not_exist_on_a_municipal_domain(towns, method, path):
    client = towns["leipzig"].login(Role.MUNICIPAL_ADMIN)
    assert getattr(client, method)(BASE + path).status_code == 404


def test_navigation_shows_finance_to_finance_staff_only(towns, staff_client):
    assert ">Finanzen</a>" in staff_client(FINANCE).get("/").content.decode()
    assert ">Finanzen</a>" not in staff_client(CATALOG).get("/").content.decode()
