"""The finance dashboard: receivables, subsidy per programme/tranche/quarter and budget use,
exact to the cent on FUNDING.md's worked example 2."""

from datetime import date

import pytest

from billing.invoicing import billing_run
from billing.models import BudgetLedger, Tranche
from billing.selectors_finance import budget_over_time, receivables, subsidy_by_quarter
from tests.billing.finance_data import FINANCE, D, make_assistants, pay, subscribe

URL = "/verwaltung/finanzen/"
TODAY = date(2026, 11, 22)


@pytest.fixture
def assistants(db):
    return make_assistants()


@pytest.fixture
def example_2(towns, assistants):
    """Leipzig, central assistant, 480 €/year, activated 2022-03-01: 2022 invoice gross 190,92 €
    with 241,97 € subsidy (confirmed tranche); 2023 invoice 0,00 € (provisional tranche)."""
    subscribe(
        towns["leipzig"], assistants["central"], started_on=date(2022, 3, 1), ends_on=date(2023, 12, 31)
    )
    billing_run(year=2022, actor=FINANCE, issue_date=date(2022, 1, 3))
    billing_run(year=2023, actor=FINANCE, issue_date=date(2023, 1, 2))


def test_receivables_of_example_2(example_2):
    figures = receivables(today=TODAY)
    assert (figures.open_count, figures.open_sum) == (1, D("190.92"))
    overdue = figures.state("overdue")
    assert (overdue.count, overdue.open, overdue.subsidy) == (1, D("190.92"), D("241.97"))
    settled = figures.state("settled_by_subsidy")
    assert (settled.count, settled.gross_due, settled.subsidy) == (1, D("0.00"), D("480.00"))
    assert figures.state("paid").count == 0


def _quarters(tranche):
    return [(q.label, q.granted, q.withdrawn, q.claimable, q.provisional) for q in tranche.quarters]


def test_subsidy_per_programme_tranche_quarter(example_2):
    (programme,) = subsidy_by_quarter()
    assert programme.name.startswith("Anschubfinanzierung")
    first, second = programme.tranches
    assert (first.name, first.status) == ("Tranche 2022", "confirmed")
    assert _quarters(first) == [("Q1/2022", D("241.97"), D("0.00"), D("241.97"), D("0.00"))]
    assert _quarters(second) == [("Q1/2023", D("480.00"), D("0.00"), D("480.00"), D("480.00"))]
    assert (programme.granted, programme.claimable, programme.provisional) == (
        D("721.97"),
        D("721.97"),
        D("480.00"),
    )


def test_a_credit_note_counts_in_its_own_quarter_like_in_the_claim(example_2, django_assert_num_queries):
    from billing.invoicing import credit_note_issue
    from billing.models import Invoice

    invoice = Invoice.objects.get(billing_year=2023)
    credit_note_issue(invoice=invoice, reason="Korrektur", actor=FINANCE, issue_date=date(2023, 7, 10))
    with django_assert_num_queries(4):  # grants, two kinds of withdrawal, tranches
        (programme,) = subsidy_by_quarter()
    second = programme.tranches[1]
    assert _quarters(second) == [
        ("Q1/2023", D("480.00"), D("0.00"), D("480.00"), D("480.00")),  # as claimed in Q1
        ("Q3/2023", D("0.00"), D("480.00"), D("-480.00"), D("-480.00")),  # reclaimed in Q3
    ]
    assert (second.granted, second.withdrawn, second.claimable) == (D("480.00"), D("480.00"), D("0.00"))


def test_a_rejected_tranche_is_not_claimable(example_2):
    from billing.services import tranche_record_decision

    tranche = Tranche.objects.get(name="Tranche 2023–2024")
    tranche_record_decision(tranche=tranche, status="rejected", decided_on=date(2024, 3, 1))
    (programme,) = subsidy_by_quarter()
    second = programme.tranches[1]
    assert (second.status, second.status_label) == ("rejected", "abgelehnt")
    assert _quarters(second) == [("Q1/2023", D("480.00"), D("0.00"), D("0.00"), D("0.00"))]
    assert (programme.granted, programme.claimable, programme.provisional) == (
        D("721.97"),
        D("241.97"),
        D("0.00"),
    )


