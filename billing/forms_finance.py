"""Forms of the finance area: filters, the claim's selection, the yearly run and the period close."""

from __future__ import annotations

import re
from datetime import date

from django import forms

from tenants.models import Municipality

from .models import FundingProgramme, Tranche
from .selectors_finance import ReconciliationState

DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d.%m.%Y"]
DATE_ERRORS = {
    "required": "Bitte ein Datum angeben.",
    "invalid": "Bitte ein gültiges Datum angeben (TT.MM.JJJJ).",
}


def _date_field(label: str, **kwargs) -> forms.DateField:
    return forms.DateField(
        label=label,
        input_formats=DATE_INPUT_FORMATS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages=DATE_ERRORS,
        **kwargs,
    )


class ReconciliationFilterForm(forms.Form):
    state = forms.ChoiceField(
        label="Stand",
        required=False,
        choices=[("", "alle")] + list(ReconciliationState.choices),
        error_messages={"invalid_choice": "Bitte einen Stand aus der Liste wählen."},
    )
    municipality = forms.ModelChoiceField(
        label="Kommune",
        required=False,
        queryset=Municipality.objects.exclude(schema_name="public").order_by("short_name"),
        empty_label="alle",
        error_messages={"invalid_choice": "Diese Kommune gibt es nicht."},
    )
    year = forms.TypedChoiceField(
        label="Rechnungsjahr",
        required=False,
        coerce=int,
        empty_value=None,
        error_messages={"invalid_choice": "Für dieses Jahr gibt es keine Rechnungen."},
    )

    def __init__(self, *args, years: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = [("", "alle")] + [(y, str(y)) for y in years]

    def filters(self) -> dict:
        """The selector's filters; a field with an error filters nothing (and shows the error)."""
        if not self.is_bound:
            return {}
        self.is_valid()
        data = self.cleaned_data
        return {
            "state": data.get("state") or "",
            "municipality": data.get("municipality"),
            "year": data.get("year"),
        }


class ClaimForm(forms.Form):
    programme = forms.ModelChoiceField(
        label="Förderprogramm",
        queryset=FundingProgramme.objects.filter(is_draft=False).order_by("name"),
        empty_label=None,
        error_messages={
            "required": "Bitte ein Förderprogramm wählen.",
            "invalid_choice": "Dieses Förderprogramm gibt es nicht.",
        },
    )
    tranche = forms.ModelChoiceField(
        label="Tranche",
        required=False,
        queryset=Tranche.objects.select_related("programme").order_by("programme__name", "start"),
        empty_label="alle Tranchen des Programms",
        error_messages={"invalid_choice": "Diese Tranche gibt es nicht."},
    )
    von = _date_field("Belegdatum von")
    bis = _date_field("Belegdatum bis")

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["von"].initial = date(today.year, 1, 1)
        self.fields["bis"].initial = today
        self.fields["tranche"].label_from_instance = lambda t: f"{t.programme.name}: {t.name}"

    def clean(self):
        data = super().clean()
        programme, tranche = data.get("programme"), data.get("tranche")
        if programme and tranche and tranche.programme_id != programme.pk:
            self.add_error("tranche", "Diese Tranche gehört nicht zum gewählten Förderprogramm.")
        if data.get("von") and data.get("bis") and data["von"] > data["bis"]:
            self.add_error("bis", "„bis“ liegt vor „von“.")
        return data


class BillingRunForm(forms.Form):
    FIRST_YEAR = 2020

    year = forms.IntegerField(label="Abrechnungsjahr")

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        last = today.year + 1
        field = self.fields["year"]
        field.initial = today.year
        field.widget.attrs.update(min=self.FIRST_YEAR, max=last)
        field.help_text = f"{self.FIRST_YEAR} bis {last}"
        field.error_messages.update(
            required="Bitte ein Abrechnungsjahr angeben.",
            invalid="Bitte ein Jahr als Zahl angeben, z. B. 2025.",
        )
        self.last = last

    def clean_year(self) -> int:
        year = self.cleaned_data["year"]
        if not self.FIRST_YEAR <= year <= self.last:
            raise forms.ValidationError(
                "Abgerechnet werden die Jahre %(first)s bis %(last)s.",
                code="range",
                params={"first": self.FIRST_YEAR, "last": self.last},
            )
        return year


_MONTH_PATTERNS = (
    re.compile(r"(?P<year>\d{4})-(?P<month>\d{1,2})"),  # <input type="month">
    re.compile(r"(?P<month>\d{1,2})[./](?P<year>\d{4})"),  # 03/2025, 03.2025
)


class MonthField(forms.CharField):
    """A calendar month: ``2025-03`` (what ``<input type="month">`` sends), ``03/2025`` or
    ``03.2025``; cleaned to the first day of the month."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "JJJJ-MM"})
    default_error_messages = {"invalid": "Bitte einen Monat angeben (JJJJ-MM, z. B. 2025-03)."}

    def to_python(self, value) -> date | None:
        text = super().to_python(value).strip()
        if not text:
            return None
        for pattern in _MONTH_PATTERNS:
            match = pattern.fullmatch(text)
            if match and 1 <= int(match["month"]) <= 12:
                return date(int(match["year"]), int(match["month"]), 1)
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")

    def prepare_value(self, value):
        return f"{value:%Y-%m}" if isinstance(value, date) else value


class PeriodCloseForm(forms.Form):
    month = MonthField(
        label="Monat",
        help_text="z. B. 2025-03 oder 03/2025",
        error_messages={"required": "Bitte einen Monat angeben."},
    )
    note = forms.CharField(
        label="Notiz",
        required=False,
        max_length=200,
        error_messages={"max_length": "Die Notiz darf höchstens %(limit_value)d Zeichen lang sein."},
    )

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        first = today.replace(day=1)
        self.fields["month"].initial = date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)
