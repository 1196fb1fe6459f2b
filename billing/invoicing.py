"""Issuing invoices, supplementary invoices and credit notes (public schema).

Every document is built and issued in one transaction: its lines are quoted by the funding
engine, capped tranches are booked against their ledger (``budget_consume``), the number is
drawn from its series with a row lock (gapless: a rollback returns it), and the status flips to
issued. From then on PostgreSQL refuses every change (migration 0004).

Charges are idempotent by ``InvoiceLine.charge_key`` (unique) and, for maintenance, by the
unique (subscription, billing year) constraint: re-running never charges twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from psycopg.errors import UniqueViolation

from billing.domain.periods import billed_period
from billing.domain.subsidy import (
    Category,
    LineQuote,
    OneTimeLine,
    PeriodLine,
    Programme,
    apply_caps,
    fee_kind_label,
    invoice_totals,
    quote_line,
)

from .models import (
    SERIES,
    BillingCharge,
    BudgetEntry,
    BudgetLedger,
    DocumentKind,
    DocumentOrigin,
    DocumentStatus,
    Invoice,
    InvoiceEvent,
    InvoiceLine,
    InvoiceLineSubsidy,
    PeriodClose,
    Tranche,
    TrancheStatus,
)
from .selectors import engine_programmes
from .services import budget_consume

logger = logging.getLogger("ozg.billing")
ZERO = Decimal("0")


@dataclass
class LineSpec:
    """A position to issue: what it is, and its quote."""

    description: str
    fee_kind: str
    quote: LineQuote
    charge_key: str
    assistant_id: int | None = None
    order_line_id: int | None = None
    subscription_id: int | None = None
    billing_year: int | None = None
    period_start: date | None = None
    period_end: date | None = None
    credits_id: int | None = None
    rebills_id: int | None = None
    extra: dict = field(default_factory=dict)


# --- helpers ------------------------------------------------------------------------------


def closed_month(day: date) -> bool:
    return PeriodClose.objects.filter(month=day.replace(day=1)).exists()


def _check_open_period(day: date) -> None:
    if closed_month(day):
        raise ValidationError(
            "Der Zeitraum %(month)s ist abgeschlossen; darin kann kein Beleg ausgestellt werden.",
            code="period_closed",
            params={"month": f"{day:%m/%Y}"},
        )


def next_number(series: str, year: int) -> tuple[str, int]:
    """Draw the next number of a series and year. The upsert locks the sequence row until the
    issuing transaction ends, so concurrent issuers queue here and a rollback frees the number."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("next_number() gehört in die Transaktion, die den Beleg ausstellt.")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO billing_numbersequence (series, year, last) VALUES (%s, %s, 1) "
            "ON CONFLICT (series, year) DO UPDATE SET last = billing_numbersequence.last + 1 "
            "RETURNING last",
            [series, year],
        )
        (sequence,) = cursor.fetchone()
    return f"{series}-{year}-{sequence:06d}", sequence


def log_event(invoice_id: int, action: str, actor: str = "", **detail) -> None:
    InvoiceEvent.objects.create(invoice_id=invoice_id, action=action, actor=actor[:200], detail=detail)


def buyer_snapshot(municipality) -> dict:
    return {
        "buyer_name": municipality.invoice_recipient or municipality.official_name,
        "buyer_street": municipality.invoice_street,
        "buyer_postal_code": municipality.invoice_postal_code,
        "buyer_city": municipality.invoice_city,
        "buyer_leitweg_id": municipality.leitweg_id,
        "buyer_email": municipality.contact_email,
        "buyer_ags": municipality.ags,
    }


def capped_tranches(programmes: Iterable[Programme]) -> set:
    return {t.id for p in programmes for t in p.tranches if t.cap is not None}


def _apply_ledger(spec: LineSpec, capped: set, reference: str) -> LineSpec:
    """Book the capped tranches of a line against their budgets; cut the quote to what was granted."""
    parts = [a for a in spec.quote.applied if a.tranche_id in capped]
    if not parts:
        return spec
    remaining = {}
    for part in parts:
        granted = budget_consume(tranche_id=part.tranche_id, requested=part.amount, reference=reference)
        remaining[part.key] = granted
    quote, _ = apply_caps(spec.quote, remaining)
    return replace(spec, quote=quote)


