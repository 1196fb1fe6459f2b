"""Forms of the cart, order and staff order pages. They check input only; the ordering
services (``shop.ordering``, ``shop.provisioning``) decide and write."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.forms import formset_factory

from .models import AssistantCategory, FeeKind, OrderLine, OrderStatus

MAX_AMOUNT = Decimal("9999999999.99")  # OrderLinePrice.net_amount: 12 digits, 2 of them cents
FREE_PRICE_ROWS = 3  # empty rows per individual line (works without JavaScript)


class OrderSubmitForm(forms.Form):
    """Submitting the cart. The hidden key is made when the form is rendered, so a double click,
    a reloaded form or a second tab submit the same key and get the same order."""

    idempotency_key = forms.CharField(
        widget=forms.HiddenInput,
        max_length=64,
        error_messages={
            "required": "Das Formular ist ungültig. Bitte laden Sie den Warenkorb neu.",
            "max_length": "Das Formular ist ungültig. Bitte laden Sie den Warenkorb neu.",
        },
    )
    note = forms.CharField(
        label="Anmerkung zur Bestellung",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="freiwillig, z. B. ein Aktenzeichen oder ein Hinweis für die Freigabe",
        error_messages={"max_length": "Die Anmerkung darf höchstens %(limit_value)d Zeichen lang sein."},
    )


class RejectForm(forms.Form):
    reason = forms.CharField(
        label="Grund der Ablehnung",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Die einreichende Person erhält den Grund per E-Mail.",
        error_messages={
            "required": "Bitte geben Sie einen Grund für die Ablehnung an.",
            "max_length": "Der Grund darf höchstens %(limit_value)d Zeichen lang sein.",
        },
    )


# --- staff area ----------------------------------------------------------------------------------


class StaffOrderFilterForm(forms.Form):
    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[("", "alle"), *OrderStatus.choices],
        error_messages={"invalid_choice": "Bitte wählen Sie einen Status aus der Liste."},
    )
    q = forms.CharField(
        label="Kommune",
        required=False,
        max_length=120,
        help_text="Name, AGS (auch die ersten Ziffern) oder Bestellnummer",
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    von = forms.DateField(
        label="bestellt ab",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Bitte ein Datum angeben (TT.MM.JJJJ)."},
    )
    bis = forms.DateField(
        label="bestellt bis",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Bitte ein Datum angeben (TT.MM.JJJJ)."},
    )

    def clean(self):
        data = super().clean()
        if data.get("von") and data.get("bis") and data["bis"] < data["von"]:
            self.add_error("bis", "„bestellt bis“ liegt vor „bestellt ab“.")
        return data

    def filters(self) -> dict:
        """The selector's filters; invalid fields (shown as errors) filter nothing."""
        if not self.is_bound:
            return {}
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "status": data.get("status") or "",
            "query": data.get("q") or "",
            "date_from": data.get("von") if "von" not in self.errors else None,
            "date_to": data.get("bis") if "bis" not in self.errors else None,
        }


_GERMAN_AMOUNT = re.compile(r"^\d{1,3}(\.\d{3})*(,\d+)?$|^\d+(,\d+)?$")
_PLAIN_AMOUNT = re.compile(r"^\d+(\.\d+)?$")


class EuroField(forms.CharField):
    """A net amount in euros as Germans write it ("4.800,00", "4800,5", "4800"); a plain
    "4800.00" is accepted too. Never negative, at most cents (FUNDING.md: 2 places)."""

    default_error_messages = {
        "invalid": "Bitte geben Sie einen Betrag in Euro an, z. B. 1.200,00.",
        "negative": "Ein Preis darf nicht negativ sein.",
        "cents": "Bitte höchstens zwei Nachkommastellen (Cent) angeben.",
        "too_large": "Der Betrag ist zu groß.",
    }

    def to_python(self, value) -> Decimal | None:
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        if len(text) > 30:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        text = text.replace("€", "").replace("\u00a0", "").replace(" ", "").strip()
        negative = text.startswith(("-", "−"))
        if negative:
            raise forms.ValidationError(self.error_messages["negative"], code="negative")
        if _GERMAN_AMOUNT.match(text):
            text = text.replace(".", "").replace(",", ".")
        elif not _PLAIN_AMOUNT.match(text):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        if amount != amount.quantize(Decimal("0.01")):
            raise forms.ValidationError(self.error_messages["cents"], code="cents")
        if amount > MAX_AMOUNT:
            raise forms.ValidationError(self.error_messages["too_large"], code="too_large")
        return amount.quantize(Decimal("0.01"))


class FreePriceForm(forms.Form):
    """One free price line of an individual development (never subsidised, FUNDING.md)."""

    fee_kind = forms.ChoiceField(label="Gebührenart")
    net_amount = EuroField(
        label="Nettobetrag (€)",
        error_messages={"required": "Bitte geben Sie den Nettobetrag an."},
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    description = forms.CharField(
        label="Beschreibung",
        max_length=200,
        error_messages={
            "required": "Bitte beschreiben Sie die Leistung, z. B. „Anpassung nach Aufwand, 50 Stunden“.",
            "max_length": "Die Beschreibung darf höchstens %(limit_value)d Zeichen lang sein.",
        },
    )

    def __init__(self, *args, fee_kinds: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["fee_kind"].choices = fee_kinds
        self.fields["fee_kind"].error_messages["invalid_choice"] = "Bitte wählen Sie eine Gebührenart."
        # an untouched row is left out (empty_permitted); the preselected kind alone is no input
        self.fields["fee_kind"].initial = fee_kinds[0][0] if fee_kinds else None


FreePriceFormSet = formset_factory(
    FreePriceForm, extra=FREE_PRICE_ROWS, max_num=FREE_PRICE_ROWS, validate_max=True
)


class AcceptForm:
    """Accepting an approved order: the free price lines per individual line, in one POST.

    ``individual_prices()`` is what ``order_accept`` takes: ``{line_id: [(kind, net, text)]}``.
    """

    def __init__(self, data=None, *, lines: list[OrderLine]):
        kinds = list(FeeKind.objects.order_by("position", "code").values_list("code", "label"))
        # the agreed work first: "customization" is what individual developments are billed as
        kinds.sort(key=lambda kind: kind[0] != "customization")
        self.lines = [line for line in lines if line.assistant_category == AssistantCategory.INDIVIDUAL]
        self.formsets = [
            (
                line,
                FreePriceFormSet(
                    data,
                    prefix=f"zeile-{line.pk}",
                    form_kwargs={"fee_kinds": kinds},
                ),
            )
            for line in self.lines
        ]
        self.errors: list[str] = []

    def is_valid(self) -> bool:
        valid = all(formset.is_valid() for _, formset in self.formsets)
        if not valid:
            return False
        for line, formset in self.formsets:
            entered = [form for form in formset if form.has_changed() and form.cleaned_data]
            if not entered and not list(line.prices.all()):
                self.errors.append(
                    f"Für „{line.assistant_title}“ fehlt ein Preis: bitte mindestens eine Preiszeile "
                    "eintragen (0,00 €, wenn die Leistung nichts kostet)."
                )
        return not self.errors

    def individual_prices(self) -> dict[int, list[tuple[str, Decimal, str]]]:
        prices: dict[int, list[tuple[str, Decimal, str]]] = {}
        for line, formset in self.formsets:
            rows = [
                (
                    form.cleaned_data["fee_kind"],
                    form.cleaned_data["net_amount"],
                    form.cleaned_data["description"],
                )
                for form in formset
                if form.has_changed() and form.cleaned_data
            ]
            if rows:
                prices[line.pk] = rows
        return prices
