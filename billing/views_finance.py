"""The finance area of the association (public domain, finance role): dashboard, reconciliation,
subsidy claim with exports, yearly billing run, rebilling after a rejection and period close.

Reads through billing.selectors_finance; writes only through billing.invoicing
(``tranche_rebill``, ``period_close``) and billing.services_finance (``billing_run_start``).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from accounts.permissions import require
from billing.domain.budget_chart import chart_geometry
from core.resources import CSV, XLSX

from .claim_pdf import claim_pdf
from .forms_finance import BillingRunForm, ClaimForm, PeriodCloseForm, ReconciliationFilterForm
from .invoicing import period_close, tranche_rebill
from .models import Tranche, TrancheStatus
from .resources import SubsidyClaimResource
from .selectors_finance import (
    ReconciliationState,
    billing_run_jobs,
    budget_over_time,
    closed_periods,
    invoice_years,
    rebill_preview,
    receivables,
    reconciliation,
    reconciliation_totals,
    rejected_tranches,
    subsidy_by_quarter,
    subsidy_claim,
    unmatched_payments,
)
from .services_finance import billing_run_start

INVOICES_PER_PAGE = 50

STATE_BADGES = {
    ReconciliationState.OPEN: "info",
    ReconciliationState.OVERDUE: "err",
    ReconciliationState.PARTLY_PAID: "warn",
    ReconciliationState.PAID: "ok",
    ReconciliationState.OVERPAID: "warn",
    ReconciliationState.SETTLED_BY_SUBSIDY: "ok",
    ReconciliationState.CREDITED: "",
}


@require("staff.finance")
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    figures = receivables(today=today)
    budgets = [
        {"budget": budget, "chart": chart_geometry(budget.uses, cap=budget.cap)}
        for budget in budget_over_time()
    ]
    context = {
        "today": today,
        "figures": figures,
        "overdue": figures.state(ReconciliationState.OVERDUE),
        "paid": [figures.state(ReconciliationState.PAID), figures.state(ReconciliationState.OVERPAID)],
        "settled": figures.state(ReconciliationState.SETTLED_BY_SUBSIDY),
        "programmes": subsidy_by_quarter(),
        "budgets": budgets,
        "states": ReconciliationState,
    }
    context["paid_count"] = sum(s.count for s in context["paid"])
    context["paid_sum"] = sum((s.paid for s in context["paid"]), 0)
    return render(request, "billing/finance/dashboard.html", context)


@require("staff.finance")
@require_GET
def reconciliation_list(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    bound = any(name in request.GET for name in ("state", "municipality", "year"))
    form = ReconciliationFilterForm(request.GET if bound else None, years=invoice_years())
    invoices = reconciliation(today=today, **form.filters())
    page = Paginator(invoices, INVOICES_PER_PAGE).get_page(request.GET.get("seite"))
    rows = list(page.object_list)
    for invoice in rows:
        state = ReconciliationState(invoice.state)
        invoice.state_label, invoice.state_badge = state.label, STATE_BADGES[state]
    query = request.GET.copy()
    query.pop("seite", None)
    context = {
        "form": form,
        "filtered": bound,
        "page": page,
        "invoices": rows,
        "totals": reconciliation_totals(invoices),
        "unmatched": unmatched_payments(),
        "query": query.urlencode(),
        "today": today,
    }
    return render(request, "billing/finance/reconciliation.html", context)


# --- subsidy claim ------------------------------------------------------------------------

EXPORT_FORMATS = ("csv", "xlsx", "pdf")


def _claim_form(request: HttpRequest) -> tuple[ClaimForm, bool]:
    bound = "programme" in request.GET
    return ClaimForm(request.GET if bound else None, today=timezone.localdate()), bound


def _claim_for(form: ClaimForm):
    data = form.cleaned_data
    return subsidy_claim(
        programme=data["programme"], tranche=data["tranche"], date_from=data["von"], date_to=data["bis"]
    )


@require("staff.finance")
@require_GET
def claim(request: HttpRequest) -> HttpResponse:
    form, bound = _claim_form(request)
    result = _claim_for(form) if bound and form.is_valid() else None
    return render(
        request,
        "billing/finance/claim.html",
        {"form": form, "claim": result, "query": request.GET.urlencode()},
    )


def _file_name(result, extension: str) -> str:
    tranche = f"-{result.tranche.pk}" if result.tranche else ""
    return (
        f"foerderabruf-{result.programme.code}{tranche}-"
        f"{result.date_from:%Y%m%d}-{result.date_to:%Y%m%d}.{extension}"
    )


@require("staff.finance")
@require_GET
def claim_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """CSV, XLSX or PDF of the claim. Invalid filters: the claim page with the errors, no file."""
    if fmt not in EXPORT_FORMATS:
        raise Http404("Dieses Format gibt es nicht.")
    form, bound = _claim_form(request)
    if not (bound and form.is_valid()):
        if not bound:
            form = ClaimForm({}, today=timezone.localdate())
        return render(
            request, "billing/finance/claim.html", {"form": form, "claim": None, "export_refused": True}
        )
    result = _claim_for(form)
    if fmt == "pdf":
        content, content_type = claim_pdf(result, today=timezone.localdate()), "application/pdf"
    else:
        dataset = SubsidyClaimResource().export(result.rows, force_native_type=fmt == "xlsx")
        if fmt == "xlsx":
            content = XLSX().export_data(dataset)
            content_type = XLSX().get_content_type()
        else:
            # With a BOM, Excel opens the CSV with the right umlauts.
            content = CSV().export_data(dataset).encode("utf-8-sig")
            content_type = "text/csv; charset=utf-8"
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{_file_name(result, fmt)}"'
    return response


# --- yearly billing run -------------------------------------------------------------------


@require("staff.finance")
@require_http_methods(["GET", "POST"])
def billing_run(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    form = BillingRunForm(request.POST or None, today=today)
    if request.method == "POST" and form.is_valid():
        job = billing_run_start(year=form.cleaned_data["year"], user=request.user)
        return redirect("core:job", pk=job.pk)
    return render(request, "billing/finance/billing_run.html", {"form": form, "jobs": billing_run_jobs()})


# --- rebilling ----------------------------------------------------------------------------


def _rejected_tranche(pk: int) -> Tranche:
    tranche = rejected_tranches().filter(pk=pk).first()
    if tranche is None:
        raise Http404("Eine abgelehnte Tranche mit dieser Nummer gibt es nicht.")
    return tranche


@require("staff.finance")
@require_GET
def rebilling_list(request: HttpRequest) -> HttpResponse:
    return render(request, "billing/finance/rebilling_list.html", {"tranches": rejected_tranches()})


@require("staff.finance")
@require_http_methods(["GET", "POST"])
def rebilling_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what the rebilling would charge (confirm step). POST: issue the supplementary invoices."""
    tranche = _rejected_tranche(pk)
    if request.method == "POST":
        try:
            result = tranche_rebill(tranche=tranche, actor=request.user.email)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("finance:rebilling_confirm", pk=tranche.pk)
        if result.invoices:
            messages.success(
                request,
                f"{len(result.invoices)} Nachberechnung(en) mit {result.lines} Position(en) ausgestellt: "
                f"{', '.join(result.invoices)}.",
            )
        else:
            messages.info(request, f"Für „{tranche.name}“ war nichts mehr nachzuberechnen.")
        return redirect("finance:rebilling")
    context = {
        "tranche": tranche,
        "preview": rebill_preview(tranche),
        "rejected": TrancheStatus.REJECTED,
    }
    return render(request, "billing/finance/rebilling_confirm.html", context)


# --- period close -------------------------------------------------------------------------


@require("staff.finance")
@require_http_methods(["GET", "POST"])
def period_close_view(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    form = PeriodCloseForm(request.POST or None, today=today)
    if request.method == "POST" and form.is_valid():
        try:
            closed = period_close(
                month=form.cleaned_data["month"],
                actor=request.user.email,
                note=form.cleaned_data["note"],
                today=today,
            )
        except ValidationError as exc:
            form.add_error("month", exc.messages)
        else:
            messages.success(
                request,
                f"Der Zeitraum {closed.month:%m/%Y} ist abgeschlossen; darin wird kein Beleg mehr ausgestellt.",
            )
            return redirect("finance:period_close")
    return render(request, "billing/finance/period_close.html", {"form": form, "periods": closed_periods()})
