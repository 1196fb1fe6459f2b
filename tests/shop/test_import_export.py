"""Catalog import/export through the admin (django-import-export), against real PostgreSQL.

Preview (dry run) writes nothing, confirming writes everything, one bad row writes
nothing; every kind of bad input has a German message with its line; exports
neutralise spreadsheet formulas and import back unchanged.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from decimal import Decimal
from html import unescape

import openpyxl
import pytest
import tablib
from django.core.files.uploadedfile import SimpleUploadedFile

from core.resources import neutralise_formula, restore_formula
from shop.models import Assistant, FeeKind, Price
from shop.resources import ASSISTANT_COLUMNS, PRICE_COLUMNS, AssistantResource, PriceResource
from tests.factories.shop import CONFIG_SCHEMA, AssistantFactory, PriceFactory

CATALOG = "katalog@kisa.example"
SCHEMA = json.dumps(CONFIG_SCHEMA, ensure_ascii=False)


def _cell(value: str) -> str:
    """One CSV cell, quoted as Excel does."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow([value])
    return buffer.getvalue().strip("\r\n")


def assistant_csv(*rows: dict, columns=ASSISTANT_COLUMNS) -> str:
    base = {
        "slug": "hundesteuer",
        "title": "Hundesteuer anmelden",
        "short_description": "Hund an- oder abmelden.",
        "description": "",
        "themenfeld": "Steuern & Zoll",
        "leika_keys": "99108008001000; 99108008002000",
        "category": "central",
        "status": "available",
        "expected_date": "",
        "version": "1.0",
        "config_schema": SCHEMA,
    }
    lines = [",".join(columns)]
    for row in rows:
        values = {**base, **row}
        lines.append(",".join(_cell(str(values.get(c, ""))) for c in columns))
    return "\n".join(lines) + "\n"


def price_csv(*rows: str, header: str = ",".join(PRICE_COLUMNS)) -> str:
    return "\n".join([header, *rows]) + "\n"


def _formats(client, url: str) -> dict[str, str]:
    page = client.get(url).content.decode()
    return {label: value for value, label in re.findall(r'<option value="(\d+)"[^>]*>(\w+)</option>', page)}


def upload(client, model: str, content: str | bytes, *, name: str = "datei.csv", fmt: str = "csv"):
    url = f"/admin/shop/{model}/import/"
    data = content.encode() if isinstance(content, str) else content
    return client.post(
        url,
        {
            "format": _formats(client, url)[fmt],
            "resource": "0",
            "import_file": SimpleUploadedFile(name, data),
        },
    )


def _hidden(html: str) -> dict:
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))


def confirm(client, model: str, preview_html: str):
    return client.post(f"/admin/shop/{model}/process_import/", _hidden(preview_html))


def text_of(response) -> str:
    return unescape(re.sub(r"\s+", " ", response.content.decode()))


def messages_of(result) -> list[str]:
    """Every problem of an import result as "Zeile N: message" (N = line in the file)."""
    found = [str(error.error) for error in result.base_errors]
    for line, errors in result.row_errors():
        found += [f"Zeile {line}: {error.error}" for error in errors]
    for row in result.invalid_rows:
        for field, errors in row.error_dict.items():
            found += [f"Zeile {row.number}: {field}: {message}" for message in errors]
    return found


@pytest.fixture
def catalog_client(django_db_setup, db, staff_client):
    return staff_client(CATALOG)


# --- dry run, commit, rollback ---------------------------------------------------------


def test_preview_shows_rows_and_writes_nothing_then_confirm_writes(catalog_client):
    content = assistant_csv({}, {"slug": "gewerbe-anmelden", "title": "Gewerbe anmelden", "category": "efa"})
    preview = upload(catalog_client, "assistant", content)
    html = text_of(preview)
    assert preview.status_code == 200
    assert "Hundesteuer anmelden" in html and "Gewerbe anmelden" in html and "Vorschau" in html
    assert 'name="import_file_name"' in preview.content.decode()  # confirm button
    assert not Assistant.objects.filter(slug__in=["hundesteuer", "gewerbe-anmelden"]).exists()

    done = confirm(catalog_client, "assistant", preview.content.decode())
    assert done.status_code == 302
    dog = Assistant.objects.get(slug="hundesteuer")
    assert dog.leika_keys == ["99108008001000", "99108008002000"]
    assert dog.config_schema == CONFIG_SCHEMA
    assert Assistant.objects.get(slug="gewerbe-anmelden").category == "efa"


