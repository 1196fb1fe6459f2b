"""The subsidy claim for the funder: totals, provisional marking, reclaims of subsidy withdrawn
by a later credit note (in the period of the credit note, never rewriting a sent claim), rejected
tranches left out, CSV/XLSX/PDF exports and German errors for bad input."""

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook

from billing.invoicing import billing_run, credit_note_issue, tranche_rebill
from billing.models import FundingProgramme, Invoice, Tranche
from billing.selectors_finance import subsidy_claim
from billing.services import tranche_record_decision
from tenants.models import Municipality
from tests.billing.finance_data import FINANCE, D, make_assistants, subscribe

URL = "/verwaltung/finanzen/foerderabruf/"
FORMULA = '=HYPERLINK("http://evil.example","Leipzig")'


@pytest.fixture
def assistants(db):
    return make_assistants()


@pytest.fixture
def programme(db):
    return FundingProgramme.objects.get(code="saxony-2022")


@pytest.fixture
def billed(towns, assistants):
    """Leipzig 480 €/year from 2022-03-01 (FUNDING.md example 2), Dresden 720 €/year from 2023,
    Wilsdruff an EfA assistant (no subsidy); billed for 2022–2024 at the start of each year."""
    subscribe(towns["leipzig"], assistants["central"], started_on=date(2022, 3, 1))
    subscribe(towns["dresden"], assistants["central"], started_on=date(2023, 1, 1), yearly="720.00")
    subscribe(towns["wilsdruff"], assistants["efa"], started_on=date(2022, 1, 1))
    for year in (2022, 2023, 2024):
        billing_run(year=year, actor=FINANCE, issue_date=date(year, 1, 2))
    return towns


def _claim(programme, **kwargs):
    return subsidy_claim(
        programme=programme,
        date_from=kwargs.pop("date_from", date(2022, 1, 1)),
        date_to=kwargs.pop("date_to", date(2024, 12, 31)),
        **kwargs,
    )


def test_totals_per_municipality_quarter_and_provisional(billed, programme):
    claim = _claim(programme)
    assert (claim.total.count, claim.total.amount, claim.provisional_total) == (
        5,
        D("2641.97"),
        D("2400.00"),
    )
    assert [(t.label, t.ags, t.amount, t.provisional) for t in claim.by_municipality] == [
        ("Dresden, Stadt", "14612000", D("1440.00"), D("1440.00")),
        ("Leipzig, Stadt", "14713000", D("1201.97"), D("960.00")),
    ]
    assert [(t.label, t.amount) for t in claim.by_quarter] == [
        ("Q1/2022", D("241.97")),
        ("Q1/2023", D("1200.00")),
        ("Q1/2024", D("1200.00")),
    ]
    first = claim.grants[0]  # by municipality name, then invoice date
    assert (first.municipality_name, first.invoice_number, first.fee_kind_label) == (
        "Dresden, Stadt",
        "RE-2023-000002",  # billed after Leipzig (municipalities in order of their id)
        "Softwarepflege und Support",
    )
    leipzig_2022 = next(p for p in claim.grants if p.invoice_date.year == 2022)
    assert (leipzig_2022.covered_days, leipzig_2022.amount, leipzig_2022.is_provisional) == (
        184,
        D("241.97"),
        False,
    )
    assert (leipzig_2022.period_start, leipzig_2022.period_end) == (date(2022, 3, 1), date(2022, 12, 31))
    assert claim.reclaims == [] and claim.total.reclaimed == 0


def test_one_tranche_and_a_period(billed, programme):
    tranche = Tranche.objects.get(name="Tranche 2022")
    assert _claim(programme, tranche=tranche).total.amount == D("241.97")
    only_2023 = _claim(programme, date_from=date(2023, 1, 1), date_to=date(2023, 3, 31))
    assert (only_2023.total.count, only_2023.total.amount) == (2, D("1200.00"))


def _invoice(towns, town, year):
    return Invoice.objects.get(municipality=towns[town].municipality, billing_year=year)


def _quarters(start_year, end_year):
    for year in range(start_year, end_year + 1):
        for first in (1, 4, 7, 10):
            last = date(year, first + 2, 31 if first in (1, 10) else 30)
            yield date(year, first, 1), last


def _snapshot(claim):
    """Everything the funder gets from a claim, comparable across time."""
    rows = [
        (r.kind_label, r.document_number, r.document_date, r.invoice_number, r.position, r.claim_amount)
        for r in claim.rows
    ]
    totals = [
        (t.label, t.ags, t.count, t.granted, t.reclaimed, t.amount, t.provisional)
        for t in [*claim.by_municipality, *claim.by_quarter, claim.total]
    ]
    return rows, totals


