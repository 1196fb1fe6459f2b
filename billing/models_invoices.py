"""Invoices, credit notes, payments and their Stripe counterparts (public schema).

An issued document never changes: PostgreSQL triggers (migration 0003) refuse every UPDATE
and DELETE of an issued invoice, credit note or supplementary invoice and of their lines and
subsidy parts, and refuse documents dated in a closed period. Payments, Stripe state and the
audit log live in their own tables, so recording a payment never touches the document.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q

MONEY = {"max_digits": 14, "decimal_places": 2}


class DocumentKind(models.TextChoices):
    INVOICE = "invoice", "Rechnung"
    SUPPLEMENTARY = "supplementary", "Nachberechnung"
    CREDIT_NOTE = "credit_note", "Gutschrift"


class DocumentStatus(models.TextChoices):
    DRAFT = "draft", "Entwurf"
    ISSUED = "issued", "ausgestellt"


class DocumentOrigin(models.TextChoices):
    ACTIVATION = "activation", "Bereitstellung"
    YEARLY = "yearly", "Jahresabrechnung"
    REBILLING = "rebilling", "Nachberechnung nach Ablehnung einer Tranche"
    CORRECTION = "correction", "Korrektur"


#: Number series per kind: supplementary invoices are invoices (RE), credit notes GS.
SERIES = {DocumentKind.INVOICE: "RE", DocumentKind.SUPPLEMENTARY: "RE", DocumentKind.CREDIT_NOTE: "GS"}


class NumberSequence(models.Model):
    """The last number issued per series and year. Issuing locks this row in the transaction
    that issues the document, so numbers are gapless: a rolled-back issue rolls its number back."""

    series = models.CharField("Nummernkreis", max_length=4)
    year = models.PositiveSmallIntegerField("Jahr")
    last = models.PositiveIntegerField("zuletzt vergeben", default=0)

    class Meta:
        verbose_name = "Nummernkreis"
        verbose_name_plural = "Nummernkreise"
        constraints = [models.UniqueConstraint(fields=["series", "year"], name="number_sequence_once")]

    def __str__(self) -> str:
        return f"{self.series}-{self.year}: {self.last}"


class PeriodClose(models.Model):
    """A closed accounting month: no document may be dated in it (checked by a trigger too)."""

    month = models.DateField("Monat", unique=True, help_text="erster Tag des Monats")
    closed_at = models.DateTimeField("abgeschlossen", auto_now_add=True)
    closed_by = models.EmailField("abgeschlossen von")
    note = models.CharField("Notiz", max_length=200, blank=True)

    class Meta:
        verbose_name = "Periodenabschluss"
        verbose_name_plural = "Periodenabschlüsse"
        ordering = ["-month"]
        constraints = [
            models.CheckConstraint(condition=Q(month__day=1), name="period_close_first_of_month"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%m/%Y}"


class Invoice(models.Model):
    """An invoice, supplementary invoice or credit note with a snapshot of its buyer."""

    kind = models.CharField("Art", max_length=14, choices=DocumentKind.choices, default=DocumentKind.INVOICE)
    status = models.CharField(
        "Status", max_length=8, choices=DocumentStatus.choices, default=DocumentStatus.DRAFT
    )
    origin = models.CharField("Anlass", max_length=12, choices=DocumentOrigin.choices)
    number = models.CharField("Nummer", max_length=20, unique=True, null=True, blank=True)
    series = models.CharField("Nummernkreis", max_length=4)
    sequence = models.PositiveIntegerField("laufende Nummer", null=True, blank=True)
    municipality = models.ForeignKey(
        "tenants.Municipality", on_delete=models.PROTECT, related_name="invoices", verbose_name="Kommune"
    )
    # Buyer as on the issue date (the municipality's record may change later).
    buyer_name = models.CharField("Rechnungsempfänger", max_length=200)
    buyer_street = models.CharField("Straße", max_length=200, blank=True)
    buyer_postal_code = models.CharField("PLZ", max_length=5, blank=True)
    buyer_city = models.CharField("Ort", max_length=120, blank=True)
    buyer_leitweg_id = models.CharField("Leitweg-ID", max_length=46, blank=True)
    buyer_email = models.EmailField("E-Mail des Empfängers", blank=True)
    buyer_ags = models.CharField("AGS", max_length=8)
    issue_date = models.DateField("Rechnungsdatum")
    service_start = models.DateField("Leistungszeitraum von")
    service_end = models.DateField("Leistungszeitraum bis")
    due_date = models.DateField("fällig am")
    billing_year = models.PositiveSmallIntegerField("Abrechnungsjahr", null=True, blank=True)
    references = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="follow_ups",
        verbose_name="bezieht sich auf",
    )
    reason = models.TextField("Begründung", blank=True)
    currency = models.CharField("Währung", max_length=3, default="EUR")
    list_net = models.DecimalField("Listenpreis netto", **MONEY, default=Decimal("0"))
    subsidy = models.DecimalField("Förderung", **MONEY, default=Decimal("0"))
    net_due = models.DecimalField("Summe netto", **MONEY, default=Decimal("0"))
    vat = models.DecimalField("Umsatzsteuer", **MONEY, default=Decimal("0"))
    gross_due = models.DecimalField("Zahlbetrag brutto", **MONEY, default=Decimal("0"))
    #: [{"rate": "19.00", "base": "160.44", "vat": "30.48"}, …] sorted by rate
    vat_breakdown = models.JSONField("USt.-Aufschlüsselung", default=list)
    settled_by_subsidy = models.BooleanField("durch Förderung ausgeglichen", default=False)
    provisional = models.BooleanField("enthält vorläufige Förderung", default=False)
    created = models.DateTimeField("angelegt", auto_now_add=True)
    issued_at = models.DateTimeField("ausgestellt", null=True, blank=True)
    issued_by = models.CharField("ausgestellt von", max_length=200, blank=True)

    class Meta:
        verbose_name = "Beleg"
        verbose_name_plural = "Belege"
        ordering = ["-issue_date", "-number"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="draft") | (Q(number__isnull=False) & Q(sequence__isnull=False)),
                name="invoice_issued_has_number",
            ),
            models.CheckConstraint(
                condition=Q(service_end__gte=models.F("service_start")), name="invoice_service_period_order"
            ),
            models.CheckConstraint(
                condition=~Q(kind="credit_note") | Q(references__isnull=False),
                name="credit_note_references_invoice",
            ),
        ]
        indexes = [models.Index(fields=["municipality", "-issue_date"], name="invoice_muni_date")]

    def __str__(self) -> str:
        return self.number or f"Entwurf {self.pk}"

    @property
    def is_issued(self) -> bool:
        return self.status == DocumentStatus.ISSUED

    @property
    def is_credit_note(self) -> bool:
        return self.kind == DocumentKind.CREDIT_NOTE

    @property
    def title(self) -> str:
        return self.get_kind_display()


class InvoiceLine(models.Model):
    """One position: list net, subsidy and net due, exactly as the funding engine quoted them."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField("Pos.")
    description = models.CharField("Bezeichnung", max_length=300)
    assistant = models.ForeignKey(
        "shop.Assistant", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    fee_kind = models.CharField("Gebührenart", max_length=40)
    order_line = models.ForeignKey(
        "shop.OrderLine", null=True, blank=True, on_delete=models.PROTECT, related_name="invoice_lines"
    )
    subscription = models.ForeignKey(
        "shop.Subscription", null=True, blank=True, on_delete=models.PROTECT, related_name="invoice_lines"
    )
    #: Set on maintenance charges only: at most one per subscription and year.
    billing_year = models.PositiveSmallIntegerField("Abrechnungsjahr", null=True, blank=True)
    #: What the line charges: "setup:<line>:<price>", "maintenance:<sub>:<year>",
    #: "rebill:<subsidy part>", "credit:<line>". While the line stands (not credited), a
    #: BillingCharge row with this key holds the charge, so re-running never charges twice.
    charge_key = models.CharField("Abrechnungsschlüssel", max_length=80, db_index=True)
    period_start = models.DateField("Zeitraum von", null=True, blank=True)
    period_end = models.DateField("Zeitraum bis", null=True, blank=True)
    period_days = models.PositiveSmallIntegerField("Tage", null=True, blank=True)
    year_days = models.PositiveSmallIntegerField("Tage des Jahres", null=True, blank=True)
    list_net = models.DecimalField("Listenpreis netto", **MONEY)
    subsidy = models.DecimalField("Förderung", **MONEY, default=Decimal("0"))
    net_due = models.DecimalField("netto", **MONEY)
    vat_rate = models.DecimalField("USt.-Satz (%)", max_digits=5, decimal_places=2)
    provisional = models.BooleanField("vorbehaltlich Haushaltsbeschluss", default=False)
    explanation = models.CharField("Erläuterung", max_length=400, blank=True)
    #: Credit note line: the original line it reverses (once).
    credits = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="credited_by"
    )
    #: Supplementary line: the subsidy part it charges after the tranche was rejected (once).
    rebills = models.OneToOneField(
        "billing.InvoiceLineSubsidy",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="rebilled_by",
    )

    class Meta:
        verbose_name = "Belegposition"
        verbose_name_plural = "Belegpositionen"
        ordering = ["invoice", "position"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "position"], name="invoice_line_position_once"),
            models.CheckConstraint(
                condition=Q(subsidy__gte=0) & Q(subsidy__lte=models.F("list_net")),
                name="invoice_line_subsidy_range",
            ),
            models.CheckConstraint(
                condition=Q(net_due=models.F("list_net") - models.F("subsidy")),
                name="invoice_line_net_due_sum",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.invoice} · {self.position}"


