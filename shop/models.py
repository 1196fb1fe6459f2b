"""The catalog: assistants the association offers, and their prices (public schema)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, BigIntegerRangeField, DateRangeField, RangeOperators
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Func, Q, Value
from simple_history.models import HistoricalRecords

from billing.domain.periods import billed_period
from billing.domain.subsidy import CATEGORY_LABELS, Category

LEIKA_RE = re.compile(r"\d{14}")


def validate_leika_key(value: str) -> None:
    """LeiKa (Leistungskatalog der öffentlichen Verwaltung) keys have 14 digits."""
    if not LEIKA_RE.fullmatch(value or ""):
        raise ValidationError(
            "„%(value)s“ ist kein LeiKa-Schlüssel (14 Ziffern, z. B. 99050012104000).",
            code="leika",
            params={"value": value},
        )


def validate_json_schema(value) -> None:
    """The configuration template must itself be a valid JSON Schema describing an object."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    if not isinstance(value, dict):
        raise ValidationError("Die Konfigurationsvorlage muss ein JSON-Objekt sein.", code="schema_type")
    try:
        Draft202012Validator.check_schema(value)
    except SchemaError as exc:
        raise ValidationError(
            "Die Konfigurationsvorlage ist kein gültiges JSON Schema: %(error)s",
            code="schema_invalid",
            params={"error": exc.message},
        ) from None
    if value.get("type") != "object" or not isinstance(value.get("properties", {}), dict):
        raise ValidationError(
            'Die Konfigurationsvorlage muss ein Objekt mit „properties“ beschreiben ("type": "object").',
            code="schema_object",
        )


class AssistantCategory(models.TextChoices):
    CENTRAL = Category.CENTRAL.value, CATEGORY_LABELS[Category.CENTRAL]
    EFA = Category.EFA.value, CATEGORY_LABELS[Category.EFA]
    STATE_LICENSED = Category.STATE_LICENSED.value, CATEGORY_LABELS[Category.STATE_LICENSED]
    INDIVIDUAL = Category.INDIVIDUAL.value, CATEGORY_LABELS[Category.INDIVIDUAL]


class AssistantStatus(models.TextChoices):
    AVAILABLE = "available", "verfügbar"
    ANNOUNCED = "announced", "angekündigt"
    RETIRED = "retired", "eingestellt"


