"""Issuing invoices: worked examples, idempotent runs, immutability in the database, rebilling,
credit notes, period close (real PostgreSQL, the Saxon programme as installed by migration)."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from billing.invoicing import (
    billing_run,
    credit_note_issue,
    next_number,
    period_close,
    tranche_rebill,
)
from billing.models import (
    BillingCharge,
    BudgetLedger,
    DocumentKind,
    Invoice,
    InvoiceEvent,
    InvoiceLine,
    InvoiceLineSubsidy,
    Tranche,
)
from billing.services import tranche_record_decision
from shop.models import Subscription
from tests.factories.billing import subscribe
from tests.factories.shop import AssistantFactory

D = Decimal


@pytest.fixture
def assistants(db):
    return {
        "central": AssistantFactory(slug="gewerbe", title="Gewerbe-Anmeldung", category="central"),
        "efa": AssistantFactory(slug="wohngeld", title="Wohngeld", category="efa"),
    }


def test_worked_example_2_through_the_yearly_run(towns, assistants):
    """FUNDING.md example 2: activated 2022-03-01, 480 €/year → net 402,41, subsidy 241,97,
    due 160,44, VAT 30,48, gross 190,92."""
    leipzig = towns["leipzig"]
    subscribe(leipzig, assistants["central"], started_on=date(2022, 3, 1))
    result = billing_run(year=2022, actor="finanzen@kisa.example", issue_date=date(2022, 1, 3))
    assert (result.invoices, result.lines) == (1, 1)
    invoice = Invoice.objects.get(municipality=leipzig.municipality, billing_year=2022)
    line = invoice.lines.get()
    assert (line.period_start, line.period_end, line.period_days) == (
        date(2022, 3, 1),
        date(2022, 12, 31),
        306,
    )
    assert (line.list_net, line.subsidy, line.net_due) == (D("402.41"), D("241.97"), D("160.44"))
    assert (invoice.net_due, invoice.vat, invoice.gross_due) == (D("160.44"), D("30.48"), D("190.92"))
    assert invoice.vat_breakdown == [{"rate": "19.00", "base": "160.44", "vat": "30.48"}]
    assert invoice.number == "RE-2022-000001" and invoice.is_issued and not invoice.settled_by_subsidy
    assert invoice.buyer_leitweg_id == "14713000-12345-84" and invoice.buyer_city == "Leipzig"
    part = line.subsidies.get()
    assert part.tranche.name == "Tranche 2022" and part.covered_days == 184 and not part.provisional
    assert InvoiceEvent.objects.filter(invoice=invoice, action="issued").count() == 1


def test_running_twice_bills_nothing_twice(towns, assistants):
    for town in towns.values():
        subscribe(town, assistants["central"], started_on=date(2023, 5, 1))
        subscribe(town, assistants["efa"], started_on=date(2023, 5, 1))
    first = billing_run(year=2024, actor="t", issue_date=date(2024, 1, 2))
    before = list(Invoice.objects.values_list("number", "gross_due").order_by("number"))
    second = billing_run(year=2024, actor="t", issue_date=date(2024, 1, 2))
    assert (first.invoices, first.lines) == (3, 6)
    assert (second.invoices, second.lines) == (0, 0)
    assert list(Invoice.objects.values_list("number", "gross_due").order_by("number")) == before


def test_the_database_refuses_a_second_maintenance_charge(towns, assistants):
    sub = subscribe(towns["dresden"], assistants["efa"], started_on=date(2023, 1, 1))
    billing_run(year=2023, actor="t", issue_date=date(2023, 1, 2))
    invoice = Invoice.objects.create(
        kind="invoice",
        origin="yearly",
        series="RE",
        municipality=towns["dresden"].municipality,
        buyer_name="x",
        buyer_ags="14612000",
        issue_date=date(2023, 1, 2),
        service_start=date(2023, 1, 1),
        service_end=date(2023, 12, 31),
        due_date=date(2023, 2, 1),
    )
    line = InvoiceLine.objects.create(
        invoice=invoice,
        position=1,
        description="x",
        fee_kind="maintenance",
        subscription=sub,
        billing_year=2023,
        charge_key="maintenance:other",
        list_net=1,
        net_due=1,
        vat_rate=19,
    )
    with pytest.raises(IntegrityError, match="maintenance_once_per_subscription_year"), transaction.atomic():
        BillingCharge.objects.create(key="maintenance:other", line=line, subscription=sub, billing_year=2023)
    with pytest.raises(IntegrityError, match="key"), transaction.atomic():
        BillingCharge.objects.create(key=f"maintenance:{sub.pk}:2023", line=line)


def test_invoices_due_nothing_are_settled_by_subsidy_and_provisional(towns, assistants):
    subscribe(towns["wilsdruff"], assistants["central"], started_on=date(2022, 7, 1))
    billing_run(year=2023, actor="t", issue_date=date(2023, 1, 2))
    invoice = Invoice.objects.get(billing_year=2023)
    assert invoice.gross_due == 0 and invoice.settled_by_subsidy and invoice.provisional
    assert invoice.subsidy == D("480.00")
    assert invoice.lines.get().explanation.endswith("(vorbehaltlich Haushaltsbeschluss)")


def test_last_year_runs_to_the_effective_end_and_no_further(towns, assistants):
    sub = subscribe(
        towns["dresden"], assistants["efa"], started_on=date(2024, 7, 1), ends_on=date(2025, 12, 31)
    )
    billing_run(year=2025, actor="t", issue_date=date(2025, 1, 2))
    billing_run(year=2026, actor="t", issue_date=date(2026, 1, 2))
    assert list(sub.invoice_lines.values_list("billing_year", "list_net")) == [(2025, D("480.00"))]


def _draft(town, day):
    return Invoice.objects.create(
        kind="invoice",
        origin="correction",
        series="RE",
        municipality=town.municipality,
        buyer_name="x",
        buyer_ags=town.municipality.ags,
        issue_date=day,
        service_start=day,
        service_end=day,
        due_date=day,
    )


def test_issued_documents_cannot_be_changed_or_deleted_in_sql(towns, assistants):
    subscribe(towns["leipzig"], assistants["efa"], started_on=date(2024, 1, 1))
    billing_run(year=2024, actor="t", issue_date=date(2024, 1, 2))
    invoice = Invoice.objects.get()
    line = invoice.lines.get()
    statements = [
        ("UPDATE billing_invoice SET gross_due = 0 WHERE id = %s", invoice.pk),
        ("UPDATE billing_invoice SET status = 'draft' WHERE id = %s", invoice.pk),
        ("DELETE FROM billing_invoice WHERE id = %s", invoice.pk),
        ("UPDATE billing_invoiceline SET net_due = 0, list_net = 0 WHERE id = %s", line.pk),
        ("DELETE FROM billing_invoiceline WHERE id = %s", line.pk),
        ("UPDATE billing_invoiceevent SET action = 'x' WHERE invoice_id = %s", invoice.pk),
    ]
    for sql, pk in statements:
        with (
            pytest.raises(IntegrityError, match="ausgestellt|Belegprotokoll"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [pk])
    with pytest.raises(IntegrityError), transaction.atomic():
        InvoiceLine.objects.create(
            invoice=invoice,
            position=2,
            description="nachgeschoben",
            fee_kind="setup",
            charge_key="late",
            list_net=1,
            net_due=1,
            vat_rate=19,
        )
    invoice.refresh_from_db()
    assert invoice.gross_due == D("571.20") and invoice.lines.count() == 1


def test_the_database_refuses_backdoors_around_issuing(towns, assistants):
    subscribe(towns["leipzig"], assistants["central"], started_on=date(2024, 1, 1))
    billing_run(year=2024, actor="t", issue_date=date(2024, 1, 2))
    part = InvoiceLineSubsidy.objects.get()
    draft = _draft(towns["leipzig"], date(2024, 3, 1))
    draft_line = InvoiceLine.objects.create(
        invoice=draft,
        position=1,
        description="x",
        fee_kind="setup",
        charge_key="x",
        list_net=9,
        net_due=9,
        vat_rate=19,
    )
    refused = [
        # moving a subsidy part off the issued invoice onto a draft
        (
            "UPDATE billing_invoicelinesubsidy SET line_id = %s, amount = 1 WHERE id = %s",
            [draft_line.pk, part.pk],
        ),
        ("DELETE FROM billing_invoicelinesubsidy WHERE id = %s", [part.pk]),
        # an issued row born without the issuing step
        (
            "INSERT INTO billing_invoice (kind, status, origin, number, series, sequence, municipality_id, "
            "buyer_name, buyer_street, buyer_postal_code, buyer_city, buyer_leitweg_id, buyer_email, buyer_ags, "
            "issue_date, service_start, service_end, due_date, reason, currency, list_net, subsidy, net_due, "
            "vat, gross_due, vat_breakdown, settled_by_subsidy, provisional, created, issued_by) "
            "VALUES ('invoice', 'issued', 'correction', 'RE-2024-999999', 'RE', 999999, %s, 'x', '', '', '', "
            "'', '', '14713000', '2024-03-01', '2024-03-01', '2024-03-01', '2024-03-31', '', 'EUR', 0, 0, 0, 0, "
            "0, '[]', false, false, now(), '')",
            [towns["leipzig"].municipality.pk],
        ),
        # a draft issued with a number that was never drawn
        (
            "UPDATE billing_invoice SET status = 'issued', number = 'RE-2024-000777', sequence = 777 WHERE id = %s",
            [draft.pk],
        ),
        # (deferred foreign-key checks of this test's rows first, then the TRUNCATE itself)
        ("SET CONSTRAINTS ALL IMMEDIATE; TRUNCATE billing_invoice CASCADE", []),
        ("SET CONSTRAINTS ALL IMMEDIATE; TRUNCATE billing_invoiceevent", []),
    ]
    for sql, params in refused:
        with (
            pytest.raises(IntegrityError, match="ausgestellt|Entwurf|nicht aus dem Nummernkreis|geleert"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, params)
    assert InvoiceLineSubsidy.objects.get().line.invoice.number == "RE-2024-000001"


def test_a_credited_charge_can_be_billed_again_correctly(towns, assistants):
    sub = subscribe(towns["leipzig"], assistants["efa"], started_on=date(2025, 1, 1))
    billing_run(year=2025, actor="t", issue_date=date(2025, 1, 2))
    wrong = Invoice.objects.get()
    credit_note_issue(invoice=wrong, reason="falscher Jahresbetrag", actor="t", issue_date=date(2025, 1, 20))
    Subscription.objects.filter(pk=sub.pk).update(maintenance_yearly=D("240.00"))
    again = billing_run(year=2025, actor="t", issue_date=date(2025, 1, 21))
    assert (again.invoices, again.lines) == (1, 1)
    corrected = Invoice.objects.filter(kind="invoice").exclude(pk=wrong.pk).get()
    assert corrected.net_due == D("240.00") and corrected.number == "RE-2025-000002"
    assert billing_run(year=2025, actor="t", issue_date=date(2025, 1, 22)).lines == 0


def test_a_rebilled_line_is_credited_only_after_its_rebilling(towns, assistants):
    subscribe(towns["dresden"], assistants["central"], started_on=date(2023, 1, 1))
    billing_run(year=2024, actor="t", issue_date=date(2024, 1, 2))
    original = Invoice.objects.get()
    tranche2 = Tranche.objects.get(programme__code="saxony-2022", name="Tranche 2023–2024")
    tranche_record_decision(tranche=tranche2, status="rejected", decided_on=date(2025, 3, 1))
    tranche_rebill(tranche=tranche2, actor="t", issue_date=date(2025, 3, 10))
    supplementary = Invoice.objects.get(kind=DocumentKind.SUPPLEMENTARY)
    with pytest.raises(ValidationError, match=f"mit {supplementary.number} nachberechnet"):
        credit_note_issue(invoice=original, reason="Kündigung rückwirkend", actor="t")
    credit_note_issue(
        invoice=supplementary, reason="Kündigung rückwirkend", actor="t", issue_date=date(2025, 3, 11)
    )
    credit = credit_note_issue(
        invoice=original, reason="Kündigung rückwirkend", actor="t", issue_date=date(2025, 3, 11)
    )
    assert credit.references == original and credit.gross_due == D("0.00")
    assert tranche_rebill(tranche=tranche2, actor="t", issue_date=date(2025, 3, 12)).lines == 0


def test_closed_period_refuses_documents(towns, assistants):
    subscribe(towns["leipzig"], assistants["efa"], started_on=date(2024, 1, 1))
    period_close(month=date(2024, 1, 1), actor="finanzen@kisa.example", today=date(2024, 2, 5))
    with pytest.raises(ValidationError, match="01/2024 ist abgeschlossen"):
        billing_run(year=2024, actor="t", issue_date=date(2024, 1, 15))
    assert not Invoice.objects.exists()
    with pytest.raises(ValidationError, match="nur vergangene Monate"):
        period_close(month=date(2024, 2, 1), actor="x", today=date(2024, 2, 5))
    # The database refuses it too, whatever the Python code does.
    draft = _draft(towns["leipzig"], date(2024, 1, 20))
    with pytest.raises(IntegrityError, match="abgeschlossen"), transaction.atomic():
        number, sequence = next_number("RE", 2024)
        Invoice.objects.filter(pk=draft.pk).update(status="issued", number=number, sequence=sequence)
    billing_run(year=2024, actor="t", issue_date=date(2024, 2, 6))
    assert Invoice.objects.get(status="issued").number == "RE-2024-000001"


def test_rejected_tranche_is_rebilled_once_with_a_reference(towns, assistants):
    leipzig = towns["leipzig"]
    subscribe(leipzig, assistants["central"], started_on=date(2022, 3, 1))
    for year in (2022, 2023, 2024):
        billing_run(year=year, actor="t", issue_date=date(year, 1, 3))
    tranche2 = Tranche.objects.get(programme__code="saxony-2022", name="Tranche 2023–2024")
    with pytest.raises(ValidationError, match="nur eine abgelehnte"):
        tranche_rebill(tranche=tranche2, actor="t")
    tranche_record_decision(tranche=tranche2, status="rejected", decided_on=date(2025, 3, 1))
    result = tranche_rebill(tranche=tranche2, actor="finanzen@kisa.example", issue_date=date(2025, 3, 10))
    assert result.lines == 2 and result.amount == D("960.00")
    supplementary = Invoice.objects.filter(kind=DocumentKind.SUPPLEMENTARY).order_by("number")
    assert [s.references.billing_year for s in supplementary] == [2023, 2024]
    assert all(s.gross_due == D("571.20") and s.number.startswith("RE-2025-") for s in supplementary)
    # Tranche 1 (2022, confirmed) is untouched; the originals stay as issued.
    assert Invoice.objects.get(billing_year=2022, kind="invoice").gross_due == D("190.92")
    assert Invoice.objects.get(billing_year=2023, kind="invoice").gross_due == D("0.00")
    again = tranche_rebill(tranche=tranche2, actor="t", issue_date=date(2025, 3, 11))
    assert again.lines == 0
    assert InvoiceLineSubsidy.objects.filter(tranche=tranche2, rebilled_by__isnull=False).count() == 2


def test_credit_note_reverses_lines_once_and_numbers_its_own_series(towns, assistants):
    subscribe(towns["dresden"], assistants["efa"], started_on=date(2024, 1, 1))
    subscribe(towns["dresden"], assistants["central"], started_on=date(2025, 1, 1))
    billing_run(year=2025, actor="t", issue_date=date(2025, 1, 2))
    invoice = Invoice.objects.get()
    efa_line = invoice.lines.get(assistant=assistants["efa"])
    with pytest.raises(ValidationError):
        credit_note_issue(invoice=invoice, reason="  ", actor="t")
    credit = credit_note_issue(
        invoice=invoice,
        reason="Doppelt berechnet",
        actor="t",
        line_ids=[efa_line.pk],
        issue_date=date(2025, 2, 1),
    )
    assert credit.number == "GS-2025-000001" and credit.references == invoice
    assert credit.gross_due == D("571.20") and credit.lines.get().credits == efa_line
    with pytest.raises(ValidationError, match="bereits gutgeschrieben"):
        credit_note_issue(invoice=invoice, reason="nochmal", actor="t", line_ids=[efa_line.pk])
    assert InvoiceEvent.objects.filter(invoice=invoice, action="credited").count() == 1


def test_capped_tranche_grants_the_remainder_then_nothing(towns, assistants):
    tranche1 = Tranche.objects.get(programme__code="saxony-2022", name="Tranche 2022")
    Tranche.objects.filter(pk=tranche1.pk).update(cap=D("300.00"))
    BudgetLedger.objects.get_or_create(tranche=tranche1)
    for town in towns.values():  # 240,00 € each for 01.07.–31.12.2022 (184 days of 365 → 241,97)
        subscribe(town, assistants["central"], started_on=date(2022, 7, 1))
    billing_run(year=2022, actor="t", issue_date=date(2022, 7, 4))
    subsidies = list(Invoice.objects.order_by("number").values_list("subsidy", flat=True))
    assert subsidies == [D("241.97"), D("58.03"), D("0.00")]
    assert BudgetLedger.objects.get(tranche=tranche1).consumed == D("300.00")
    last = Invoice.objects.order_by("number").last().lines.get()
    assert "Förderbudget ausgeschöpft" in last.explanation and last.net_due == D("241.97")


def test_activation_issues_one_invoice_with_setup_and_the_first_year_pro_rata(towns):
    from django_tenants.utils import schema_context

    from accounts.models import User
    from shop.ordering import cart_add, order_approve, order_submit
    from shop.provisioning import line_provision
    from tests.factories.shop import PriceFactory

    wilsdruff = towns["wilsdruff"]
    assistant = AssistantFactory(slug="hund", title="Hundesteuer", category="central")
    PriceFactory(assistant=assistant, fee_kind_id="setup", net_amount=D("1200.00"))
    PriceFactory(assistant=assistant, fee_kind_id="maintenance", net_amount=D("480.00"))
    with schema_context(wilsdruff.schema):
        purchaser = User.objects.get(email=wilsdruff.emails["purchaser"])
        approver = User.objects.get(email=wilsdruff.emails["approver"])
    cart_add(municipality=wilsdruff.municipality, assistant=assistant, user=purchaser)
    order = order_submit(
        municipality=wilsdruff.municipality, user=purchaser, idempotency_key="a1", today=date(2022, 9, 15)
    )
    order_approve(order=order, user=approver)
    line = order.lines.get()
    line_provision(line_id=line.pk, today=date(2022, 3, 1))
    line_provision(line_id=line.pk, today=date(2022, 3, 2))  # redelivered task: nothing more
    invoice = Invoice.objects.get(municipality=wilsdruff.municipality)
    setup, maintenance = invoice.lines.order_by("position")
    # FUNDING.md examples 1 and 2 on one invoice
    assert (setup.list_net, setup.subsidy, setup.net_due) == (D("1200.00"), D("1200.00"), D("0.00"))
    assert (maintenance.list_net, maintenance.subsidy, maintenance.net_due) == (
        D("402.41"),
        D("241.97"),
        D("160.44"),
    )
    assert (invoice.net_due, invoice.vat, invoice.gross_due) == (D("160.44"), D("30.48"), D("190.92"))
    assert invoice.origin == "activation" and invoice.billing_year == 2022
    # the yearly run for 2022 finds the first year billed
    assert billing_run(year=2022, actor="t", issue_date=date(2022, 12, 1)).lines == 0
