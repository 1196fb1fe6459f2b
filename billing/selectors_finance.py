"""Reading the finance figures (public schema): reconciliation of invoices with credit notes and
payments, subsidy per programme/tranche/quarter, budget use over time, the subsidy claim and
the tranches waiting for rebilling.

Every function answers with a fixed number of queries, whatever the number of invoices: the
amounts per invoice are correlated subqueries, the sums are database aggregates.

A subsidy part (``InvoiceLineSubsidy``) is *withdrawn* from the claim when its line was
reversed by a credit note (``line.credited_by``) or the part itself was charged to the
municipality after a rejection (``rebilled_by``); otherwise it is *claimable*. It is
*provisional* ("vorbehaltlich Haushaltsbeschluss") while its tranche still awaits the budget
decision (FUNDING.md: Provisional and rejected tranches).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import (
    BooleanField,
    Case,
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    TextChoices,
    Value,
    When,
)
from django.db.models.functions import Coalesce, ExtractQuarter, ExtractYear, TruncMonth

from billing.domain.budget_chart import MonthUse, Movement, budget_use
from billing.domain.money import ZERO
from core.models import Job

from .models import (
    DocumentKind,
    DocumentStatus,
    FundingProgramme,
    Invoice,
    InvoiceLine,
    InvoiceLineSubsidy,
    Payment,
    PeriodClose,
    Tranche,
    TrancheStatus,
)

MONEY_FIELD = DecimalField(max_digits=14, decimal_places=2)
ZERO_MONEY = Value(ZERO, output_field=MONEY_FIELD)

#: Documents that charge a municipality (credit notes reduce them, see ``credited_amount``).
CHARGE_KINDS = (DocumentKind.INVOICE, DocumentKind.SUPPLEMENTARY)


class ReconciliationState(TextChoices):
    OPEN = "open", "offen"
    OVERDUE = "overdue", "überfällig"
    PARTLY_PAID = "partly_paid", "teilweise bezahlt"
    PAID = "paid", "bezahlt"
    OVERPAID = "overpaid", "überzahlt"
    SETTLED_BY_SUBSIDY = "settled_by_subsidy", "durch Förderung ausgeglichen"
    CREDITED = "credited", "durch Gutschrift ausgeglichen"


#: States with an amount still to be collected.
OPEN_STATES = (ReconciliationState.OPEN, ReconciliationState.OVERDUE, ReconciliationState.PARTLY_PAID)


# --- reconciliation -------------------------------------------------------------------------


def _sum_per_invoice(queryset: QuerySet, key: str, amount: str) -> Coalesce:
    total = queryset.order_by().values(key).annotate(total=Sum(amount)).values("total")[:1]
    return Coalesce(Subquery(total, output_field=MONEY_FIELD), ZERO_MONEY)


def reconciled_invoices(*, today: date) -> QuerySet[Invoice]:
    """Issued invoices and supplementary invoices with ``credited_amount`` (issued credit notes
    referencing them, gross), ``paid_amount``, ``open_amount`` (gross due − credited − paid)
    and ``state`` (a :class:`ReconciliationState` value).

    The state, in this order: more paid than due → overpaid; nothing due and nothing paid →
    settled by subsidy (a 0,00 € invoice, FUNDING.md) or by credit note; nothing open → paid;
    open and the due date passed → overdue; open with a payment → partly paid; else open.
    """
    credited = _sum_per_invoice(
        Invoice.objects.filter(
            references=OuterRef("pk"), kind=DocumentKind.CREDIT_NOTE, status=DocumentStatus.ISSUED
        ),
        "references",
        "gross_due",
    )
    paid = _sum_per_invoice(Payment.objects.filter(invoice=OuterRef("pk")), "invoice", "amount")
    state = ReconciliationState
    return (
        Invoice.objects.filter(status=DocumentStatus.ISSUED, kind__in=CHARGE_KINDS)
        .annotate(credited_amount=credited, paid_amount=paid)
        .annotate(
            open_amount=ExpressionWrapper(
                F("gross_due") - F("credited_amount") - F("paid_amount"), output_field=MONEY_FIELD
            )
        )
        .annotate(
            state=Case(
                When(open_amount__lt=0, then=Value(state.OVERPAID)),
                When(
                    open_amount=0,
                    paid_amount=0,
                    settled_by_subsidy=True,
                    then=Value(state.SETTLED_BY_SUBSIDY),
                ),
                When(open_amount=0, paid_amount=0, credited_amount__gt=0, then=Value(state.CREDITED)),
                When(open_amount=0, then=Value(state.PAID)),
                When(due_date__lt=today, then=Value(state.OVERDUE)),
                When(paid_amount__gt=0, then=Value(state.PARTLY_PAID)),
                default=Value(state.OPEN),
            )
        )
    )


def reconciliation(
    *, today: date, state: str = "", municipality=None, year: int | None = None
) -> QuerySet[Invoice]:
    """The reconciliation list, filtered; newest first."""
    invoices = reconciled_invoices(today=today).select_related("municipality")
    if state:
        invoices = invoices.filter(state=state)
    if municipality is not None:
        invoices = invoices.filter(municipality=municipality)
    if year:
        invoices = invoices.filter(issue_date__year=year)
    return invoices.order_by("-issue_date", "-number")


def reconciliation_totals(invoices: QuerySet[Invoice]) -> dict[str, Decimal | int]:
    """Count and sums of a (filtered) reconciliation list, in one query."""
    totals = invoices.order_by().aggregate(
        count=Count("pk"),
        gross_due=Sum("gross_due", default=ZERO),
        credited=Sum("credited_amount", default=ZERO),
        paid=Sum("paid_amount", default=ZERO),
        open=Sum("open_amount", default=ZERO),
    )
    return totals


def invoice_years() -> list[int]:
    """Years in which invoices were issued, newest first (for the year filter)."""
    return sorted(
        {d.year for d in Invoice.objects.filter(status=DocumentStatus.ISSUED).dates("issue_date", "year")},
        reverse=True,
    )


def unmatched_payments() -> QuerySet[Payment]:
    """Payments received that belong to no invoice (Payment.invoice is empty)."""
    return Payment.objects.filter(invoice__isnull=True).select_related("municipality")


@dataclass(frozen=True)
class StateFigures:
    state: str
    label: str
    count: int
    gross_due: Decimal
    credited: Decimal
    paid: Decimal
    open: Decimal
    subsidy: Decimal


@dataclass(frozen=True)
class Receivables:
    states: tuple[StateFigures, ...]
    unmatched_count: int
    unmatched_sum: Decimal

    def _of(self, *states: str) -> list[StateFigures]:
        return [s for s in self.states if s.state in states]

    @property
    def open_count(self) -> int:
        return sum(s.count for s in self._of(*OPEN_STATES))

    @property
    def open_sum(self) -> Decimal:
        return sum((s.open for s in self._of(*OPEN_STATES)), ZERO)

    def state(self, state: str) -> StateFigures:
        return self._of(state)[0]


def receivables(*, today: date) -> Receivables:
    """Figures per reconciliation state (two queries)."""
    rows = {
        row["state"]: row
        for row in reconciled_invoices(today=today)
        .order_by()
        .values("state")
        .annotate(
            count=Count("pk"),
            gross=Sum("gross_due"),
            credited=Sum("credited_amount"),
            paid=Sum("paid_amount"),
            open=Sum("open_amount"),
            subsidy=Sum("subsidy"),
        )
    }
    states = []
    for choice in ReconciliationState:
        row = rows.get(choice.value, {})
        states.append(
            StateFigures(
                state=choice.value,
                label=choice.label,
                count=row.get("count", 0),
                gross_due=row.get("gross") or ZERO,
                credited=row.get("credited") or ZERO,
                paid=row.get("paid") or ZERO,
                open=row.get("open") or ZERO,
                subsidy=row.get("subsidy") or ZERO,
            )
        )
    unmatched = unmatched_payments().aggregate(count=Count("pk"), total=Sum("amount", default=ZERO))
    return Receivables(
        states=tuple(states), unmatched_count=unmatched["count"], unmatched_sum=unmatched["total"]
    )


# --- subsidy parts --------------------------------------------------------------------------


def _credited():
    return Exists(
        InvoiceLine.objects.filter(credits=OuterRef("line_id"), invoice__status=DocumentStatus.ISSUED)
    )


def _rebilled():
    return Exists(InvoiceLine.objects.filter(rebills=OuterRef("pk"), invoice__status=DocumentStatus.ISSUED))


def withdrawn_condition() -> Q:
    return Q(_credited()) | Q(_rebilled())


PROVISIONAL_CONDITION = Q(provisional=True, tranche__status=TrancheStatus.PROVISIONAL)


def issued_parts() -> QuerySet[InvoiceLineSubsidy]:
    """Subsidy parts of issued invoices (credit notes carry none, but are excluded explicitly)."""
    return InvoiceLineSubsidy.objects.filter(
        line__invoice__status=DocumentStatus.ISSUED, line__invoice__kind__in=CHARGE_KINDS, amount__gt=0
    )


@dataclass(frozen=True)
class QuarterSubsidy:
    year: int
    quarter: int
    claimable: Decimal
    provisional: Decimal
    withdrawn: Decimal

    @property
    def label(self) -> str:
        return f"Q{self.quarter}/{self.year}"


@dataclass
class TrancheSubsidy:
    tranche_id: int
    name: str
    status: str
    status_label: str
    quarters: list[QuarterSubsidy] = field(default_factory=list)

    @property
    def claimable(self) -> Decimal:
        return sum((q.claimable for q in self.quarters), ZERO)

    @property
    def provisional(self) -> Decimal:
        return sum((q.provisional for q in self.quarters), ZERO)

    @property
    def withdrawn(self) -> Decimal:
        return sum((q.withdrawn for q in self.quarters), ZERO)


@dataclass
class ProgrammeSubsidy:
    name: str
    funder: str
    tranches: list[TrancheSubsidy] = field(default_factory=list)

    @property
    def claimable(self) -> Decimal:
        return sum((t.claimable for t in self.tranches), ZERO)

    @property
    def provisional(self) -> Decimal:
        return sum((t.provisional for t in self.tranches), ZERO)

    @property
    def withdrawn(self) -> Decimal:
        return sum((t.withdrawn for t in self.tranches), ZERO)


def subsidy_by_quarter() -> list[ProgrammeSubsidy]:
    """Subsidy per programme, tranche and quarter of the invoice date (one query)."""
    withdrawn = withdrawn_condition()
    rows = (
        issued_parts()
        .annotate(
            year=ExtractYear("line__invoice__issue_date"), quarter=ExtractQuarter("line__invoice__issue_date")
        )
        .values(
            "tranche_id",
            "tranche__name",
            "tranche__status",
            "tranche__start",
            "tranche__programme__name",
            "tranche__programme__funder",
            "year",
            "quarter",
        )
        .annotate(
            claimable=Sum("amount", filter=~withdrawn, default=ZERO),
            provisional=Sum("amount", filter=~withdrawn & PROVISIONAL_CONDITION, default=ZERO),
            withdrawn=Sum("amount", filter=withdrawn, default=ZERO),
        )
        .order_by("tranche__programme__name", "tranche__start", "year", "quarter")
    )
    programmes: dict[str, ProgrammeSubsidy] = {}
    tranches: dict[int, TrancheSubsidy] = {}
    labels = dict(TrancheStatus.choices)
    for row in rows:
        programme = programmes.setdefault(
            row["tranche__programme__name"],
            ProgrammeSubsidy(name=row["tranche__programme__name"], funder=row["tranche__programme__funder"]),
        )
        tranche = tranches.get(row["tranche_id"])
        if tranche is None:
            tranche = tranches[row["tranche_id"]] = TrancheSubsidy(
                tranche_id=row["tranche_id"],
                name=row["tranche__name"],
                status=row["tranche__status"],
                status_label=labels.get(row["tranche__status"], row["tranche__status"]),
            )
            programme.tranches.append(tranche)
        tranche.quarters.append(
            QuarterSubsidy(
                year=row["year"],
                quarter=row["quarter"],
                claimable=row["claimable"],
                provisional=row["provisional"],
                withdrawn=row["withdrawn"],
            )
        )
    return list(programmes.values())


# --- budget use over time -------------------------------------------------------------------


@dataclass(frozen=True)
class TrancheBudget:
    tranche_id: int
    programme: str
    name: str
    status_label: str
    start: date
    end: date
    cap: Decimal | None
    uses: tuple[MonthUse, ...]

    @property
    def consumed(self) -> Decimal:
        return self.uses[-1].consumed if self.uses else ZERO

    @property
    def remaining(self) -> Decimal | None:
        return None if self.cap is None else self.cap - self.consumed


def _movements(rows: Iterable[dict], sign: int) -> dict[int, list[Movement]]:
    result: dict[int, list[Movement]] = {}
    for row in rows:
        result.setdefault(row["tranche_id"], []).append(Movement(row["month"], sign * row["total"]))
    return result


def budget_over_time() -> list[TrancheBudget]:
    """Cumulative subsidy per tranche and month (four queries): granted in the month of the
    invoice, released in the month of the credit note or supplementary invoice that withdrew it.
    Tranches of non-draft programmes that have a cap or granted anything."""
    parts = issued_parts()

    def per_month(queryset: QuerySet, date_path: str):
        return (
            queryset.annotate(month=TruncMonth(date_path))
            .values("tranche_id", "month")
            .annotate(total=Sum("amount"))
            .order_by()
        )

    granted = _movements(per_month(parts, "line__invoice__issue_date"), 1)
    rebilled = _movements(
        per_month(
            parts.filter(rebilled_by__invoice__status=DocumentStatus.ISSUED),
            "rebilled_by__invoice__issue_date",
        ),
        -1,
    )
    credited = _movements(
        per_month(
            # A rebilled part is released once, by its rebilling.
            parts.filter(line__credited_by__invoice__status=DocumentStatus.ISSUED, rebilled_by__isnull=True),
            "line__credited_by__invoice__issue_date",
        ),
        -1,
    )
    result = []
    tranches = Tranche.objects.filter(programme__is_draft=False).select_related("programme")
    for tranche in tranches.order_by("programme__name", "start"):
        movements = granted.get(tranche.pk, []) + rebilled.get(tranche.pk, []) + credited.get(tranche.pk, [])
        if not movements and tranche.cap is None:
            continue
        result.append(
            TrancheBudget(
                tranche_id=tranche.pk,
                programme=tranche.programme.name,
                name=tranche.name,
                status_label=tranche.get_status_display(),
                start=tranche.start,
                end=tranche.end,
                cap=tranche.cap,
                uses=budget_use(movements, first=tranche.start, last=tranche.end, cap=tranche.cap),
            )
        )
    return result


# --- subsidy claim --------------------------------------------------------------------------


def claim_parts(
    *, programme: FundingProgramme, date_from: date, date_to: date, tranche: Tranche | None = None
) -> QuerySet[InvoiceLineSubsidy]:
    """Every subsidy part of a programme (optionally one tranche) on invoices dated
    ``date_from``–``date_to``, with flat columns for pages and exports: claimable parts first,
    then withdrawn ones; within each by municipality, invoice and position.

    Municipality name and AGS are the invoice's (as billed on its date)."""
    from shop.models import FeeKind

    parts = issued_parts().filter(
        tranche__programme=programme, line__invoice__issue_date__range=(date_from, date_to)
    )
    if tranche is not None:
        parts = parts.filter(tranche=tranche)
    credit_note = Invoice.objects.filter(
        lines__credits=OuterRef("line_id"), status=DocumentStatus.ISSUED
    ).values("number")[:1]
    rebilling = Invoice.objects.filter(lines__rebills=OuterRef("pk"), status=DocumentStatus.ISSUED).values(
        "number"
    )[:1]
    fee_label = FeeKind.objects.filter(code=OuterRef("line__fee_kind")).values("label")[:1]
    return parts.annotate(
        programme_name=F("tranche__programme__name"),
        tranche_name=F("tranche__name"),
        tranche_status=F("tranche__status"),
        municipality_name=F("line__invoice__buyer_name"),
        ags=F("line__invoice__buyer_ags"),
        assistant_title=Coalesce(F("line__assistant__title"), F("line__description")),
        invoice_number=F("line__invoice__number"),
        issue_date=F("line__invoice__issue_date"),
        position=F("line__position"),
        fee_kind=F("line__fee_kind"),
        fee_kind_label=Coalesce(Subquery(fee_label), F("line__fee_kind")),
        period_start=F("line__period_start"),
        period_end=F("line__period_end"),
        credit_note_number=Subquery(credit_note),
        rebilling_number=Subquery(rebilling),
        is_provisional=ExpressionWrapper(PROVISIONAL_CONDITION, output_field=BooleanField()),
        is_withdrawn=ExpressionWrapper(withdrawn_condition(), output_field=BooleanField()),
        is_claimed=ExpressionWrapper(~withdrawn_condition(), output_field=BooleanField()),
    ).order_by("is_withdrawn", "municipality_name", "ags", "issue_date", "invoice_number", "position")