def test_a_later_credit_note_is_reclaimed_in_its_own_period_and_leaves_the_sent_claim_alone(
    billed, programme, staff_client
):
    q1 = {"date_from": date(2023, 1, 1), "date_to": date(2023, 3, 31)}
    q3 = {"date_from": date(2023, 7, 1), "date_to": date(2023, 9, 30)}
    params = {"programme": programme.pk, "von": "2023-01-01", "bis": "2023-03-31"}
    client = staff_client(FINANCE)
    sent = _snapshot(_claim(programme, **q1))
    sent_csv = client.get(f"{URL}export.csv", params).content
    assert sent[1][-1][5] == D("1200.00")  # the Q1/2023 claim as submitted

    original = _invoice(billed, "leipzig", 2023)
    credit = credit_note_issue(
        invoice=original, reason="Assistent nicht genutzt", actor=FINANCE, issue_date=date(2023, 8, 15)
    )

    assert _snapshot(_claim(programme, **q1)) == sent  # the submitted claim stays as it was
    assert client.get(f"{URL}export.csv", params).content == sent_csv

    later = _claim(programme, **q3)  # the money the funder gets back: claimed in Q3
    assert later.grants == []
    (row,) = later.reclaims
    assert (row.kind_label, row.document_number, row.document_date) == (
        "Rückforderung",
        credit.number,
        date(2023, 8, 15),
    )
    assert (row.invoice_number, row.invoice_date, row.claim_amount) == (
        original.number,
        date(2023, 1, 2),
        D("-480.00"),
    )
    assert (later.total.count, later.total.granted, later.total.reclaimed) == (1, D("0.00"), D("480.00"))
    assert (later.total.amount, later.provisional_total) == (D("-480.00"), D("-480.00"))
    assert [(t.label, t.amount) for t in later.by_quarter] == [("Q3/2023", D("-480.00"))]
    assert [(t.label, t.amount) for t in later.by_municipality] == [("Leipzig, Stadt", D("-480.00"))]

    year = _claim(programme, date_from=date(2023, 1, 1), date_to=date(2023, 12, 31))
    assert (year.total.granted, year.total.reclaimed, year.total.amount) == (
        D("1200.00"),
        D("480.00"),
        D("720.00"),
    )
    assert [(t.label, t.amount) for t in year.by_quarter] == [
        ("Q1/2023", D("1200.00")),
        ("Q3/2023", D("-480.00")),
    ]
    # the claims of single quarters add up to the claim of the whole time
    whole = _claim(programme, date_from=date(2022, 1, 1), date_to=date(2024, 12, 31)).total.amount
    assert whole == D("2161.97")
    assert (
        sum((_claim(programme, date_from=f, date_to=t).total.amount for f, t in _quarters(2022, 2024)), 0)
        == whole
    )

    html = client.get(
        URL, {"programme": programme.pk, "von": "2023-07-01", "bis": "2023-09-30"}
    ).content.decode()
    assert "Rückforderung" in html and credit.number in html and "15.08.2023" in html
    assert original.number in html and "−480,00 €" in html
    rows = list(
        csv.DictReader(
            io.StringIO(
                client.get(
                    f"{URL}export.csv", {**params, "von": "2023-07-01", "bis": "2023-09-30"}
                ).content.decode("utf-8-sig")
            )
        )
    )
    assert [
        (r["Art"], r["Beleg"], r["Belegdatum"], r["Rechnungsnummer"], r["Förderbetrag (EUR)"]) for r in rows
    ] == [("Rückforderung", credit.number, "2023-08-15", original.number, "-480.00")]
    pdf = _pdf_text(
        client.get(f"{URL}export.pdf", {**params, "von": "2023-07-01", "bis": "2023-09-30"}).content
    )
    assert "Förderbetrag gesamt 1 -480,00 EUR" in pdf
    assert f"{credit.number} 15.08.2023 {original.number}" in pdf


def test_a_credit_note_in_the_same_period_shows_grant_and_reclaim(
    billed, programme, django_assert_num_queries
):
    credit = credit_note_issue(
        invoice=_invoice(billed, "leipzig", 2022),
        reason="Korrektur",
        actor=FINANCE,
        issue_date=date(2022, 11, 30),
    )
    with django_assert_num_queries(3):  # grants, reclaims, pending rebilling
        claim = _claim(programme, date_to=date(2022, 12, 31))
    assert [(r.kind_label, r.document_number, r.claim_amount) for r in claim.rows] == [
        ("Förderung", claim.grants[0].invoice_number, D("241.97")),
        ("Rückforderung", credit.number, D("-241.97")),
    ]
    assert (claim.total.count, claim.total.amount, claim.provisional_total) == (2, D("0.00"), D("0.00"))
    assert [(t.label, t.granted, t.reclaimed) for t in claim.by_quarter] == [
        ("Q1/2022", D("241.97"), D("0.00")),
        ("Q4/2022", D("0.00"), D("241.97")),
    ]


