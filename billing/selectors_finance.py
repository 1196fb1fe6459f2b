"""Reading the finance figures (public schema): reconciliation of invoices with credit notes and
payments, subsidy per programme/tranche/quarter, budget use over time, the subsidy claim and
the tranches waiting for rebilling.

Every function answers with a fixed number of queries, whatever the number of invoices: the
amounts per invoice are correlated subqueries, the sums are database aggregates.

A subsidy part (``InvoiceLineSubsidy``) is *granted* on the date of its invoice. It is
*withdrawn* on the date of the document that withdrew it: the credit note that reversed its
line (``line.credited_by``) or the supplementary invoice that charged it to the municipality
after a rejection (``rebilled_by``). Claims, the dashboard and the budget chart all date a part
this way, so what was claimed for a past period never changes: a later withdrawal is reclaimed
from the funder in its own period. A part is *provisional* ("vorbehaltlich
Haushaltsbeschluss") while its tranche still awaits the budget decision; the subsidy of a
rejected tranche is not claimable at all (FUNDING.md: Provisional and rejected tranches).
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

PROVISIONAL_CONDITION = Q(provisional=True, tranche__status=TrancheStatus.PROVISIONAL)
#: Only tranches not rejected can be claimed from the funder; a rejected tranche's subsidy is
#: charged to the municipalities instead (FUNDING.md: Provisional and rejected tranches).
CLAIMABLE_CONDITION = ~Q(tranche__status=TrancheStatus.REJECTED)

#: Paths from a subsidy part to the document that withdrew it.
REBILLING = "rebilled_by__invoice"
CREDIT_NOTE = "line__credited_by__invoice"


def issued_parts() -> QuerySet[InvoiceLineSubsidy]:
    """Subsidy parts of issued invoices (credit notes carry none, but are excluded explicitly)."""
    return InvoiceLineSubsidy.objects.filter(
        line__invoice__status=DocumentStatus.ISSUED, line__invoice__kind__in=CHARGE_KINDS, amount__gt=0
    )


def withdrawals(parts: QuerySet[InvoiceLineSubsidy] | None = None) -> tuple[tuple[str, QuerySet], ...]:
    """The withdrawn parts, each with the path to the document that withdrew it: the
    supplementary invoice that rebilled the part, else the credit note that reversed its line.
    A part is withdrawn once, on the date of that document (a rebilled part whose line is
    credited later is not withdrawn a second time)."""
    parts = issued_parts() if parts is None else parts
    issued = DocumentStatus.ISSUED
    return (
        (REBILLING, parts.filter(rebilled_by__invoice__status=issued)),
        (
            CREDIT_NOTE,
            parts.filter(
                line__credited_by__invoice__status=issued,
                line__credited_by__invoice__kind=DocumentKind.CREDIT_NOTE,
            ).exclude(rebilled_by__invoice__status=issued),
        ),
    )


def not_withdrawn(parts: QuerySet[InvoiceLineSubsidy]) -> QuerySet[InvoiceLineSubsidy]:
    """Parts neither rebilled nor credited (the conditions of ``tranche_rebill``)."""
    return parts.filter(rebilled_by__isnull=True, line__credited_by__isnull=True)


def _quarter(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


@dataclass
class QuarterSubsidy:
    """One quarter of a tranche, dated like the claim: ``granted`` by invoices of the quarter,
    ``withdrawn`` by credit notes and rebillings of the quarter; ``claimable`` is the balance
    (negative when more was withdrawn than granted), zero for a rejected tranche."""

    year: int
    quarter: int
    granted: Decimal = ZERO
    withdrawn: Decimal = ZERO
    claimable: Decimal = ZERO
    provisional: Decimal = ZERO

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
    def granted(self) -> Decimal:
        return sum((q.granted for q in self.quarters), ZERO)

    @property
    def withdrawn(self) -> Decimal:
        return sum((q.withdrawn for q in self.quarters), ZERO)

    @property
    def claimable(self) -> Decimal:
        return sum((q.claimable for q in self.quarters), ZERO)

    @property
    def provisional(self) -> Decimal:
        return sum((q.provisional for q in self.quarters), ZERO)


@dataclass
class ProgrammeSubsidy:
    name: str
    funder: str
    tranches: list[TrancheSubsidy] = field(default_factory=list)

    @property
    def granted(self) -> Decimal:
        return sum((t.granted for t in self.tranches), ZERO)

    @property
    def withdrawn(self) -> Decimal:
        return sum((t.withdrawn for t in self.tranches), ZERO)

    @property
    def claimable(self) -> Decimal:
        return sum((t.claimable for t in self.tranches), ZERO)

    @property
    def provisional(self) -> Decimal:
        return sum((t.provisional for t in self.tranches), ZERO)


def subsidy_by_quarter() -> list[ProgrammeSubsidy]:
    """Subsidy per programme, tranche and quarter (four queries), dated as in the claim:
    granted in the quarter of the invoice, withdrawn in the quarter of the credit note or
    supplementary invoice that withdrew it. What the claims of a quarter add up to is
    ``claimable``; nothing of a rejected tranche is."""

    def per_quarter(queryset: QuerySet, date_path: str):
        return (
            queryset.annotate(year=ExtractYear(date_path), quarter=ExtractQuarter(date_path))
            .values("tranche_id", "year", "quarter")
            .annotate(
                total=Sum("amount"), provisional=Sum("amount", filter=PROVISIONAL_CONDITION, default=ZERO)
            )
            .order_by()
        )

    movements = [(1, row) for row in per_quarter(issued_parts(), "line__invoice__issue_date")]
    for path, parts in withdrawals():
        movements += [(-1, row) for row in per_quarter(parts, f"{path}__issue_date")]
    quarters: dict[int, dict[tuple[int, int], QuarterSubsidy]] = {}
    for sign, row in movements:
        key = (row["year"], row["quarter"])
        quarter = quarters.setdefault(row["tranche_id"], {}).setdefault(key, QuarterSubsidy(*key))
        if sign > 0:
            quarter.granted += row["total"]
        else:
            quarter.withdrawn += row["total"]
        quarter.provisional += sign * row["provisional"]
    programmes: dict[str, ProgrammeSubsidy] = {}
    tranches = Tranche.objects.filter(pk__in=quarters).select_related("programme")
    for tranche in tranches.order_by("programme__name", "start"):
        programme = programmes.setdefault(
            tranche.programme.name,
            ProgrammeSubsidy(name=tranche.programme.name, funder=tranche.programme.funder),
        )
        claimable = tranche.status != TrancheStatus.REJECTED
        per_tranche = quarters[tranche.pk]
        for quarter in per_tranche.values():
            quarter.claimable = quarter.granted - quarter.withdrawn if claimable else ZERO
        programme.tranches.append(
            TrancheSubsidy(
                tranche_id=tranche.pk,
                name=tranche.name,
                status=tranche.status,
                status_label=tranche.get_status_display(),
                quarters=[per_tranche[key] for key in sorted(per_tranche)],
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
    released: dict[int, list[Movement]] = {}
    for path, withdrawn in withdrawals(parts):
        for tranche_id, moves in _movements(per_month(withdrawn, f"{path}__issue_date"), -1).items():
            released.setdefault(tranche_id, []).extend(moves)
    result = []
    tranches = Tranche.objects.filter(programme__is_draft=False).select_related("programme")
    for tranche in tranches.order_by("programme__name", "start"):
        movements = granted.get(tranche.pk, []) + released.get(tranche.pk, [])
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

GRANT_LABEL = "Förderung"
RECLAIM_LABEL = "Rückforderung"


def _claim_rows(parts: QuerySet, document: str) -> QuerySet[InvoiceLineSubsidy]:
    """Flat columns for pages and exports. ``document`` is the path to the document that dates
    the row (the invoice for a grant, the withdrawing document for a reclaim); municipality
    name and AGS are that document's (as billed on its date)."""
    from shop.models import FeeKind

    fee_label = FeeKind.objects.filter(code=OuterRef("line__fee_kind")).values("label")[:1]
    return parts.annotate(
        programme_name=F("tranche__programme__name"),
        tranche_name=F("tranche__name"),
        tranche_status=F("tranche__status"),
        municipality_name=F(f"{document}__buyer_name"),
        ags=F(f"{document}__buyer_ags"),
        assistant_title=Coalesce(F("line__assistant__title"), F("line__description")),
        document_number=F(f"{document}__number"),
        document_kind=F(f"{document}__kind"),
        document_date=F(f"{document}__issue_date"),
        invoice_number=F("line__invoice__number"),
        invoice_date=F("line__invoice__issue_date"),
        position=F("line__position"),
        fee_kind=F("line__fee_kind"),
        fee_kind_label=Coalesce(Subquery(fee_label), F("line__fee_kind")),
        period_start=F("line__period_start"),
        period_end=F("line__period_end"),
        is_provisional=ExpressionWrapper(PROVISIONAL_CONDITION, output_field=BooleanField()),
    )


