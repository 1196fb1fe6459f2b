"""Bulk onboarding through the admin: preview (dry run), commit, background schema creation."""

import re

from django.core.files.uploadedfile import SimpleUploadedFile

from core.models import Job
from tenants.models import Municipality
from tenants.tasks import onboard_pending

CSV = (
    "ags,name,kind,district,population\n"
    '14521020,"Annaberg-Buchholz, Stadt",stadt,Erzgebirgskreis,18815\n'
    "14521030,Bärenstein,gemeinde,Erzgebirgskreis,2092\n"
)


def _upload(client, content: str):
    page = client.get("/admin/tenants/municipality/import/")
    assert page.status_code == 200
    csv_index = re.search(r'<option value="(\d+)"[^>]*>csv</option>', page.content.decode()).group(1)
    return client.post(
        "/admin/tenants/municipality/import/",
        {
            "format": csv_index,
            "resource": "0",
            "import_file": SimpleUploadedFile("kommunen.csv", content.encode(), content_type="text/csv"),
        },
    )


def _hidden(html: str) -> dict:
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))


def test_preview_then_commit_then_background_onboarding(
    django_db_setup, db, staff_client, django_capture_on_commit_callbacks
):
    client = staff_client("katalog@kisa.example")
    preview = _upload(client, CSV)
    html = preview.content.decode()
    assert preview.status_code == 200
    assert "Annaberg-Buchholz" in html and "Bärenstein" in html
    assert not Municipality.objects.filter(ags__in=["14521020", "14521030"]).exists(), "dry run wrote rows"

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        confirm = client.post("/admin/tenants/municipality/process_import/", _hidden(html))
    assert confirm.status_code == 302
    rows = Municipality.objects.filter(ags__in=["14521020", "14521030"])
    assert rows.count() == 2
    assert all(not m.domains.exists() for m in rows)  # schemas come from the background job
    assert len(callbacks) == 1  # the job is enqueued after commit
    job = Job.objects.get(kind="onboarding")

    assert onboard_pending(job_id=job.pk) == 2  # what the worker runs
    job.refresh_from_db()
    assert (job.status, job.done, job.total, job.percent) == ("done", 2, 2, 100)
    assert Municipality.objects.get(ags="14521030").primary_domain == "baerenstein.localhost"
    status = client.get(f"/verwaltung/auftraege/{job.pk}/status").json()
    assert status["percent"] == 100


def test_rows_with_errors_are_shown_and_nothing_is_imported(django_db_setup, db, staff_client):
    client = staff_client("katalog@kisa.example")
    bad = CSV + "1452103,Kaputt,gemeinde,Erzgebirgskreis,1\n14521040,Falsch,weiler,Erzgebirgskreis,1\n"
    response = _upload(client, bad)
    html = response.content.decode()
    assert "Der AGS muss aus genau 8 Ziffern bestehen" in html
    assert "weiler" in html
    assert 'name="import_file_name"' not in html  # no confirm button
    assert not Municipality.objects.filter(ags__startswith="14521").exclude(ags="14521000").exists()


def test_missing_columns_are_named(django_db_setup, db, staff_client):
    client = staff_client("katalog@kisa.example")
    response = _upload(client, "ags,name\n14521020,Annaberg\n")
    assert "Es fehlen die Spalten: kind, district, population" in response.content.decode()


def test_export_roundtrips_unchanged(django_db_setup, db):
    from tenants.resources import MunicipalityResource

    exported = MunicipalityResource().export()
    assert "14713000" in exported.csv and "Leipzig, Stadt" in exported.csv
    assert "public" not in exported.csv and "00000000" not in exported.csv
    result = MunicipalityResource().import_data(exported, dry_run=True)
    assert not result.has_errors() and not result.has_validation_errors()
    assert {row.import_type for row in result.rows} == {"skip"}


def test_finance_staff_may_not_import_municipalities(django_db_setup, db, staff_client):
    client = staff_client("finanzen@kisa.example")
    assert client.get("/admin/tenants/municipality/import/").status_code == 403
