"""The configuration form generated from an instance's JSON Schema, and the schema's German
messages. No database: the form only needs the schema."""

from __future__ import annotations

import pytest
from django import forms

from shop.demo_catalog import _base_schema, _specific_fields
from workspace.forms import ConfigurationForm
from workspace.services import configuration_errors

SCHEMA = {
    "type": "object",
    "required": ["zustaendige_stelle", "kontakt_email", "gebuehr", "bearbeitung"],
    "properties": {
        "zustaendige_stelle": {
            "type": "string",
            "title": "Zuständige Stelle",
            "minLength": 2,
            "maxLength": 80,
            "description": "Amt oder Sachgebiet, das die Anträge bearbeitet",
        },
        "kontakt_email": {"type": "string", "title": "Kontakt-E-Mail", "format": "email"},
        "telefon": {"type": "string", "title": "Telefon", "pattern": r"^[0-9 +()/-]{6,30}$"},
        "gebuehr": {"type": "number", "title": "Gebühr in Euro", "minimum": 0, "maximum": 10000},
        "plaetze": {"type": "integer", "title": "Termine pro Tag", "minimum": 1, "default": 10},
        "epayment": {"type": "boolean", "title": "ePayment aktiv", "default": True},
        "bearbeitung": {
            "type": "string",
            "title": "Bearbeitung",
            "enum": ["zentral", "dezentral"],
            "x-enumNames": ["zentral im Bürgeramt", "in den Ortsteilen"],
        },
        "stufe": {"type": "integer", "title": "Stufe", "enum": [1, 2, 3]},
        "kanaele": {
            "type": "array",
            "title": "Kanäle",
            "items": {"enum": ["post", "mail"]},
            "uniqueItems": True,
        },
    },
}

VALID = {
    "zustaendige_stelle": "Bürgeramt",
    "kontakt_email": "buergeramt@leipzig.de",
    "telefon": "0341 123-4567",
    "gebuehr": "12,50",
    "plaetze": "20",
    "epayment": "on",
    "bearbeitung": "zentral",
    "stufe": "2",
    "kanaele": ["post", "mail"],
}


def form(data=None, **kwargs) -> ConfigurationForm:
    return ConfigurationForm(data, schema=SCHEMA, **kwargs)


def test_every_property_becomes_the_right_field_with_german_label_and_help():
    fields = form().fields
    assert list(fields)[:4] == ["zustaendige_stelle", "kontakt_email", "gebuehr", "bearbeitung"]
    text = fields["zustaendige_stelle"]
    assert (text.label, text.required, text.help_text) == (
        "Zuständige Stelle",
        True,
        "Amt oder Sachgebiet, das die Anträge bearbeitet",
    )
    assert isinstance(text.widget, forms.TextInput) and text.widget.attrs["maxlength"] == 80
    assert text.widget.attrs["minlength"] == 2
    assert isinstance(fields["kontakt_email"].widget, forms.EmailInput)
    money = fields["gebuehr"].widget
    assert isinstance(money, forms.NumberInput)
    assert (money.attrs["min"], money.attrs["max"], money.attrs["step"]) == (0, 10000, "any")
    assert fields["plaetze"].widget.attrs["step"] == "1" and not fields["plaetze"].required
    assert isinstance(fields["epayment"], forms.BooleanField) and not fields["epayment"].required
    assert isinstance(fields["bearbeitung"].widget, forms.Select)
    assert list(fields["bearbeitung"].choices) == [
        ("", "– bitte auswählen –"),
        ("zentral", "zentral im Bürgeramt"),
        ("dezentral", "in den Ortsteilen"),
    ]
    assert isinstance(fields["kanaele"].widget, forms.CheckboxSelectMultiple)


def test_rendered_form_marks_required_fields_and_shows_help():
    html = str(form())
    assert 'type="email"' in html and 'type="number"' in html and 'type="checkbox"' in html
    assert 'name="zustaendige_stelle"' in html and "required" in html
    assert "Amt oder Sachgebiet, das die Anträge bearbeitet" in html


def test_initial_values_come_from_the_configuration_else_from_defaults():
    fresh = form()
    assert fresh["epayment"].value() is True and fresh["plaetze"].value() == 10
    stored = form(configuration={"epayment": False, "plaetze": 3, "gebuehr": 12.5, "stufe": 3})
    assert stored["epayment"].value() is False and stored["plaetze"].value() == 3
    assert 'value="12.5"' in str(stored["gebuehr"]) and 'value="3" selected' in str(stored["stufe"])


def test_valid_input_becomes_typed_json():
    valid = form(VALID)
    assert valid.is_valid(), valid.errors
    assert valid.data_for_schema == {
        "zustaendige_stelle": "Bürgeramt",
        "kontakt_email": "buergeramt@leipzig.de",
        "telefon": "0341 123-4567",
        "gebuehr": 12.5,
        "plaetze": 20,
        "epayment": True,
        "bearbeitung": "zentral",
        "stufe": 2,
        "kanaele": ["post", "mail"],
    }