def test_preview_of_update_shows_a_diff(catalog_client):
    AssistantFactory(slug="hundesteuer", title="Hundesteuer", config_schema=CONFIG_SCHEMA)
    preview = upload(catalog_client, "assistant", assistant_csv({"title": "Hundesteuer anmelden"}))
    html = preview.content.decode()
    assert "<ins" in html and "anmelden" in html  # the changed words are highlighted
    assert Assistant.objects.get(slug="hundesteuer").title == "Hundesteuer"


def test_one_bad_row_and_nothing_is_imported(catalog_client):
    content = assistant_csv({}, {"slug": "gewerbe", "leika_keys": "123"}, {"slug": "parken"})
    preview = upload(catalog_client, "assistant", content)
    html = text_of(preview)
    assert "„123“ ist kein LeiKa-Schlüssel" in html
    assert re.search(r"<td>\s*3\s*</td>", preview.content.decode())  # line 3 of the file (line 1: header)
    assert 'name="import_file_name"' not in preview.content.decode()
    assert not Assistant.objects.filter(slug__in=["hundesteuer", "gewerbe", "parken"]).exists()


def test_confirm_rolls_back_everything_when_a_row_fails_after_the_preview(catalog_client):
    AssistantFactory(slug="hundesteuer")
    content = price_csv(
        "hundesteuer,setup,1200.00,19,2025-01-01,,0,,0",
        "hundesteuer,maintenance,300.00,19,2025-01-01,,0,,0",
    )
    preview = upload(catalog_client, "price", content)
    assert 'name="import_file_name"' in preview.content.decode()
    # meanwhile someone enters a maintenance price that the second row now overlaps
    PriceFactory(
        assistant=Assistant.objects.get(slug="hundesteuer"),
        fee_kind_id="maintenance",
        valid_from=date(2024, 1, 1),
        net_amount=Decimal("250.00"),
    )

    done = confirm(catalog_client, "price", preview.content.decode())
    assert done.status_code == 302 and done["Location"].endswith("/admin/shop/price/import/")
    assert not Price.objects.filter(fee_kind_id="setup", assistant__slug="hundesteuer").exists()
    page = catalog_client.get(done["Location"])
    assert "es wurde nichts übernommen" in text_of(page)


def test_resource_import_is_all_or_nothing(django_db_setup, db):
    dataset = tablib.Dataset().load(assistant_csv({}, {"slug": "kaputt", "category": "bund"}), format="csv")
    result = AssistantResource().import_data(dataset, dry_run=False, rollback_on_validation_errors=True)
    assert result.has_validation_errors()
    assert not Assistant.objects.filter(slug__in=["hundesteuer", "kaputt"]).exists()


# --- bad input: assistants ---------------------------------------------------------------


def _assistant_problems(*rows: dict, columns=ASSISTANT_COLUMNS) -> list[str]:
    dataset = tablib.Dataset().load(assistant_csv(*rows, columns=columns), format="csv")
    before = Assistant.objects.count()
    result = AssistantResource().import_data(dataset, dry_run=True)
    assert Assistant.objects.count() == before
    return messages_of(result)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            {"leika_keys": "99108008001000; 9910800800"},
            "Zeile 3: leika_keys: „9910800800“ ist kein LeiKa-Schlüssel (14 Ziffern",
        ),
        ({"leika_keys": "99108008001000X"}, "ist kein LeiKa-Schlüssel"),
        (
            {"config_schema": '{"type": "object", "properties": '},
            "Zeile 3: config_schema: Die Konfigurationsvorlage ist kein gültiges JSON (Zeile 1, Spalte",
        ),
        ({"config_schema": ""}, "Zeile 3: config_schema: Die Konfigurationsvorlage fehlt"),
        (
            {"config_schema": '{"type": "object", "properties": {"x": {"type": "zahl"}}}'},
            "Zeile 3: config_schema: Die Konfigurationsvorlage ist kein gültiges JSON Schema",
        ),
        ({"config_schema": '{"type": "string"}'}, "muss ein Objekt mit „properties“ beschreiben"),
        ({"category": "bund"}, "Zeile 3: category: Unbekannte Kategorie „bund“. Erlaubt sind: central"),
        (
            {"status": "bald"},
            "Zeile 3: status: Unbekannter Status „bald“. Erlaubt sind: available (verfügbar)",
        ),
        ({"status": "announced"}, "Angekündigte Assistenten brauchen ein voraussichtliches Datum."),
        (
            {"expected_date": "31.02.2026", "status": "announced"},
            "„31.02.2026“ ist kein gültiges Datum (TT.MM.JJJJ oder JJJJ-MM-TT).",
        ),
        ({"title": ""}, "Zeile 3: title: Dieses Feld darf nicht leer sein."),
    ],
)
def test_bad_assistant_rows_are_named_in_german(django_db_setup, db, row, expected):
    problems = _assistant_problems({"slug": "gut"}, {"slug": "schlecht", **row})
    assert any(expected in p for p in problems), problems
    assert not any(p.startswith("Zeile 2") for p in problems), problems


