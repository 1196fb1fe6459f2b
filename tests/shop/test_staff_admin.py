"""The catalog in the Django admin: who may do what, lists, edits, the audit log."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import User
from shop.models import Assistant, Price
from tests.factories.shop import CONFIG_SCHEMA, AssistantFactory, PriceFactory

CATALOG = "katalog@kisa.example"
FINANCE = "finanzen@kisa.example"
OVERLAP = "gibt es im selben Zeitraum schon einen Preis"


def text_of(response) -> str:
    return unescape(re.sub(r"\s+", " ", response.content.decode()))


@pytest.fixture
def catalog(django_db_setup, db):
    dog = AssistantFactory(
        slug="hundesteuer",
        title="Hundesteuer anmelden",
        category="central",
        themenfeld="Steuern & Zoll",
        leika_keys=["99108008001000"],
        description="Hund an- und abmelden, Steuermarke bestellen.",
    )
    PriceFactory(
        assistant=dog, fee_kind_id="setup", net_amount=Decimal("1200.00"), valid_from=date(2024, 1, 1)
    )
    car = AssistantFactory(
        slug="ekol-kfz",
        title="Kfz-Zulassung (eKOL-KFZ)",
        category="state_licensed",
        themenfeld="Mobilität & Reisen",
        leika_keys=["99036012104000"],
        status="announced",
        expected_date=date(2026, 7, 1),
        version="2.1",
    )
    return {"dog": dog, "car": car}


def _assistant_form(assistant: Assistant, prices: list[dict] | None = None, **changes) -> dict:
    """The POST data of the assistant's change form (with its price inline)."""
    data = {
        "title": assistant.title,
        "slug": assistant.slug,
        "short_description": assistant.short_description,
        "description": assistant.description,
        "themenfeld": assistant.themenfeld,
        "leika_keys": ",".join(assistant.leika_keys),
        "category": assistant.category,
        "status": assistant.status,
        "expected_date": assistant.expected_date.isoformat() if assistant.expected_date else "",
        "version": assistant.version,
        "config_schema": json.dumps(assistant.config_schema),
        **changes,
    }
    prices = (
        prices
        if prices is not None
        else [
            {
                "id": p.pk,
                "fee_kind": p.fee_kind_id,
                "net_amount": p.net_amount,
                "vat_rate": p.vat_rate,
                "valid_from": p.valid_from,
                "valid_until": p.valid_until or "",
                "population_min": p.population_min,
                "population_max": p.population_max or "",
            }
            for p in assistant.prices.all()
        ]
    )
    initial = sum(1 for p in prices if p.get("id"))
    data.update(
        {
            "prices-TOTAL_FORMS": str(len(prices)),
            "prices-INITIAL_FORMS": str(initial),
            "prices-MIN_NUM_FORMS": "0",
            "prices-MAX_NUM_FORMS": "1000",
        }
    )
    for i, price in enumerate(prices):
        for key, value in price.items():
            data[f"prices-{i}-{key}"] = "" if value is None else str(value)
        data[f"prices-{i}-assistant"] = str(assistant.pk)
    return data


# --- permissions -------------------------------------------------------------------------

PAGES = [
    "/admin/shop/assistant/",
    "/admin/shop/assistant/add/",
    "/admin/shop/assistant/import/",
    "/admin/shop/assistant/export/",
    "/admin/shop/price/",
    "/admin/shop/price/add/",
    "/admin/shop/price/import/",
    "/admin/shop/price/export/",
    "/admin/shop/feekind/",
]


@pytest.mark.parametrize("url", PAGES)
def test_catalog_manager_may_use_every_catalog_page(catalog, staff_client, url):
    assert staff_client(CATALOG).get(url).status_code == 200


@pytest.mark.parametrize("url", PAGES)
def test_finance_may_not_see_the_catalog_admin(catalog, staff_client, url):
    assert staff_client(FINANCE).get(url).status_code == 403


def test_finance_may_neither_change_nor_import_nor_read_the_history(catalog, staff_client):
    dog = catalog["dog"]
    client = staff_client(FINANCE)
    response = client.post(
        f"/admin/shop/assistant/{dog.pk}/change/", _assistant_form(dog, title="Von Finanzen")
    )
    assert response.status_code == 403
    assert client.get(f"/admin/shop/assistant/{dog.pk}/history/").status_code == 403
    upload = SimpleUploadedFile("a.csv", b"slug,title\nx,y\n")
    assert (
        client.post("/admin/shop/assistant/import/", {"format": "0", "import_file": upload}).status_code
        == 403
    )
    assert client.post("/admin/shop/price/process_import/", {"format": "0"}).status_code == 403
    dog.refresh_from_db()
    assert dog.title == "Hundesteuer anmelden"


