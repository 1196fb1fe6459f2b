"""Catalog import/export in the admin (django-import-export): assistants and prices.

Columns are the model's field names. Rows are matched for updates by the assistant's
``slug`` and, for prices, by the natural key (assistant, fee_kind, valid_from,
population_min); anything else in a row is what the row changes. The rules themselves
live in the models (LeiKa and JSON Schema validators, the constraints on Price); these
resources map columns and turn problems into German row errors. Base behaviour (German
numbers and dates, formula-safe exports, column checks, line numbers): core.resources.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from import_export import fields, widgets

from core.resources import (
    ChoiceWidget,
    JSONTextWidget,
    ListWidget,
    LookupWidget,
    SafeModelResource,
)

from .models import Assistant, AssistantCategory, AssistantStatus, FeeKind, Price, validate_leika_key

ASSISTANT_COLUMNS = (
    "slug",
    "title",
    "short_description",
    "description",
    "themenfeld",
    "leika_keys",
    "category",
    "status",
    "expected_date",
    "version",
    "config_schema",
)
PRICE_COLUMNS = (
    "assistant",
    "fee_kind",
    "net_amount",
    "vat_rate",
    "valid_from",
    "valid_until",
    "population_min",
    "population_max",
    "is_sample",
)


def _de(day: date) -> str:
    return f"{day:%d.%m.%Y}"


def price_problems(
    *,
    net_amount: Decimal | None,
    vat_rate: Decimal | None,
    valid_from: date | None,
    valid_until: date | None,
    population_min: int | None,
    population_max: int | None,
) -> dict[str, str]:
    """German messages for the check constraints on Price (the database names only the rule)."""
    problems: dict[str, str] = {}
    if net_amount is not None and net_amount < 0:
        problems["net_amount"] = "Preise dürfen nicht negativ sein."
    if vat_rate is not None and not Decimal(0) <= vat_rate <= Decimal(100):
        problems["vat_rate"] = "Der USt.-Satz muss zwischen 0 und 100 % liegen."
    if valid_from and valid_until and valid_until < valid_from:
        problems["valid_until"] = (
            f"„gültig bis“ ({_de(valid_until)}) liegt vor „gültig ab“ ({_de(valid_from)})."
        )
    if population_min is not None and population_max is not None and population_max < population_min:
        problems["population_max"] = (
            f"„Einwohner bis“ ({population_max}) ist kleiner als „Einwohner ab“ ({population_min})."
        )
    return problems


class AssistantResource(SafeModelResource):
    """One row per assistant, matched by ``slug``.

    ``leika_keys``: the LeiKa keys in one cell, separated by ``"; "``.
    ``config_schema``: the configuration template as a JSON text (a JSON Schema).
    ``category`` and ``status``: the code (``central``, ``available``) or the German label.
    """

    slug = fields.Field(attribute="slug", column_name="slug", widget=widgets.CharWidget())
    leika_keys = fields.Field(
        attribute="leika_keys",
        column_name="leika_keys",
        widget=ListWidget(separator="; ", item_validator=validate_leika_key),
    )
    category = fields.Field(
        attribute="category",
        column_name="category",
        widget=ChoiceWidget(AssistantCategory, "Unbekannte Kategorie"),
    )
    status = fields.Field(
        attribute="status",
        column_name="status",
        widget=ChoiceWidget(AssistantStatus, "Unbekannter Status"),
        default=AssistantStatus.AVAILABLE,
    )
    config_schema = fields.Field(
        attribute="config_schema",
        column_name="config_schema",
        widget=JSONTextWidget("Die Konfigurationsvorlage", required=True),
    )

    required_columns = ("slug", "title", "short_description", "themenfeld", "category", "config_schema")
    duplicate_field = "slug"

    class Meta:
        model = Assistant
        name = "Assistenten"
        import_id_fields = ("slug",)
        fields = ASSISTANT_COLUMNS
        export_order = ASSISTANT_COLUMNS
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True
        use_transactions = True

    def file_key(self, instance: Assistant) -> tuple | None:
        return (instance.slug,)

    def duplicate_message(self, key: tuple, first_line: int) -> str:
        return f"Die Kennung „{key[0]}“ steht schon in Zeile {first_line} der Datei."


class PriceResource(SafeModelResource):
    """One row per price: ``assistant`` by its slug, ``fee_kind`` by its code.

    A row updates the price with the same assistant, fee kind, ``valid_from`` and
    ``population_min``; any other row is a new price. Validity periods that overlap
    (with a stored price or another row of the file) are refused, as the database would.
    """

    assistant = fields.Field(
        attribute="assistant",
        column_name="assistant",
        widget=LookupWidget(Assistant, "slug", "Unbekannter Assistent (Spalte assistant: Kennung/slug)"),
    )
    fee_kind = fields.Field(
        attribute="fee_kind",
        column_name="fee_kind",
        widget=LookupWidget(FeeKind, "code", "Unbekannte Gebührenart", list_known=True),
    )

    required_columns = ("assistant", "fee_kind", "net_amount", "valid_from")

    class Meta:
        model = Price
        name = "Preise"
        import_id_fields = ("assistant", "fee_kind", "valid_from", "population_min")
        fields = PRICE_COLUMNS
        export_order = PRICE_COLUMNS
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True
        use_transactions = True

    def get_queryset(self):
        return super().get_queryset().select_related("assistant", "fee_kind")

    def before_import(self, dataset, **kwargs):
        # population_min is part of the key; a file without bands may leave the column out.
        headers = [str(h).strip() for h in dataset.headers or []]
        if headers and "population_min" not in headers and len(dataset):
            dataset.append_col(["" for _ in range(len(dataset))], header="population_min")
        super().before_import(dataset, **kwargs)

    def row_problems(self, instance: Price) -> dict[str, str]:
        return price_problems(
            net_amount=instance.net_amount,
            vat_rate=instance.vat_rate,
            valid_from=instance.valid_from,
            valid_until=instance.valid_until,
            population_min=instance.population_min,
            population_max=instance.population_max,
        )

    def file_key(self, instance: Price) -> tuple | None:
        return (instance.assistant_id, instance.fee_kind_id, instance.valid_from, instance.population_min)

    def duplicate_message(self, key: tuple, first_line: int) -> str:
        return (
            f"Ein Preis mit demselben Assistenten, derselben Gebührenart, „gültig ab“ und „Einwohner ab“ "
            f"steht schon in Zeile {first_line} der Datei."
        )
