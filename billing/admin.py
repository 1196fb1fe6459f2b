from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from .models import BudgetEntry, BudgetLedger, Coverage, FundingProgramme, Tranche, TrancheStatus
from .services import tranche_record_decision


class CoverageInline(admin.TabularInline):
    model = Coverage
    extra = 0


class TrancheInline(admin.TabularInline):
    model = Tranche
    extra = 0
    fields = ("name", "start", "end", "status", "decided_on", "cap")
    # A new tranche starts provisional; the budget decision is recorded on the tranche's own
    # page (tranche_record_decision), never by editing these fields.
    readonly_fields = ("status", "decided_on")
    show_change_link = True


@admin.register(FundingProgramme)
class FundingProgrammeAdmin(SimpleHistoryAdmin):
    list_display = ("name", "code", "funder", "categories", "is_active", "is_draft")
    list_filter = ("is_active", "is_draft")
    search_fields = ("name", "code", "funder")
    filter_horizontal = ("excluded_assistants",)
    inlines = [CoverageInline, TrancheInline]


class DecisionForm(forms.Form):
    status = forms.ChoiceField(
        label="Entscheidung",
        choices=[(TrancheStatus.CONFIRMED, "bestätigt"), (TrancheStatus.REJECTED, "abgelehnt")],
        widget=forms.RadioSelect,
    )
    decided_on = forms.DateField(
        label="Haushaltsbeschluss vom", widget=forms.DateInput(attrs={"type": "date"})
    )
    note = forms.CharField(label="Notiz", required=False, widget=forms.Textarea(attrs={"rows": 3}))


@admin.register(Tranche)
class TrancheAdmin(SimpleHistoryAdmin):
    list_display = ("__str__", "start", "end", "status", "decided_on", "cap", "consumed", "decision_link")
    list_filter = ("status", "programme")
    readonly_fields = ("status", "decided_on", "decision_note")

    @admin.display(description="verbraucht (€)")
    def consumed(self, obj):
        ledger = getattr(obj, "ledger", None)
        return ledger.consumed if ledger else "–"

    @admin.display(description="Haushaltsbeschluss")
    def decision_link(self, obj):
        if obj.status != TrancheStatus.PROVISIONAL:
            return obj.get_status_display()
        return format_html(
            '<a href="{}">erfassen</a>', reverse("admin:billing_tranche_decision", args=[obj.pk])
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/entscheidung/",
                self.admin_site.admin_view(self.decision_view),
                name="billing_tranche_decision",
            ),
            *super().get_urls(),
        ]

    def decision_view(self, request, pk: int):
        tranche = get_object_or_404(Tranche, pk=pk)
        if not self.has_change_permission(request, tranche):
            raise PermissionError
        form = DecisionForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                tranche_record_decision(tranche=tranche, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, f"Haushaltsbeschluss für „{tranche.name}“ erfasst.")
                return redirect("admin:billing_tranche_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": f"Haushaltsbeschluss: {tranche}",
            "form": form,
            "tranche": tranche,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "billing/admin/tranche_decision.html", context)


class BudgetEntryInline(admin.TabularInline):
    model = BudgetEntry
    extra = 0
    can_delete = False
    readonly_fields = ("amount", "requested", "reference", "created")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(BudgetLedger)
class BudgetLedgerAdmin(admin.ModelAdmin):
    list_display = ("tranche", "consumed")
    readonly_fields = ("tranche", "consumed")
    inlines = [BudgetEntryInline]

    def has_add_permission(self, request):
        return False
