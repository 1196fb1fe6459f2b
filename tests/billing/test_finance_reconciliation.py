"""Reconciliation: every state for a constructed case, filters, payments without invoice and a
constant number of queries however many invoices there are."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.invoicing import billing_run, credit_note_issue
from billing.models import Invoice
from billing.selectors_finance import reconciliation, reconciliation_totals
from tests.billing.finance_data import FINANCE, D, make_assistants, pay, subscribe

URL = "/verwaltung/finanzen/abgleich/"


def _invoice(town, year):
    return Invoice.objects.get(municipality=town.municipality, billing_year=year, kind="invoice")


@pytest.fixture
def assistants(db):
    return make_assistants()


@pytest.fixture
def every_state(towns, assistants):
    """One invoice per state. EfA maintenance is not subsidised: 480 € net, 571,20 € gross."""
    today = timezone.localdate()
    leipzig, dresden, wilsdruff = towns["leipzig"], towns["dresden"], towns["wilsdruff"]
    subscribe(leipzig, assistants["efa"], started_on=date(2024, 1, 1))
    subscribe(dresden, assistants["efa"], started_on=date(2024, 1, 1))
    subscribe(wilsdruff, assistants["central"], started_on=date(2023, 1, 1), ends_on=date(2023, 12, 31))
    subscribe(wilsdruff, assistants["efa"], started_on=date(2025, 1, 1))
    billing_run(year=2023, actor=FINANCE, issue_date=date(2023, 1, 2))  # Wilsdruff: 0,00 € (subsidy)
    billing_run(year=2024, actor=FINANCE, issue_date=date(2024, 1, 2))  # Leipzig, Dresden: due long ago
    billing_run(year=2025, actor=FINANCE, issue_date=today)  # all three: due in 30 days
    billing_run(year=2026, actor=FINANCE, issue_date=today, municipality_ids=[wilsdruff.municipality.pk])
    credit_note_issue(invoice=_invoice(wilsdruff, 2026), reason="Doppelt berechnet", actor=FINANCE)
    pay(_invoice(dresden, 2024), "581.20")  # 10 € too much
    pay(_invoice(dresden, 2025), "100.00")
    pay(_invoice(wilsdruff, 2025), "500.00")
    pay(_invoice(wilsdruff, 2025), "71.20")
    pay(None, "42.00", municipality=leipzig.municipality, payer_reference="RE-2099-000001?")
    return {
        "open": _invoice(leipzig, 2025),
        "overdue": _invoice(leipzig, 2024),
        "partly_paid": _invoice(dresden, 2025),
        "paid": _invoice(wilsdruff, 2025),
        "overpaid": _invoice(dresden, 2024),
        "settled_by_subsidy": _invoice(wilsdruff, 2023),
        "credited": _invoice(wilsdruff, 2026),
    }


def test_every_state_with_its_amounts(every_state):
    rows = {i.number: i for i in reconciliation(today=timezone.localdate())}
    assert len(rows) == 7  # the credit note itself is not a line of its own
    for state, invoice in every_state.items():
        assert rows[invoice.number].state == state, state
    amounts = {
        state: (
            rows[i.number].gross_due,
            rows[i.number].credited_amount,
            rows[i.number].paid_amount,
            rows[i.number].open_amount,
        )
        for state, i in every_state.items()
    }
    assert amounts["open"] == (D("571.20"), D("0"), D("0"), D("571.20"))
    assert amounts["overdue"] == (D("571.20"), D("0"), D("0"), D("571.20"))
    assert amounts["partly_paid"] == (D("571.20"), D("0"), D("100.00"), D("471.20"))
    assert amounts["paid"] == (D("571.20"), D("0"), D("571.20"), D("0.00"))
    assert amounts["overpaid"] == (D("571.20"), D("0"), D("581.20"), D("-10.00"))
    assert amounts["settled_by_subsidy"] == (D("0.00"), D("0"), D("0"), D("0.00"))
    assert amounts["credited"] == (D("571.20"), D("571.20"), D("0"), D("0.00"))
    totals = reconciliation_totals(reconciliation(today=timezone.localdate()))
    assert totals["count"] == 7 and totals["open"] == D("571.20") * 2 + D("471.20") - D("10.00")


def test_page_shows_every_state_and_payments_without_invoice(every_state, staff_client):
    html = staff_client(FINANCE).get(URL).content.decode()
    for label in (
        "offen",
        "überfällig",
        "teilweise bezahlt",
        "bezahlt",
        "überzahlt",
        "durch Förderung ausgeglichen",
        "durch Gutschrift ausgeglichen",
    ):
        assert f">{label}</span>" in html, label
    assert "Zahlungen ohne Rechnung" in html and "42,00 €" in html and "RE-2099-000001?" in html
    assert "−10,00 €" in html  # overpaid: negative open amount


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"state": "overdue"}, {"overdue"}),
        ({"state": "paid"}, {"paid"}),
        ({"year": "2024"}, {"overdue", "overpaid"}),
        ({"state": "open", "year": "2025"}, {"open"}),
    ],
)
def test_filters(every_state, staff_client, query, expected):
    response = staff_client(FINANCE).get(URL, query)
    html = response.content.decode()
    assert response.status_code == 200
    shown = {state for state, invoice in every_state.items() if f">{invoice.number}</th>" in html}
    assert shown == expected


def test_filter_by_municipality(every_state, staff_client, towns):
    html = staff_client(FINANCE).get(URL, {"municipality": towns["dresden"].municipality.pk}).content.decode()
    assert ">2 Belege</h2>" in html
    assert every_state["partly_paid"].number in html and every_state["open"].number not in html


def test_bad_filters_are_explained_and_filter_nothing(every_state, staff_client):
    response = staff_client(FINANCE).get(URL, {"state": "verloren", "year": "1999", "municipality": "x"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Bitte einen Stand aus der Liste wählen." in html
    assert "Für dieses Jahr gibt es keine Rechnungen." in html
    assert "Diese Kommune gibt es nicht." in html
    assert ">7 Belege</h2>" in html


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL)
    assert response.status_code == 200
    return len(queries)


def test_constant_number_of_queries_for_3_and_30_invoices(towns, assistants, staff_client):
    client = staff_client(FINANCE)
    for town in towns.values():
        subscribe(town, assistants["efa"], started_on=date(2014, 1, 1))
    billing_run(year=2014, actor=FINANCE, issue_date=date(2014, 1, 2))
    for invoice in Invoice.objects.all()[:2]:
        pay(invoice, "100.00")
    client.get(URL)  # the layout's cache is warm for both measurements
    three = _queries(client)
    for year in range(2015, 2024):
        billing_run(year=year, actor=FINANCE, issue_date=date(year, 1, 2))
    invoices = list(Invoice.objects.order_by("number"))
    assert len(invoices) == 30
    for invoice in invoices[::3]:
        pay(invoice, "50.00")
        pay(invoice, "20.00")
    credit_note_issue(invoice=invoices[1], reason="Korrektur", actor=FINANCE, issue_date=date(2024, 5, 2))
    thirty = _queries(client)
    assert thirty == three, (three, thirty)
    assert three <= 12, three


def test_due_date_drives_overdue(towns, assistants):
    subscribe(towns["leipzig"], assistants["efa"], started_on=date(2024, 1, 1))
    billing_run(year=2024, actor=FINANCE, issue_date=date(2024, 1, 2))
    invoice = Invoice.objects.get()
    before = reconciliation(today=invoice.due_date).get().state
    after = reconciliation(today=invoice.due_date + timedelta(days=1)).get().state
    assert (before, after) == ("open", "overdue")
