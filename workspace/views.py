"""My assistants ("Meine Assistenten"): the municipality's provisioned assistants, their
configuration and the cancellation of their subscriptions (municipal domains only, mounted at
/assistenten/).

Instances live in the municipality's own schema, so another municipality's id is simply not
found (404); subscriptions are read from the public schema always filtered by
``request.tenant`` (workspace.selectors).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.permissions import can, require
from core.forms import add_service_errors
from shop.subscriptions import cancellation_preview, notice_months, subscription_cancel

from .forms import CancelForm, ConfigurationForm
from .models import AssistantInstance, InstanceStatus
from .selectors import InstanceRow, configuration_values, instance_of, instances_for_municipality
from .services import instance_configure

DRAFT_BUTTON = "entwurf"


def _row(request: HttpRequest, pk: int) -> InstanceRow:
    try:
        return instance_of(municipality=request.tenant, pk=pk)
    except AssistantInstance.DoesNotExist:
        raise Http404("Diesen Assistenten gibt es in Ihrer Kommune nicht.") from None


def _cancellation(request: HttpRequest, row: InstanceRow, form: CancelForm | None = None) -> dict:
    """What the detail page needs to offer a cancellation (only to those who may cancel)."""
    subscription = row.subscription
    offer = (
        subscription is not None
        and subscription.cancelled_at is None
        and row.instance.status != InstanceStatus.DEACTIVATED
        and can(request.user, "subscription.cancel", request.tenant)
    )
    if not offer:
        return {"cancel_form": None}
    today = timezone.localdate()
    ends_on = cancellation_preview(subscription=subscription, today=today)
    return {"cancel_form": form or CancelForm(), "cancel_ends_on": ends_on, "notice_months": notice_months()}


def _detail_context(request: HttpRequest, row: InstanceRow, cancel_form: CancelForm | None = None) -> dict:
    return {
        "row": row,
        "instance": row.instance,
        "values": configuration_values(instance=row.instance),
        **_cancellation(request, row, cancel_form),
    }


@require("instance.view")
def instance_list(request: HttpRequest) -> HttpResponse:
    rows = instances_for_municipality(municipality=request.tenant)
    return render(request, "workspace/instance_list.html", {"rows": rows})


@require("instance.view")
def instance_detail(request: HttpRequest, pk: int) -> HttpResponse:
    row = _row(request, pk)
    return render(request, "workspace/instance_detail.html", _detail_context(request, row))


@require("instance.configure")
@require_http_methods(["GET", "POST"])
def instance_configure_view(request: HttpRequest, pk: int) -> HttpResponse:
    row = _row(request, pk)
    instance = row.instance
    if instance.status == InstanceStatus.DEACTIVATED:
        messages.error(
            request, f"„{instance.title}“ ist deaktiviert und kann nicht mehr eingerichtet werden."
        )
        return redirect("workspace:detail", pk=instance.pk)
    draft = request.method == "POST" and DRAFT_BUTTON in request.POST
    form = ConfigurationForm(
        request.POST if request.method == "POST" else None,
        schema=instance.config_schema,
        configuration=instance.configuration,
        draft=draft and instance.status == InstanceStatus.CONFIGURING,
    )
    if request.method == "POST" and form.is_valid():
        try:
            instance = instance_configure(
                instance=instance, data=form.data_for_schema, user=request.user, draft=draft
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if instance.status == InstanceStatus.READY:
                messages.success(request, f"„{instance.title}“ ist eingerichtet.")
            else:
                messages.info(
                    request,
                    f"Ihre Angaben zu „{instance.title}“ sind zwischengespeichert. "
                    "Der Assistent ist eingerichtet, sobald alle Pflichtangaben gemacht sind.",
                )
            return redirect("workspace:detail", pk=instance.pk)
    if request.method == "POST":
        messages.error(request, "Bitte prüfen Sie die markierten Angaben. Es wurde nichts gespeichert.")
    return render(
        request, "workspace/instance_configure.html", {"row": row, "instance": instance, "form": form}
    )


@require("subscription.cancel")
@require_http_methods(["GET", "POST"])
def instance_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel the instance's subscription: the confirmation form is on the detail page."""
    row = _row(request, pk)
    if request.method == "GET":
        return redirect(reverse("workspace:detail", kwargs={"pk": row.instance.pk}) + "#kuendigen")
    if row.subscription is None:
        raise Http404("Zu diesem Assistenten gibt es kein Abonnement.")
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            subscription = subscription_cancel(
                subscription=row.subscription,
                user=request.user,
                today=timezone.localdate(),
                expected_ends_on=form.cleaned_data["ends_on"],
            )
        except ValidationError as exc:
            if getattr(exc, "code", None) == "already_cancelled":
                messages.error(request, exc.messages[0])
                return redirect("workspace:detail", pk=row.instance.pk)
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                f"Das Abonnement „{row.instance.title}“ ist gekündigt. Es endet am "
                f"{subscription.ends_on:%d.%m.%Y}; danach wird der Assistent deaktiviert.",
            )
            return redirect("workspace:detail", pk=row.instance.pk)
    # Shown again with today's end date (the template puts it into the hidden field), so a
    # deadline that passed meanwhile is visible before confirming again.
    return render(request, "workspace/instance_detail.html", _detail_context(request, row, cancel_form=form))