def test_duplicate_slugs_within_the_file(django_db_setup, db):
    problems = _assistant_problems({}, {"slug": "parken"}, {"title": "Nochmal Hundesteuer"})
    assert problems == ["Zeile 4: slug: Die Kennung „hundesteuer“ steht schon in Zeile 2 der Datei."]


def test_missing_and_unknown_columns_are_named(django_db_setup, db):
    columns = ("slug", "titel", "short_description", "themenfeld")
    problems = _assistant_problems({}, columns=columns)
    assert problems == [
        "Es fehlen die Spalten: title, category, config_schema. Unbekannte Spalten: titel. "
        f"Erwartet werden: {', '.join(ASSISTANT_COLUMNS)}."
    ]


def test_german_labels_are_accepted_for_category_and_status(django_db_setup, db):
    dataset = tablib.Dataset().load(
        assistant_csv({"status": "angekündigt", "expected_date": "01.07.2026", "category": "EfA"}),
        format="csv",
    )
    dataset_labels = AssistantResource().import_data(dataset, dry_run=False)
    assert not dataset_labels.has_validation_errors(), messages_of(dataset_labels)
    dog = Assistant.objects.get(slug="hundesteuer")
    assert (dog.status, dog.expected_date, dog.category) == ("announced", date(2026, 7, 1), "efa")


# --- bad input: files --------------------------------------------------------------------


def test_wrong_columns_in_the_admin(catalog_client):
    response = upload(catalog_client, "price", "assistent,gebuehr,betrag\nhundesteuer,setup,1\n")
    html = text_of(response)
    assert "Es fehlen die Spalten: assistant, fee_kind, net_amount, valid_from." in html
    assert "Unbekannte Spalten: assistent, gebuehr, betrag." in html
    assert "Traceback" not in html


def test_wrongly_encoded_csv_is_refused_in_german(catalog_client):
    content = assistant_csv({"title": "Straßenreinigung für Anlieger"}).encode("cp1252")
    response = upload(catalog_client, "assistant", content)
    html = text_of(response)
    assert "Die Datei ist nicht UTF-8-kodiert (erstes unlesbares Zeichen in Zeile 2)." in html
    assert not Assistant.objects.filter(slug="hundesteuer").exists()


def test_csv_uploaded_as_xlsx_is_refused_in_german(catalog_client):
    response = upload(catalog_client, "assistant", assistant_csv({}), name="katalog.xlsx", fmt="xlsx")
    assert "Die Datei ist keine gültige XLSX-Datei" in text_of(response)


def test_empty_file_is_refused_in_german(catalog_client):
    response = upload(catalog_client, "price", price_csv())
    assert "Die Datei enthält keine Datenzeilen." in text_of(response)


# --- prices ------------------------------------------------------------------------------


@pytest.fixture
def dog(django_db_setup, db) -> Assistant:
    assistant = AssistantFactory(slug="hundesteuer")
    PriceFactory(
        assistant=assistant, fee_kind_id="setup", valid_from=date(2024, 1, 1), valid_until=date(2024, 12, 31)
    )
    return assistant


def _price_problems(*rows: str, header: str = ",".join(PRICE_COLUMNS)) -> list[str]:
    dataset = tablib.Dataset().load(price_csv(*rows, header=header), format="csv")
    before = Price.objects.count()
    result = PriceResource().import_data(dataset, dry_run=True)
    assert Price.objects.count() == before
    return messages_of(result)


