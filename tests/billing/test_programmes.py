"""Funding programmes as data: the installed Saxon programme, budget decisions, the budget ledger."""

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, connections, transaction

from billing.domain.subsidy import saxony_programme
from billing.models import BudgetEntry, BudgetLedger, FundingProgramme, Tranche
from billing.selectors import engine_programmes
from billing.services import budget_consume, tranche_record_decision


def test_the_saxon_programme_is_installed_exactly_as_funding_md_says(db):
    installed = engine_programmes()
    assert len(installed) == 1
    programme = installed[0]
    reference = saxony_programme()
    assert programme.name == reference.name == "Anschubfinanzierung Online-Antragsassistenten"
    assert programme.funder == "Freistaat Sachsen"
    assert programme.categories == reference.categories == frozenset({"central"})
    assert dict(programme.coverage) == {"setup": Decimal("100"), "maintenance": Decimal("100")}
    assert [(t.start, t.end, t.status) for t in programme.tranches] == [
        (date(2022, 7, 1), date(2022, 12, 31), "confirmed"),
        (date(2023, 1, 1), date(2024, 12, 31), "provisional"),
    ]


def test_budget_decision_confirms_or_rejects_a_provisional_tranche_once(db):
    second = Tranche.objects.get(name="Tranche 2023–2024")
    tranche_record_decision(
        tranche=second, status="rejected", decided_on=date(2023, 3, 1), note="Haushalt 2023/24"
    )
    second.refresh_from_db()
    assert (second.status, second.decided_on) == ("rejected", date(2023, 3, 1))
    assert engine_programmes()[0].tranches[1].status == "rejected"
    with pytest.raises(ValidationError, match="bereits entschieden"):
        tranche_record_decision(tranche=second, status="confirmed", decided_on=date(2023, 4, 1))
    # audit trail (the programme itself was installed by a data migration, which keeps no history)
    assert [record.status for record in second.history.all()] == ["rejected"]


def test_overlapping_tranches_are_refused_by_the_database(db):
    programme = FundingProgramme.objects.get(code="saxony-2022")
    with pytest.raises(IntegrityError), transaction.atomic():
        Tranche.objects.create(
            programme=programme,
            name="doppelt",
            start=date(2024, 12, 1),
            end=date(2025, 6, 30),
            status="confirmed",
        )
    tranche = Tranche(
        programme=programme,
        name="doppelt",
        start=date(2024, 12, 1),
        end=date(2025, 6, 30),
        status="confirmed",
    )
    with pytest.raises(ValidationError, match="nicht überschneiden"):
        tranche.full_clean()


def test_budget_consume_needs_the_issuing_transaction(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        tranche = Tranche.objects.first()
        # in autocommit mode the booking could not be rolled back with its invoice line
        with pytest.raises(RuntimeError, match="Transaktion"):
            budget_consume(tranche_id=tranche.pk, requested=Decimal("10.00"), reference="x")
        assert not BudgetEntry.objects.filter(reference="x").exists()
        with transaction.atomic():
            assert budget_consume(
                tranche_id=tranche.pk, requested=Decimal("10.00"), reference="x"
            ) == Decimal("10.00")
            transaction.set_rollback(True)


@pytest.fixture
def capped_tranche(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        programme = FundingProgramme.objects.create(
            code="cap-test",
            name="Deckeltest",
            funder="Test",
            explanation_label="Test",
            categories=["central"],
        )
        tranche = Tranche.objects.create(
            programme=programme,
            name="gedeckelt",
            start=date(2030, 1, 1),
            end=date(2030, 12, 31),
            status="confirmed",
            cap=Decimal("1000.00"),
        )
        BudgetLedger.objects.create(tranche=tranche)
        try:
            yield tranche
        finally:
            BudgetEntry.objects.filter(ledger__tranche=tranche).delete()
            BudgetLedger.objects.filter(tranche=tranche).delete()
            tranche.delete()
            programme.delete()


def test_concurrent_issuers_never_overspend_a_cap(capped_tranche, django_db_blocker):
    """8 threads (own connections, own transactions) book 37,00 € lines against a 1.000,00 € cap."""
    granted: list[Decimal] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def issuer(number: int) -> None:
        try:
            start.wait()
            for line in range(10):
                with transaction.atomic():
                    amount = budget_consume(
                        tranche_id=capped_tranche.pk,
                        requested=Decimal("37.00"),
                        reference=f"issuer {number} line {line}",
                    )
                with lock:
                    granted.append(amount)
        finally:
            connections.close_all()

    with django_db_blocker.unblock():
        threads = [threading.Thread(target=issuer, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        ledger = BudgetLedger.objects.get(tranche=capped_tranche)
        entries = list(BudgetEntry.objects.filter(ledger=ledger).values_list("amount", flat=True))
    assert len(granted) == 80
    assert sum(granted) == ledger.consumed == sum(entries) == Decimal("1000.00")
    assert sorted(granted, reverse=True)[:27] == [Decimal("37.00")] * 27
    assert Decimal("1.00") in granted  # the line crossing the cap gets the remainder: 1000 − 27 × 37
    assert granted.count(Decimal("0.00")) == 80 - 28
    assert connection.vendor == "postgresql"


def test_finance_records_a_budget_decision_in_the_admin(staff_client):
    client = staff_client("finanzen@kisa.example")
    second = Tranche.objects.get(name="Tranche 2023–2024")
    page = client.get(f"/admin/billing/tranche/{second.pk}/entscheidung/")
    assert page.status_code == 200 and "Haushaltsbeschluss" in page.content.decode()
    bad = client.post(f"/admin/billing/tranche/{second.pk}/entscheidung/", {"status": "confirmed"})
    assert "Dieses Feld ist zwingend erforderlich." in bad.content.decode()
    response = client.post(
        f"/admin/billing/tranche/{second.pk}/entscheidung/",
        {"status": "confirmed", "decided_on": "2023-02-15", "note": "Doppelhaushalt beschlossen"},
    )
    assert response.status_code == 302
    second.refresh_from_db()
    assert (second.status, second.decided_on) == ("confirmed", date(2023, 2, 15))
    history = second.history.first()
    assert history.history_user.email == "finanzen@kisa.example"


def test_municipal_users_have_no_access_to_funding_admin(towns):
    client = towns["leipzig"].login("municipal_admin")
    assert client.get("/admin/billing/tranche/").status_code == 404