def test_admin_index_lists_the_catalog_for_catalog_managers_only(catalog, staff_client):
    assert "/admin/shop/assistant/" in staff_client(CATALOG).get("/admin/").content.decode()
    assert "/admin/shop/assistant/" not in staff_client(FINANCE).get("/admin/").content.decode()


# --- lists -------------------------------------------------------------------------------


def test_assistant_list_shows_columns_and_filters(catalog, staff_client):
    html = text_of(staff_client(CATALOG).get("/admin/shop/assistant/"))
    for text in (
        "Hundesteuer anmelden",
        "hundesteuer",
        "Mobilität & Reisen",
        "2.1",
        "angekündigt",
        "Importieren",
        "Exportieren",
    ):
        assert text in html, text
    for title in ("Kategorie", "Status", "OZG-Themenfeld"):
        assert f"Nach {title}" in html, title


@pytest.mark.parametrize(
    ("query", "found", "not_found"),
    [
        ("q=hundesteuer", "Hundesteuer anmelden", "Kfz-Zulassung"),
        ("q=99036012", "Kfz-Zulassung", "Hundesteuer anmelden"),  # LeiKa key prefix
        ("q=Steuermarke", "Hundesteuer anmelden", "Kfz-Zulassung"),  # description
        ("category__exact=state_licensed", "Kfz-Zulassung", "Hundesteuer anmelden"),
        ("status__exact=announced", "Kfz-Zulassung", "Hundesteuer anmelden"),
        ("themenfeld=Steuern+%26+Zoll", "Hundesteuer anmelden", "Kfz-Zulassung"),
    ],
)
def test_assistant_search_and_filters(catalog, staff_client, query, found, not_found):
    html = text_of(staff_client(CATALOG).get(f"/admin/shop/assistant/?{query}"))
    assert found in html and not_found not in html


def test_price_list_shows_amount_vat_validity_band_and_sample_flag(catalog, staff_client):
    PriceFactory(
        assistant=catalog["car"],
        fee_kind_id="maintenance",
        net_amount=Decimal("1234.50"),
        valid_from=date(2031, 7, 1),
        population_max=5000,
        is_sample=True,
    )
    client = staff_client(CATALOG)
    html = text_of(client.get("/admin/shop/price/"))
    for text in (
        "1.234,50 €",
        "1.200,00 €",
        "19 %",
        "bis 5.000 Einwohner",
        "alle Größen",
        "Softwarepflege und Support",
    ):
        assert text in html, text
    future = text_of(client.get("/admin/shop/price/?gueltig=kuenftig"))
    assert "1.234,50 €" in future and "1.200,00 €" not in future
    assert "1.234,50 €" not in text_of(client.get("/admin/shop/price/?fee_kind__code__exact=setup"))
    assert "1.234,50 €" in text_of(client.get("/admin/shop/price/?is_sample__exact=1"))


# --- edits and the audit log -------------------------------------------------------------


def test_admin_change_is_audit_logged_with_user_and_before_after(catalog, staff_client):
    dog = catalog["dog"]
    client = staff_client(CATALOG)
    response = client.post(
        f"/admin/shop/assistant/{dog.pk}/change/", _assistant_form(dog, title="Hund anmelden", version="1.1")
    )
    assert response.status_code == 302, text_of(response)[:2000]
    record = dog.history.latest()
    assert (record.history_type, record.history_user.email, record.title) == ("~", CATALOG, "Hund anmelden")
    delta = record.diff_against(record.prev_record)
    assert {(c.field, c.old, c.new) for c in delta.changes} >= {
        ("title", "Hundesteuer anmelden", "Hund anmelden"),
        ("version", "1.0", "1.1"),
    }
    history = text_of(client.get(f"/admin/shop/assistant/{dog.pk}/history/"))
    assert CATALOG in history and "Hundesteuer anmelden" in history and "Hund anmelden" in history


def test_price_edit_in_the_admin_is_audit_logged(catalog, staff_client):
    price = catalog["dog"].prices.get()
    client = staff_client(CATALOG)
    response = client.post(
        f"/admin/shop/price/{price.pk}/change/",
        {
            "assistant": price.assistant_id,
            "fee_kind": "setup",
            "net_amount": "1250.00",
            "vat_rate": "19",
            "valid_from": "01.01.2024",
            "valid_until": "",
            "population_min": "0",
            "population_max": "",
        },
    )
    assert response.status_code == 302, text_of(response)[:2000]
    record = price.history.latest()
    assert record.history_user == User.objects.get(email=CATALOG)
    assert record.net_amount == Decimal("1250.00") and record.prev_record.net_amount == Decimal("1200.00")