GOOD_PRICE = "hundesteuer,maintenance,300.00,19,2025-01-01,,0,,0"


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            "hundesteuer,setup,-5.00,19,2025-01-01,,0,,0",
            "Zeile 3: net_amount: Preise dürfen nicht negativ sein.",
        ),
        ("hundesteuer,setup,zwölf,19,2025-01-01,,0,,0", "Zeile 3: net_amount: Ungültiger Betrag: 'zwölf'"),
        ('hundesteuer,setup,"1.234",19,2025-01-01,,0,,0', "ist mehrdeutig"),
        ("hundesteuer,setup,12.345,19,2025-01-01,,0,,0", "Zeile 3: net_amount: Ungültiger Betrag"),
        (
            "hundesteuer,setup,12,119,2025-01-01,,0,,0",
            "Zeile 3: vat_rate: Der USt.-Satz muss zwischen 0 und 100 % liegen.",
        ),
        (
            "hundesteuer,lizenz,12,19,2025-01-01,,0,,0",
            "Zeile 3: fee_kind: Unbekannte Gebührenart „lizenz“. Vorhanden: ",
        ),
        ("katzensteuer,setup,12,19,2025-01-01,,0,,0", "Zeile 3: assistant: Unbekannter Assistent"),
        (
            "hundesteuer,setup,12,19,31.02.2025,,0,,0",
            "Zeile 3: valid_from: „31.02.2025“ ist kein gültiges Datum",
        ),
        (
            "hundesteuer,setup,12,19,2025-06-01,2025-05-31,0,,0",
            "Zeile 3: valid_until: „gültig bis“ (31.05.2025) liegt vor „gültig ab“ (01.06.2025).",
        ),
        (
            "hundesteuer,setup,12,19,2025-01-01,,5000,4000,0",
            "Zeile 3: population_max: „Einwohner bis“ (4000) ist kleiner",
        ),
        (
            "hundesteuer,setup,12,19,2025-01-01,,viele,,0",
            "Zeile 3: population_min: „viele“ ist keine ganze Zahl.",
        ),
        (
            "hundesteuer,setup,12,19,2025-01-01,,0,,vielleicht",
            "Zeile 3: is_sample: „vielleicht“ ist kein Wahrheitswert",
        ),
        (
            "hundesteuer,setup,12,19,2024-06-01,,0,,0",
            "Zeile 3: __all__: Für diesen Assistenten, diese Gebührenart und dieses Einwohnerband gibt es im selben Zeitraum schon einen Preis.",
        ),
    ],
)
def test_bad_price_rows_are_named_in_german(dog, row, expected):
    problems = _price_problems(GOOD_PRICE, row)
    assert any(expected in p for p in problems), problems
    assert not any(p.startswith("Zeile 2") for p in problems), problems


def test_rows_of_the_same_file_that_overlap_each_other(dog):
    problems = _price_problems(
        "hundesteuer,maintenance,300.00,19,2025-01-01,,0,5000,0",
        "hundesteuer,maintenance,500.00,19,2025-01-01,,5001,,0",
        "hundesteuer,maintenance,350.00,19,2026-01-01,,3000,8000,0",
    )
    assert problems == [
        "Zeile 4: __all__: Für diesen Assistenten, diese Gebührenart und dieses Einwohnerband "
        "gibt es im selben Zeitraum schon einen Preis."
    ]


def test_overlap_within_the_file_is_shown_in_the_admin_preview(catalog_client, dog):
    content = price_csv(
        "hundesteuer,maintenance,300.00,19,01.01.2025,,0,,0",
        "hundesteuer,maintenance,320.00,19,01.07.2025,,0,,0",
    )
    preview = upload(catalog_client, "price", content)
    html = text_of(preview)
    assert "gibt es im selben Zeitraum schon einen Preis" in html
    assert 'name="import_file_name"' not in preview.content.decode()
    assert not Price.objects.filter(assistant=dog, fee_kind_id="maintenance").exists()


def test_the_same_price_twice_in_one_file(dog):
    problems = _price_problems(GOOD_PRICE, GOOD_PRICE.replace("300.00", "310.00"))
    assert len(problems) == 1 and problems[0].startswith(
        "Zeile 3: __all__: Ein Preis mit demselben Assistenten"
    )
    assert "steht schon in Zeile 2 der Datei." in problems[0]


