"""Reading carts and orders for the pages.

A municipality's domain reads control-plane rows (public schema) only through
:func:`orders_for_municipality` and the ``cart_item*_for_municipality`` functions, which are
always filtered by the request's tenant (DESIGN.md: "one query entry point"); everything else here
takes an object that came through them. The association's staff area has its own functions
(``staff_*``), which see every municipality.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, Prefetch, Q, QuerySet

from billing.domain.money import ZERO
from billing.domain.subsidy import InvoiceTotals, LineQuote, invoice_totals

from .models import (
    Assistant,
    AssistantCategory,
    CartItem,
    FeeKind,
    LineStatus,
    Order,
    OrderLine,
    OrderLinePrice,
    OrderStatus,
)
from .selectors import CatalogEntry, price_lines, prices_prefetch

# Lines the worker still has to do: the order page polls while one of them is left.
IN_PROGRESS_LINE_STATES = frozenset({LineStatus.QUEUED, LineStatus.PROVISIONING})


# --- municipality's domain: the one entry point -----------------------------------------------


def orders_for_municipality(municipality) -> QuerySet[Order]:
    """The orders of ``municipality`` (the request's tenant), newest first. Every order page of a
    municipality's domain starts here, so a foreign id is simply not found (404)."""
    return Order.objects.filter(municipality=municipality).order_by("-submitted_at", "-pk")


def cart_items_for_municipality(municipality, *, on: date) -> list[CartItem]:
    """The items of the municipality's shared cart with the prices valid on ``on`` for its
    population (``item.assistant.current_prices``); three queries."""
    return list(
        CartItem.objects.filter(cart__municipality=municipality)
        .select_related("assistant")
        .prefetch_related(
            Prefetch(
                "assistant__prices",
                queryset=prices_prefetch(population=municipality.population, on=on).queryset,
                to_attr="current_prices",
            )
        )
        .order_by("added_at", "pk")
    )


def cart_item_for_municipality(municipality, item_id: int) -> CartItem | None:
    """One item of the municipality's own cart; another municipality's item is not found."""
    return CartItem.objects.filter(pk=item_id, cart__municipality=municipality).first()


def cart_entries(items: Iterable[CartItem]) -> list[CatalogEntry]:
    """Cart items as catalog entries, so the catalog's quote (``shop.views.apply_subsidies``)
    and price partials apply unchanged."""
    return [CatalogEntry(item.assistant, price_lines(item.assistant.current_prices)) for item in items]


def assistant_by_slug(slug: str) -> Assistant | None:
    """Any assistant, retired or announced too: the ordering service explains why it cannot
    be ordered (a 404 would hide the reason)."""
    return Assistant.objects.filter(slug=slug).first()


def order_lines(order: Order) -> list[OrderLine]:
    """The lines of one order with their frozen prices (two queries)."""
    return list(
        order.lines.order_by("pk").prefetch_related(
            Prefetch("prices", queryset=OrderLinePrice.objects.select_related("fee_kind").order_by("pk"))
        )
    )


def line_status_label(line: OrderLine, order: Order) -> str:
    """The line's state in words; a pending line of an approved order waits for the association
    (the line's own label, "wartet auf Freigabe", would send the reader to the approver)."""
    if line.status == LineStatus.PENDING and order.status == OrderStatus.APPROVED:
        return "wartet auf Annahme durch den Verband"
    return line.get_status_display()


# --- amounts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SplitTotals:
    """Totals of a cart or order, one-time fees and yearly fees apart (they are invoiced apart).

    Each side is the funding engine's :func:`invoice_totals` (VAT per rate on the sum of the
    net-due amounts, rounded half up once: FUNDING.md, EN 16931 BR-CO-17)."""

    once: InvoiceTotals
    yearly: InvoiceTotals
    has_once: bool
    has_yearly: bool


def _quote(*, fee_kind: str, list_net, subsidy, net_due, vat_rate, provisional=False) -> LineQuote:
    return LineQuote(
        fee_kind=fee_kind,
        list_net=Decimal(list_net),
        subsidy=Decimal(subsidy),
        net_due=Decimal(net_due),
        vat_rate=Decimal(vat_rate),
        applied=(),
        provisional=provisional,
        explanation="",
    )


def _split(pairs: Iterable[tuple[bool, LineQuote]]) -> SplitTotals:
    once, yearly = [], []
    for is_yearly, quote in pairs:
        (yearly if is_yearly else once).append(quote)
    return SplitTotals(
        once=invoice_totals(once), yearly=invoice_totals(yearly), has_once=bool(once), has_yearly=bool(yearly)
    )


def cart_totals(entries: Iterable[CatalogEntry]) -> SplitTotals:
    """Totals of quoted cart entries: what is due once, and per (full calendar) year."""
    pairs = []
    for entry in entries:
        for line in entry.prices:
            quote = line.subsidy
            subsidy = quote.subsidy if quote is not None else ZERO
            net_due = quote.net_due if quote is not None else line.net_amount
            pairs.append(
                (
                    line.yearly,
                    _quote(
                        fee_kind=line.fee_kind,
                        list_net=line.net_amount,
                        subsidy=subsidy,
                        net_due=net_due,
                        vat_rate=line.vat_rate,
                    ),
                )
            )
    return _split(pairs)


def frozen_list_net(price: OrderLinePrice) -> Decimal:
    """The list net the frozen quote started from: for one-time fees the price; for yearly fees
    the pro-rata amount of the first year quoted at ordering (subsidy + net due, exact by
    construction of the quote; FUNDING.md: net = yearly × period_days / days)."""
    if price.recurrence == FeeKind.Recurrence.YEARLY and not price.is_individual:
        return price.subsidy + price.net_due
    return price.net_amount


@dataclass(frozen=True)
class PriceView:
    price: OrderLinePrice
    list_net: Decimal
    yearly: bool


@dataclass(frozen=True)
class LineView:
    line: OrderLine
    prices: tuple[PriceView, ...]
    status_label: str

    @property
    def category_label(self) -> str:
        category = self.line.assistant_category
        return AssistantCategory(category).label if category in AssistantCategory.values else category


def line_views(order: Order, lines: Iterable[OrderLine]) -> list[LineView]:
    """Lines with their frozen prices as the order pages show them."""
    return [
        LineView(
            line,
            tuple(
                PriceView(price, frozen_list_net(price), price.recurrence == FeeKind.Recurrence.YEARLY)
                for price in line.prices.all()
            ),
            line_status_label(line, order),
        )
        for line in lines
    ]


def order_totals(lines: Iterable[OrderLine]) -> SplitTotals:
    """Totals of the frozen prices of an order's lines (``prices`` prefetched)."""
    return _split(
        (
            price.recurrence == FeeKind.Recurrence.YEARLY,
            _quote(
                fee_kind=price.fee_kind_id,
                list_net=frozen_list_net(price),
                subsidy=price.subsidy,
                net_due=price.net_due,
                vat_rate=price.vat_rate,
                provisional=price.provisional,
            ),
        )
        for line in lines
        for price in line.prices.all()
    )


# --- progress -----------------------------------------------------------------------------------


def order_in_progress(lines: Iterable[OrderLine]) -> bool:
    return any(line.status in IN_PROGRESS_LINE_STATES for line in lines)


def order_progress(order: Order, lines: list[OrderLine] | None = None) -> dict:
    """Order and line states as plain data for the page's live progress (one query for the
    lines, none when the page has loaded them already)."""
    if lines is None:
        lines = list(
            order.lines.order_by("pk").only(
                "pk",
                "order_id",
                "assistant_title",
                "status",
                "failure_reason",
                "activated_on",
                "status_changed",
            )
        )
    active = sum(1 for line in lines if line.status == LineStatus.ACTIVE)
    counted = [line for line in lines if line.status != LineStatus.CANCELLED]
    return {
        "number": order.number,
        "status": order.status,
        "status_label": order.get_status_display(),
        "in_progress": order_in_progress(lines),
        "active": active,
        "total": len(counted),
        "lines": [
            {
                "id": line.pk,
                "title": line.assistant_title,
                "status": line.status,
                "status_label": line_status_label(line, order),
                "failure_reason": line.failure_reason if line.status == LineStatus.FAILED else "",
                "activated_on": line.activated_on.strftime("%d.%m.%Y") if line.activated_on else None,
                "status_changed": line.status_changed.isoformat(),
            }
            for line in lines
        ],
    }


def order_cancellable(order: Order, lines: Iterable[OrderLine]) -> bool:
    """Whether to offer cancelling (a hint for the page; ``order_cancel`` decides)."""
    return order.status in (OrderStatus.SUBMITTED, OrderStatus.APPROVED, OrderStatus.ACCEPTED) and all(
        line.status in (LineStatus.PENDING, LineStatus.QUEUED) for line in lines
    )


# --- association's staff area ------------------------------------------------------------------


def staff_orders(
    *,
    status: str = "",
    query: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
    municipality=None,
) -> QuerySet[Order]:
    """Orders of every municipality for the staff area, newest first, filtered by status,
    municipality (name or AGS, also its first digits) and order date (inclusive)."""
    orders = Order.objects.select_related("municipality").annotate(line_count=Count("lines"))
    if municipality is not None:
        orders = orders.filter(municipality=municipality)
    if status:
        orders = orders.filter(status=status)
    query = query.strip()
    if query:
        orders = orders.filter(
            Q(municipality__short_name__icontains=query)
            | Q(municipality__official_name__icontains=query)
            | Q(municipality__ags__startswith=query)
            | Q(number__iexact=query)
        )
    if date_from:
        orders = orders.filter(submitted_on__gte=date_from)
    if date_to:
        orders = orders.filter(submitted_on__lte=date_to)
    return orders.order_by("-submitted_at", "-pk")


def staff_order(pk: int) -> Order | None:
    return Order.objects.select_related("municipality").filter(pk=pk).first()


def staff_order_line(*, order: Order, line_id: int) -> OrderLine | None:
    return order.lines.filter(pk=line_id).first()


def staff_status_counts(municipality) -> list[tuple[str, int]]:
    """How many orders of ``municipality`` are in each state (labels in the states' order)."""
    counts = dict(
        Order.objects.filter(municipality=municipality)
        .values_list("status")
        .annotate(count=Count("pk"))
        .values_list("status", "count")
    )
    return [(status.label, counts[status]) for status in OrderStatus if status in counts]


def staff_awaiting_review() -> int:
    """Orders approved by their municipality that wait for the association (individual work)."""
    return Order.objects.filter(status=OrderStatus.APPROVED).count()


def municipality_by_ags(ags: str):
    """A municipality (never the association's own public tenant) by its AGS."""
    from tenants.models import Municipality

    return Municipality.objects.exclude(schema_name="public").filter(ags=ags).first()


@dataclass(frozen=True)
class TimelineEntry:
    at: object
    subject: str
    text: str


def order_timeline(order: Order) -> list[TimelineEntry]:
    """The order's audit trail (django-simple-history): each change of the order's or a line's
    status, oldest first."""
    entries: list[TimelineEntry] = []
    previous = None
    for record in order.history.order_by("history_date", "history_id"):
        if record.status != previous:
            label = OrderStatus(record.status).label if record.status in OrderStatus.values else record.status
            entries.append(TimelineEntry(record.history_date, str(order), label))
            previous = record.status
    last_by_line: dict[int, str] = {}
    for record in OrderLine.history.filter(order_id=order.pk).order_by("history_date", "history_id"):
        if last_by_line.get(record.id) != record.status:
            label = LineStatus(record.status).label if record.status in LineStatus.values else record.status
            if record.status == LineStatus.FAILED and record.failure_reason:
                label = f"{label}: {record.failure_reason}"
            entries.append(TimelineEntry(record.history_date, record.assistant_title, label))
            last_by_line[record.id] = record.status
    return sorted(entries, key=lambda entry: entry.at)