def test_budget_use_per_month_against_the_cap(example_2):
    tranche = Tranche.objects.get(name="Tranche 2022")
    Tranche.objects.filter(pk=tranche.pk).update(cap=D("300.00"))
    budgets = {b.name: b for b in budget_over_time()}
    first = budgets["Tranche 2022"]
    assert first.cap == D("300.00") and first.consumed == D("241.97") and first.remaining == D("58.03")
    assert first.uses[0].month == date(2022, 1, 1) and first.uses[0].consumed == D("241.97")
    assert first.uses[-1].month == date(2022, 12, 1) and len(first.uses) == 12
    second = budgets["Tranche 2023–2024"]
    assert second.cap is None and second.consumed == D("480.00") and len(second.uses) == 24


def test_dashboard_page_shows_the_figures_and_a_chart_with_a_table(example_2, staff_client):
    Tranche.objects.filter(name="Tranche 2022").update(cap=D("300.00"))
    BudgetLedger.objects.get_or_create(tranche=Tranche.objects.get(name="Tranche 2022"))
    client = staff_client(FINANCE)
    response = client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Offene Posten" in html and "190,92 €" in html
    assert "241,97 €" in html and "480,00 €" in html and "721,97 €" in html
    assert "Q1/2022" in html and "Q1/2023" in html
    # one chart per tranche, each with a text alternative and a data table
    assert html.count("<svg") == 2 and html.count("<caption>Budgetverbrauch") == 2
    assert 'stroke-dasharray="8 5"' in html  # the cap line, only for the capped tranche
    assert html.count('stroke-dasharray="8 5"') == 1
    assert "Förderbudget 300,00 €" in html and "verbleibend 58,03 €" in html
    assert 'aria-current="page"' in html and ">Finanzen</a>" in html

    pay(example_2_invoice(), "190.92")
    html = client.get(URL).content.decode()
    figures = receivables(today=TODAY)
    assert (figures.open_count, figures.open_sum) == (0, D("0.00"))
    assert (figures.state("paid").count, figures.state("paid").paid) == (1, D("190.92"))


def example_2_invoice():
    from billing.models import Invoice

    return Invoice.objects.get(billing_year=2022)


def test_withdrawn_subsidy_is_shown_apart_and_releases_the_budget(towns, assistants, staff_client):
    from billing.invoicing import credit_note_issue, tranche_rebill
    from billing.models import Invoice
    from billing.services import tranche_record_decision

    subscribe(towns["leipzig"], assistants["central"], started_on=date(2022, 3, 1))
    subscribe(towns["dresden"], assistants["central"], started_on=date(2023, 1, 1))
    for year in (2023, 2024):
        billing_run(year=year, actor=FINANCE, issue_date=date(year, 1, 2))
    leipzig_2023 = Invoice.objects.get(municipality=towns["leipzig"].municipality, billing_year=2023)
    credit_note_issue(invoice=leipzig_2023, reason="Korrektur", actor=FINANCE, issue_date=date(2024, 5, 6))
    tranche = Tranche.objects.get(name="Tranche 2023–2024")
    tranche_record_decision(tranche=tranche, status="rejected", decided_on=date(2025, 3, 1))
    tranche_rebill(tranche=tranche, actor=FINANCE, issue_date=date(2025, 3, 10))

    (programme,) = subsidy_by_quarter()
    (second,) = [t for t in programme.tranches if t.name == "Tranche 2023–2024"]
    # granted in the quarter of the invoice, withdrawn in the quarter of the credit note or the
    # rebilling; nothing of the rejected tranche is claimable
    assert _quarters(second) == [
        ("Q1/2023", D("960.00"), D("0.00"), D("0.00"), D("0.00")),
        ("Q1/2024", D("960.00"), D("0.00"), D("0.00"), D("0.00")),
        ("Q2/2024", D("0.00"), D("480.00"), D("0.00"), D("0.00")),
        ("Q1/2025", D("0.00"), D("1440.00"), D("0.00"), D("0.00")),
    ]
    budget = {b.name: b for b in budget_over_time()}["Tranche 2023–2024"]
    by_month = {u.month: u for u in budget.uses}
    assert by_month[date(2024, 1, 1)].consumed == D("1920.00")
    assert by_month[date(2024, 5, 1)].released == D("480.00")  # the credit note
    assert by_month[date(2025, 3, 1)].released == D("1440.00")  # the rebilling
    assert budget.consumed == D("0.00") and budget.uses[-1].month == date(2025, 3, 1)
    html = staff_client(FINANCE).get(URL).content.decode()
    assert "1.920,00 €" in html and "1.440,00 €" in html
