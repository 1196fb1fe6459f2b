"""Writing funding data: budget decisions and the budget ledger."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from billing.domain.subsidy import allocate_cap

from .models import BudgetEntry, BudgetLedger, Tranche, TrancheStatus


@transaction.atomic
def tranche_record_decision(*, tranche: Tranche, status: str, decided_on: date, note: str = "") -> Tranche:
    """Record the budget decision for a provisional tranche (confirmed or rejected).

    A rejection is final here; the rebilling of lines it subsidised is finance's next step.
    """
    tranche = Tranche.objects.select_for_update().get(pk=tranche.pk)
    if status not in (TrancheStatus.CONFIRMED, TrancheStatus.REJECTED):
        raise ValidationError({"status": "Ein Haushaltsbeschluss bestätigt oder lehnt ab."})
    if tranche.status != TrancheStatus.PROVISIONAL:
        raise ValidationError(
            f"Für „{tranche.name}“ ist bereits entschieden ({tranche.get_status_display()})."
        )
    tranche.status = status
    tranche.decided_on = decided_on
    tranche.decision_note = note
    tranche.full_clean()
    tranche.save(update_fields=["status", "decided_on", "decision_note"])
    return tranche


def budget_consume(*, tranche_id: int, requested: Decimal, reference: str) -> Decimal:
    """Book a grant against a tranche's budget and return what was granted.

    Must run inside the transaction that issues the line. The ledger row is locked, so
    concurrent issuers are serialised per tranche and the cap is never overspent; the
    line that crosses the cap gets the remainder, later lines nothing (FUNDING.md).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("budget_consume() gehört in die Transaktion, die die Rechnungszeile ausstellt.")
    ledger, _ = BudgetLedger.objects.get_or_create(tranche_id=tranche_id)
    ledger = BudgetLedger.objects.select_for_update().select_related("tranche").get(pk=ledger.pk)
    cap = ledger.tranche.cap
    remaining = None if cap is None else cap - ledger.consumed
    granted, _ = allocate_cap(requested, remaining)
    ledger.consumed += granted
    ledger.save(update_fields=["consumed"])
    BudgetEntry.objects.create(ledger=ledger, amount=granted, requested=requested, reference=reference)
    return granted
