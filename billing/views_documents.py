"""Invoice pages and downloads: a municipality's own documents (its domain) and all documents for
the association's finance staff (public domain), with the credit note form.

Thin edges (STYLE.md): reads go through ``billing.selectors_documents`` — on a municipality's
domain always filtered by ``request.tenant``, so another municipality's id is not found (404) —
and the one write, the credit note, through ``billing.invoicing.credit_note_issue``.
"""

from __future__ import annotations

import logging

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import require
from core.forms import add_service_errors

from .documents.pdf import invoice_pdf, pdf_filename
from .documents.rules import check_xrechnung
from .documents.xrechnung import (
    XRechnungUnavailable,
    document_lines,
    xrechnung_blockers,
    xrechnung_filename,
    xrechnung_xml,
)
from .forms_documents import CreditNoteForm, DocumentFilterForm
from .invoicing import credit_note_issue
from .selectors_documents import (
    creditable_lines,
    document_events,
    document_follow_ups,
    document_for_municipality,
    document_payments,
    document_years,
    documents_for_municipality,
    settlement_of,
    staff_document,
    staff_documents,
    with_settlements,
)

logger = logging.getLogger("ozg.billing")
DOCUMENTS_PER_PAGE = 50
#: German names of the audit log's actions; others (e.g. from Stripe) are shown as recorded.
EVENT_LABELS = {"issued": "ausgestellt", "credited": "gutgeschrieben", "rebilled": "nachberechnet"}


# --- downloads (both domains) ---------------------------------------------------------------


def _download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _pdf_response(document) -> HttpResponse:
    return _download(invoice_pdf(document), "application/pdf", pdf_filename(document))


def _xrechnung_response(request: HttpRequest, document, *, detail_url: str, pdf_url: str) -> HttpResponse:
    """The XRechnung, or a page that says why there is none (409): never an invalid file."""
    try:
        content = xrechnung_xml(document)
    except XRechnungUnavailable:
        problems = xrechnung_blockers(document)
    else:
        problems = check_xrechnung(content)
        if not problems:
            return _download(content, "application/xml; charset=utf-8", xrechnung_filename(document))
        logger.error("XRechnung %s verletzt Regeln: %s", document.number, problems)
    context = {"document": document, "problems": problems, "detail_url": detail_url, "pdf_url": pdf_url}
    return render(request, "billing/documents/xrechnung_unavailable.html", context, status=409)


def _detail_context(document) -> dict:
    return {
        "document": document,
        "settlement": settlement_of(document),
        "lines": document_lines(document),
        "vat_groups": document.vat_breakdown,
        "payments": document_payments(document),
        "follow_ups": document_follow_ups(document),
        "xrechnung_problems": xrechnung_blockers(document),
    }


# --- a municipality's domain ------------------------------------------------------------------


def _own_document(request: HttpRequest, pk: int):
    document = document_for_municipality(request.tenant, pk)
    if document is None:
        raise Http404("Diesen Beleg gibt es nicht.")
    return document


@require("invoice.view")
@require_GET
def invoice_list(request: HttpRequest) -> HttpResponse:
    documents = documents_for_municipality(request.tenant)
    page = Paginator(documents, DOCUMENTS_PER_PAGE).get_page(request.GET.get("seite"))
    context = {"page": page, "rows": with_settlements(page.object_list)}
    return render(request, "billing/documents/list.html", context)


@require("invoice.view")
@require_GET
def invoice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "billing/documents/detail.html", _detail_context(_own_document(request, pk)))


@require("invoice.view")
@require_GET
def invoice_pdf_download(request: HttpRequest, pk: int) -> HttpResponse:
    return _pdf_response(_own_document(request, pk))


@require("invoice.view")
@require_GET
def invoice_xrechnung_download(request: HttpRequest, pk: int) -> HttpResponse:
    document = _own_document(request, pk)
    return _xrechnung_response(
        request,
        document,
        detail_url=reverse("invoices:detail", kwargs={"pk": pk}),
        pdf_url=reverse("invoices:pdf", kwargs={"pk": pk}),
    )


# --- the association's domain -----------------------------------------------------------------


def _staff_document(pk: int):
    document = staff_document(pk)
    if document is None:
        raise Http404("Diesen Beleg gibt es nicht.")
    return document


@require("staff.finance")
@require_GET
def document_list(request: HttpRequest) -> HttpResponse:
    bound = any(name in request.GET for name in ("kommune", "art", "jahr", "nummer"))
    form = DocumentFilterForm(request.GET if bound else None, years=document_years())
    documents = staff_documents(**form.filters())
    page = Paginator(documents, DOCUMENTS_PER_PAGE).get_page(request.GET.get("seite"))
    context = {"form": form, "filtered": bound, "page": page, "rows": with_settlements(page.object_list)}
    return render(request, "billing/documents/staff_list.html", context)


def _staff_detail_page(request: HttpRequest, document, *, form: CreditNoteForm | None = None) -> HttpResponse:
    lines = creditable_lines(document)
    if form is None and lines:
        form = CreditNoteForm(lines=lines)
    context = _detail_context(document) | {
        "credit_form": form if lines else None,
        "fully_credited": not document.is_credit_note and not lines,
        "events": [
            (event, EVENT_LABELS.get(event.action, event.action)) for event in document_events(document)
        ],
    }
    return render(request, "billing/documents/staff_detail.html", context)


@require("staff.finance")
@require_GET
def document_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _staff_detail_page(request, _staff_document(pk))


@require("staff.finance")
@require_GET
def document_pdf_download(request: HttpRequest, pk: int) -> HttpResponse:
    return _pdf_response(_staff_document(pk))


@require("staff.finance")
@require_GET
def document_xrechnung_download(request: HttpRequest, pk: int) -> HttpResponse:
    return _xrechnung_response(
        request,
        _staff_document(pk),
        detail_url=reverse("staff_documents:detail", kwargs={"pk": pk}),
        pdf_url=reverse("staff_documents:pdf", kwargs={"pk": pk}),
    )


@require("staff.finance")
@require_POST
def credit_note_create(request: HttpRequest, pk: int) -> HttpResponse:
    document = _staff_document(pk)
    if document.is_credit_note:
        messages.error(request, "Eine Gutschrift lässt sich nicht gutschreiben.")
        return redirect("staff_documents:detail", pk=document.pk)
    form = CreditNoteForm(request.POST, lines=creditable_lines(document))
    if form.is_valid():
        try:
            with transaction.atomic():
                credit = credit_note_issue(
                    invoice=document,
                    reason=form.cleaned_data["reason"],
                    actor=request.user.email,
                    line_ids=form.line_ids(),
                )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request, f"Gutschrift {credit.number} zur Rechnung {document.number} ist ausgestellt."
            )
            return redirect("staff_documents:detail", pk=credit.pk)
    return _staff_detail_page(request, document, form=form)