def withdrawal_text(part) -> str:
    """Why a part is not claimed, in German (empty for a claimable part)."""
    if part.rebilling_number:
        return f"nachberechnet mit {part.rebilling_number}"
    if part.credit_note_number:
        return f"gutgeschrieben mit {part.credit_note_number}"
    return ""


@dataclass
class ClaimTotal:
    label: str
    ags: str = ""
    count: int = 0
    amount: Decimal = ZERO
    provisional: Decimal = ZERO

    def add(self, part) -> None:
        self.count += 1
        self.amount += part.amount
        if part.is_provisional:
            self.provisional += part.amount


@dataclass
class Claim:
    programme: FundingProgramme
    tranche: Tranche | None
    date_from: date
    date_to: date
    parts: list
    withdrawn: list
    by_municipality: list[ClaimTotal]
    by_quarter: list[ClaimTotal]
    total: ClaimTotal
    withdrawn_total: ClaimTotal
    #: claimable parts of rejected tranches: to be rebilled, not to be claimed
    rejected_pending: ClaimTotal

    @property
    def provisional_total(self) -> Decimal:
        return self.total.provisional


def subsidy_claim(
    *, programme: FundingProgramme, date_from: date, date_to: date, tranche: Tranche | None = None
) -> Claim:
    """The claim for the funder (one query): lines and totals per municipality, per quarter of
    the invoice date and overall; withdrawn parts listed apart and left out of every total."""
    rows = list(claim_parts(programme=programme, date_from=date_from, date_to=date_to, tranche=tranche))
    parts = [p for p in rows if not p.is_withdrawn]
    withdrawn = [p for p in rows if p.is_withdrawn]
    for part in rows:
        part.withdrawal = withdrawal_text(part)
    municipalities: dict[tuple[str, str], ClaimTotal] = {}
    quarters: dict[tuple[int, int], ClaimTotal] = {}
    total = ClaimTotal("Summe")
    pending = ClaimTotal("abgelehnt, noch nicht nachberechnet")
    for part in parts:
        key = (part.municipality_name, part.ags)
        municipalities.setdefault(key, ClaimTotal(part.municipality_name, part.ags)).add(part)
        quarter = (part.issue_date.year, (part.issue_date.month - 1) // 3 + 1)
        quarters.setdefault(quarter, ClaimTotal(f"Q{quarter[1]}/{quarter[0]}")).add(part)
        total.add(part)
        if part.tranche_status == TrancheStatus.REJECTED:
            pending.add(part)
    withdrawn_total = ClaimTotal("zurückgezogen")
    for part in withdrawn:
        withdrawn_total.add(part)
    return Claim(
        programme=programme,
        tranche=tranche,
        date_from=date_from,
        date_to=date_to,
        parts=parts,
        withdrawn=withdrawn,
        by_municipality=sorted(municipalities.values(), key=lambda t: (t.label, t.ags)),
        by_quarter=[quarters[k] for k in sorted(quarters)],
        total=total,
        withdrawn_total=withdrawn_total,
        rejected_pending=pending,
    )


# --- rebilling, periods, runs ---------------------------------------------------------------


def rebillable_parts(tranche_id) -> QuerySet[InvoiceLineSubsidy]:
    """What ``tranche_rebill`` would charge (the same conditions as billing/invoicing.py)."""
    return issued_parts().filter(
        tranche_id=tranche_id, rebilled_by__isnull=True, line__credited_by__isnull=True
    )


def rejected_tranches() -> QuerySet[Tranche]:
    """Rejected tranches with the parts still to rebill and those rebilled (three subqueries)."""

    def aggregate(queryset: QuerySet, expression):
        return Subquery(
            queryset.order_by().values("tranche_id").annotate(value=expression).values("value")[:1]
        )

    pending = rebillable_parts(OuterRef("pk"))
    rebilled = issued_parts().filter(tranche_id=OuterRef("pk"), rebilled_by__isnull=False)
    return (
        Tranche.objects.filter(status=TrancheStatus.REJECTED)
        .select_related("programme")
        .annotate(
            pending_count=Coalesce(aggregate(pending, Count("pk")), 0),
            pending_amount=Coalesce(aggregate(pending, Sum("amount")), ZERO_MONEY, output_field=MONEY_FIELD),
            rebilled_count=Coalesce(aggregate(rebilled, Count("pk")), 0),
        )
        .order_by("programme__name", "start")
    )


def rebill_preview(tranche: Tranche) -> list[dict]:
    """Per original invoice: what its supplementary invoice would charge (net)."""
    return list(
        rebillable_parts(tranche.pk)
        .values("line__invoice__number", "line__invoice__buyer_name", "line__invoice__issue_date")
        .annotate(count=Count("pk"), amount=Sum("amount"))
        .order_by("line__invoice__number")
    )


def closed_periods() -> QuerySet[PeriodClose]:
    return PeriodClose.objects.order_by("-month")


BILLING_RUN_JOB = "billing_run"


def billing_run_jobs(limit: int = 10) -> QuerySet[Job]:
    return Job.objects.filter(kind=BILLING_RUN_JOB).order_by("-created")[:limit]
