"""Invoice pages and downloads: a municipality sees and downloads only its own documents, finance
staff see all and issue credit notes; everything else is refused (404, 403 or the login page)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from accounts.roles import Role
from billing.documents.rules import check_xrechnung, validate_xsd
from billing.models import DocumentKind, Invoice, InvoiceEvent, Payment
from tests.billing.documents_data import (
    CATALOG,
    FINANCE,
    assistants_fixture,  # noqa: F401  (the fixture "assistants")
    dresden_invoice,
    mixed_vat_invoice,
    pdf_text,
    settled_invoice,
    subsidised_invoice,
)

D = Decimal
MUNICIPAL_ROLES = [Role.PURCHASER, Role.APPROVER, Role.MUNICIPAL_ADMIN]


def urls(prefix: str, pk: int) -> dict[str, str]:
    return {
        "detail": f"{prefix}{pk}/",
        "pdf": f"{prefix}{pk}/pdf/",
        "xrechnung": f"{prefix}{pk}/xrechnung/",
    }


# --- a municipality's domain -------------------------------------------------------------------


@pytest.mark.parametrize("role", MUNICIPAL_ROLES)
def test_every_municipal_role_sees_and_downloads_its_invoices(towns, assistants, role):
    invoice = subsidised_invoice(towns, assistants)
    client = towns["leipzig"].login(role)

    listing = client.get("/rechnungen/")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert invoice.number in html and "190,92 €" in html and "offen" in html
    assert 'href="/rechnungen/" aria-current="page"' in html  # the navigation entry

    detail = client.get(f"/rechnungen/{invoice.pk}/")
    assert detail.status_code == 200
    html = detail.content.decode()
    for expected in (
        "402,41 €",
        "−241,97 €",
        "160,44 €",
        "Umsatzsteuer 19 % auf 160,44 €",
        "14713000-12345-84",
    ):
        assert expected in html, expected

    pdf = client.get(f"/rechnungen/{invoice.pk}/pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"] == f'attachment; filename="{invoice.number}.pdf"'
    assert pdf.content.startswith(b"%PDF") and invoice.number in pdf_text(pdf.content)

    xml = client.get(f"/rechnungen/{invoice.pk}/xrechnung/")
    assert xml.status_code == 200 and xml["Content-Type"].startswith("application/xml")
    assert xml["Content-Disposition"] == f'attachment; filename="{invoice.number}-xrechnung.xml"'
    assert validate_xsd(xml.content) == [] and check_xrechnung(xml.content) == []


def test_detail_marks_provisional_lines_and_settlement_by_subsidy(towns, assistants):
    invoice = settled_invoice(towns, assistants)
    client = towns["leipzig"].login(Role.APPROVER)
    html = client.get("/rechnungen/").content.decode()
    assert "durch Förderung ausgeglichen" in html
    html = client.get(f"/rechnungen/{invoice.pk}/").content.decode()
    assert 'class="badge warn">vorbehaltlich Haushaltsbeschluss' in html
    assert "Durch Förderung ausgeglichen – es ist nichts zu zahlen." in html


def test_status_follows_payments_and_credit_notes(towns, assistants):
    invoice = subsidised_invoice(towns, assistants)
    client = towns["leipzig"].login(Role.PURCHASER)
    Payment.objects.create(
        invoice=invoice,
        municipality=invoice.municipality,
        amount=D("100.00"),
        received_on=date(2022, 1, 20),
        method="bank_transfer",
        source="manual",
        payer_reference=invoice.number,
    )
    html = client.get(f"/rechnungen/{invoice.pk}/").content.decode()
    assert "teilweise bezahlt" in html and "90,92 €" in html and "20.01.2022" in html
    Payment.objects.create(
        invoice=invoice,
        municipality=invoice.municipality,
        amount=D("90.92"),
        received_on=date(2022, 1, 25),
        method="bank_transfer",
        source="manual",
    )
    html = client.get("/rechnungen/").content.decode()
    assert 'class="badge ok">bezahlt<' in html


def test_fully_credited_invoice_is_credited_not_paid(towns, assistants, staff_client):
    invoice = mixed_vat_invoice(towns, assistants)
    finance = staff_client(FINANCE)
    response = finance.post(f"/verwaltung/belege/{invoice.pk}/gutschrift/", {"reason": "Storno"})
    assert response.status_code == 302
    html = towns["leipzig"].login(Role.PURCHASER).get("/rechnungen/").content.decode()
    assert 'class="badge ok">gutgeschrieben<' in html and "Gutschrift" in html and "−678,19 €" in html


def test_no_xrechnung_without_leitweg_id_but_a_clear_page_and_the_pdf(towns, assistants):
    invoice = dresden_invoice(towns, assistants)
    client = towns["dresden"].login(Role.PURCHASER)
    response = client.get(f"/rechnungen/{invoice.pk}/xrechnung/")
    assert response.status_code == 409
    html = response.content.decode()
    assert "Für diese Kommune ist keine Leitweg-ID hinterlegt" in html
    assert f'href="/rechnungen/{invoice.pk}/pdf/"' in html
    assert response["Content-Type"].startswith("text/html")
    detail = client.get(f"/rechnungen/{invoice.pk}/").content.decode()
    assert "keine Leitweg-ID hinterlegt" in detail and f"/rechnungen/{invoice.pk}/xrechnung/" not in detail
    pdf = client.get(f"/rechnungen/{invoice.pk}/pdf/")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


@pytest.mark.parametrize("role", MUNICIPAL_ROLES)
def test_another_municipalitys_documents_are_not_found(towns, assistants, role):
    """Leipzig's users asking, on Leipzig's domain, for Dresden's invoice: 404 everywhere."""
    foreign = dresden_invoice(towns, assistants)
    own = subsidised_invoice(towns, assistants)
    client = towns["leipzig"].login(role)
    for url in urls("/rechnungen/", foreign.pk).values():
        assert client.get(url).status_code == 404, url
    html = client.get("/rechnungen/").content.decode()
    assert own.number in html and foreign.number not in html
    # and the other way round, with Dresden's own login
    dresden = towns["dresden"].login(role)
    for url in urls("/rechnungen/", own.pk).values():
        assert dresden.get(url).status_code == 404, url