# --- issuing ------------------------------------------------------------------------------


def issue_document(
    *,
    municipality,
    kind: str,
    origin: str,
    specs: Sequence[LineSpec],
    issue_date: date,
    actor: str,
    references: Invoice | None = None,
    reason: str = "",
    billing_year: int | None = None,
    capped: set | None = None,
) -> Invoice:
    """Build and issue one document in the current transaction (opens one if there is none)."""
    if not specs:
        raise ValidationError("Ein Beleg braucht mindestens eine Position.", code="empty")
    _check_open_period(issue_date)
    with transaction.atomic():
        series = SERIES[kind]
        if capped is None:
            capped = capped_tranches(engine_programmes())
        if kind != DocumentKind.CREDIT_NOTE and capped:
            ref = f"{municipality.ags} {issue_date:%Y-%m-%d}"
            specs = [_apply_ledger(s, capped, f"{ref} {s.charge_key}") for s in specs]
        totals = invoice_totals([s.quote for s in specs])
        periods = [(s.period_start, s.period_end) for s in specs if s.period_start]
        service_start = min((p[0] for p in periods), default=issue_date)
        service_end = max((p[1] for p in periods), default=issue_date)
        if not periods and references is not None:
            service_start, service_end = references.service_start, references.service_end
        invoice = Invoice.objects.create(
            kind=kind,
            origin=origin,
            series=series,
            municipality=municipality,
            issue_date=issue_date,
            service_start=service_start,
            service_end=service_end,
            due_date=issue_date + timedelta(days=settings.INVOICE_PAYMENT_DAYS),
            billing_year=billing_year,
            references=references,
            reason=reason,
            list_net=totals.list_net,
            subsidy=totals.subsidy,
            net_due=totals.net_due,
            vat=totals.vat,
            gross_due=totals.gross_due,
            vat_breakdown=[
                {"rate": str(g.rate), "base": str(g.base), "vat": str(g.vat)} for g in totals.vat_groups
            ],
            settled_by_subsidy=kind != DocumentKind.CREDIT_NOTE and totals.settled_by_subsidy,
            provisional=any(s.quote.provisional for s in specs),
            **buyer_snapshot(municipality),
        )
        line_ids = _insert_lines(invoice.pk, specs)
        _insert_charges(line_ids, specs)
        if kind != DocumentKind.CREDIT_NOTE:
            _insert_subsidies(line_ids, specs)
        number, sequence = next_number(series, issue_date.year)
        Invoice.objects.filter(pk=invoice.pk).update(
            status=DocumentStatus.ISSUED,
            number=number,
            sequence=sequence,
            issued_at=timezone.now(),
            issued_by=actor[:200],
        )
        invoice.status, invoice.number, invoice.sequence = DocumentStatus.ISSUED, number, sequence
        log_event(
            invoice.pk,
            "issued",
            actor,
            number=number,
            gross_due=str(totals.gross_due),
            settled_by_subsidy=invoice.settled_by_subsidy,
        )
        if invoice.gross_due > 0 and kind != DocumentKind.CREDIT_NOTE:
            transaction.on_commit(lambda: after_issue(invoice.pk))
    return invoice


_LINE_COLUMNS = (
    ("invoice_id", "bigint"),
    ("position", "smallint"),
    ("description", "text"),
    ("assistant_id", "bigint"),
    ("fee_kind", "text"),
    ("order_line_id", "bigint"),
    ("subscription_id", "bigint"),
    ("billing_year", "smallint"),
    ("charge_key", "text"),
    ("period_start", "date"),
    ("period_end", "date"),
    ("period_days", "smallint"),
    ("year_days", "smallint"),
    ("list_net", "numeric"),
    ("subsidy", "numeric"),
    ("net_due", "numeric"),
    ("vat_rate", "numeric"),
    ("provisional", "boolean"),
    ("explanation", "text"),
    ("credits_id", "bigint"),
    ("rebills_id", "bigint"),
)
_INSERT_LINES = (
    f"INSERT INTO {InvoiceLine._meta.db_table} ({', '.join(c for c, _ in _LINE_COLUMNS)}) "
    f"SELECT {', '.join(c for c, _ in _LINE_COLUMNS)} "
    f"FROM unnest({', '.join(f'%s::{t}[]' for _, t in _LINE_COLUMNS)}) "
    "WITH ORDINALITY AS t("
    + ", ".join(c for c, _ in _LINE_COLUMNS)
    + ", n) ORDER BY n RETURNING id, position"
)
_INSERT_CHARGES = (
    f"INSERT INTO {BillingCharge._meta.db_table} (key, line_id, subscription_id, billing_year) "
    "SELECT * FROM unnest(%s::text[], %s::bigint[], %s::bigint[], %s::smallint[])"
)
_INSERT_SUBSIDIES = (
    f"INSERT INTO {InvoiceLineSubsidy._meta.db_table} "
    "(line_id, tranche_id, amount, covered_days, provisional, capped) "
    "SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::numeric[], %s::smallint[], %s::boolean[], %s::boolean[])"
)


