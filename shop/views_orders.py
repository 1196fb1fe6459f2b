"""Cart and order pages of a municipality's domain.

Thin edges (STYLE.md): every write goes through one ordering service (``shop.ordering``); every
read of orders and carts through ``shop.selectors_orders``' entry points, which are filtered by
``request.tenant`` — another municipality's order id is simply not found (404).
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from functools import wraps

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from simple_history.models import HistoricalRecords

from accounts.permissions import can, require
from billing.selectors import engine_programmes
from core.forms import add_service_errors
from core.http import redirect_back

from .forms_orders import OrderSubmitForm, RejectForm
from .models import AssistantCategory, AssistantStatus, OrderStatus
from .ordering import cart_add, cart_remove, order_approve, order_cancel, order_reject, order_submit
from .selectors_orders import (
    assistant_by_slug,
    cart_entries,
    cart_item_for_municipality,
    cart_items_for_municipality,
    cart_totals,
    line_views,
    order_cancellable,
    order_in_progress,
    order_lines,
    order_progress,
    order_totals,
    orders_for_municipality,
)
from .views import apply_subsidies

ORDERS_PER_PAGE = 50


@contextmanager
def _history_without_request_user():
    """Keep django-simple-history from taking the acting user from the request.

    The history tables of orders live in the public schema and point at the public user
    table, but a municipal user's id belongs to the municipality's schema: Leipzig's
    purchaser no. 1 would be logged as the association's account no. 1. The municipal actor
    is recorded on the order itself (``submitted_by_*``, ``decided_by_*``) instead.
    """
    context = HistoricalRecords.context
    missing = object()
    saved = getattr(context, "request", missing)
    context.request = None
    try:
        yield
    finally:
        if saved is missing:
            del context.request
        else:
            context.request = saved


def municipal_write(view):
    """For views of a municipality's domain that write public rows through a service."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        with _history_without_request_user():
            return view(request, *args, **kwargs)

    return wrapped


def _message_of(error: ValidationError) -> str:
    return " ".join(error.messages)


# --- cart ------------------------------------------------------------------------------------------


def _cart_page(request: HttpRequest, form: OrderSubmitForm | None = None, status: int = 200) -> HttpResponse:
    on = timezone.localdate()
    items = cart_items_for_municipality(request.tenant, on=on)
    # the catalog's quote, unchanged: one-time fees as if ordered today, yearly fees for this year
    entries = apply_subsidies(cart_entries(items), programmes=engine_programmes(), on=on)
    if form is None:
        form = OrderSubmitForm(initial={"idempotency_key": uuid.uuid4().hex})
    context = {
        "rows": list(zip(items, entries, strict=True)),
        "totals": cart_totals(entries),
        "today": on,
        "form": form,
        "population_text": f"{request.tenant.population:,}".replace(",", "."),
        "may_edit": can(request.user, "cart.edit", request.tenant),
        "may_submit": can(request.user, "order.submit", request.tenant),
        "has_individual": any(item.assistant.category == AssistantCategory.INDIVIDUAL for item in items),
    }
    return render(request, "shop/cart.html", context, status=status)


@require("cart.view")
@require_GET
def cart_view(request: HttpRequest) -> HttpResponse:
    return _cart_page(request)


@require("catalog.order")
@require_POST
@municipal_write
def cart_add_view(request: HttpRequest, slug: str) -> HttpResponse:
    assistant = assistant_by_slug(slug)
    if assistant is None:
        raise Http404("Diesen Assistenten gibt es im Katalog nicht.")
    default = (
        reverse("shop:detail", kwargs={"slug": slug})
        if assistant.status != AssistantStatus.RETIRED
        else reverse("shop:catalog")
    )
    try:
        cart_add(municipality=request.tenant, assistant=assistant, user=request.user)
    except ValidationError as exc:
        messages.error(request, _message_of(exc))
    else:
        messages.success(request, f"„{assistant.title}“ liegt jetzt im Warenkorb.")
    return redirect_back(request, default)


@require("cart.edit")
@require_POST
@municipal_write
def cart_remove_view(request: HttpRequest, item_id: int) -> HttpResponse:
    item = cart_item_for_municipality(request.tenant, item_id)
    if item is None:
        raise Http404("Diese Position liegt nicht im Warenkorb.")
    try:
        cart_remove(municipality=request.tenant, item_id=item.pk)
    except ValidationError as exc:  # removed by a colleague in the meantime
        messages.error(request, _message_of(exc))
    else:
        messages.success(request, f"„{item.assistant.title}“ wurde aus dem Warenkorb entfernt.")
    return redirect("orders:cart")