def test_a_leipzig_session_is_worthless_on_dresdens_domain(towns, assistants):
    foreign = dresden_invoice(towns, assistants)
    client = towns["leipzig"].login(Role.PURCHASER)
    client.defaults["HTTP_HOST"] = towns["dresden"].domain
    for url in ["/rechnungen/", *urls("/rechnungen/", foreign.pk).values()]:
        response = client.get(url)
        assert response.status_code == 302 and "/konto/anmelden/" in response["Location"], url


def test_anonymous_visitors_are_sent_to_the_login(towns, assistants):
    invoice = subsidised_invoice(towns, assistants)
    client = towns["leipzig"].client()
    for url in ["/rechnungen/", *urls("/rechnungen/", invoice.pk).values()]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/konto/anmelden/"), url


def test_unknown_ids_are_not_found(towns):
    client = towns["leipzig"].login(Role.PURCHASER)
    for url in urls("/rechnungen/", 999999).values():
        assert client.get(url).status_code == 404


def test_staff_document_pages_do_not_exist_on_a_municipal_domain(towns, assistants):
    invoice = subsidised_invoice(towns, assistants)
    client = towns["leipzig"].login(Role.MUNICIPAL_ADMIN)
    assert client.get("/verwaltung/belege/").status_code == 404
    assert client.post(f"/verwaltung/belege/{invoice.pk}/gutschrift/", {"reason": "x"}).status_code == 404


def test_list_is_empty_without_documents(towns):
    html = towns["wilsdruff"].login(Role.PURCHASER).get("/rechnungen/").content.decode()
    assert "noch keine Rechnung ausgestellt" in html


# --- the association's domain ------------------------------------------------------------------


def test_finance_lists_filters_and_downloads_every_document(towns, assistants, staff_client):
    leipzig = subsidised_invoice(towns, assistants)
    dresden = dresden_invoice(towns, assistants)
    client = staff_client(FINANCE)
    html = client.get("/verwaltung/belege/").content.decode()
    assert leipzig.number in html and dresden.number in html and "2 Belege" in html
    assert 'href="/verwaltung/belege/" aria-current="page"' in html

    html = client.get("/verwaltung/belege/", {"kommune": "14612000"}).content.decode()
    assert dresden.number in html and leipzig.number not in html
    html = client.get("/verwaltung/belege/", {"jahr": "2022"}).content.decode()
    assert leipzig.number in html and dresden.number not in html
    html = client.get("/verwaltung/belege/", {"nummer": "2025-0000"}).content.decode()
    assert dresden.number in html and leipzig.number not in html
    html = client.get("/verwaltung/belege/", {"art": "credit_note"}).content.decode()
    assert "Kein Beleg passt zu den Filtern." in html
    html = client.get("/verwaltung/belege/", {"jahr": "1999", "art": "x"}).content.decode()
    assert "Für dieses Jahr gibt es keine Belege." in html and "Bitte wählen Sie eine Belegart" in html
    assert leipzig.number in html  # invalid filters filter nothing

    for url in urls("/verwaltung/belege/", leipzig.pk).values():
        assert client.get(url).status_code == 200, url
    xml = client.get(f"/verwaltung/belege/{leipzig.pk}/xrechnung/")
    assert check_xrechnung(xml.content) == []
    assert client.get(f"/verwaltung/belege/{dresden.pk}/xrechnung/").status_code == 409
    assert client.get("/verwaltung/belege/999999/").status_code == 404