def _server_cursor():
    """A cursor with server-side binding on Django's connection (same transaction): arrays go to
    PostgreSQL as parameters instead of being quoted into the SQL text row by row."""
    import psycopg

    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


def _insert_lines(invoice_id: int, specs: Sequence[LineSpec]) -> list[int]:
    """Insert a document's lines in one statement (the yearly run inserts tens of thousands)."""
    rows = [
        (
            invoice_id,
            position,
            s.description[:300],
            s.assistant_id,
            s.fee_kind,
            s.order_line_id,
            s.subscription_id,
            s.billing_year,
            s.charge_key,
            s.period_start,
            s.period_end,
            s.quote.period_days,
            s.quote.year_days,
            s.quote.list_net,
            s.quote.subsidy,
            s.quote.net_due,
            s.quote.vat_rate,
            s.quote.provisional,
            s.quote.explanation[:400],
            s.credits_id,
            s.rebills_id,
        )
        for position, s in enumerate(specs, start=1)
    ]
    columns = [list(column) for column in zip(*rows, strict=True)]
    with _server_cursor() as cursor:
        cursor.execute(_INSERT_LINES, columns)
        return [line_id for line_id, _ in sorted(cursor.fetchall(), key=lambda row: row[1])]


def _insert_charges(line_ids: Sequence[int], specs: Sequence[LineSpec]) -> None:
    """The new lines hold their charges: a second charge with the same key, or a second maintenance
    charge of a subscription and year, violates a unique constraint and rolls the document back."""
    columns = [
        [s.charge_key for s in specs],
        list(line_ids),
        [s.subscription_id for s in specs],
        [s.billing_year for s in specs],
    ]
    with _server_cursor() as cursor:
        cursor.execute(_INSERT_CHARGES, columns)


def _insert_subsidies(line_ids: Sequence[int], specs: Sequence[LineSpec]) -> None:
    rows = [
        (line_id, part.tranche_id, part.amount, part.covered_days, part.provisional, part.capped)
        for line_id, s in zip(line_ids, specs, strict=True)
        for part in s.quote.applied
        if part.amount
    ]
    if not rows:
        return
    columns = [list(column) for column in zip(*rows, strict=True)]
    with _server_cursor() as cursor:
        cursor.execute(_INSERT_SUBSIDIES, columns)


def after_issue(invoice_id: int) -> None:
    """Hand an invoice with an amount due to Stripe for collection (when Stripe is enabled)."""
    if not getattr(settings, "STRIPE_ENABLED", False):
        return
    try:
        from .tasks import stripe_collect_invoice_task

        stripe_collect_invoice_task.delay(invoice_id)
    except Exception:  # broker down: the sweeper in billing.tasks picks the invoice up later
        logger.warning("Stripe-Übergabe für Beleg %s nicht eingereiht", invoice_id, exc_info=True)


# --- when invoices arise ------------------------------------------------------------------


def _fee_labels() -> dict[str, str]:
    from shop.models import FeeKind

    return dict(FeeKind.objects.values_list("code", "label"))


