"""The catalog in the Django admin: assistants with their prices, prices, fee kinds.

Catalog managers edit it (accounts.backends.RoleBackend gives the role the "shop" app);
finance staff do not see it. Every change to an assistant or a price is recorded with
who, when and what changed (django-simple-history, the admin's "Historie" button), also
when it comes from an import. Import and export as CSV or XLSX with a preview of every
row before anything is written; one bad row and nothing is imported (shop.resources).
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from import_export.admin import ImportExportMixin
from simple_history.admin import SimpleHistoryAdmin

from billing.domain.money import format_eur, format_percent
from core.resources import CSV, XLSX, read_problem

from .models import Assistant, FeeKind, Price
from .resources import PRICE_COLUMNS, AssistantResource, PriceResource, price_problems


class CatalogImportExportMixin(ImportExportMixin):
    """CSV and XLSX only, German messages for unreadable files, all-or-nothing imports."""

    formats = [CSV, XLSX]
    to_encoding = "utf-8-sig"  # with a BOM, Excel opens the CSV with the right umlauts

    def add_data_read_fail_error_to_form(self, form, e):
        form.add_error("import_file", read_problem(e))

    def get_export_data(self, file_format, request, queryset, **kwargs):
        # import-export keeps native numbers and dates only for its own XLSX class (an
        # exact type check), so the same for ours: -5.00 stays a number, not text.
        if not self.has_export_permission(request):
            raise PermissionDenied
        data = self.get_data_for_export(
            request, queryset, force_native_type=file_format.is_binary(), **kwargs
        )
        export_data = file_format.export_data(data)
        if not file_format.is_binary() and kwargs.get("encoding"):
            export_data = export_data.encode(kwargs["encoding"])
        return export_data

    def get_import_data_kwargs(self, **kwargs):
        kwargs = super().get_import_data_kwargs(**kwargs)
        # The confirmed import runs the file again; if a row fails now (the catalog
        # changed since the preview), everything is rolled back, not just that row.
        kwargs["rollback_on_validation_errors"] = True
        return kwargs

    def process_result(self, result, request):
        if result.has_errors() or result.has_validation_errors():
            messages.error(
                request,
                "Der Import wurde abgebrochen, es wurde nichts übernommen: beim Speichern sind Fehler "
                "aufgetreten (hat sich der Katalog seit der Vorschau geändert?). Bitte die Datei erneut "
                "hochladen und die Vorschau prüfen.",
            )
            return HttpResponseRedirect(reverse("admin:{}_{}_import".format(*self.get_model_info())))
        return super().process_result(result, request)


class PrettyJSONField(forms.JSONField):
    """The configuration template indented, so it can be read and edited in the admin."""

    def prepare_value(self, value):
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, ensure_ascii=False, indent=2, cls=self.encoder)


class PriceForm(forms.ModelForm):
    class Meta:
        model = Price
        fields = PRICE_COLUMNS

    def clean(self):
        cleaned = super().clean()
        problems = price_problems(
            net_amount=cleaned.get("net_amount"),
            vat_rate=cleaned.get("vat_rate"),
            valid_from=cleaned.get("valid_from"),
            valid_until=cleaned.get("valid_until"),
            population_min=cleaned.get("population_min"),
            population_max=cleaned.get("population_max"),
        )
        for name, message in problems.items():
            if name in self.fields:
                self.add_error(name, message)
        return cleaned


def _overlaps(a: Price, b: Price) -> bool:
    """The rule of the exclusion constraint ``price_no_overlap``: inclusive ranges, empty end = open."""
    if a.fee_kind_id != b.fee_kind_id:
        return False
    dates = (a.valid_until is None or b.valid_from <= a.valid_until) and (
        b.valid_until is None or a.valid_from <= b.valid_until
    )
    bands = (a.population_max is None or b.population_min <= a.population_max) and (
        b.population_max is None or a.population_min <= b.population_max
    )
    return dates and bands


def _label(price: Price) -> str:
    return f"{price.fee_kind_id} ab {price.valid_from:%d.%m.%Y}, {price.band_label}"


class PriceInlineFormSet(forms.BaseInlineFormSet):
    """Overlaps between rows of the same form are caught here, not by the database.

    In an inline the assistant is excluded from each form's model validation, so the
    exclusion constraint is not checked per row; saving would end in an IntegrityError.
    """

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        kept = [
            form.instance
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE") and form.instance.valid_from
        ]
        in_form = {form.instance.pk for form in self.forms if form.instance.pk}
        stored = []
        if self.instance.pk:
            stored = list(Price.objects.filter(assistant=self.instance).exclude(pk__in=in_form))
        message = next(
            c for c in Price._meta.constraints if c.name == "price_no_overlap"
        ).violation_error_message
        problems = []
        for i, price in enumerate(kept):
            for other in kept[i + 1 :] + stored:
                if _overlaps(price, other):
                    problems.append(f"{message} ({_label(price)} / {_label(other)})")
        if problems:
            raise ValidationError(problems)


class PriceInline(admin.TabularInline):
    model = Price
    form = PriceForm
    formset = PriceInlineFormSet
    extra = 0
    fields = (
        "fee_kind",
        "net_amount",
        "vat_rate",
        "valid_from",
        "valid_until",
        "population_min",
        "population_max",
        "is_sample",
    )
    ordering = ("fee_kind__position", "valid_from", "population_min")


@admin.register(Assistant)
class AssistantAdmin(CatalogImportExportMixin, SimpleHistoryAdmin):
    resource_classes = [AssistantResource]
    list_display = ("title", "slug", "category", "status", "themenfeld", "version")
    list_filter = ("category", "status", "themenfeld")
    search_fields = ("title", "slug", "leika_keys", "short_description", "description")
    search_help_text = "Suche in Titel, Kennung, LeiKa-Schlüssel und Beschreibung"
    prepopulated_fields = {"slug": ("title",)}
    readonly_fields = ("created", "updated")
    list_per_page = 50
    inlines = [PriceInline]
    formfield_overrides = {
        models.JSONField: {
            "form_class": PrettyJSONField,
            "widget": forms.Textarea(attrs={"rows": 18, "cols": 90, "style": "font-family: monospace"}),
        }
    }
    fieldsets = (
        (None, {"fields": ("title", "slug", "short_description", "description")}),
        (
            "Einordnung",
            {"fields": ("themenfeld", "leika_keys", "category", "status", "expected_date", "version")},
        ),
        (
            "Konfiguration",
            {
                "fields": ("config_schema",),
                "description": "JSON Schema dessen, was die Kommune nach der Bereitstellung ausfüllt.",
            },
        ),
        ("Protokoll", {"fields": ("created", "updated"), "classes": ("collapse",)}),
    )


class ValidityFilter(admin.SimpleListFilter):
    title = "Gültigkeit"
    parameter_name = "gueltig"

    def lookups(self, request, model_admin):
        return (("heute", "heute gültig"), ("kuenftig", "künftig"), ("abgelaufen", "abgelaufen"))

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == "heute":
            return queryset.filter(valid_from__lte=today).exclude(valid_until__lt=today)
        if self.value() == "kuenftig":
            return queryset.filter(valid_from__gt=today)
        if self.value() == "abgelaufen":
            return queryset.filter(valid_until__lt=today)
        return queryset


@admin.register(Price)
class PriceAdmin(CatalogImportExportMixin, SimpleHistoryAdmin):
    resource_classes = [PriceResource]
    form = PriceForm
    list_display = ("assistant", "fee_kind", "net", "vat", "valid_from", "valid_until", "band", "is_sample")
    list_filter = ("fee_kind", ValidityFilter, "is_sample", "assistant__category")
    search_fields = ("assistant__title", "assistant__slug")
    search_help_text = "Suche nach Titel oder Kennung des Assistenten"
    autocomplete_fields = ("assistant",)
    list_select_related = ("assistant", "fee_kind")
    list_per_page = 100

    @admin.display(description="Nettobetrag", ordering="net_amount")
    def net(self, price: Price) -> str:
        return format_eur(price.net_amount)

    @admin.display(description="USt.", ordering="vat_rate")
    def vat(self, price: Price) -> str:
        return format_percent(price.vat_rate)

    @admin.display(description="Einwohnerband", ordering="population_min")
    def band(self, price: Price) -> str:
        return price.band_label


@admin.register(FeeKind)
class FeeKindAdmin(admin.ModelAdmin):
    list_display = ("label", "code", "recurrence", "position")
    list_filter = ("recurrence",)
    search_fields = ("code", "label")
    ordering = ("position", "code")
