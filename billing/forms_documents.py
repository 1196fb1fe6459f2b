"""Forms of the document pages: the staff filter and the credit note."""

from __future__ import annotations

from django import forms

from billing.domain.money import format_eur
from tenants.models import Municipality

from .models import DocumentKind, DocumentStatus


class DocumentFilterForm(forms.Form):
    kommune = forms.ModelChoiceField(
        label="Kommune",
        required=False,
        queryset=Municipality.objects.none(),
        to_field_name="ags",
        empty_label="alle",
        error_messages={"invalid_choice": "Bitte wählen Sie eine Kommune aus der Liste."},
    )
    art = forms.ChoiceField(
        label="Art",
        required=False,
        choices=[("", "alle"), *DocumentKind.choices],
        error_messages={"invalid_choice": "Bitte wählen Sie eine Belegart aus der Liste."},
    )
    jahr = forms.TypedChoiceField(
        label="Jahr",
        required=False,
        coerce=int,
        empty_value=None,
        choices=[],
        error_messages={"invalid_choice": "Für dieses Jahr gibt es keine Belege."},
    )
    nummer = forms.CharField(
        label="Belegnummer",
        required=False,
        max_length=20,
        help_text="ganz oder in Teilen, z. B. RE-2025 oder 000017",
        widget=forms.TextInput(attrs={"type": "search"}),
    )

    def __init__(self, *args, years: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kommune"].queryset = Municipality.objects.filter(
            invoices__status=DocumentStatus.ISSUED
        ).distinct()
        self.fields["jahr"].choices = [("", "alle"), *((y, str(y)) for y in years)]

    def filters(self) -> dict:
        """The selector's filters; invalid fields (shown as errors) filter nothing."""
        if not self.is_bound:
            return {}
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "municipality": data.get("kommune"),
            "kind": data.get("art") or "",
            "year": data.get("jahr"),
            "number": data.get("nummer") or "",
        }


class CreditNoteForm(forms.Form):
    reason = forms.CharField(
        label="Grund der Gutschrift",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Steht auf der Gutschrift und im Protokoll der Rechnung.",
        error_messages={"required": "Bitte geben Sie den Grund der Gutschrift an."},
    )
    lines = forms.TypedMultipleChoiceField(
        label="Positionen",
        required=False,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        help_text="Ohne Auswahl werden alle noch nicht gutgeschriebenen Positionen gutgeschrieben.",
        error_messages={"invalid_choice": "Diese Position kann nicht (mehr) gutgeschrieben werden."},
    )

    def __init__(self, *args, lines, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lines"].choices = [
            (
                line.pk,
                f"Pos. {line.position}: {line.description} – {format_eur(line.net_due)} netto",
            )
            for line in lines
        ]

    def line_ids(self) -> list[int] | None:
        """The chosen lines, or None for all that are left."""
        return self.cleaned_data.get("lines") or None