@dataclass(frozen=True, slots=True)
class SubscriptionRow:
    """What billing needs of a subscription (read as tuples: the yearly run reads thousands)."""

    pk: int
    started_on: date
    ends_on: date | None
    maintenance_yearly: Decimal
    vat_rate: Decimal
    assistant_id: int
    order_line_id: int | None
    assistant_slug: str
    assistant_category: str
    assistant_title: str

    FIELDS = (
        "pk",
        "started_on",
        "ends_on",
        "maintenance_yearly",
        "vat_rate",
        "assistant_id",
        "order_line_id",
        "assistant__slug",
        "assistant__category",
        "assistant__title",
    )

    @classmethod
    def of(cls, subscription) -> SubscriptionRow:
        return cls(
            subscription.pk,
            subscription.started_on,
            subscription.ends_on,
            subscription.maintenance_yearly,
            subscription.vat_rate,
            subscription.assistant_id,
            subscription.order_line_id,
            subscription.assistant.slug,
            subscription.assistant.category,
            subscription.assistant.title,
        )

    def billed_period(self, year: int) -> tuple[date, date] | None:
        return billed_period(self.started_on, self.ends_on, year)


def maintenance_spec(
    subscription: SubscriptionRow, year: int, programmes: Sequence[Programme], title: str | None = None
) -> LineSpec | None:
    """The maintenance charge of a subscription for (its part of) a calendar year, or None."""
    period = subscription.billed_period(year)
    if period is None or subscription.maintenance_yearly <= 0:
        return None
    line = PeriodLine(
        subscription.assistant_slug,
        Category(subscription.assistant_category),
        "maintenance",
        subscription.maintenance_yearly,
        period[0],
        period[1],
        subscription.vat_rate,
    )
    return LineSpec(
        description=f"Softwarepflege und Support – {title or subscription.assistant_title}",
        fee_kind="maintenance",
        quote=quote_line(line, programmes),
        charge_key=f"maintenance:{subscription.pk}:{year}",
        assistant_id=subscription.assistant_id,
        order_line_id=subscription.order_line_id,
        subscription_id=subscription.pk,
        billing_year=year,
        period_start=period[0],
        period_end=period[1],
    )


def activation_invoice(
    *, order_line, subscription, actor: str = "Bereitstellung", issue_date: date | None = None
) -> Invoice | None:
    """The invoice of an activated order line: its one-time fees (setup, customisation, individual
    prices; the order date counts) and maintenance from the activation date to the end of that
    year, pro rata. Idempotent: a second call finds the charges issued and returns None."""
    from shop.models import FeeKind

    if BillingCharge.objects.filter(
        Q(key__startswith=f"setup:{order_line.pk}:")
        | Q(subscription=subscription, billing_year=subscription.started_on.year)
    ).exists():
        return None
    programmes = engine_programmes()
    labels = _fee_labels()
    order_date = order_line.order.submitted_on
    title = order_line.assistant_title
    specs: list[LineSpec] = []
    for price in order_line.prices.order_by("pk"):
        if price.recurrence == FeeKind.Recurrence.YEARLY or price.net_amount <= 0:
            continue
        label = price.description or labels.get(price.fee_kind_id) or fee_kind_label(price.fee_kind_id)
        quote = quote_line(
            OneTimeLine(
                order_line.assistant.slug,
                Category(order_line.assistant_category),
                price.fee_kind_id,
                price.net_amount,
                order_date,
                price.vat_rate,
            ),
            programmes,
        )
        specs.append(
            LineSpec(
                description=f"{label} – {title}",
                fee_kind=price.fee_kind_id,
                quote=quote,
                charge_key=f"setup:{order_line.pk}:{price.pk}",
                assistant_id=order_line.assistant_id,
                order_line_id=order_line.pk,
                extra={"order_date": order_date},
            )
        )
    year = subscription.started_on.year
    maintenance = maintenance_spec(SubscriptionRow.of(subscription), year, programmes, title)
    if maintenance is not None:
        specs.append(maintenance)
    if not specs:
        return None
    return issue_document(
        municipality=order_line.municipality,
        kind=DocumentKind.INVOICE,
        origin=DocumentOrigin.ACTIVATION,
        specs=specs,
        issue_date=issue_date or timezone.localdate(),
        actor=actor,
        billing_year=year if maintenance is not None else None,
        capped=capped_tranches(programmes),
        reason=f"Bestellung {order_line.order.number or order_line.order_id}, bereitgestellt am "
        f"{subscription.started_on:%d.%m.%Y}",
    )


@dataclass
class RunResult:
    year: int
    invoices: int = 0
    lines: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


