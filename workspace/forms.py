"""Forms of the municipality's workspace.

:class:`ConfigurationForm` is generated from an instance's configuration template (a JSON
Schema): one field per top-level property, in the catalog's order. The fields only parse what
was typed; whether the result is valid is decided by the schema alone
(``workspace.services.configuration_errors``, jsonschema Draft 2020-12), whose German messages
are put next to the fields they belong to. So the form, the service and the catalog's field
table never disagree about a rule.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError

from shop.selectors import config_fields

from .services import REQUIRED_MESSAGE, configuration_errors

EMPTY_CHOICE_LABEL = "– bitte auswählen –"
INVALID_CHOICE_MESSAGE = "Bitte wählen Sie einen der angebotenen Werte."


class _SchemaDecidesRequired:
    """``required`` only marks the field (label, ``required``/``aria`` attributes); an empty
    value is reported by the schema with its own message, not by Django."""

    def validate(self, value):
        if value in self.empty_values:
            return
        super().validate(value)


class TextField(_SchemaDecidesRequired, forms.CharField):
    pass


class NumberField(_SchemaDecidesRequired, forms.Field):
    """A JSON number: accepts "12,5" as well as "12.5"; an integral value becomes an ``int``."""

    widget = forms.NumberInput
    default_error_messages = {"invalid": "Bitte geben Sie eine Zahl ein."}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip().replace(" ", "").replace(",", ".")
        if not text:
            return None
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        if not number.is_finite() or not math.isfinite(float(number)):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return int(number) if number == number.to_integral_value() else float(number)

    def prepare_value(self, value):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value


class ChoiceField(_SchemaDecidesRequired, forms.ChoiceField):
    """An ``enum``: the option values are the enum's values as text, mapped back to the
    original JSON values (numbers stay numbers)."""

    def __init__(self, *, values: list, labels: list[str], **kwargs):
        self.values_by_key = {_choice_key(value): value for value in values}
        choices = [("", EMPTY_CHOICE_LABEL), *zip(self.values_by_key, labels, strict=True)]
        super().__init__(choices=choices, error_messages={"invalid_choice": INVALID_CHOICE_MESSAGE}, **kwargs)

    def clean(self, value):
        key = super().clean(value)
        return self.values_by_key.get(key) if key else None

    def prepare_value(self, value):
        return _choice_key(value) if value is not None and value != "" else ""


class MultipleChoiceField(_SchemaDecidesRequired, forms.MultipleChoiceField):
    """An array of ``enum`` items, as checkboxes."""

    widget = forms.CheckboxSelectMultiple

    def __init__(self, *, values: list, labels: list[str], **kwargs):
        self.values_by_key = {_choice_key(value): value for value in values}
        super().__init__(
            choices=list(zip(self.values_by_key, labels, strict=True)),
            error_messages={"invalid_choice": INVALID_CHOICE_MESSAGE},
            **kwargs,
        )

    def clean(self, value):
        keys = super().clean(value)
        return [self.values_by_key[key] for key in keys] or None

    def prepare_value(self, value):
        return [_choice_key(item) for item in value] if isinstance(value, list) else value


class JsonField(_SchemaDecidesRequired, forms.CharField):
    """Anything the generator has no widget for (objects, free arrays): typed as JSON."""

    widget = forms.Textarea(attrs={"rows": 4, "spellcheck": "false"})

    def to_python(self, value):
        text = super().to_python(value)
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError:
            raise ValidationError("Bitte geben Sie gültiges JSON ein.", code="invalid") from None

    def prepare_value(self, value):
        if value is None or isinstance(value, str):
            return value
        return json.dumps(value, ensure_ascii=False, indent=2)


def _choice_key(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _choice_label(value) -> str:
    if isinstance(value, bool):
        return "ja" if value else "nein"
    if isinstance(value, float | int):
        return str(value).replace(".", ",")
    return "–" if value is None else str(value)


def _labels(spec: dict, values: list) -> list[str]:
    names = spec.get("x-enumNames") or spec.get("enumNames")
    if isinstance(names, list) and len(names) == len(values):
        return [str(name) for name in names]
    return [_choice_label(value) for value in values]


def _main_type(spec: dict) -> str:
    kind = spec.get("type", "")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "")
    return kind if isinstance(kind, str) else ""


def _field_for(spec: dict, *, label: str, required: bool) -> forms.Field:
    common = {"label": label, "required": required, "help_text": str(spec.get("description") or "")}
    kind = _main_type(spec)
    if isinstance(spec.get("enum"), list) and spec["enum"]:
        return ChoiceField(values=spec["enum"], labels=_labels(spec, spec["enum"]), **common)
    if kind == "boolean":
        common["required"] = False  # a checkbox is always either ticked or not
        return forms.BooleanField(**common)
    if kind in ("number", "integer"):
        attrs = {"step": "1" if kind == "integer" else "any", "inputmode": "decimal"}
        if kind == "integer":
            attrs["inputmode"] = "numeric"
        if isinstance(spec.get("multipleOf"), int | float):
            attrs["step"] = spec["multipleOf"]
        for key, attr in (("minimum", "min"), ("maximum", "max")):
            if isinstance(spec.get(key), int | float) and not isinstance(spec.get(key), bool):
                attrs[attr] = spec[key]
        return NumberField(widget=forms.NumberInput(attrs=attrs), **common)
    items = spec.get("items")
    if kind == "array" and isinstance(items, dict) and isinstance(items.get("enum"), list):
        return MultipleChoiceField(values=items["enum"], labels=_labels(items, items["enum"]), **common)
    if kind == "string":
        attrs = {}
        if isinstance(spec.get("maxLength"), int):
            attrs["maxlength"] = spec["maxLength"]
        if isinstance(spec.get("minLength"), int) and spec["minLength"] > 0:
            attrs["minlength"] = spec["minLength"]
        text_format = spec.get("format")
        if text_format == "email":
            widget = forms.EmailInput(attrs={**attrs, "autocomplete": "email"})
        elif text_format == "uri":
            widget = forms.URLInput(attrs=attrs)
        elif text_format == "date":
            widget = forms.DateInput(attrs={**attrs, "type": "date"})
        elif spec.get("x-multiline") or spec.get("maxLength", 0) >= 500:
            widget = forms.Textarea(attrs={**attrs, "rows": 4})
        else:
            widget = forms.TextInput(attrs=attrs)
        # Whitespace around a value is never meant; the schema then sees what is stored.
        return TextField(widget=widget, strip=True, **common)
    return JsonField(**common)


class ConfigurationForm(forms.Form):
    """The configuration form of one instance, generated from its JSON Schema.

    ``configuration`` (the stored values) or else each property's ``default`` fills the form.
    ``draft``: values that are missing are allowed (the instance stays "einzurichten"); wrong
    values never are. After ``is_valid()``, :attr:`data_for_schema` is the JSON object to store.
    """

    def __init__(self, *args, schema: dict, configuration: dict | None = None, draft: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.schema = schema if isinstance(schema, dict) else {}
        self.draft = draft
        configuration = configuration if isinstance(configuration, dict) else {}
        properties = self.schema.get("properties") or {}
        for config_field in config_fields(self.schema):
            spec = properties.get(config_field.name)
            spec = spec if isinstance(spec, dict) else {}
            field = _field_for(spec, label=config_field.title, required=config_field.required)
            if config_field.name in configuration:
                field.initial = configuration[config_field.name]
            elif "default" in spec:
                field.initial = spec["default"]
            self.fields[config_field.name] = field
        self.data_for_schema: dict = {}

    def clean(self):
        cleaned = super().clean()
        data = {}
        for name in self.fields:
            if self.has_error(name):
                continue
            value = cleaned.get(name)
            if value is None or value == "" or value == []:
                continue  # absent: the schema says whether that is allowed
            data[name] = value  # an unticked checkbox is False: present, not missing
        for field, messages in configuration_errors(schema=self.schema, data=data).items():
            target = field if field in self.fields else None
            if target is not None and self.has_error(target):
                continue  # already reported while parsing
            if self.draft and messages == [REQUIRED_MESSAGE]:
                continue
            for message in messages:
                self.add_error(target, message)
        self.data_for_schema = data
        return cleaned


class CancelForm(forms.Form):
    """Confirms a subscription's cancellation with the end date the user was shown."""

    ends_on = forms.DateField(widget=forms.HiddenInput)
    confirm = forms.BooleanField(
        label="Ja, ich kündige dieses Abonnement zum angegebenen Datum.",
        error_messages={"required": "Bitte bestätigen Sie die Kündigung."},
    )
