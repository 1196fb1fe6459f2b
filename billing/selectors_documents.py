"""Reading issued invoices, supplementary invoices and credit notes for the document pages.

A municipality's pages read only through :func:`documents_for_municipality`, which is always
filtered by the municipality of the request: another municipality's document is not found.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import DecimalField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing.documents.settlement import Settlement, settlement

from .models import DocumentKind, DocumentStatus, Invoice, InvoiceEvent, InvoiceLine, Payment

_MONEY = DecimalField(max_digits=14, decimal_places=2)


def _with_settlement(documents: QuerySet[Invoice]) -> QuerySet[Invoice]:
    paid = (
        Payment.objects.filter(invoice=OuterRef("pk"))
        .order_by()
        .values("invoice")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    credited = (
        Invoice.objects.filter(
            references=OuterRef("pk"), kind=DocumentKind.CREDIT_NOTE, status=DocumentStatus.ISSUED
        )
        .order_by()
        .values("references")
        .annotate(total=Sum("gross_due"))
        .values("total")
    )
    return documents.annotate(
        paid_total=Coalesce(Subquery(paid, output_field=_MONEY), Value(Decimal("0")), output_field=_MONEY),
        credited_total=Coalesce(
            Subquery(credited, output_field=_MONEY), Value(Decimal("0")), output_field=_MONEY
        ),
    )


def issued_documents() -> QuerySet[Invoice]:
    return _with_settlement(
        Invoice.objects.filter(status=DocumentStatus.ISSUED).select_related("references", "municipality")
    ).order_by("-issue_date", "-number")


def documents_for_municipality(municipality) -> QuerySet[Invoice]:
    """The municipality's own issued documents, the newest first (the one entry point of its pages)."""
    return issued_documents().filter(municipality=municipality)


def document_for_municipality(municipality, pk: int) -> Invoice | None:
    return documents_for_municipality(municipality).filter(pk=pk).first()


def staff_documents(
    *, municipality=None, kind: str = "", year: int | None = None, number: str = ""
) -> QuerySet[Invoice]:
    documents = issued_documents()
    if municipality is not None:
        documents = documents.filter(municipality=municipality)
    if kind:
        documents = documents.filter(kind=kind)
    if year:
        documents = documents.filter(issue_date__year=year)
    if number:
        documents = documents.filter(number__icontains=number.strip())
    return documents


def staff_document(pk: int) -> Invoice | None:
    return issued_documents().filter(pk=pk).first()


def document_years() -> list[int]:
    return sorted(
        {d.year for d in Invoice.objects.filter(status=DocumentStatus.ISSUED).dates("issue_date", "year")},
        reverse=True,
    )


def settlement_of(document: Invoice, today: date | None = None) -> Settlement:
    """The status of a document annotated by :func:`issued_documents`."""
    return settlement(
        is_credit_note=document.is_credit_note,
        gross_due=document.gross_due,
        settled_by_subsidy=document.settled_by_subsidy,
        paid=getattr(document, "paid_total", None) or Decimal("0"),
        credited=getattr(document, "credited_total", None) or Decimal("0"),
        due_date=document.due_date,
        today=today or timezone.localdate(),
    )


def with_settlements(documents) -> list[tuple[Invoice, Settlement]]:
    today = timezone.localdate()
    return [(document, settlement_of(document, today)) for document in documents]


def document_payments(document: Invoice) -> QuerySet[Payment]:
    return document.payments.order_by("received_on", "pk")


def document_follow_ups(document: Invoice) -> QuerySet[Invoice]:
    """Credit notes and supplementary invoices issued with a reference to this document."""
    return document.follow_ups.filter(status=DocumentStatus.ISSUED).order_by("issue_date", "number")


def creditable_lines(document: Invoice) -> list[InvoiceLine]:
    """The lines of an invoice that no credit note has reversed yet."""
    if document.is_credit_note:
        return []
    return list(document.lines.filter(credited_by__isnull=True).order_by("position"))


def document_events(document: Invoice) -> QuerySet[InvoiceEvent]:
    return document.events.order_by("at", "pk")
