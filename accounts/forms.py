from django import forms
from django.contrib.auth.forms import AuthenticationForm

from .roles import MUNICIPAL_ROLES, Role

MUNICIPAL_ROLE_CHOICES = [(role.value, role.label) for role in Role if role in MUNICIPAL_ROLES]


class LoginForm(AuthenticationForm):
    username = forms.EmailField(
        label="E-Mail", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )
    error_messages = {
        "invalid_login": "E-Mail-Adresse oder Passwort sind falsch. Bitte prüfen Sie Ihre Eingabe.",
        "inactive": "Dieses Konto ist deaktiviert.",
    }


class InviteForm(forms.Form):
    email = forms.EmailField(label="E-Mail")
    full_name = forms.CharField(label="Name", max_length=150, required=False)
    roles = forms.MultipleChoiceField(
        label="Rollen",
        choices=MUNICIPAL_ROLE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Bitte wählen Sie mindestens eine Rolle."},
    )


class UserEditForm(forms.Form):
    roles = forms.MultipleChoiceField(
        label="Rollen", choices=MUNICIPAL_ROLE_CHOICES, widget=forms.CheckboxSelectMultiple, required=False
    )
    is_active = forms.BooleanField(label="Konto aktiv", required=False)