@require("order.submit")
@require_POST
@municipal_write
def cart_submit_view(request: HttpRequest) -> HttpResponse:
    form = OrderSubmitForm(request.POST)
    if form.is_valid():
        key = form.cleaned_data["idempotency_key"]
        # only for the message: the service itself returns the first order for a repeated key
        repeated = orders_for_municipality(request.tenant).filter(idempotency_key=key).exists()
        try:
            order = order_submit(
                municipality=request.tenant,
                user=request.user,
                idempotency_key=key,
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if repeated:
                messages.info(request, f"Diese Bestellung wurde bereits als {order.number} eingereicht.")
            else:
                messages.success(
                    request,
                    f"Bestellung {order.number} ist eingereicht. Sie wartet jetzt auf die Freigabe "
                    "durch eine zeichnungsberechtigte Person Ihrer Kommune.",
                )
            return redirect("orders:detail", pk=order.pk)
    return _cart_page(request, form=form)


# --- orders ----------------------------------------------------------------------------------------


@require("order.view")
@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    orders = orders_for_municipality(request.tenant).prefetch_related("lines")
    page = Paginator(orders, ORDERS_PER_PAGE).get_page(request.GET.get("seite"))
    waiting = (
        orders_for_municipality(request.tenant).filter(status=OrderStatus.SUBMITTED).count()
        if can(request.user, "order.approve", request.tenant)
        else 0
    )
    return render(
        request, "shop/orders/list.html", {"page": page, "orders": page.object_list, "waiting": waiting}
    )


def _order_of(request: HttpRequest, pk: int):
    return get_object_or_404(orders_for_municipality(request.tenant), pk=pk)


def _detail_page(request: HttpRequest, order, *, reject_form: RejectForm | None = None, status: int = 200):
    lines = order_lines(order)
    user, tenant = request.user, request.tenant
    decidable = order.status == OrderStatus.SUBMITTED and can(user, "order.approve", tenant)
    context = {
        "order": order,
        "lines": line_views(order, lines),
        "totals": order_totals(lines),
        "in_progress": order_in_progress(lines),
        "progress": order_progress(order, lines),
        "status_url": reverse("orders:status", kwargs={"pk": order.pk}),
        "may_decide": decidable and order.submitted_by_id != user.pk,
        # four-eyes principle (order_approve refuses it too): say why there are no buttons
        "own_order": decidable and order.submitted_by_id == user.pk,
        "reject_form": reject_form or RejectForm(),
        "may_cancel": can(user, "order.cancel", tenant) and order_cancellable(order, lines),
    }
    return render(request, "shop/orders/detail.html", context, status=status)


@require("order.view")
@require_GET
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail_page(request, _order_of(request, pk))


@require("order.view")
@require_GET
def order_status(request: HttpRequest, pk: int) -> JsonResponse:
    """The order's and its lines' states for the live progress (static/js/order_progress.js)."""
    return progress_response(orders_for_municipality(request.tenant).filter(pk=pk).first())


def progress_response(order) -> JsonResponse:
    """An order's live progress as JSON, never cached; 404 with a reason for no order."""
    if order is None:
        return JsonResponse({"error": "Diese Bestellung gibt es nicht."}, status=404)
    response = JsonResponse(order_progress(order))
    response["Cache-Control"] = "no-store"
    return response


@require("order.approve")
@require_POST
@municipal_write
def order_approve_view(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order_of(request, pk)
    try:
        order = order_approve(order=order, user=request.user)
    except ValidationError as exc:
        messages.error(request, _message_of(exc))
    else:
        if order.status == OrderStatus.APPROVED:
            messages.success(
                request,
                f"Bestellung {order.number} ist freigegeben. Sie enthält eine individuelle Entwicklung; "
                "der Verband prüft sie und legt den Preis fest.",
            )
        else:
            messages.success(
                request,
                f"Bestellung {order.number} ist freigegeben und angenommen. Die Assistenten werden jetzt "
                "bereitgestellt.",
            )
    return redirect("orders:detail", pk=order.pk)


@require("order.approve")
@require_POST
@municipal_write
def order_reject_view(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order_of(request, pk)
    form = RejectForm(request.POST)
    if form.is_valid():
        try:
            order = order_reject(order=order, user=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            if not hasattr(exc, "error_dict"):  # already decided: nothing to correct in the form
                messages.error(request, _message_of(exc))
                return redirect("orders:detail", pk=order.pk)
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Bestellung {order.number} ist abgelehnt.")
            return redirect("orders:detail", pk=order.pk)
    return _detail_page(request, order, reject_form=form)


@require("order.cancel")
@require_POST
@municipal_write
def order_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order_of(request, pk)
    try:
        order = order_cancel(order=order, user=request.user)
    except ValidationError as exc:
        messages.error(request, _message_of(exc))
    else:
        messages.success(request, f"Bestellung {order.number} ist storniert.")
    return redirect("orders:detail", pk=order.pk)
