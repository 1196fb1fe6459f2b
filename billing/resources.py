"""Exports of the billing area (django-import-export), on core.resources' formula-safe base."""

from __future__ import annotations

from import_export import fields, widgets

from core.resources import (
    AmountWidget,
    GermanBooleanWidget,
    GermanDateWidget,
    SafeModelResource,
    WholeNumberWidget,
)

from .models import InvoiceLineSubsidy


def _text(attribute: str, column: str) -> fields.Field:
    return fields.Field(attribute=attribute, column_name=column, widget=widgets.CharWidget())


class SubsidyClaimResource(SafeModelResource):
    """One row per row of the claim (``billing.selectors_finance.subsidy_claim``, whose
    annotations these columns read): first the subsidy granted by invoices of the period
    ("Förderung"), then the subsidy withdrawn by credit notes and rebillings of the period
    ("Rückforderung", negative amount), each with the document that dates it and the original
    invoice. Subsidy of rejected tranches is not claimed and not exported. Export only.

    Text cells that a spreadsheet would read as a formula (a municipality called "=…") are
    neutralised by the base class; amounts, days and dates stay native numbers and dates in XLSX
    (a negative amount is a number, not text).
    """

    programme = _text("programme_name", "Förderprogramm")
    tranche = _text("tranche_name", "Tranche")
    municipality = _text("municipality_name", "Kommune")
    ags = _text("ags", "AGS")
    assistant = _text("assistant_title", "Assistent")
    kind = _text("kind_label", "Art")
    document_number = _text("document_number", "Beleg")
    document_kind = _text("document_kind_label", "Belegart")
    document_date = fields.Field(
        attribute="document_date", column_name="Belegdatum", widget=GermanDateWidget()
    )
    invoice_number = _text("invoice_number", "Rechnungsnummer")
    invoice_date = fields.Field(
        attribute="invoice_date", column_name="Rechnungsdatum", widget=GermanDateWidget()
    )
    position = fields.Field(attribute="position", column_name="Pos.", widget=WholeNumberWidget())
    fee_kind = _text("fee_kind_label", "Gebührenart")
    period_start = fields.Field(
        attribute="period_start", column_name="Leistungszeitraum von", widget=GermanDateWidget()
    )
    period_end = fields.Field(
        attribute="period_end", column_name="Leistungszeitraum bis", widget=GermanDateWidget()
    )
    covered_days = fields.Field(
        attribute="covered_days", column_name="geförderte Tage", widget=WholeNumberWidget()
    )
    amount = fields.Field(attribute="claim_amount", column_name="Förderbetrag (EUR)", widget=AmountWidget())
    provisional = fields.Field(
        attribute="is_provisional",
        column_name="vorbehaltlich Haushaltsbeschluss",
        widget=GermanBooleanWidget(),
    )

    class Meta:
        model = InvoiceLineSubsidy
        name = "Förderabruf"
        fields = (
            "programme",
            "tranche",
            "municipality",
            "ags",
            "assistant",
            "kind",
            "document_number",
            "document_kind",
            "document_date",
            "invoice_number",
            "invoice_date",
            "position",
            "fee_kind",
            "period_start",
            "period_end",
            "covered_days",
            "amount",
            "provisional",
        )
        export_order = fields