def test_german_and_iso_numbers_and_dates_with_semicolons(catalog_client, dog):
    content = (
        "assistant;fee_kind;net_amount;vat_rate;valid_from;valid_until;population_min;population_max;is_sample\n"
        "hundesteuer;setup;1.234,56;19;01.01.2025;31.12.2025;0;;ja\n"
        "hundesteuer;maintenance;1234.5;7,5;2025-01-01;;0;5.000;nein\n"
        "hundesteuer;maintenance;99 €;19 %;01.01.2025;;5001;;0\n"
    )
    preview = upload(catalog_client, "price", content)
    assert 'name="import_file_name"' in preview.content.decode(), text_of(preview)
    assert confirm(catalog_client, "price", preview.content.decode()).status_code == 302
    setup = Price.objects.get(assistant=dog, fee_kind_id="setup", valid_from=date(2025, 1, 1))
    assert (setup.net_amount, setup.valid_until, setup.is_sample) == (
        Decimal("1234.56"),
        date(2025, 12, 31),
        True,
    )
    small = Price.objects.get(assistant=dog, fee_kind_id="maintenance", population_min=0)
    assert (small.net_amount, small.vat_rate, small.population_max) == (
        Decimal("1234.50"),
        Decimal("7.50"),
        5000,
    )
    large = Price.objects.get(assistant=dog, fee_kind_id="maintenance", population_min=5001)
    assert (large.net_amount, large.vat_rate, large.population_max) == (
        Decimal("99.00"),
        Decimal("19.00"),
        None,
    )


def test_price_rows_update_by_natural_key(dog):
    dataset = tablib.Dataset().load(
        price_csv(
            "hundesteuer,setup,1300.00,19,2024-01-01,2024-06-30,0,,1",
            "hundesteuer,setup,1400,19,2024-07-01,,0,,1",
        ),
        format="csv",
    )
    result = PriceResource().import_data(dataset, dry_run=False)
    assert not result.has_validation_errors(), messages_of(result)
    assert [row.import_type for row in result.rows] == ["update", "new"]
    assert list(Price.objects.filter(assistant=dog).values_list("net_amount", "valid_until")) == [
        (Decimal("1300.00"), date(2024, 6, 30)),
        (Decimal("1400.00"), None),
    ]


def test_population_min_column_may_be_left_out(dog):
    header = "assistant,fee_kind,net_amount,valid_from"
    dataset = tablib.Dataset().load(
        price_csv("hundesteuer,maintenance,300,2025-01-01", header=header), format="csv"
    )
    result = PriceResource().import_data(dataset, dry_run=False)
    assert not result.has_validation_errors() and not result.has_errors(), messages_of(result)
    price = Price.objects.get(assistant=dog, fee_kind_id="maintenance")
    assert (price.population_min, price.vat_rate, price.is_sample) == (0, Decimal("19.00"), False)


# --- export ------------------------------------------------------------------------------

NASTY = {
    "title": '=HYPERLINK("http://evil.example","Klick")',
    "short_description": "+49 341 123456",
    "description": "- erster Punkt\n- zweiter Punkt",
    "themenfeld": "@Querschnitt",
    "version": "\t2.0",
}


def export(client, model: str, resource, fmt: str):
    url = f"/admin/shop/{model}/export/"
    fields = {f"{resource.__name__.lower()}_{column}": "on" for column in resource().get_export_order()}
    response = client.post(url, {"format": _formats(client, url)[fmt], "resource": "0", **fields})
    assert response.status_code == 200, response.content[:500]
    return response.content


@pytest.fixture
def nasty_catalog(django_db_setup, db):
    assistant = AssistantFactory(slug="-formel", leika_keys=["99050012104000", "99108008001000"], **NASTY)
    PriceFactory(
        assistant=assistant,
        fee_kind_id="setup",
        net_amount=Decimal("1234.56"),
        valid_from=date(2024, 1, 1),
        valid_until=date(2024, 12, 31),
        population_max=5000,
        is_sample=True,
    )
    PriceFactory(
        assistant=assistant,
        fee_kind_id="maintenance",
        net_amount=Decimal("0.00"),
        valid_from=date(2025, 1, 1),
    )
    return assistant