def test_unticked_checkbox_is_false_and_empty_optional_fields_are_left_out():
    data = {**VALID, "telefon": "  ", "plaetze": "", "kanaele": []}
    del data["epayment"]
    valid = form(data)
    assert valid.is_valid(), valid.errors
    assert valid.data_for_schema["epayment"] is False
    assert not {"telefon", "plaetze", "kanaele"} & set(valid.data_for_schema)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("kontakt_email", "keine-adresse", "Bitte geben Sie eine gültige E-Mail-Adresse ein."),
        ("kontakt_email", "a@b", "Bitte geben Sie eine gültige E-Mail-Adresse ein."),
        ("kontakt_email", "", "Dieses Feld ist erforderlich."),
        ("zustaendige_stelle", "", "Dieses Feld ist erforderlich."),
        ("zustaendige_stelle", "A", "Bitte geben Sie mindestens 2 Zeichen ein."),
        ("zustaendige_stelle", "x" * 81, "Bitte geben Sie höchstens 80 Zeichen ein."),
        ("telefon", "ruf an", "Das Format ist ungültig."),
        ("gebuehr", "-1", "Der Wert muss mindestens 0 sein."),
        ("gebuehr", "10000,01", "Der Wert darf höchstens 10.000 sein."),
        ("gebuehr", "zwölf", "Bitte geben Sie eine Zahl ein."),
        ("gebuehr", "", "Dieses Feld ist erforderlich."),
        ("plaetze", "2,5", "Bitte geben Sie eine ganze Zahl ein."),
        ("plaetze", "0", "Der Wert muss mindestens 1 sein."),
        ("bearbeitung", "irgendwo", "Bitte wählen Sie einen der angebotenen Werte."),
        ("bearbeitung", "", "Dieses Feld ist erforderlich."),
        ("kanaele", ["fax"], "Bitte wählen Sie einen der angebotenen Werte."),
    ],
)
def test_each_wrong_value_gets_one_german_message_at_its_field(field, value, message):
    invalid = form({**VALID, field: value})
    assert not invalid.is_valid()
    assert invalid.errors == {field: [message]}


def test_several_errors_at_once_each_at_its_own_field():
    invalid = form({"kontakt_email": "x", "gebuehr": "-5", "epayment": "on"})
    assert not invalid.is_valid()
    assert invalid.errors == {
        "zustaendige_stelle": ["Dieses Feld ist erforderlich."],
        "kontakt_email": ["Bitte geben Sie eine gültige E-Mail-Adresse ein."],
        "gebuehr": ["Der Wert muss mindestens 0 sein."],
        "bearbeitung": ["Dieses Feld ist erforderlich."],
    }


def test_a_draft_may_leave_required_values_out_but_not_have_wrong_ones():
    draft = form({"zustaendige_stelle": "Bürgeramt"}, draft=True)
    assert draft.is_valid(), draft.errors
    assert draft.data_for_schema == {"zustaendige_stelle": "Bürgeramt", "epayment": False}
    wrong = form({"kontakt_email": "x"}, draft=True)
    assert not wrong.is_valid()
    assert wrong.errors == {"kontakt_email": ["Bitte geben Sie eine gültige E-Mail-Adresse ein."]}


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"a": "x"}, {}),
        ({}, {"a": ["Dieses Feld ist erforderlich."]}),
        ({"a": 5}, {"a": ["Bitte geben Sie einen Text ein."]}),
        ({"a": "x", "n": {"tief": -1}}, {"n": ["Der Wert muss mindestens 0 sein."]}),
        ({"a": "x", "extra": 1}, {None: ["Die Konfiguration enthält Angaben, die die Vorlage nicht kennt."]}),
        ({"a": "x", "n": {"tief": 1}, "liste": [1, 1]}, {"liste": ["Jeder Wert darf nur einmal vorkommen."]}),
    ],
)
def test_configuration_errors_speak_german_for_any_schema(data, errors):
    schema = {
        "type": "object",
        "required": ["a"],
        "additionalProperties": False,
        "properties": {
            "a": {"type": "string"},
            "n": {"type": "object", "properties": {"tief": {"type": "number", "minimum": 0}}},
            "liste": {"type": "array", "uniqueItems": True},
        },
    }
    assert configuration_errors(schema=schema, data=data) == errors


def test_objects_without_a_widget_are_typed_as_json():
    schema = {"type": "object", "properties": {"n": {"type": "object", "title": "Erweitert"}}}
    ok = ConfigurationForm({"n": '{"a": 1}'}, schema=schema)
    assert ok.is_valid() and ok.data_for_schema == {"n": {"a": 1}}
    bad = ConfigurationForm({"n": "{kaputt"}, schema=schema)
    assert not bad.is_valid() and bad.errors == {"n": ["Bitte geben Sie gültiges JSON ein."]}


def test_a_broken_template_is_reported_not_raised():
    errors = configuration_errors(schema={"type": "object", "properties": {"a": {"type": 7}}}, data={})
    assert errors == {
        None: ["Die Konfigurationsvorlage ist fehlerhaft. Bitte wenden Sie sich an den Verband."]
    }


@pytest.mark.parametrize("name", ["Hundesteuer Anmeldung", "Bewohnerparkausweis", "Gewerbeanmeldung", "x"])
def test_every_demo_catalog_template_yields_a_working_form(name):
    """The real templates of the demo catalog: a filled-in form validates, an empty one does not."""
    schema = _base_schema(name, fee=True)
    schema["properties"].update(_specific_fields(name))
    empty = ConfigurationForm({}, schema=schema)
    assert not empty.is_valid()
    assert set(empty.errors) == set(schema["required"])
    filled = {
        "zustaendige_stelle": "Ordnungsamt",
        "kontakt_email": "ordnungsamt@example.org",
        "gebuehr": "25",
        "steuersatz_ersthund": "96",
        "parkzonen": "A, B",
        "epayment": "on",
    }
    ok = ConfigurationForm(filled, schema=schema)
    assert ok.is_valid(), ok.errors
    assert configuration_errors(schema=schema, data=ok.data_for_schema) == {}