def test_price_form_explains_overlaps_and_wrong_order_in_german(catalog, staff_client):
    client = staff_client(CATALOG)
    base = {
        "assistant": catalog["dog"].pk,
        "fee_kind": "setup",
        "net_amount": "99.00",
        "vat_rate": "19",
        "population_min": "0",
        "population_max": "",
    }
    overlap = client.post("/admin/shop/price/add/", {**base, "valid_from": "01.06.2025", "valid_until": ""})
    assert overlap.status_code == 200 and OVERLAP in text_of(overlap)
    order = client.post(
        "/admin/shop/price/add/",
        {**base, "valid_from": "01.06.2020", "valid_until": "31.12.2019", "net_amount": "-1"},
    )
    html = text_of(order)
    assert "„gültig bis“ (31.12.2019) liegt vor „gültig ab“ (01.06.2020)." in html
    assert "Preise dürfen nicht negativ sein." in html
    assert "price_validity_order" not in html
    assert Price.objects.filter(net_amount=Decimal("99.00")).count() == 0


def test_inline_prices_that_overlap_each_other_are_refused(catalog, staff_client):
    car = catalog["car"]
    prices = [
        {
            "fee_kind": "setup",
            "net_amount": "100.00",
            "vat_rate": "19",
            "valid_from": "2026-01-01",
            "valid_until": "",
            "population_min": "0",
            "population_max": "10000",
        },
        {
            "fee_kind": "setup",
            "net_amount": "200.00",
            "vat_rate": "19",
            "valid_from": "2027-01-01",
            "valid_until": "",
            "population_min": "5000",
            "population_max": "",
        },
    ]
    response = staff_client(CATALOG).post(
        f"/admin/shop/assistant/{car.pk}/change/", _assistant_form(car, prices)
    )
    assert response.status_code == 200
    assert OVERLAP in text_of(response)
    assert not car.prices.exists()


def test_inline_can_end_a_price_and_add_its_successor_in_one_save(catalog, staff_client):
    dog = catalog["dog"]
    old = dog.prices.get()
    prices = [
        {
            "id": old.pk,
            "fee_kind": "setup",
            "net_amount": "1200.00",
            "vat_rate": "19",
            "valid_from": "2024-01-01",
            "valid_until": "2025-12-31",
            "population_min": "0",
            "population_max": "",
        },
        {
            "fee_kind": "setup",
            "net_amount": "1300.00",
            "vat_rate": "19",
            "valid_from": "2026-01-01",
            "valid_until": "",
            "population_min": "0",
            "population_max": "",
        },
    ]
    response = staff_client(CATALOG).post(
        f"/admin/shop/assistant/{dog.pk}/change/", _assistant_form(dog, prices)
    )
    assert response.status_code == 302, text_of(response)[:3000]
    assert list(dog.prices.values_list("net_amount", "valid_until")) == [
        (Decimal("1200.00"), date(2025, 12, 31)),
        (Decimal("1300.00"), None),
    ]
    successor = dog.prices.get(valid_from=date(2026, 1, 1))
    assert old.history.latest().history_user.email == CATALOG
    assert successor.history.get().history_user.email == CATALOG


def test_invalid_config_schema_is_refused_in_the_admin(catalog, staff_client):
    dog = catalog["dog"]
    bad = json.dumps({"type": "object", "properties": {"x": {"type": "zahl"}}})
    response = staff_client(CATALOG).post(
        f"/admin/shop/assistant/{dog.pk}/change/", _assistant_form(dog, config_schema=bad)
    )
    assert response.status_code == 200
    assert "kein gültiges JSON Schema" in text_of(response)
    dog.refresh_from_db()
    assert dog.config_schema == CONFIG_SCHEMA


def test_import_is_audit_logged_with_the_importing_user_and_file(catalog, staff_client):
    client = staff_client(CATALOG)
    content = (
        "assistant,fee_kind,net_amount,valid_from,population_min\n"
        'hundesteuer,setup,"1.250,00",01.01.2024,0\n'
        "ekol-kfz,setup,900,01.07.2026,0\n"
    )
    page = client.get("/admin/shop/price/import/").content.decode()
    csv_index = re.search(r'<option value="(\d+)"[^>]*>csv</option>', page).group(1)
    preview = client.post(
        "/admin/shop/price/import/",
        {
            "format": csv_index,
            "resource": "0",
            "import_file": SimpleUploadedFile("preise-2026.csv", content.encode()),
        },
    )
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', preview.content.decode()))
    assert client.post("/admin/shop/price/process_import/", hidden).status_code == 302

    updated = Price.objects.get(assistant=catalog["dog"], fee_kind_id="setup")
    record = updated.history.latest()
    assert (record.history_type, record.history_user.email) == ("~", CATALOG)
    assert record.history_change_reason == "Import aus preise-2026.csv"
    assert record.prev_record.net_amount == Decimal("1200.00") and record.net_amount == Decimal("1250.00")
    created = Price.objects.get(assistant=catalog["car"]).history.get()
    assert (created.history_type, created.history_user.email) == ("+", CATALOG)
    messages = text_of(client.get("/admin/shop/price/"))
    assert "1 neue, 1 aktualisierte" in messages