#: The order of the claim's rows (grants and reclaims each).
CLAIM_ORDER = ("municipality_name", "ags", "document_date", "document_number", "invoice_number", "position")


@dataclass
class ClaimTotal:
    """Rows of the claim summed up: ``amount`` = granted − reclaimed; ``provisional`` is the
    share of ``amount`` subject to the budget decision."""

    label: str
    ags: str = ""
    grants: int = 0
    reclaims: int = 0
    granted: Decimal = ZERO
    reclaimed: Decimal = ZERO
    provisional: Decimal = ZERO

    @property
    def count(self) -> int:
        return self.grants + self.reclaims

    @property
    def amount(self) -> Decimal:
        return self.granted - self.reclaimed

    @property
    def reclaim_sum(self) -> Decimal:
        """The reclaims as what they add to the claim (negative)."""
        return -self.reclaimed

    def add(self, row) -> None:
        if row.is_reclaim:
            self.reclaims += 1
            self.reclaimed += row.amount
        else:
            self.grants += 1
            self.granted += row.amount
        if row.is_provisional:
            self.provisional += row.claim_amount


@dataclass
class Claim:
    programme: FundingProgramme
    tranche: Tranche | None
    date_from: date
    date_to: date
    #: subsidy granted by invoices of the period
    grants: list
    #: subsidy withdrawn by credit notes and rebillings of the period (negative rows)
    reclaims: list
    by_municipality: list[ClaimTotal]
    by_quarter: list[ClaimTotal]
    total: ClaimTotal
    #: subsidy of rejected tranches granted in the period and not yet rebilled: not claimed
    rejected_pending: ClaimTotal

    @property
    def rows(self) -> list:
        return self.grants + self.reclaims

    @property
    def provisional_total(self) -> Decimal:
        return self.total.provisional