def test_finance_issues_a_credit_note_for_chosen_lines(towns, assistants, staff_client):
    invoice = mixed_vat_invoice(towns, assistants)
    line7 = invoice.lines.get(vat_rate=D("7"))
    client = staff_client(FINANCE)
    html = client.get(f"/verwaltung/belege/{invoice.pk}/").content.decode()
    assert "Gutschrift ausstellen" in html and f'value="{line7.pk}"' in html

    response = client.post(
        f"/verwaltung/belege/{invoice.pk}/gutschrift/", {"reason": "Doppelt berechnet", "lines": [line7.pk]}
    )
    credit = Invoice.objects.get(kind=DocumentKind.CREDIT_NOTE)
    assert response.status_code == 302 and response["Location"] == f"/verwaltung/belege/{credit.pk}/"
    assert (
        credit.references == invoice
        and credit.gross_due == D("106.99")
        and credit.reason == "Doppelt berechnet"
    )
    assert list(credit.lines.values_list("credits_id", flat=True)) == [line7.pk]
    assert InvoiceEvent.objects.filter(invoice=invoice, action="credited", actor=FINANCE).count() == 1

    html = client.get(f"/verwaltung/belege/{credit.pk}/").content.decode()
    assert f"Gutschrift {credit.number}" in html and "ausgestellt" in html
    assert "Gutschrift ausstellen" not in html  # a credit note is not credited again
    html = client.get(f"/verwaltung/belege/{invoice.pk}/").content.decode()
    assert credit.number in html and f'value="{line7.pk}"' not in html  # the credited line is gone


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"reason": ""}, "Bitte geben Sie den Grund der Gutschrift an."),
        ({"reason": "   "}, "Bitte geben Sie den Grund der Gutschrift an."),
        ({"reason": "x", "lines": ["999999"]}, "Diese Position kann nicht (mehr) gutgeschrieben werden."),
        ({"reason": "x", "lines": ["abc"]}, "Diese Position kann nicht (mehr) gutgeschrieben werden."),
    ],
)
def test_bad_credit_note_input_gets_a_german_error_and_changes_nothing(
    towns, assistants, staff_client, data, message
):
    invoice = mixed_vat_invoice(towns, assistants)
    response = staff_client(FINANCE).post(f"/verwaltung/belege/{invoice.pk}/gutschrift/", data)
    assert response.status_code == 200 and message in response.content.decode()
    assert not Invoice.objects.filter(kind=DocumentKind.CREDIT_NOTE).exists()
    assert not InvoiceEvent.objects.filter(action="credited").exists()


def test_crediting_twice_is_refused(towns, assistants, staff_client):
    invoice = mixed_vat_invoice(towns, assistants)
    client = staff_client(FINANCE)
    assert (
        client.post(f"/verwaltung/belege/{invoice.pk}/gutschrift/", {"reason": "Storno"}).status_code == 302
    )
    credit = Invoice.objects.get(kind=DocumentKind.CREDIT_NOTE)
    html = client.get(f"/verwaltung/belege/{invoice.pk}/").content.decode()
    assert "Alle Positionen dieser Rechnung sind bereits gutgeschrieben." in html
    response = client.post(f"/verwaltung/belege/{invoice.pk}/gutschrift/", {"reason": "nochmal"})
    assert response.status_code == 200 and "bereits gutgeschrieben" in response.content.decode()
    response = client.post(f"/verwaltung/belege/{credit.pk}/gutschrift/", {"reason": "x"}, follow=True)
    assert "Eine Gutschrift lässt sich nicht gutschreiben." in response.content.decode()
    assert Invoice.objects.filter(kind=DocumentKind.CREDIT_NOTE).count() == 1


def test_catalog_managers_may_not_see_documents(towns, assistants, staff_client):
    invoice = subsidised_invoice(towns, assistants)
    client = staff_client(CATALOG)
    for url in ["/verwaltung/belege/", *urls("/verwaltung/belege/", invoice.pk).values()]:
        assert client.get(url).status_code == 403, url
    assert client.post(f"/verwaltung/belege/{invoice.pk}/gutschrift/", {"reason": "x"}).status_code == 403
    assert not Invoice.objects.filter(kind=DocumentKind.CREDIT_NOTE).exists()
    assert 'href="/verwaltung/belege/"' not in client.get("/").content.decode()


def test_staff_pages_need_a_login(towns, assistants):
    from django.test import Client

    invoice = subsidised_invoice(towns, assistants)
    client = Client(HTTP_HOST="localhost")
    for url in ["/verwaltung/belege/", *urls("/verwaltung/belege/", invoice.pk).values()]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/konto/anmelden/"), url
    response = client.post(f"/verwaltung/belege/{invoice.pk}/gutschrift/", {"reason": "x"})
    assert response.status_code == 302 and not Invoice.objects.filter(kind=DocumentKind.CREDIT_NOTE).exists()