class Assistant(models.Model):
    """An online application assistant ("Online-Antragsassistent") for one citizen service."""

    slug = models.SlugField("Kennung", max_length=80, unique=True)
    title = models.CharField("Titel", max_length=200)
    short_description = models.CharField("Kurzbeschreibung", max_length=300)
    description = models.TextField("Beschreibung", blank=True)
    themenfeld = models.CharField("OZG-Themenfeld", max_length=100)
    leika_keys = ArrayField(
        models.CharField(max_length=14, validators=[validate_leika_key]),
        verbose_name="LeiKa-Schlüssel",
        default=list,
        blank=True,
    )
    category = models.CharField("Kategorie", max_length=20, choices=AssistantCategory.choices)
    status = models.CharField(
        "Status", max_length=20, choices=AssistantStatus.choices, default=AssistantStatus.AVAILABLE
    )
    expected_date = models.DateField("voraussichtlich verfügbar ab", null=True, blank=True)
    version = models.CharField("Version", max_length=20, default="1.0")
    config_schema = models.JSONField(
        "Konfigurationsvorlage (JSON Schema)",
        default=dict,
        validators=[validate_json_schema],
        help_text="Was die Kommune nach der Bereitstellung ausfüllt.",
    )
    search = models.GeneratedField(
        expression=SearchVector("title", "short_description", "description", "themenfeld", config="german"),
        output_field=SearchVectorField(),
        db_persist=True,
    )
    created = models.DateTimeField("angelegt", auto_now_add=True)
    updated = models.DateTimeField("geändert", auto_now=True)
    history = HistoricalRecords(excluded_fields=["search"])

    class Meta:
        verbose_name = "Assistent"
        verbose_name_plural = "Assistenten"
        ordering = ["title"]
        indexes = [
            GinIndex(fields=["search"], name="shop_assistant_search"),
            GinIndex(fields=["leika_keys"], name="shop_assistant_leika"),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        if self.status == AssistantStatus.ANNOUNCED and not self.expected_date:
            raise ValidationError(
                {"expected_date": "Angekündigte Assistenten brauchen ein voraussichtliches Datum."}
            )

    @property
    def orderable(self) -> bool:
        return self.status == AssistantStatus.AVAILABLE


class FeeKind(models.Model):
    """Kinds of fees a price can be for: ``setup`` (one-time), ``maintenance`` (yearly) and others."""

    class Recurrence(models.TextChoices):
        ONE_TIME = "one_time", "einmalig"
        YEARLY = "yearly", "jährlich"

    code = models.SlugField("Kürzel", max_length=40, unique=True)
    label = models.CharField("Bezeichnung", max_length=100)
    recurrence = models.CharField("Turnus", max_length=10, choices=Recurrence.choices)
    position = models.PositiveSmallIntegerField("Reihenfolge", default=100)

    class Meta:
        verbose_name = "Gebührenart"
        verbose_name_plural = "Gebührenarten"
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.label


class DateRangeInclusive(Func):
    function = "daterange"
    output_field = DateRangeField()


class Int8Range(Func):
    function = "int8range"
    output_field = BigIntegerRangeField()


class Price(models.Model):
    """A net price of one fee kind of an assistant, valid for a date range and population band.

    ``valid_until`` and ``population_max`` are inclusive; empty means open-ended. The
    database refuses two prices of the same assistant and fee kind whose validity and
    bands overlap (exclusion constraint), so "the price on date D" is always unique.
    """

    assistant = models.ForeignKey(
        Assistant, on_delete=models.CASCADE, related_name="prices", verbose_name="Assistent"
    )
    fee_kind = models.ForeignKey(
        FeeKind,
        on_delete=models.PROTECT,
        to_field="code",
        db_column="fee_kind",
        related_name="prices",
        verbose_name="Gebührenart",
    )
    net_amount = models.DecimalField(
        "Nettobetrag (€)", max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    vat_rate = models.DecimalField(
        "USt.-Satz (%)",
        max_digits=5,
        decimal_places=2,
        default=Decimal("19"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    valid_from = models.DateField("gültig ab")
    valid_until = models.DateField("gültig bis", null=True, blank=True)
    population_min = models.PositiveIntegerField("Einwohner ab", default=0)
    population_max = models.PositiveIntegerField("Einwohner bis", null=True, blank=True)
    is_sample = models.BooleanField(
        "Beispielpreis", default=False, help_text="Demo-Katalog: kein verbindlicher Preis des Verbands."
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = "Preis"
        verbose_name_plural = "Preise"
        ordering = ["assistant", "fee_kind__position", "valid_from", "population_min"]
        constraints = [
            models.CheckConstraint(
                condition=Q(net_amount__gte=0),
                name="price_net_not_negative",
                violation_error_message="Der Nettobetrag darf nicht negativ sein.",
            ),
            models.CheckConstraint(
                condition=Q(vat_rate__gte=0) & Q(vat_rate__lte=100),
                name="price_vat_rate_range",
                violation_error_message="Der USt.-Satz liegt zwischen 0 und 100 %.",
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=F("valid_from")),
                name="price_validity_order",
                violation_error_message="„Gültig bis“ liegt vor „gültig ab“.",
            ),
            models.CheckConstraint(
                condition=Q(population_max__isnull=True) | Q(population_max__gte=F("population_min")),
                name="price_band_order",
                violation_error_message="„Einwohner bis“ ist kleiner als „Einwohner ab“.",
            ),
            ExclusionConstraint(
                name="price_no_overlap",
                expressions=[
                    (F("assistant"), RangeOperators.EQUAL),
                    (F("fee_kind"), RangeOperators.EQUAL),
                    (
                        DateRangeInclusive(F("valid_from"), F("valid_until"), Value("[]")),
                        RangeOperators.OVERLAPS,
                    ),
                    (
                        Int8Range(F("population_min"), F("population_max"), Value("[]")),
                        RangeOperators.OVERLAPS,
                    ),
                ],
                violation_error_message="Für diesen Assistenten, diese Gebührenart und dieses Einwohnerband "
                "gibt es im selben Zeitraum schon einen Preis.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.assistant} · {self.fee_kind_id} · ab {self.valid_from:%d.%m.%Y}"

    @property
    def band_label(self) -> str:
        if not self.population_min and self.population_max is None:
            return "alle Größen"
        if self.population_max is None:
            return f"ab {self.population_min:,} Einwohnern".replace(",", ".")
        if not self.population_min:
            return f"bis {self.population_max:,} Einwohner".replace(",", ".")
        return f"{self.population_min:,} bis {self.population_max:,} Einwohner".replace(",", ".")


class Subscription(models.Model):
    """A municipality's running licence of an assistant, from its activation date.

    Maintenance is billed per calendar year from ``started_on`` (pro rata in the first
    year) to ``ends_on`` (the effective end of a cancellation), at the yearly amount frozen
    when the assistant was ordered (FUNDING.md: the price valid on the order date).
    """

    municipality = models.ForeignKey(
        "tenants.Municipality", on_delete=models.PROTECT, related_name="subscriptions", verbose_name="Kommune"
    )
    assistant = models.ForeignKey(
        Assistant, on_delete=models.PROTECT, related_name="subscriptions", verbose_name="Assistent"
    )
    ordered_on = models.DateField("bestellt am")
    started_on = models.DateField("aktiv seit")
    ends_on = models.DateField("endet am", null=True, blank=True)
    order_line = models.OneToOneField(
        "shop.OrderLine", null=True, blank=True, on_delete=models.PROTECT, related_name="subscription"
    )
    cancelled_at = models.DateTimeField("gekündigt am", null=True, blank=True)
    maintenance_yearly = models.DecimalField(
        "Softwarepflege jährlich (€ netto)",
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
    )
    vat_rate = models.DecimalField("USt.-Satz (%)", max_digits=5, decimal_places=2, default=Decimal("19"))
    created = models.DateTimeField("angelegt", auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "Abonnement"
        verbose_name_plural = "Abonnements"
        ordering = ["municipality", "assistant"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=F("started_on")),
                name="subscription_end_after_start",
                violation_error_message="Das Ende liegt vor dem Beginn.",
            ),
            models.CheckConstraint(
                condition=Q(maintenance_yearly__gte=0), name="subscription_amount_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.municipality} · {self.assistant}"

    def billed_period(self, year: int) -> tuple[date, date] | None:
        """The part of calendar ``year`` this subscription runs in, or None."""
        return billed_period(self.started_on, self.ends_on, year)


from .models_orders import (  # noqa: E402  (the ordering models, in their own module)
    OPEN_LINE_STATES,
    Cart,
    CartItem,
    LineStatus,
    Order,
    OrderLine,
    OrderLinePrice,
    OrderStatus,
    ProvisioningOutbox,
)

__all__ = [
    "OPEN_LINE_STATES",
    "Assistant",
    "Cart",
    "CartItem",
    "FeeKind",
    "LineStatus",
    "Order",
    "OrderLine",
    "OrderLinePrice",
    "OrderStatus",
    "Price",
    "ProvisioningOutbox",
    "Subscription",
]
