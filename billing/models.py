"""Funding programmes, their tranches and budget ledgers (public schema).

The rules themselves live in the pure engine (billing/domain/subsidy.py); these
models are its data, maintained by staff (FUNDING.md: "the association can add the
next programme as data, without code").
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, RangeOperators
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q, Value
from simple_history.models import HistoricalRecords

from billing.domain.subsidy import TrancheStatus as EngineTrancheStatus
from shop.models import AssistantCategory, DateRangeInclusive


class FundingProgramme(models.Model):
    """A funder's programme, e.g. the Saxon "Anschubfinanzierung Online-Antragsassistenten"."""

    code = models.SlugField("Kürzel", max_length=60, unique=True)
    name = models.CharField("Name", max_length=200)
    funder = models.CharField("Fördermittelgeber", max_length=200)
    explanation_label = models.CharField(
        "Bezeichnung auf Angeboten und Rechnungen",
        max_length=200,
        help_text="z. B. „Förderung Freistaat Sachsen“",
    )
    categories = ArrayField(
        models.CharField(max_length=20, choices=AssistantCategory.choices),
        verbose_name="geförderte Kategorien",
        default=list,
    )
    excluded_assistants = models.ManyToManyField(
        "shop.Assistant", blank=True, related_name="+", verbose_name="ausgenommene Assistenten"
    )
    is_active = models.BooleanField(
        "aktiv", default=True, help_text="Nur aktive Programme wirken auf Preise."
    )
    is_draft = models.BooleanField("Entwurf (nur Simulation)", default=False)
    note = models.TextField("Notiz", blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "Förderprogramm"
        verbose_name_plural = "Förderprogramme"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Coverage(models.Model):
    """Share of a fee kind the programme pays (percent of the net list price)."""

    programme = models.ForeignKey(FundingProgramme, on_delete=models.CASCADE, related_name="coverages")
    fee_kind = models.ForeignKey(
        "shop.FeeKind",
        on_delete=models.PROTECT,
        to_field="code",
        db_column="fee_kind",
        verbose_name="Gebührenart",
    )
    percent = models.DecimalField(
        "Förderquote (%)",
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )

    class Meta:
        verbose_name = "Förderquote"
        verbose_name_plural = "Förderquoten"
        constraints = [
            models.UniqueConstraint(fields=["programme", "fee_kind"], name="coverage_once_per_fee_kind"),
            models.CheckConstraint(
                condition=Q(percent__gte=0) & Q(percent__lte=100), name="coverage_percent_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.fee_kind_id}: {self.percent} %"


class TrancheStatus(models.TextChoices):
    CONFIRMED = EngineTrancheStatus.CONFIRMED.value, "bestätigt"
    PROVISIONAL = EngineTrancheStatus.PROVISIONAL.value, "vorbehaltlich Haushaltsbeschluss"
    REJECTED = EngineTrancheStatus.REJECTED.value, "abgelehnt"


class Tranche(models.Model):
    """A funding period of a programme (end inclusive), with its budget status and optional cap."""

    programme = models.ForeignKey(FundingProgramme, on_delete=models.CASCADE, related_name="tranches")
    name = models.CharField("Bezeichnung", max_length=120)
    start = models.DateField("Beginn")
    end = models.DateField("Ende")
    status = models.CharField(
        "Status", max_length=12, choices=TrancheStatus.choices, default=TrancheStatus.PROVISIONAL
    )
    decided_on = models.DateField("Haushaltsbeschluss vom", null=True, blank=True)
    decision_note = models.TextField("Notiz zur Entscheidung", blank=True)
    cap = models.DecimalField(
        "Förderbudget (€)",
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="leer = unbegrenzt",
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = "Tranche"
        verbose_name_plural = "Tranchen"
        ordering = ["programme", "start"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gte=F("start")), name="tranche_end_after_start"),
            models.CheckConstraint(
                condition=Q(cap__isnull=True) | Q(cap__gte=0), name="tranche_cap_not_negative"
            ),
            ExclusionConstraint(
                name="tranche_no_overlap",
                expressions=[
                    (F("programme"), RangeOperators.EQUAL),
                    (DateRangeInclusive(F("start"), F("end"), Value("[]")), RangeOperators.OVERLAPS),
                ],
                violation_error_message="Die Tranchen eines Programms dürfen sich nicht überschneiden.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.programme.name}: {self.name}"

    def clean(self) -> None:
        if self.status == TrancheStatus.PROVISIONAL and self.decided_on:
            raise ValidationError(
                {"decided_on": "Eine vorläufige Tranche hat noch keinen Haushaltsbeschluss."}
            )


class BudgetLedger(models.Model):
    """What a capped tranche has granted so far. Issuing locks this row (select_for_update),
    so concurrent issuers can never overspend the cap (FUNDING.md: Budget caps)."""

    tranche = models.OneToOneField(Tranche, on_delete=models.PROTECT, related_name="ledger")
    consumed = models.DecimalField("verbraucht (€)", max_digits=14, decimal_places=2, default=Decimal("0"))

    class Meta:
        verbose_name = "Förderbudget-Konto"
        verbose_name_plural = "Förderbudget-Konten"
        constraints = [
            models.CheckConstraint(condition=Q(consumed__gte=0), name="ledger_consumed_not_negative")
        ]

    def __str__(self) -> str:
        return f"{self.tranche}: {self.consumed} €"


class BudgetEntry(models.Model):
    """One grant booked against a tranche's budget (or a release on rebilling, negative)."""

    ledger = models.ForeignKey(BudgetLedger, on_delete=models.PROTECT, related_name="entries")
    amount = models.DecimalField("Betrag (€)", max_digits=14, decimal_places=2)
    requested = models.DecimalField("angefragt (€)", max_digits=14, decimal_places=2)
    reference = models.CharField("Bezug", max_length=120)
    created = models.DateTimeField("gebucht", auto_now_add=True)

    class Meta:
        verbose_name = "Förderbuchung"
        verbose_name_plural = "Förderbuchungen"
        ordering = ["created", "pk"]

    def __str__(self) -> str:
        return f"{self.reference}: {self.amount} €"


from .models_invoices import (  # noqa: E402  (invoices and payments, in their own module)
    SERIES,
    STRIPE_STATUS_RANK,
    BillingCharge,
    DocumentKind,
    DocumentOrigin,
    DocumentStatus,
    Invoice,
    InvoiceEvent,
    InvoiceLine,
    InvoiceLineSubsidy,
    NumberSequence,
    Payment,
    PaymentMethod,
    PeriodClose,
    StripeCustomer,
    StripeEvent,
    StripeInvoice,
    StripeInvoiceStatus,
)

__all__ = [
    "BillingCharge",
    "SERIES",
    "STRIPE_STATUS_RANK",
    "BudgetEntry",
    "BudgetLedger",
    "Coverage",
    "DocumentKind",
    "DocumentOrigin",
    "DocumentStatus",
    "FundingProgramme",
    "Invoice",
    "InvoiceEvent",
    "InvoiceLine",
    "InvoiceLineSubsidy",
    "NumberSequence",
    "Payment",
    "PaymentMethod",
    "PeriodClose",
    "StripeCustomer",
    "StripeEvent",
    "StripeInvoice",
    "StripeInvoiceStatus",
    "Tranche",
    "TrancheStatus",
]
