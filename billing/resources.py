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
    """One row per subsidy part of the claim (``billing.selectors_finance.subsidy_claim``, whose
    annotations and ``withdrawal`` text these columns read). Claimed parts first; withdrawn parts follow with
    "im Abruf" = nein and the document that withdrew them. Export only.

    Text cells that a spreadsheet would read as a formula (a municipality called "=…") are
    neutralised by the base class; amounts, days and dates stay native numbers and dates in XLSX.
    """

    programme = _text("programme_name", "Förderprogramm")
    tranche = _text("tranche_name", "Tranche")
    municipality = _text("municipality_name", "Kommune")
    ags = _text("ags", "AGS")
    assistant = _text("assistant_title", "Assistent")
    invoice_number = _text("invoice_number", "Rechnungsnummer")
    issue_date = fields.Field(attribute="issue_date", column_name="Rechnungsdatum", widget=GermanDateWidget())
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
    amount = fields.Field(attribute="amount", column_name="Förderbetrag (EUR)", widget=AmountWidget())
    provisional = fields.Field(
        attribute="is_provisional",
        column_name="vorbehaltlich Haushaltsbeschluss",
        widget=GermanBooleanWidget(),
    )
    claimed = fields.Field(attribute="is_claimed", column_name="im Abruf", widget=GermanBooleanWidget())
    withdrawn_by = _text("withdrawal", "zurückgezogen")

    class Meta:
        model = InvoiceLineSubsidy
        name = "Förderabruf"
        fields = (
            "programme",
            "tranche",
            "municipality",
            "ags",
            "assistant",
            "invoice_number",
            "issue_date",
            "position",
            "fee_kind",
            "period_start",
            "period_end",
            "covered_days",
            "amount",
            "provisional",
            "claimed",
            "withdrawn_by",
        )
        export_order = fields
