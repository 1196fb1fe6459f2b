from datetime import date

from django import forms

from .models import FundingProgramme, Tranche, TrancheStatus


class SimulationForm(forms.Form):
    MODE_CHOICES = [
        ("extend", "Programm verlängern (neuer Zeitraum mit eigener Förderquote)"),
        ("draft", "Entwurf eines Programms zusätzlich wirken lassen"),
        ("reject", "Vorläufige Tranche als abgelehnt annehmen"),
    ]
    mode = forms.ChoiceField(
        label="Szenario", choices=MODE_CHOICES, widget=forms.RadioSelect, initial="extend"
    )
    programme = forms.ModelChoiceField(
        label="Programm",
        queryset=FundingProgramme.objects.filter(is_draft=False),
        required=False,
        help_text="für „verlängern“",
    )
    start = forms.DateField(label="Beginn", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="Ende", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    percent = forms.DecimalField(
        label="Förderquote (%)", min_value=0, max_value=100, decimal_places=2, required=False, initial=50
    )
    fee_kinds = forms.MultipleChoiceField(
        label="Geförderte Gebühren",
        choices=[("maintenance", "Softwarepflege und Support")],
        initial=["maintenance"],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    draft = forms.ModelChoiceField(
        label="Entwurf",
        queryset=FundingProgramme.objects.filter(is_draft=True),
        required=False,
        help_text="für „Entwurf“",
    )
    tranche = forms.ModelChoiceField(
        label="Tranche",
        queryset=Tranche.objects.filter(status=TrancheStatus.PROVISIONAL),
        required=False,
        help_text="für „ablehnen“",
    )
    year_from = forms.IntegerField(label="Jahre von", min_value=2000, max_value=2100)
    year_to = forms.IntegerField(label="bis", min_value=2000, max_value=2100)

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year_from"].initial = today.year
        self.fields["year_to"].initial = today.year + 1
        self.fields["start"].initial = date(today.year, 1, 1)
        self.fields["end"].initial = date(today.year, 12, 31)

    def clean(self):
        data = super().clean()
        mode = data.get("mode")
        if mode == "extend":
            for name in ("programme", "start", "end", "percent"):
                if data.get(name) in (None, ""):
                    self.add_error(name, "Für eine Verlängerung bitte angeben.")
            if data.get("start") and data.get("end") and data["end"] < data["start"]:
                self.add_error("end", "Das Ende liegt vor dem Beginn.")
            if not data.get("fee_kinds"):
                self.add_error("fee_kinds", "Bitte mindestens eine Gebührenart wählen.")
        elif mode == "draft" and not data.get("draft"):
            self.add_error("draft", "Bitte einen Entwurf wählen (Förderprogramm mit „Entwurf“ angelegt).")
        elif mode == "reject" and not data.get("tranche"):
            self.add_error("tranche", "Bitte eine vorläufige Tranche wählen.")
        if data.get("year_from") and data.get("year_to"):
            if data["year_to"] < data["year_from"]:
                self.add_error("year_to", "„bis“ liegt vor „von“.")
            elif data["year_to"] - data["year_from"] > 10:
                self.add_error("year_to", "Höchstens elf Jahre auf einmal.")
        return data
