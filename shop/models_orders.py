"""Carts, orders and provisioning (public schema): main flow steps 2–3 of DESIGN.md.

Users live in their municipality's schema, so public rows refer to them by a snapshot
(id, e-mail, name) instead of a foreign key.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from .models import Assistant


class Cart(models.Model):
    """One shared cart per municipality (all its purchasers work on it)."""

    municipality = models.OneToOneField("tenants.Municipality", on_delete=models.CASCADE, related_name="cart")
    updated = models.DateTimeField("geändert", auto_now=True)

    class Meta:
        verbose_name = "Warenkorb"
        verbose_name_plural = "Warenkörbe"

    def __str__(self) -> str:
        return f"Warenkorb {self.municipality}"


class CartItem(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="items")
    assistant = models.ForeignKey(
        Assistant, on_delete=models.CASCADE, related_name="+", verbose_name="Assistent"
    )
    added_by_email = models.EmailField("hinzugefügt von")
    added_at = models.DateTimeField("hinzugefügt", auto_now_add=True)

    class Meta:
        verbose_name = "Warenkorb-Position"
        verbose_name_plural = "Warenkorb-Positionen"
        ordering = ["added_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["cart", "assistant"], name="cart_item_once")]

    def __str__(self) -> str:
        return str(self.assistant)


class OrderStatus(models.TextChoices):
    SUBMITTED = "submitted", "eingereicht, wartet auf Freigabe"
    APPROVED = "approved", "freigegeben, wartet auf Prüfung durch den Verband"
    REJECTED = "rejected", "abgelehnt"
    ACCEPTED = "accepted", "angenommen, wird bereitgestellt"
    COMPLETED = "completed", "bereitgestellt"
    FAILED = "failed", "Bereitstellung fehlgeschlagen"
    CANCELLED = "cancelled", "storniert"


class Order(models.Model):
    municipality = models.ForeignKey(
        "tenants.Municipality", on_delete=models.PROTECT, related_name="orders", verbose_name="Kommune"
    )
    number = models.CharField("Bestellnummer", max_length=20, unique=True, null=True, blank=True)
    status = models.CharField(
        "Status", max_length=12, choices=OrderStatus.choices, default=OrderStatus.SUBMITTED
    )
    idempotency_key = models.CharField("Idempotenzschlüssel", max_length=64)
    note = models.TextField("Anmerkung", blank=True)
    submitted_on = models.DateField("Bestelldatum")
    submitted_at = models.DateTimeField("eingereicht", auto_now_add=True)
    submitted_by_id = models.BigIntegerField("eingereicht von (Nr.)")
    submitted_by_email = models.EmailField("eingereicht von")
    submitted_by_name = models.CharField("eingereicht von (Name)", max_length=150, blank=True)
    decided_at = models.DateTimeField("entschieden", null=True, blank=True)
    decided_by_email = models.EmailField("entschieden von", blank=True)
    decided_by_name = models.CharField("entschieden von (Name)", max_length=150, blank=True)
    rejection_reason = models.TextField("Ablehnungsgrund", blank=True)
    accepted_at = models.DateTimeField("angenommen", null=True, blank=True)
    accepted_by_email = models.EmailField("angenommen von", blank=True)
    cancelled_at = models.DateTimeField("storniert", null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "Bestellung"
        verbose_name_plural = "Bestellungen"
        ordering = ["-submitted_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["municipality", "idempotency_key"], name="order_submitted_once"),
        ]

    def __str__(self) -> str:
        return self.number or f"Bestellung {self.pk}"


class LineStatus(models.TextChoices):
    PENDING = "pending", "wartet auf Freigabe"
    QUEUED = "queued", "in der Warteschlange"
    PROVISIONING = "provisioning", "wird bereitgestellt"
    ACTIVE = "active", "aktiv"
    FAILED = "failed", "fehlgeschlagen"
    CANCELLED = "cancelled", "storniert"
    ENDED = "ended", "beendet (Abonnement abgelaufen)"


# An assistant is "active or in progress" for a municipality while one of its lines is in these states.
OPEN_LINE_STATES = (LineStatus.PENDING, LineStatus.QUEUED, LineStatus.PROVISIONING, LineStatus.ACTIVE)


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    municipality = models.ForeignKey("tenants.Municipality", on_delete=models.PROTECT, related_name="+")
    assistant = models.ForeignKey(
        Assistant, on_delete=models.PROTECT, related_name="+", verbose_name="Assistent"
    )
    assistant_title = models.CharField("Assistent (bei Bestellung)", max_length=200)
    assistant_category = models.CharField("Kategorie (bei Bestellung)", max_length=20)
    assistant_version = models.CharField("Version (bei Bestellung)", max_length=20)
    status = models.CharField("Status", max_length=12, choices=LineStatus.choices, default=LineStatus.PENDING)
    failure_reason = models.TextField("Fehler", blank=True)
    attempts = models.PositiveIntegerField("Versuche", default=0)
    status_changed = models.DateTimeField("Status seit", auto_now_add=True)
    activated_on = models.DateField("aktiv seit", null=True, blank=True)
    instance_id = models.BigIntegerField("Instanz im Bereich der Kommune", null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "Bestellposition"
        verbose_name_plural = "Bestellpositionen"
        ordering = ["pk"]
        constraints = [
            # FUNDING/DESIGN: a municipality never has the same assistant twice active or in progress
            models.UniqueConstraint(
                fields=["municipality", "assistant"],
                condition=Q(status__in=["pending", "queued", "provisioning", "active"]),
                name="order_line_open_once",
                violation_error_message="Diesen Assistenten hat die Kommune bereits aktiv oder in Bestellung.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order} · {self.assistant_title}"


class OrderLinePrice(models.Model):
    """A price frozen onto an order line with its quote on the order date (FUNDING.md)."""

    line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="prices")
    fee_kind = models.ForeignKey(
        "shop.FeeKind", on_delete=models.PROTECT, to_field="code", db_column="fee_kind"
    )
    recurrence = models.CharField("Turnus", max_length=10)
    net_amount = models.DecimalField(
        "Nettobetrag (€)", max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    vat_rate = models.DecimalField("USt.-Satz (%)", max_digits=5, decimal_places=2)
    catalog_price = models.ForeignKey(
        "shop.Price", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_individual = models.BooleanField("individueller Preis", default=False)
    description = models.CharField("Beschreibung", max_length=200, blank=True)
    subsidy = models.DecimalField("Förderung (€)", max_digits=12, decimal_places=2, default=Decimal("0"))
    net_due = models.DecimalField("Sie zahlen (€ netto)", max_digits=12, decimal_places=2)
    provisional = models.BooleanField("vorbehaltlich Haushaltsbeschluss", default=False)
    explanation = models.CharField("Erläuterung", max_length=300, blank=True)

    class Meta:
        verbose_name = "Preis der Bestellposition"
        verbose_name_plural = "Preise der Bestellpositionen"
        ordering = ["line", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(subsidy__gte=0) & Q(net_due__gte=0), name="order_price_amounts_not_negative"
            )
        ]

    def __str__(self) -> str:
        return f"{self.fee_kind_id}: {self.net_amount} €"


class ProvisioningOutbox(models.Model):
    """Written in the transaction that accepts an order; the worker and the sweeper work from it."""

    line = models.OneToOneField(OrderLine, on_delete=models.CASCADE, related_name="outbox")
    created = models.DateTimeField("angelegt", auto_now_add=True)
    dispatched_at = models.DateTimeField("zuletzt gesendet", null=True, blank=True)
    dispatch_count = models.PositiveIntegerField("gesendet", default=0)
    done_at = models.DateTimeField("erledigt", null=True, blank=True)

    class Meta:
        verbose_name = "Bereitstellungsauftrag"
        verbose_name_plural = "Bereitstellungsaufträge"
        indexes = [models.Index(fields=["done_at", "dispatched_at"], name="outbox_pending")]

    def __str__(self) -> str:
        return f"Bereitstellung {self.line}"