def test_a_rejected_tranche_is_not_claimable(billed, programme, staff_client):
    tranche = Tranche.objects.get(name="Tranche 2023–2024")
    tranche_record_decision(tranche=tranche, status="rejected", decided_on=date(2025, 3, 1))
    claim = _claim(programme)
    assert (claim.total.count, claim.total.amount, claim.provisional_total) == (1, D("241.97"), D("0.00"))
    assert [(t.label, t.amount) for t in claim.by_municipality] == [("Leipzig, Stadt", D("241.97"))]
    assert [(t.label, t.amount) for t in claim.by_quarter] == [("Q1/2022", D("241.97"))]
    assert (claim.rejected_pending.count, claim.rejected_pending.amount) == (4, D("2400.00"))
    only_rejected = _claim(programme, tranche=tranche)
    assert (only_rejected.total.count, only_rejected.total.amount) == (0, D("0.00"))
    assert only_rejected.rejected_pending.count == 4

    client = staff_client(FINANCE)
    params = {"programme": programme.pk, "von": "2022-01-01", "bis": "2024-12-31"}
    rows = list(
        csv.DictReader(io.StringIO(client.get(f"{URL}export.csv", params).content.decode("utf-8-sig")))
    )
    assert [(r["Kommune"], r["Tranche"], r["Förderbetrag (EUR)"]) for r in rows] == [
        ("Leipzig, Stadt", "Tranche 2022", "241.97")
    ]
    html = client.get(URL, params).content.decode()
    assert "4 Positionen über 2.400,00 € stammen aus einer abgelehnten Tranche" in html
    assert "Zur Nachberechnung" in html
    assert "Förderbetrag gesamt 1 241,97 EUR" in _pdf_text(client.get(f"{URL}export.pdf", params).content)

    # the rebilling withdraws nothing from the funder's claim: it was never claimed
    credit_note_issue(
        invoice=_invoice(billed, "dresden", 2024),
        reason="Korrektur",
        actor=FINANCE,
        issue_date=date(2025, 2, 3),
    )
    result = tranche_rebill(tranche=tranche, actor=FINANCE, issue_date=date(2025, 3, 10))
    assert len(result.invoices) == 3  # one per original invoice not credited
    assert _snapshot(_claim(programme)) == _snapshot(claim)
    assert _claim(programme).rejected_pending.count == 0
    in_2025 = _claim(programme, date_from=date(2025, 1, 1), date_to=date(2025, 12, 31))
    assert (in_2025.rows, in_2025.total.amount) == ([], D("0.00"))


def _formula_invoice(towns, assistants):
    """A 2022 invoice to a municipality whose name looks like a formula (snapshot on the invoice)."""
    Municipality.objects.filter(pk=towns["wilsdruff"].municipality.pk).update(official_name=FORMULA)
    subscribe(towns["wilsdruff"], assistants["central"], started_on=date(2022, 7, 1))
    billing_run(year=2022, actor=FINANCE, issue_date=date(2022, 7, 4))


def _export(client, programme, fmt):
    return client.get(
        f"{URL}export.{fmt}", {"programme": programme.pk, "von": "2022-01-01", "bis": "2022-12-31"}
    )


def test_csv_export_neutralises_formulas(billed, assistants, programme, staff_client):
    _formula_invoice(billed, assistants)
    response = _export(staff_client(FINANCE), programme, "csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert (
        response["Content-Disposition"]
        == 'attachment; filename="foerderabruf-saxony-2022-20220101-20221231.csv"'
    )
    text = response.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["Kommune"] for r in rows] == ["'" + FORMULA, "Leipzig, Stadt"]
    leipzig = rows[1]
    assert leipzig["AGS"] == "14713000" and leipzig["Förderbetrag (EUR)"] == "241.97"
    assert leipzig["geförderte Tage"] == "184" and leipzig["Rechnungsdatum"] == "2022-01-02"
    assert leipzig["vorbehaltlich Haushaltsbeschluss"] == "nein" and leipzig["Art"] == "Förderung"
    assert leipzig["Beleg"] == leipzig["Rechnungsnummer"] and leipzig["Belegdatum"] == "2022-01-02"
    assert leipzig["Gebührenart"] == "Softwarepflege und Support"
    assert leipzig["Leistungszeitraum von"] == "2022-03-01" and leipzig["Assistent"] == "Gewerbe-Anmeldung"


