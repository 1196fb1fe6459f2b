"""Test documents for the invoice document tests, issued through the real billing services."""

from __future__ import annotations

import contextlib
import re
import zlib
from datetime import date
from decimal import Decimal

import pytest

from billing.invoicing import billing_run, credit_note_issue, tranche_rebill
from billing.models import DocumentKind, Invoice, Tranche
from billing.services import tranche_record_decision
from tests.factories.billing import subscribe  # noqa: F401  (re-exported for the tests)
from tests.factories.shop import AssistantFactory

D = Decimal
FINANCE = "finanzen@kisa.example"
CATALOG = "katalog@kisa.example"


@pytest.fixture(name="assistants")
def assistants_fixture(db):
    return {
        "central": AssistantFactory(slug="gewerbe", title="Gewerbe-Anmeldung", category="central"),
        "efa": AssistantFactory(slug="wohngeld", title="Wohngeld", category="efa"),
        "efa7": AssistantFactory(slug="fuehrungszeugnis", title="Führungszeugnis", category="efa"),
    }


def yearly_invoice(town, year: int) -> Invoice:
    billing_run(
        year=year, actor=FINANCE, issue_date=date(year, 1, 3), municipality_ids=[town.municipality.pk]
    )
    return Invoice.objects.get(municipality=town.municipality, billing_year=year, kind=DocumentKind.INVOICE)


def subsidised_invoice(towns, assistants) -> Invoice:
    """FUNDING.md example 2: list net 402,41, subsidy 241,97, due 160,44 + 30,48 VAT."""
    subscribe(towns["leipzig"], assistants["central"], started_on=date(2022, 3, 1))
    return yearly_invoice(towns["leipzig"], 2022)


def settled_invoice(towns, assistants) -> Invoice:
    """All of 2023 subsidised under the provisional tranche: 0,00 € due."""
    subscribe(towns["leipzig"], assistants["central"], started_on=date(2022, 7, 1))
    return yearly_invoice(towns["leipzig"], 2023)


def mixed_vat_invoice(towns, assistants) -> Invoice:
    subscribe(towns["leipzig"], assistants["efa"], started_on=date(2025, 1, 1), yearly="480.00")
    subscribe(towns["leipzig"], assistants["efa7"], started_on=date(2025, 1, 1), yearly="99.99", vat="7")
    return yearly_invoice(towns["leipzig"], 2025)


def supplementary_invoice(towns, assistants) -> Invoice:
    """The 2023 maintenance rebilled after the 2023–2024 tranche was rejected."""
    settled = settled_invoice(towns, assistants)
    tranche = Tranche.objects.get(programme__code="saxony-2022", name="Tranche 2023–2024")
    tranche_record_decision(tranche=tranche, status="rejected", decided_on=date(2025, 3, 1))
    tranche_rebill(tranche=tranche, actor=FINANCE, issue_date=date(2025, 3, 10))
    return Invoice.objects.get(kind=DocumentKind.SUPPLEMENTARY, references=settled)


def credit_note(towns, assistants) -> Invoice:
    """A credit note for the 7 % line of the mixed invoice."""
    invoice = mixed_vat_invoice(towns, assistants)
    line = invoice.lines.get(vat_rate=D("7"))
    return credit_note_issue(
        invoice=invoice,
        reason="Doppelt berechnet",
        actor=FINANCE,
        line_ids=[line.pk],
        issue_date=date(2025, 2, 1),
    )


def subsidised_credit_note(towns, assistants) -> Invoice:
    """A credit note reversing a subsidised line: it shows the original's subsidy."""
    invoice = subsidised_invoice(towns, assistants)
    return credit_note_issue(
        invoice=invoice, reason="Falscher Zeitraum", actor=FINANCE, issue_date=date(2022, 2, 1)
    )


def dresden_invoice(towns, assistants) -> Invoice:
    """Dresden has no Leitweg-ID and no invoice address."""
    subscribe(towns["dresden"], assistants["efa"], started_on=date(2025, 1, 1))
    return yearly_invoice(towns["dresden"], 2025)


BUILDERS = {
    "subsidised": subsidised_invoice,
    "settled_by_subsidy": settled_invoice,
    "mixed_vat": mixed_vat_invoice,
    "supplementary": supplementary_invoice,
    "credit_note": credit_note,
    "credit_note_with_subsidy": subsidised_credit_note,
}


def pdf_text(data: bytes) -> str:
    """The text drawn by the PDF's content streams (decompressed), decoded as the core font wrote it."""
    chunks = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        raw = match.group(1)
        with contextlib.suppress(zlib.error):  # uncompressed streams are read as they are
            raw = zlib.decompress(raw)
        chunks.extend(re.findall(rb"\(((?:\\.|[^\\)])*)\) Tj", raw))
    return "\n".join(re.sub(rb"\\(.)", rb"\1", chunk).decode("cp1252", "replace") for chunk in chunks)
