"""Reading the catalog. Every catalog page goes through these (constant query counts)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet, Value
from django.db.models.functions import Coalesce

from .models import Assistant, AssistantStatus, FeeKind, Price


def _valid_on(on: date, population: int | None) -> Q:
    condition = Q(valid_from__lte=on) & (Q(valid_until__isnull=True) | Q(valid_until__gte=on))
    if population is not None:
        condition &= Q(population_min__lte=population) & (
            Q(population_max__isnull=True) | Q(population_max__gte=population)
        )
    return condition


def price_for(*, assistant: Assistant | int, fee_kind: str, population: int, on: date) -> Price | None:
    """The price of ``assistant`` for ``fee_kind`` that applies to a municipality of ``population`` on ``on``.

    The exclusion constraint on Price guarantees at most one.
    """
    assistant_id = assistant.pk if isinstance(assistant, Assistant) else assistant
    return (
        Price.objects.filter(_valid_on(on, population), assistant_id=assistant_id, fee_kind_id=fee_kind)
        .select_related("fee_kind")
        .first()
    )


def prices_prefetch(*, population: int | None, on: date) -> Prefetch:
    """Prefetch of the prices valid on ``on`` (for a municipality's population, or all bands)."""
    return Prefetch(
        "prices",
        queryset=Price.objects.filter(_valid_on(on, population)).select_related("fee_kind")
        .order_by("fee_kind__position", "population_min"),
        to_attr="current_prices",
    )


def catalog_assistants(
    *,
    query: str = "",
    themenfeld: str = "",
    category: str = "",
    status: str = "",
    include_retired: bool = False,
    population: int | None = None,
    on: date,
) -> QuerySet[Assistant]:
    """Assistants for the catalog list with their current prices prefetched (two queries in all).

    ``query`` searches title, descriptions and Themenfeld (German full text, prefix
    matching for the last word) and LeiKa keys (a key or its first digits).
    """
    assistants = Assistant.objects.all()
    if not include_retired:
        assistants = assistants.exclude(status=AssistantStatus.RETIRED)
    if themenfeld:
        assistants = assistants.filter(themenfeld=themenfeld)
    if category:
        assistants = assistants.filter(category=category)
    if status:
        assistants = assistants.filter(status=status)
    query = query.strip()
    order: list = ["title"]
    if query:
        digits = query.replace(" ", "")
        if digits.isdigit():
            assistants = assistants.filter(
                Exists(
                    Assistant.objects.filter(pk=OuterRef("pk")).extra(  # noqa: S610 - constant SQL, value bound
                        where=["EXISTS (SELECT 1 FROM unnest(leika_keys) AS k WHERE k LIKE %s)"],
                        params=[digits + "%"],
                    )
                )
            )
        else:
            words = [w for w in query.replace(":", " ").replace("&", " ").replace("|", " ").split() if w]
            text = " & ".join(f"{w}:*" for w in words) if words else ""
            search = SearchQuery(text, config="german", search_type="raw")
            assistants = (
                assistants.filter(Q(search=search) | Q(title__icontains=query))
                .annotate(rank=Coalesce(SearchRank(F("search"), search), Value(0.0)))
            )
            order = ["-rank", "title"]
    return assistants.order_by(*order).prefetch_related(prices_prefetch(population=population, on=on))


def themenfelder() -> list[str]:
    return list(
        Assistant.objects.exclude(status=AssistantStatus.RETIRED)
        .order_by("themenfeld").values_list("themenfeld", flat=True).distinct()
    )


def fee_kinds() -> dict[str, FeeKind]:
    return {kind.code: kind for kind in FeeKind.objects.all()}


def assistants_by_slug(slugs: Iterable[str]) -> dict[str, Assistant]:
    return {a.slug: a for a in Assistant.objects.filter(slug__in=list(slugs))}