def test_xlsx_export_keeps_numbers_and_neutralises_formulas(
    billed,
    assistants,
    programme,
    staff_client,
):
    _formula_invoice(billed, assistants)
    leipzig_2022 = _invoice(billed, "leipzig", 2022)
    credit = credit_note_issue(
        invoice=leipzig_2022, reason="Korrektur", actor=FINANCE, issue_date=date(2022, 11, 30)
    )
    response = _export(staff_client(FINANCE), programme, "xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    data = [dict(zip(header, row, strict=True)) for row in rows[1:]]
    assert [r["Kommune"] for r in data] == ["'" + FORMULA, "Leipzig, Stadt", "Leipzig, Stadt"]
    cell = sheet.cell(row=2, column=header.index("Kommune") + 1)
    assert cell.data_type == "s"  # text, not a formula
    assert data[0]["Förderbetrag (EUR)"] == pytest.approx(241.97) and data[0]["Art"] == "Förderung"
    assert data[0]["Rechnungsdatum"].date() == date(2022, 7, 4)
    reclaim = data[2]
    assert (reclaim["Art"], reclaim["Beleg"], reclaim["Belegart"]) == (
        "Rückforderung",
        credit.number,
        "Gutschrift",
    )
    assert (
        reclaim["Belegdatum"].date() == date(2022, 11, 30)
        and reclaim["Rechnungsnummer"] == leipzig_2022.number
    )
    assert reclaim["Förderbetrag (EUR)"] == pytest.approx(-241.97)  # a number, not neutralised text


def test_pdf_summary(billed, programme, staff_client):
    response = staff_client(FINANCE).get(
        f"{URL}export.pdf", {"programme": programme.pk, "von": "2022-01-01", "bis": "2024-12-31"}
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert 'filename="foerderabruf-saxony-2022-20220101-20241231.pdf"' in response["Content-Disposition"]
    text = _pdf_text(response.content)
    assert "Förderbetrag gesamt 5 2.641,97 EUR" in text
    assert "davon vorbehaltlich Haushaltsbeschluss 2.400,00 EUR" in text
    assert "Leipzig, Stadt 14713000 3 1.201,97 EUR 0,00 EUR 1.201,97 EUR 960,00 EUR" in text
    assert "Q1/2023 2 1.200,00 EUR 0,00 EUR 1.200,00 EUR 1.200,00 EUR" in text
    assert "€" not in text


def _pdf_text(pdf: bytes) -> str:
    """The text shown by the PDF's content streams (fpdf2 compresses them with zlib)."""
    import re
    import zlib

    shown = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            content = zlib.decompress(stream)
        except zlib.error:
            continue
        shown += re.findall(rb"\((.*?)\)\s*Tj", content)
    return " ".join(part.decode("latin-1") for part in shown)


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "pdf"])
@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"programme": "999999", "von": "2024-01-01", "bis": "2024-12-31"},
            "Dieses Förderprogramm gibt es nicht.",
        ),
        (
            {"programme": "abc", "von": "2024-01-01", "bis": "2024-12-31"},
            "Dieses Förderprogramm gibt es nicht.",
        ),
        ({"von": "2024-12-31", "bis": "2024-01-01"}, "„bis“ liegt vor „von“."),
        ({"von": "31.02.2024", "bis": "2024-13-01"}, "Bitte ein gültiges Datum angeben (TT.MM.JJJJ)."),
        ({"von": "", "bis": "2024-12-31"}, "Bitte ein Datum angeben."),
    ],
)
def test_bad_input_gets_german_errors_and_no_file(billed, programme, staff_client, fmt, params, message):
    params = {"programme": programme.pk, **params}
    client = staff_client(FINANCE)
    for url in (URL, f"{URL}export.{fmt}"):
        response = client.get(url, params)
        html = response.content.decode()
        assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
        assert "Content-Disposition" not in response
        assert message in html
        assert "Positionen im Abruf" not in html


def test_tranche_of_another_programme_is_refused(billed, programme, staff_client):
    other = FundingProgramme.objects.create(code="bund", name="Bundesprogramm", funder="Bund")
    foreign = Tranche.objects.create(
        programme=other, name="Bund 2024", start=date(2024, 1, 1), end=date(2024, 12, 31)
    )
    response = staff_client(FINANCE).get(
        f"{URL}export.csv",
        {"programme": programme.pk, "tranche": foreign.pk, "von": "2024-01-01", "bis": "2024-12-31"},
    )
    assert response.status_code == 200
    assert "Diese Tranche gehört nicht zum gewählten Förderprogramm." in response.content.decode()


def test_unknown_format_is_404(staff_client):
    assert staff_client(FINANCE).get(f"{URL}export.doc").status_code == 404


def test_unbound_page_shows_the_form_only(billed, staff_client):
    html = staff_client(FINANCE).get(URL).content.decode()
    assert "Förderprogramm" in html and "Summen je Kommune" not in html