def test_csv_export_neutralises_formulas_and_imports_back_unchanged(catalog_client, nasty_catalog):
    raw = export(catalog_client, "assistant", AssistantResource, "csv")
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, so that Excel shows umlauts
    content = raw.decode("utf-8-sig")
    rows = {row["slug"]: row for row in csv.DictReader(io.StringIO(content))}
    row = rows["'-formel"]
    assert row["title"] == "'" + NASTY["title"]
    assert row["short_description"] == "'+49 341 123456"
    assert row["description"].startswith("'- erster Punkt")
    assert row["themenfeld"] == "'@Querschnitt"
    assert row["version"] == "'\t2.0"
    assert row["leika_keys"] == "99050012104000; 99108008001000"
    assert json.loads(row["config_schema"]) == CONFIG_SCHEMA

    result = AssistantResource().import_data(tablib.Dataset().load(content, format="csv"), dry_run=True)
    assert not result.has_errors() and not result.has_validation_errors(), messages_of(result)
    assert {r.import_type for r in result.rows} == {"skip"}

    prices = export(catalog_client, "price", PriceResource, "csv").decode("utf-8-sig")
    lines = [line for line in prices.splitlines() if "formel" in line]
    assert lines == [
        "'-formel,setup,1234.56,19.00,2024-01-01,2024-12-31,0,5000,ja",
        "'-formel,maintenance,0.00,19.00,2025-01-01,,0,,nein",
    ]
    result = PriceResource().import_data(tablib.Dataset().load(prices, format="csv"), dry_run=True)
    assert not result.has_errors() and not result.has_validation_errors(), messages_of(result)
    assert {r.import_type for r in result.rows} == {"skip"}


def test_xlsx_export_keeps_numbers_and_dates_and_imports_back_unchanged(catalog_client, nasty_catalog):
    sheet = openpyxl.load_workbook(
        io.BytesIO(export(catalog_client, "assistant", AssistantResource, "xlsx"))
    ).active
    header = [cell.value for cell in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == "'-formel")
    title = row[header.index("title")]
    assert (title.value, title.data_type) == ("'" + NASTY["title"], "s")  # text, not a formula

    content = export(catalog_client, "price", PriceResource, "xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    header = [cell.value for cell in sheet[1]]
    first = next(r for r in sheet.iter_rows(min_row=2, values_only=True) if r[0] == "'-formel")
    assert first[header.index("net_amount")] == pytest.approx(1234.56)
    assert first[header.index("valid_from")].date() == date(2024, 1, 1)
    assert first[header.index("is_sample")] is True

    preview = upload(catalog_client, "price", content, name="preise.xlsx", fmt="xlsx")
    assert 'name="import_file_name"' in preview.content.decode(), text_of(preview)
    assert "Übersprungen" in text_of(preview)
    assert Price.objects.filter(assistant=nasty_catalog).count() == 2


def test_numbers_are_not_neutralised(django_db_setup, db):
    """A negative number is a number, not a formula (only text cells get the apostrophe)."""
    unsaved = Price(
        assistant=Assistant(slug="x"),
        fee_kind=FeeKind(code="setup"),
        net_amount=Decimal("-5.00"),
        vat_rate=Decimal("19"),
        valid_from=date(2025, 1, 1),
        population_min=0,
    )
    dataset = PriceResource().export(queryset=[unsaved])
    assert dataset.dict[0]["net_amount"] == "-5.00"
    native = PriceResource().export(queryset=[unsaved], force_native_type=True)
    assert native.dict[0]["net_amount"] == Decimal("-5.00")


@pytest.mark.parametrize(
    ("text", "exported"),
    [
        ("=1+1", "'=1+1"),
        ("+49", "'+49"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Hundesteuer", "Hundesteuer"),
        ("'zitiert'", "'zitiert'"),
        ("", ""),
    ],
)
def test_formula_neutralisation_round_trips(text, exported):
    assert neutralise_formula(text) == exported
    assert restore_formula(exported) == text


def test_municipality_export_is_neutralised_too(django_db_setup, db):
    from tenants.models import Municipality
    from tenants.resources import MunicipalityResource

    leipzig = Municipality.objects.get(ags="14713000")
    leipzig.invoice_recipient = "=cmd|' /C calc'!A0"
    dataset = MunicipalityResource().export(queryset=[leipzig])
    assert dataset.dict[0]["invoice_recipient"] == "'=cmd|' /C calc'!A0"
    assert dataset.dict[0]["population"] == "611850"
