"""Reading the catalog. Every catalog page goes through these (constant query counts)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet, Value
from django.db.models.functions import Coalesce

from billing.domain.money import format_percent

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
        queryset=Price.objects.filter(_valid_on(on, population))
        .select_related("fee_kind")
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
            assistants = assistants.filter(Q(search=search) | Q(title__icontains=query)).annotate(
                rank=Coalesce(SearchRank(F("search"), search), Value(0.0))
            )
            order = ["-rank", "title"]
    return assistants.order_by(*order).prefetch_related(prices_prefetch(population=population, on=on))


def themenfelder() -> list[str]:
    return list(
        Assistant.objects.exclude(status=AssistantStatus.RETIRED)
        .order_by("themenfeld")
        .values_list("themenfeld", flat=True)
        .distinct()
    )


# --- catalog pages ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PriceLine:
    """One price as a catalog page shows it: net amount, VAT rate, recurrence, population band.

    ``subsidy`` is where the funding engine's quote ("Förderung −… · Sie zahlen …") will go;
    nothing fills it yet (see ``shop.views.apply_subsidies``).
    """

    fee_kind: str
    label: str
    yearly: bool
    net_amount: Decimal
    vat_rate: Decimal
    population_min: int
    population_max: int | None
    band_label: str
    is_sample: bool
    subsidy: object | None = None

    @property
    def banded(self) -> bool:
        return bool(self.population_min) or self.population_max is not None

    @property
    def vat_text(self) -> str:
        return format_percent(self.vat_rate)


@dataclass(frozen=True)
class CatalogEntry:
    assistant: Assistant
    prices: tuple[PriceLine, ...]


def price_lines(prices: Iterable[Price]) -> tuple[PriceLine, ...]:
    """Prices (with ``fee_kind`` loaded) as display lines, in fee kind order, then by band."""
    return tuple(
        PriceLine(
            fee_kind=price.fee_kind_id,
            label=price.fee_kind.label,
            yearly=price.fee_kind.recurrence == FeeKind.Recurrence.YEARLY,
            net_amount=price.net_amount,
            vat_rate=price.vat_rate,
            population_min=price.population_min,
            population_max=price.population_max,
            band_label=price.band_label,
            is_sample=price.is_sample,
        )
        for price in prices
    )


def catalog_entries(
    *,
    query: str = "",
    themenfeld: str = "",
    category: str = "",
    status: str = "",
    population: int | None,
    on: date,
) -> list[CatalogEntry]:
    """The catalog list: assistants matching the filters with the prices valid on ``on``.

    ``population`` selects a municipality's band; ``None`` (the association's public
    catalog) keeps the prices of every band. Two queries, whatever the number of assistants.
    """
    assistants = catalog_assistants(
        query=query, themenfeld=themenfeld, category=category, status=status, population=population, on=on
    )
    return [CatalogEntry(assistant, price_lines(assistant.current_prices)) for assistant in assistants]


def catalog_entry(*, slug: str, population: int | None, on: date) -> CatalogEntry | None:
    """One assistant of the catalog (never a retired one) with its prices valid on ``on``; two queries."""
    assistant = (
        Assistant.objects.exclude(status=AssistantStatus.RETIRED)
        .filter(slug=slug)
        .prefetch_related(prices_prefetch(population=population, on=on))
        .first()
    )
    if assistant is None:
        return None
    return CatalogEntry(assistant, price_lines(assistant.current_prices))


def catalog_assistant(*, slug: str) -> Assistant | None:
    """An assistant the catalog shows (not retired), without prices."""
    return Assistant.objects.exclude(status=AssistantStatus.RETIRED).filter(slug=slug).first()


def catalog_version() -> str:
    """A marker that changes whenever the catalog changes, for cache keys; one cheap query.

    Every save or delete of an assistant or price through the ORM writes a history row
    (django-simple-history), so the newest history ids move; the row counts also catch
    bulk inserts and deletes that bypass history, the fee kind digest relabelled fee kinds.
    Queryset ``update()`` calls bypass all of these: the cache's expiry bounds that case.
    """
    with connection.cursor() as cursor:
        cursor.execute(_catalog_version_sql())
        row = cursor.fetchone()
    return "-".join(str(value) for value in row)


@cache
def _catalog_version_sql() -> str:
    # Built once: every access to ``Model.history`` builds a manager class (django-simple-history).
    quote = connection.ops.quote_name
    tables = {
        "assistant_history": quote(Assistant.history.model._meta.db_table),
        "price_history": quote(Price.history.model._meta.db_table),
        "assistant": quote(Assistant._meta.db_table),
        "price": quote(Price._meta.db_table),
        "fee_kind": quote(FeeKind._meta.db_table),
    }
    return (
        "SELECT (SELECT max(history_id) FROM {assistant_history}),"
        " (SELECT max(history_id) FROM {price_history}),"
        " (SELECT count(*) FROM {assistant}), (SELECT count(*) FROM {price}),"
        " (SELECT md5(string_agg(concat_ws('|', code, label, recurrence, position), ',' ORDER BY code))"
        " FROM {fee_kind})"
    ).format(**tables)


# --- what a municipality configures after provisioning ---------------------------------------

_TYPE_LABELS = {
    "string": "Text",
    "number": "Zahl",
    "integer": "ganze Zahl",
    "boolean": "Ja/Nein",
    "array": "Liste",
    "object": "Gruppe von Angaben",
}
_FORMAT_LABELS = {
    "email": "E-Mail-Adresse",
    "uri": "Internetadresse",
    "url": "Internetadresse",
    "date": "Datum",
    "date-time": "Datum und Uhrzeit",
    "time": "Uhrzeit",
    "iban": "IBAN",
}


@dataclass(frozen=True)
class ConfigField:
    """One field of an assistant's configuration template, as the catalog explains it."""

    name: str
    title: str
    kind: str
    required: bool
    description: str
    default: str