class BillingCharge(models.Model):
    """A charge that stands: the issued line that bills it, until a credit note reverses that
    line and releases the charge (then it may be billed again, correctly).

    The unique key makes every run idempotent, and (subscription, year) is unique: the database
    allows one standing maintenance charge per subscription and calendar year. Not part of the
    immutable documents (a release deletes the row; the documents stay as issued).
    """

    key = models.CharField("Abrechnungsschlüssel", max_length=80, unique=True)
    line = models.OneToOneField(InvoiceLine, on_delete=models.PROTECT, related_name="charge")
    subscription = models.ForeignKey(
        "shop.Subscription", null=True, blank=True, on_delete=models.PROTECT, related_name="charges"
    )
    billing_year = models.PositiveSmallIntegerField("Abrechnungsjahr", null=True, blank=True)

    class Meta:
        verbose_name = "abgerechnete Leistung"
        verbose_name_plural = "abgerechnete Leistungen"
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "billing_year"],
                condition=Q(billing_year__isnull=False),
                name="maintenance_once_per_subscription_year",
            ),
        ]

    def __str__(self) -> str:
        return self.key


class InvoiceLineSubsidy(models.Model):
    """What one tranche paid of one line: the unit of the subsidy claim."""

    line = models.ForeignKey(InvoiceLine, on_delete=models.CASCADE, related_name="subsidies")
    tranche = models.ForeignKey(
        "billing.Tranche", on_delete=models.PROTECT, related_name="invoice_parts", verbose_name="Tranche"
    )
    amount = models.DecimalField("Betrag", **MONEY)
    covered_days = models.PositiveSmallIntegerField("geförderte Tage", null=True, blank=True)
    provisional = models.BooleanField("vorbehaltlich Haushaltsbeschluss", default=False)
    capped = models.BooleanField("durch Förderbudget gekürzt", default=False)

    class Meta:
        verbose_name = "Förderanteil"
        verbose_name_plural = "Förderanteile"
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="invoice_subsidy_not_negative"),
            models.UniqueConstraint(fields=["line", "tranche"], name="invoice_subsidy_once_per_tranche"),
        ]

    def __str__(self) -> str:
        return f"{self.line}: {self.amount} €"


