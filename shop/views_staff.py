"""The association's order pages (public domain, catalog managers and finance).

Staff see every municipality's orders, accept approved orders that need a review (individual
developments, with free price lines) and send failed lines again. Writes only through
``shop.ordering.order_accept`` and ``shop.provisioning.line_retry``.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import require

from .forms_orders import AcceptForm, StaffOrderFilterForm
from .models import OrderStatus
from .ordering import order_accept
from .provisioning import line_retry
from .selectors_orders import (
    line_views,
    municipality_by_ags,
    order_in_progress,
    order_lines,
    order_progress,
    order_timeline,
    order_totals,
    staff_awaiting_review,
    staff_order,
    staff_order_line,
    staff_orders,
    staff_status_counts,
)
from .views_orders import progress_response

ORDERS_PER_PAGE = 50


def _order_or_404(pk: int):
    order = staff_order(pk)
    if order is None:
        raise Http404("Diese Bestellung gibt es nicht.")
    return order


@require("staff.orders")
@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    bound = any(name in request.GET for name in ("status", "q", "von", "bis"))
    form = StaffOrderFilterForm(request.GET if bound else None)
    orders = staff_orders(**form.filters()).prefetch_related("lines")
    page = Paginator(orders, ORDERS_PER_PAGE).get_page(request.GET.get("seite"))
    context = {
        "form": form,
        "filtered": bound,
        "page": page,
        "orders": page.object_list,
        "awaiting_review": staff_awaiting_review(),
        "approved": OrderStatus.APPROVED,
    }
    return render(request, "shop/staff/order_list.html", context)


def _detail_page(request: HttpRequest, order, *, accept_form: AcceptForm | None = None) -> HttpResponse:
    lines = order_lines(order)
    if accept_form is None and order.status == OrderStatus.APPROVED:
        accept_form = AcceptForm(lines=lines)
    context = {
        "order": order,
        "lines": line_views(order, lines),
        "totals": order_totals(lines),
        "in_progress": order_in_progress(lines),
        "progress": order_progress(order, lines),
        "status_url": reverse("staff_orders:status", kwargs={"pk": order.pk}),
        "accept_form": accept_form,
        "timeline": order_timeline(order),
    }
    return render(request, "shop/staff/order_detail.html", context)


@require("staff.orders")
@require_GET
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail_page(request, _order_or_404(pk))


@require("staff.orders")
@require_GET
def order_status(request: HttpRequest, pk: int) -> JsonResponse:
    return progress_response(staff_order(pk))


@require("staff.orders")
@require_POST
def order_accept_view(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order_or_404(pk)
    if order.status != OrderStatus.APPROVED:
        # the service says the same; checked first so a stale form shows no field errors
        messages.error(request, "Nur freigegebene Bestellungen können angenommen werden.")
        return redirect("staff_orders:detail", pk=order.pk)
    form = AcceptForm(request.POST, lines=order_lines(order))
    if form.is_valid():
        try:
            order = order_accept(
                order=order, staff_user=request.user, individual_prices=form.individual_prices()
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request, f"Bestellung {order.number} ist angenommen; die Bereitstellung hat begonnen."
            )
            return redirect("staff_orders:detail", pk=order.pk)
    return _detail_page(request, order, accept_form=form)


@require("staff.orders")
@require_POST
def line_retry_view(request: HttpRequest, pk: int, line_id: int) -> HttpResponse:
    order = _order_or_404(pk)
    line = staff_order_line(order=order, line_id=line_id)
    if line is None:
        raise Http404("Diese Position gehört nicht zu dieser Bestellung.")
    try:
        line_retry(line_id=line.pk)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"„{line.assistant_title}“ wird erneut bereitgestellt.")
    return redirect("staff_orders:detail", pk=order.pk)


@require("staff.orders")
@require_GET
def municipality_orders(request: HttpRequest, ags: str) -> HttpResponse:
    """The order history of one municipality."""
    municipality = municipality_by_ags(ags)
    if municipality is None:
        raise Http404("Diese Kommune gibt es nicht.")
    orders = staff_orders(municipality=municipality).prefetch_related("lines")
    page = Paginator(orders, ORDERS_PER_PAGE).get_page(request.GET.get("seite"))
    context = {
        "municipality": municipality,
        "page": page,
        "orders": page.object_list,
        "counts": staff_status_counts(municipality),
    }
    return render(request, "shop/staff/municipality_orders.html", context)
