"""Reading funding data and quoting prices through the pure engine."""

from __future__ import annotations

from datetime import date

from django.db.models import Prefetch

from billing.domain.subsidy import (
    Category,
    LineQuote,
    OneTimeLine,
    PeriodLine,
    Programme,
    quote_line,
)
from billing.domain.subsidy import Tranche as EngineTranche
from shop.models import Assistant, FeeKind, Price

from .models import FundingProgramme


def to_engine(programme: FundingProgramme) -> Programme:
    """The engine's frozen view of a programme (expects coverages, tranches, excluded prefetched)."""
    return Programme(
        id=programme.code,
        name=programme.name,
        funder=programme.funder,
        categories=frozenset(Category(c) for c in programme.categories),
        excluded_assistants=frozenset(a.slug for a in programme.excluded_assistants.all()),
        coverage={c.fee_kind_id: c.percent for c in programme.coverages.all()},
        tranches=tuple(
            EngineTranche(id=t.pk, name=t.name, start=t.start, end=t.end, status=t.status, cap=t.cap)
            for t in programme.tranches.all()
        ),
        explanation_label=programme.explanation_label or programme.funder,
    )


def engine_programmes(*, include_drafts: bool = False) -> list[Programme]:
    """Active programmes as engine objects (three queries, whatever their number)."""
    programmes = FundingProgramme.objects.filter(is_active=True).prefetch_related(
        "coverages", "tranches", Prefetch("excluded_assistants", queryset=Assistant.objects.only("slug"))
    )
    if not include_drafts:
        programmes = programmes.filter(is_draft=False)
    return [to_engine(p) for p in programmes]


def quote_price(
    *,
    price: Price,
    assistant: Assistant,
    recurrence: str,
    programmes: list[Programme],
    order_date: date | None = None,
    period: tuple[date, date] | None = None,
) -> LineQuote:
    """Quote one price: one-time fees by the order date, yearly fees for a billed period."""
    category = Category(assistant.category)
    if recurrence == FeeKind.Recurrence.YEARLY:
        if period is None:
            raise ValueError("Für jährliche Gebühren ist ein Leistungszeitraum nötig.")
        line = PeriodLine(
            assistant.slug,
            category,
            price.fee_kind_id,
            price.net_amount,
            period[0],
            period[1],
            price.vat_rate,
        )
    else:
        if order_date is None:
            raise ValueError("Für einmalige Gebühren ist ein Bestelldatum nötig.")
        line = OneTimeLine(
            assistant.slug, category, price.fee_kind_id, price.net_amount, order_date, price.vat_rate
        )
    return quote_line(line, programmes)


def subscription_views() -> list:
    """All subscriptions as plain data for the simulation (one query)."""
    from billing.domain.simulation import SubscriptionView
    from shop.models import Subscription

    return [
        SubscriptionView(
            key=s.pk,
            municipality=s.municipality.short_name,
            ags=s.municipality.ags,
            assistant_slug=s.assistant.slug,
            category=Category(s.assistant.category),
            yearly=s.maintenance_yearly,
            vat_rate=s.vat_rate,
            started_on=s.started_on,
            ends_on=s.ends_on,
        )
        for s in Subscription.objects.select_related("municipality", "assistant")
    ]


def funding_version(programmes: list[Programme]) -> str:
    """A short fingerprint of the programmes (for caches of pages that show subsidies)."""
    import hashlib

    return hashlib.sha256(repr(programmes).encode()).hexdigest()[:16]


def covered_periods(programmes: list[Programme], *, category: str, fee_kind: str, slug: str) -> list[str]:
    """German descriptions of the periods in which a fee of this assistant is subsidised,
    e.g. "01.07.2022–31.12.2022" or "… (vorbehaltlich Haushaltsbeschluss)"."""
    periods = []
    for programme in programmes:
        if Category(category) not in programme.categories or slug in programme.excluded_assistants:
            continue
        if not programme.coverage.get(fee_kind):
            continue
        for tranche in programme.tranches:
            if tranche.status == "rejected":
                continue
            text = f"{tranche.start:%d.%m.%Y}–{tranche.end:%d.%m.%Y}"
            if tranche.status == "provisional":
                text += " (vorbehaltlich Haushaltsbeschluss)"
            periods.append(text)
    return periods