def _kind_of(spec: dict) -> str:
    if "enum" in spec:
        return "Auswahl: " + ", ".join(_scalar_text(value) for value in spec["enum"])
    kind = spec.get("type", "")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "")
    if kind == "string" and spec.get("format") in _FORMAT_LABELS:
        return _FORMAT_LABELS[spec["format"]]
    if kind == "array" and isinstance(spec.get("items"), dict) and "enum" in spec["items"]:
        return "Mehrfachauswahl: " + ", ".join(_scalar_text(value) for value in spec["items"]["enum"])
    label = _TYPE_LABELS.get(kind, "Angabe")
    limits = []
    if "minimum" in spec:
        limits.append(f"ab {_scalar_text(spec['minimum'])}")
    if "maximum" in spec:
        limits.append(f"bis {_scalar_text(spec['maximum'])}")
    return f"{label} ({' '.join(limits)})" if limits else label


def _scalar_text(value) -> str:
    if isinstance(value, bool):
        return "ja" if value else "nein"
    if isinstance(value, float | int | Decimal):
        return str(value).replace(".", ",")
    return str(value)


def config_fields(schema: dict) -> list[ConfigField]:
    """The top-level fields of a configuration template (JSON Schema ``properties``).

    PostgreSQL's jsonb does not keep key order, so fields come in the order of
    ``x-order``/``propertyOrder`` where a template gives one, else required fields first
    (in the order of ``required``, a JSON array keeps its order), then the others by title.
    """
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict):
        return []
    required_order = {name: index for index, name in enumerate(schema.get("required") or [])}
    fields = []
    for name, spec in properties.items():
        spec = spec if isinstance(spec, dict) else {}
        fields.append(
            ConfigField(
                name=name,
                title=str(spec.get("title") or name),
                kind=_kind_of(spec),
                required=name in required_order,
                description=str(spec.get("description") or ""),
                default=_scalar_text(spec["default"]) if "default" in spec else "",
            )
        )

    def position(field: ConfigField):
        spec = properties[field.name] if isinstance(properties[field.name], dict) else {}
        explicit = spec.get("x-order", spec.get("propertyOrder"))
        explicit = explicit if isinstance(explicit, int | float) and not isinstance(explicit, bool) else None
        return (
            explicit is None,
            explicit or 0,
            not field.required,
            required_order.get(field.name, 0),
            field.title.casefold(),
        )

    return sorted(fields, key=position)