class InvoiceEvent(models.Model):
    """Audit log of everything that happens to a document (append-only)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="events")
    at = models.DateTimeField("Zeitpunkt", auto_now_add=True)
    action = models.CharField("Vorgang", max_length=40)
    actor = models.CharField("durch", max_length=200, blank=True)
    detail = models.JSONField("Details", default=dict, blank=True)

    class Meta:
        verbose_name = "Belegprotokoll"
        verbose_name_plural = "Belegprotokoll"
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.invoice}: {self.action}"


class PaymentMethod(models.TextChoices):
    SEPA_DEBIT = "sepa_debit", "SEPA-Lastschrift"
    BANK_TRANSFER = "bank_transfer", "Überweisung"
    OTHER = "other", "sonstige"


class Payment(models.Model):
    """Money received. ``external_id`` (the Stripe object) makes a replayed event one payment;
    a payment that matches no invoice is kept with ``invoice`` empty for reconciliation."""

    invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    municipality = models.ForeignKey(
        "tenants.Municipality", null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    amount = models.DecimalField("Betrag", **MONEY)
    currency = models.CharField("Währung", max_length=3, default="EUR")
    received_on = models.DateField("eingegangen am")
    method = models.CharField("Zahlungsart", max_length=14, choices=PaymentMethod.choices)
    source = models.CharField("Quelle", max_length=20, default="stripe")
    external_id = models.CharField("externe Kennung", max_length=100, unique=True, null=True, blank=True)
    payer_reference = models.CharField("Verwendungszweck", max_length=200, blank=True)
    note = models.CharField("Notiz", max_length=300, blank=True)
    created = models.DateTimeField("erfasst", auto_now_add=True)

    class Meta:
        verbose_name = "Zahlung"
        verbose_name_plural = "Zahlungen"
        ordering = ["-received_on", "-pk"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_positive")]

    def __str__(self) -> str:
        return f"{self.amount} € am {self.received_on:%d.%m.%Y}"


class StripeCustomer(models.Model):
    municipality = models.OneToOneField(
        "tenants.Municipality", on_delete=models.PROTECT, related_name="stripe_customer"
    )
    stripe_id = models.CharField("Stripe-Kunde", max_length=100, unique=True)
    created = models.DateTimeField("angelegt", auto_now_add=True)

    class Meta:
        verbose_name = "Stripe-Kunde"
        verbose_name_plural = "Stripe-Kunden"

    def __str__(self) -> str:
        return self.stripe_id


class StripeInvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Entwurf"
    OPEN = "open", "offen"
    PAID = "paid", "bezahlt"
    UNCOLLECTIBLE = "uncollectible", "uneinbringlich"
    VOID = "void", "storniert"


#: Stripe's invoice states only move forward; a late "finalized" never undoes "paid".
STRIPE_STATUS_RANK = {"draft": 0, "open": 1, "uncollectible": 2, "paid": 3, "void": 3}


class StripeInvoice(models.Model):
    """The Stripe object that collects an invoice's amount due (bank transfer or SEPA debit)."""

    invoice = models.OneToOneField(Invoice, on_delete=models.PROTECT, related_name="stripe")
    stripe_id = models.CharField("Stripe-Rechnung", max_length=100, unique=True)
    status = models.CharField(
        "Status", max_length=14, choices=StripeInvoiceStatus.choices, default=StripeInvoiceStatus.DRAFT
    )
    amount_due = models.DecimalField("zu zahlen", **MONEY)
    amount_paid = models.DecimalField("gezahlt", **MONEY, default=Decimal("0"))
    hosted_url = models.URLField("Zahlungsseite", max_length=500, blank=True)
    updated = models.DateTimeField("aktualisiert", auto_now=True)

    class Meta:
        verbose_name = "Stripe-Rechnung"
        verbose_name_plural = "Stripe-Rechnungen"

    def __str__(self) -> str:
        return self.stripe_id


class StripeEvent(models.Model):
    """A verified webhook event, stored once by its id and processed by a task."""

    event_id = models.CharField("Ereignis", max_length=100, unique=True)
    type = models.CharField("Typ", max_length=100)
    payload = models.JSONField("Inhalt")
    stripe_created = models.DateTimeField("bei Stripe erzeugt", null=True, blank=True)
    received_at = models.DateTimeField("empfangen", auto_now_add=True)
    processed_at = models.DateTimeField("verarbeitet", null=True, blank=True)
    error = models.TextField("Fehler", blank=True)

    class Meta:
        verbose_name = "Stripe-Ereignis"
        verbose_name_plural = "Stripe-Ereignisse"
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} ({self.event_id})"