def billing_run(
    *, year: int, actor: str, issue_date: date | None = None, job=None, municipality_ids=None
) -> RunResult:
    """The yearly maintenance run: one invoice per municipality for every subscription running in
    ``year`` that is not yet billed for it. Safe to run again and concurrently: what is billed is
    skipped (and the unique constraint refuses a double charge)."""
    from shop.models import Subscription
    from tenants.models import Municipality

    issue_date = issue_date or timezone.localdate()
    _check_open_period(issue_date)
    start, end = date(year, 1, 1), date(year, 12, 31)
    programmes = engine_programmes()
    capped = capped_tranches(programmes)
    billed = BillingCharge.objects.filter(billing_year=year, subscription__isnull=False).values(
        "subscription_id"
    )
    subscriptions = (
        Subscription.objects.filter(started_on__lte=end, maintenance_yearly__gt=0)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=start))
        .exclude(pk__in=billed)
        .order_by("municipality_id", "assistant__title", "pk")
    )
    if municipality_ids is not None:
        subscriptions = subscriptions.filter(municipality_id__in=municipality_ids)
    by_municipality: dict[int, list[SubscriptionRow]] = {}
    for municipality_id, *values in subscriptions.values_list("municipality_id", *SubscriptionRow.FIELDS):
        by_municipality.setdefault(municipality_id, []).append(SubscriptionRow(*values))
    municipalities = Municipality.objects.in_bulk(list(by_municipality))
    result = RunResult(year=year)
    if job is not None:
        job.total = len(by_municipality)
        job.save(update_fields=["total"])
    for done, (municipality_id, subs) in enumerate(by_municipality.items(), start=1):
        specs = [spec for s in subs if (spec := maintenance_spec(s, year, programmes)) is not None]
        municipality = municipalities[municipality_id]
        for attempt in (1, 2):
            if not specs:
                break
            try:
                with transaction.atomic():
                    issue_document(
                        municipality=municipality,
                        kind=DocumentKind.INVOICE,
                        origin=DocumentOrigin.YEARLY,
                        specs=specs,
                        issue_date=issue_date,
                        actor=actor,
                        billing_year=year,
                        capped=capped,
                        reason=f"Jahresabrechnung Softwarepflege und Support {year}",
                    )
                result.invoices += 1
                result.lines += len(specs)
                break
            except IntegrityError as exc:
                if not isinstance(exc.__cause__, UniqueViolation) or attempt == 2:
                    result.errors.append(f"{municipality.short_name} ({municipality.ags}): {exc}")
                    break
                # Some charges were issued meanwhile by a concurrent run: bill the rest.
                charged = set(
                    BillingCharge.objects.filter(
                        billing_year=year, subscription_id__in=[s.subscription_id for s in specs]
                    ).values_list("subscription_id", flat=True)
                )
                result.skipped += len(charged)
                specs = [s for s in specs if s.subscription_id not in charged]
        if job is not None and (done % 20 == 0 or done == len(by_municipality)):
            job.done = done
            job.save(update_fields=["done"])
    logger.info("Jahresabrechnung %s: %s Rechnungen, %s Positionen", year, result.invoices, result.lines)
    return result


# --- corrections --------------------------------------------------------------------------


def _follow_up_spec(
    line: InvoiceLine,
    *,
    description: str,
    charge_key: str,
    list_net: Decimal,
    subsidy: Decimal,
    provisional: bool,
    explanation: str,
    credits_id: int | None = None,
    rebills_id: int | None = None,
) -> LineSpec:
    """A line of a credit note or supplementary invoice: fixed amounts about an issued line."""
    quote = LineQuote(
        fee_kind=line.fee_kind,
        list_net=list_net,
        subsidy=subsidy,
        net_due=list_net - subsidy,
        vat_rate=line.vat_rate,
        applied=(),
        provisional=provisional,
        explanation=explanation,
        period_days=line.period_days,
        year_days=line.year_days,
    )
    return LineSpec(
        description=description,
        fee_kind=line.fee_kind,
        quote=quote,
        charge_key=charge_key,
        assistant_id=line.assistant_id,
        order_line_id=line.order_line_id,
        subscription_id=line.subscription_id,
        period_start=line.period_start,
        period_end=line.period_end,
        credits_id=credits_id,
        rebills_id=rebills_id,
    )