def subsidy_claim(
    *, programme: FundingProgramme, date_from: date, date_to: date, tranche: Tranche | None = None
) -> Claim:
    """The claim for the funder for ``date_from``–``date_to`` (three queries): the subsidy
    granted by invoices issued in the period − the subsidy withdrawn by credit notes and
    supplementary invoices issued in the period ("Rückforderung", negative rows), with totals
    per municipality, per quarter of the row's document and overall.

    Every row is dated by a document issued in the period, so a claim for a past period comes
    out the same whatever is issued later; a withdrawal is reclaimed in its own period.
    Rejected tranches are not claimable at all (neither grants nor withdrawals); their parts
    still to be rebilled are counted in ``rejected_pending``."""
    period = (date_from, date_to)
    parts = issued_parts().filter(tranche__programme=programme)
    if tranche is not None:
        parts = parts.filter(tranche=tranche)
    claimable = parts.filter(CLAIMABLE_CONDITION)
    grants = _claim_rows(claimable.filter(line__invoice__issue_date__range=period), "line__invoice")
    grants = list(grants.order_by(*CLAIM_ORDER))
    reclaim_sets = [
        _claim_rows(withdrawn.filter(**{f"{path}__issue_date__range": period}), path)
        for path, withdrawn in withdrawals(claimable)
    ]
    reclaims = list(reclaim_sets[0].union(*reclaim_sets[1:], all=True).order_by(*CLAIM_ORDER))
    kinds = dict(DocumentKind.choices)
    for row, is_reclaim in [(g, False) for g in grants] + [(r, True) for r in reclaims]:
        row.is_reclaim = is_reclaim
        row.kind_label = RECLAIM_LABEL if is_reclaim else GRANT_LABEL
        row.document_kind_label = kinds.get(row.document_kind, row.document_kind)
        row.claim_amount = -row.amount if is_reclaim else row.amount
    municipalities: dict[tuple[str, str], ClaimTotal] = {}
    quarters: dict[tuple[int, int], ClaimTotal] = {}
    total = ClaimTotal("Summe")
    for row in grants + reclaims:
        key = (row.municipality_name, row.ags)
        municipalities.setdefault(key, ClaimTotal(row.municipality_name, row.ags)).add(row)
        quarter = _quarter(row.document_date)
        quarters.setdefault(quarter, ClaimTotal(f"Q{quarter[1]}/{quarter[0]}")).add(row)
        total.add(row)
    pending = not_withdrawn(
        parts.filter(tranche__status=TrancheStatus.REJECTED, line__invoice__issue_date__range=period)
    ).aggregate(count=Count("pk"), amount=Sum("amount", default=ZERO))
    return Claim(
        programme=programme,
        tranche=tranche,
        date_from=date_from,
        date_to=date_to,
        grants=grants,
        reclaims=reclaims,
        by_municipality=sorted(municipalities.values(), key=lambda t: (t.label, t.ags)),
        by_quarter=[quarters[k] for k in sorted(quarters)],
        total=total,
        rejected_pending=ClaimTotal(
            "abgelehnt, noch nicht nachberechnet", grants=pending["count"], granted=pending["amount"]
        ),
    )


# --- rebilling, periods, runs ---------------------------------------------------------------


def rebillable_parts(tranche_id) -> QuerySet[InvoiceLineSubsidy]:
    """What ``tranche_rebill`` would charge (the same conditions as billing/invoicing.py)."""
    return not_withdrawn(issued_parts().filter(tranche_id=tranche_id))


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