def credit_note_issue(
    *,
    invoice: Invoice,
    reason: str,
    actor: str,
    line_ids: Sequence[int] | None = None,
    issue_date: date | None = None,
) -> Invoice:
    """Reverse lines of an issued invoice (all by default) with a credit note. The subsidy of a
    reversed line is withdrawn from the claim and its capped budget released."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Bitte geben Sie den Grund der Gutschrift an."})
    if invoice.kind == DocumentKind.CREDIT_NOTE or not invoice.is_issued:
        raise ValidationError("Gutschriften beziehen sich auf eine ausgestellte Rechnung.")
    issue_date = issue_date or timezone.localdate()
    with transaction.atomic():
        lines = list(
            InvoiceLine.objects.filter(invoice=invoice)
            .select_for_update()
            .prefetch_related("subsidies__tranche")
            .order_by("position")
        )
        if line_ids is not None:
            wanted = set(line_ids)
            lines = [line for line in lines if line.pk in wanted]
            if len(lines) != len(wanted):
                raise ValidationError("Unbekannte Position dieser Rechnung.")
        already = set(InvoiceLine.objects.filter(credits__in=lines).values_list("credits_id", flat=True))
        lines = [line for line in lines if line.pk not in already]
        if not lines:
            raise ValidationError("Diese Positionen sind bereits gutgeschrieben.")
        open_rebills = (
            InvoiceLine.objects.filter(rebills__line__in=lines, credited_by__isnull=True)
            .select_related("invoice", "rebills__line")
            .order_by("rebills__line__position")
        )
        if open_rebills:
            rebill = open_rebills[0]
            raise ValidationError(
                "Pos. %(position)s wurde nach Ablehnung der Förderung mit %(number)s nachberechnet. "
                "Bitte schreiben Sie zuerst diese Nachberechnung gut.",
                code="rebilled",
                params={"position": rebill.rebills.line.position, "number": rebill.invoice.number},
            )
        # A rebilled part's budget went back to the tranche with the rebilling already.
        rebilled = set(
            InvoiceLineSubsidy.objects.filter(line__in=lines, rebilled_by__isnull=False).values_list(
                "pk", flat=True
            )
        )
        specs = []
        for line in lines:
            specs.append(
                _follow_up_spec(
                    line,
                    description=f"Gutschrift zu Pos. {line.position}: {line.description}",
                    charge_key=f"credit:{line.pk}",
                    list_net=line.list_net,
                    subsidy=line.subsidy,
                    provisional=line.provisional,
                    explanation=line.explanation,
                    credits_id=line.pk,
                )
            )
            for part in line.subsidies.all():
                if part.tranche.cap is not None and part.amount and part.pk not in rebilled:
                    _budget_release(part.tranche_id, part.amount, f"Gutschrift zu {invoice.number}")
        credit = issue_document(
            municipality=invoice.municipality,
            kind=DocumentKind.CREDIT_NOTE,
            origin=DocumentOrigin.CORRECTION,
            specs=specs,
            issue_date=issue_date,
            actor=actor,
            references=invoice,
            reason=reason,
            capped=set(),
        )
        # The reversed setup and maintenance charges are released: they may be billed again
        # (correctly). Rebillings and credits stay held, so they never happen twice.
        BillingCharge.objects.filter(line__in=lines).filter(
            Q(key__startswith="setup:") | Q(key__startswith="maintenance:")
        ).delete()
        log_event(invoice.pk, "credited", actor, credit_note=credit.number, reason=reason)
        from .tasks import stripe_credit_enqueue  # Stripe: void or reduce the Stripe invoice

        transaction.on_commit(lambda: stripe_credit_enqueue(credit.pk))
    return credit


def _budget_release(tranche_id: int, amount: Decimal, reference: str) -> None:
    ledger, _ = BudgetLedger.objects.get_or_create(tranche_id=tranche_id)
    ledger = BudgetLedger.objects.select_for_update().get(pk=ledger.pk)
    release = min(amount, ledger.consumed)
    ledger.consumed -= release
    ledger.save(update_fields=["consumed"])
    BudgetEntry.objects.create(ledger=ledger, amount=-release, requested=-amount, reference=reference[:120])


@dataclass
class RebillResult:
    invoices: list[str] = field(default_factory=list)
    lines: int = 0
    amount: Decimal = ZERO


def tranche_rebill(*, tranche: Tranche, actor: str, issue_date: date | None = None) -> RebillResult:
    """After a tranche was rejected: a supplementary invoice per original invoice charges the
    subsidy each line received from it (FUNDING.md). The originals stay as issued; the claim for
    the tranche is withdrawn. Idempotent: each subsidy part is rebilled once (unique)."""
    with transaction.atomic():
        # Locked: a second rebilling (a double click) waits here and then finds nothing left.
        tranche = Tranche.objects.select_for_update().get(pk=tranche.pk)
        return _tranche_rebill(tranche, actor=actor, issue_date=issue_date)


def _tranche_rebill(tranche: Tranche, *, actor: str, issue_date: date | None) -> RebillResult:
    if tranche.status != TrancheStatus.REJECTED:
        raise ValidationError(
            "Nachberechnet wird nur eine abgelehnte Tranche; „%(name)s“ ist %(status)s.",
            params={"name": tranche.name, "status": tranche.get_status_display()},
        )
    issue_date = issue_date or timezone.localdate()
    _check_open_period(issue_date)
    parts = (
        InvoiceLineSubsidy.objects.filter(
            tranche=tranche,
            line__invoice__status=DocumentStatus.ISSUED,
            amount__gt=0,
            rebilled_by__isnull=True,
            line__credited_by__isnull=True,
        )
        .exclude(line__invoice__kind=DocumentKind.CREDIT_NOTE)
        .select_related("line__invoice__municipality")
        .order_by("line__invoice__number", "line__position")
    )
    by_invoice: dict[int, list[InvoiceLineSubsidy]] = {}
    for part in parts:
        by_invoice.setdefault(part.line.invoice_id, []).append(part)
    result = RebillResult()
    for group in by_invoice.values():
        original = group[0].line.invoice
        specs = []
        for part in group:
            line = part.line
            specs.append(
                _follow_up_spec(
                    line,
                    description=f"Nachberechnung Förderung – {line.description}",
                    charge_key=f"rebill:{part.pk}",
                    list_net=part.amount,
                    subsidy=ZERO,
                    provisional=False,
                    explanation=f"Förderung abgelehnt ({tranche.name}); nachberechnet zu "
                    f"{original.number}, Pos. {line.position}",
                    rebills_id=part.pk,
                )
            )
        with transaction.atomic():
            invoice = issue_document(
                municipality=original.municipality,
                kind=DocumentKind.SUPPLEMENTARY,
                origin=DocumentOrigin.REBILLING,
                specs=specs,
                issue_date=issue_date,
                actor=actor,
                references=original,
                reason=f"Nachberechnung zu {original.number}: Die Förderung „{tranche.name}“ wurde "
                f"abgelehnt (Haushaltsbeschluss vom "
                f"{tranche.decided_on:%d.%m.%Y})."
                if tranche.decided_on
                else f"Nachberechnung zu {original.number}: Die Förderung „{tranche.name}“ wurde abgelehnt.",
                capped=set(),
            )
            if tranche.cap is not None:
                _budget_release(
                    tranche.pk, sum((p.amount for p in group), ZERO), f"Nachberechnung {invoice.number}"
                )
            log_event(original.pk, "rebilled", actor, supplementary=invoice.number, tranche=tranche.name)
        result.invoices.append(invoice.number)
        result.lines += len(specs)
        result.amount += invoice.net_due
    return result


# --- periods --------------------------------------------------------------------------------


def period_close(*, month: date, actor: str, note: str = "", today: date | None = None) -> PeriodClose:
    """Close an accounting month: afterwards no document can be dated in it."""
    today = today or timezone.localdate()
    month = month.replace(day=1)
    if month >= today.replace(day=1):
        raise ValidationError(
            "Abgeschlossen werden nur vergangene Monate; %(month)s läuft noch oder liegt in der Zukunft.",
            code="not_past",
            params={"month": f"{month:%m/%Y}"},
        )
    if PeriodClose.objects.filter(month=month).exists():
        raise ValidationError(
            "Der Zeitraum %(month)s ist bereits abgeschlossen.", params={"month": f"{month:%m/%Y}"}
        )
    try:
        with transaction.atomic():
            return PeriodClose.objects.create(month=month, closed_by=actor, note=note)
    except IntegrityError:  # closed at the same moment by someone else
        raise ValidationError(
            "Der Zeitraum %(month)s ist bereits abgeschlossen.", params={"month": f"{month:%m/%Y}"}
        ) from None
