"""Catalog pages on a municipality's domain (its prices today) and on the association's (all bands)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.roles import Role
from shop import views as shop_views
from shop.models import AssistantCategory, AssistantStatus, Price
from shop.selectors import config_fields
from tests.factories.shop import AssistantFactory, PriceFactory

MUNICIPAL_ROLES = [Role.PURCHASER, Role.APPROVER, Role.MUNICIPAL_ADMIN]
BAND_LIMIT = 20_000
PUBLIC_LIST_QUERIES = 7


@pytest.fixture(autouse=True)
def _fresh_cache():
    # The rendered list is cached; rolled-back test data must not survive in it.
    cache.clear()
    yield
    cache.clear()


def banded_prices(assistant, *, small: str, large: str, maintenance: str | None = None) -> None:
    """Setup priced by band (≤ 20,000 inhabitants / above), maintenance for all sizes."""
    PriceFactory(assistant=assistant, net_amount=Decimal(small), population_max=BAND_LIMIT)
    PriceFactory(assistant=assistant, net_amount=Decimal(large), population_min=BAND_LIMIT + 1)
    if maintenance:
        PriceFactory(assistant=assistant, fee_kind_id="maintenance", net_amount=Decimal(maintenance))


@pytest.fixture
def catalog(db):
    """A small catalog: two available, one announced, one retired."""
    hund = AssistantFactory(
        slug="hundesteuer",
        title="Hundesteuer Anmeldung",
        short_description="Hunde online zur Hundesteuer anmelden.",
        description="Bürgerinnen und Bürger melden ihren Hund online an.",
        themenfeld="Steuern & Zölle",
        leika_keys=["99098003001000"],
        category=AssistantCategory.CENTRAL,
    )
    banded_prices(hund, small="800.00", large="1200.00", maintenance="480.00")
    gewerbe = AssistantFactory(
        slug="gewerbeanmeldung",
        title="Gewerbeanmeldung",
        short_description="Ein Gewerbe online anmelden.",
        themenfeld="Unternehmensführung & -entwicklung",
        leika_keys=["99050012104000"],
        category=AssistantCategory.EFA,
    )
    PriceFactory(assistant=gewerbe, net_amount=Decimal("600.00"))
    parken = AssistantFactory(
        slug="bewohnerparken",
        title="Bewohnerparkausweis",
        short_description="Bewohnerparkausweis beantragen.",
        themenfeld="Mobilität & Reisen",
        leika_keys=["99015001001000"],
        category=AssistantCategory.STATE_LICENSED,
        status=AssistantStatus.ANNOUNCED,
        expected_date=date(2027, 3, 1),
    )
    PriceFactory(assistant=parken, net_amount=Decimal("2500.00"))
    AssistantFactory(
        slug="altes-verfahren",
        title="Altes Verfahren",
        themenfeld="Querschnitt",
        status=AssistantStatus.RETIRED,
    )
    return {"hund": hund, "gewerbe": gewerbe, "parken": parken}


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# --- access --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", MUNICIPAL_ROLES)
def test_every_municipal_role_sees_the_list_and_the_detail(towns, catalog, role):
    client = towns["leipzig"].login(role)
    listing = client.get("/katalog/")
    assert listing.status_code == 200
    body = text_of(listing)
    assert "Hundesteuer Anmeldung" in body and "Gewerbeanmeldung" in body and "Bewohnerparkausweis" in body
    assert "Altes Verfahren" not in body
    assert 'href="/katalog/"' in body and 'aria-current="page">Katalog' in body  # navigation
    detail = client.get("/katalog/hundesteuer/")
    assert detail.status_code == 200
    assert "Bürgerinnen und Bürger melden ihren Hund online an." in text_of(detail)


@pytest.mark.parametrize("path", ["/katalog/", "/katalog/hundesteuer/", "/katalog/merkliste/"])
def test_anonymous_visitors_of_a_municipal_domain_are_sent_to_the_login(towns, catalog, path):
    response = towns["leipzig"].client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/konto/anmelden/?next=")


def test_staff_accounts_do_not_exist_on_a_municipal_domain(towns, catalog):
    # a staff login at a municipality fails: its schema has no such account
    from tests.fixtures import PASSWORD

    client = towns["leipzig"].client()
    response = client.post("/konto/anmelden/", {"username": "katalog@kisa.example", "password": PASSWORD})
    assert response.status_code == 200
    assert client.get("/katalog/").status_code == 302


# --- list: contents, search, filters ---------------------------------------------------------


def test_list_entry_shows_everything_a_purchaser_needs(towns, catalog):
    body = text_of(towns["leipzig"].login(Role.PURCHASER).get("/katalog/"))
    assert "3 Assistenten" in body
    entry = body[body.index('id="titel-hundesteuer"') :]
    entry = entry[: entry.index("</article>")]
    assert "Hunde online zur Hundesteuer anmelden." in entry
    assert "Zentral entwickelt (Basiskomponenten)" in entry and "verfügbar" in entry
    assert "Steuern &amp; Zölle" in entry and "99098003001000" in entry
    assert "Einrichtung und Konfiguration" in entry and "1.200,00 €" in entry and "zzgl. 19 % USt." in entry
    assert "Softwarepflege und Support" in entry and "480,00 €" in entry and "jährlich" in entry
    assert 'href="/katalog/hundesteuer/"' in entry


def test_announced_assistant_shows_its_expected_date(towns, catalog):
    body = text_of(towns["leipzig"].login(Role.APPROVER).get("/katalog/"))
    entry = body[body.index('id="titel-bewohnerparken"') :]
    entry = entry[: entry.index("</article>")]
    assert "angekündigt" in entry and "voraussichtlich ab 01.03.2027" in entry
    assert "Landeslizenziert" in entry


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "Hund"}, {"Hundesteuer Anmeldung"}),
        ({"q": "hundesteuer"}, {"Hundesteuer Anmeldung"}),
        ({"q": "Gewerbe anmelden"}, {"Gewerbeanmeldung"}),
        ({"q": "99050012104000"}, {"Gewerbeanmeldung"}),
        ({"q": "9901500"}, {"Bewohnerparkausweis"}),
        ({"themenfeld": "Mobilität & Reisen"}, {"Bewohnerparkausweis"}),
        ({"kategorie": "efa"}, {"Gewerbeanmeldung"}),
        ({"status": "announced"}, {"Bewohnerparkausweis"}),
        ({"status": "available", "kategorie": "central"}, {"Hundesteuer Anmeldung"}),
        ({"q": "Verfahren"}, set()),  # retired assistants are never found
        ({"q": "Xylophon"}, set()),
    ],
)
def test_search_and_filters(towns, catalog, params, expected):
    response = towns["leipzig"].login(Role.PURCHASER).get("/katalog/", params)
    titles = set(re.findall(r'<h3 id="titel-[^"]+"><a href="[^"]+">([^<]+)</a>', response.content.decode()))
    assert titles == expected
    if not expected:
        assert "Kein Assistent passt zu Ihrer Suche" in text_of(response)


def test_filter_form_is_a_labelled_get_form_that_keeps_its_values(towns, catalog):
    body = text_of(
        towns["leipzig"].login(Role.PURCHASER).get("/katalog/", {"q": "Hund", "kategorie": "central"})
    )
    assert '<form method="get" action="/katalog/"' in body and 'role="search"' in body
    for name, label in [
        ("q", "Suche"),
        ("themenfeld", "Themenfeld"),
        ("kategorie", "Kategorie"),
        ("status", "Status"),
    ]:
        assert f'<label for="id_{name}">{label}' in body
        assert f'name="{name}"' in body
    assert 'value="Hund"' in body
    assert '<option value="central" selected>' in body
    assert '<option value="Mobilität &amp; Reisen">' in body  # Themenfelder come from the catalog
    assert "Alle Filter zurücksetzen" in body
    assert "<script" not in body  # works without JavaScript


def test_an_invalid_filter_value_is_reported_and_ignored(towns, catalog):
    response = towns["leipzig"].login(Role.PURCHASER).get("/katalog/", {"kategorie": "gibt-es-nicht"})
    body = text_of(response)
    assert response.status_code == 200
    assert 'class="error"' in body
    assert "3 Assistenten" in body


# --- prices for this municipality -------------------------------------------------------------


def _setup_price_of(body: str, slug: str) -> str:
    entry = body[body.index(f'id="titel-{slug}"') :]
    entry = entry[: entry.index("</article>")]
    return re.search(
        r"Einrichtung und Konfiguration.*?<strong class=\"amount\">([^<]+)</strong>", entry
    ).group(1)


def test_each_municipality_sees_the_price_of_its_population_band(towns, catalog):
    leipzig = text_of(towns["leipzig"].login(Role.PURCHASER).get("/katalog/"))  # 611,850 inhabitants
    wilsdruff = text_of(towns["wilsdruff"].login(Role.PURCHASER).get("/katalog/"))  # 14,583 inhabitants
    assert _setup_price_of(leipzig, "hundesteuer") == "1.200,00 €"
    assert _setup_price_of(wilsdruff, "hundesteuer") == "800,00 €"
    assert "800,00 €" not in leipzig
    # a price for all sizes is the same for both
    assert (
        _setup_price_of(leipzig, "gewerbeanmeldung")
        == _setup_price_of(wilsdruff, "gewerbeanmeldung")
        == "600,00 €"
    )
    assert "611.850 Einwohner" in leipzig and "14.583 Einwohner" in wilsdruff


def test_detail_shows_this_municipalitys_prices_with_the_band(towns, catalog):
    leipzig = text_of(towns["leipzig"].login(Role.PURCHASER).get("/katalog/hundesteuer/"))
    wilsdruff = text_of(towns["wilsdruff"].login(Role.PURCHASER).get("/katalog/hundesteuer/"))
    assert "1.200,00 €" in leipzig and "ab 20.001 Einwohnern" in leipzig and "800,00 €" not in leipzig
    assert "800,00 €" in wilsdruff and "bis 20.000 Einwohner" in wilsdruff and "1.200,00 €" not in wilsdruff
    assert "480,00 €" in leipzig and "jährlich" in leipzig


def test_only_prices_valid_today_are_shown(towns, catalog):
    today = timezone.localdate()
    gewerbe = catalog["gewerbe"]
    Price.objects.filter(assistant=gewerbe).update(valid_until=today - timedelta(days=1))
    PriceFactory(assistant=gewerbe, net_amount=Decimal("650.00"), valid_from=today)
    PriceFactory(
        assistant=gewerbe,
        fee_kind_id="maintenance",
        net_amount=Decimal("99.00"),
        valid_from=today + timedelta(days=1),
    )
    body = text_of(towns["dresden"].login(Role.PURCHASER).get("/katalog/gewerbeanmeldung/"))
    assert "650,00 €" in body
    assert "600,00 €" not in body and "99,00 €" not in body


def test_an_assistant_without_a_price_for_the_band_says_so(towns, catalog):
    only_small = AssistantFactory(slug="nur-klein", title="Nur für kleine Gemeinden")
    PriceFactory(assistant=only_small, population_max=BAND_LIMIT)
    body = text_of(towns["leipzig"].login(Role.PURCHASER).get("/katalog/nur-klein/"))
    assert "Preis auf Anfrage" in body


# --- detail --------------------------------------------------------------------------------


def test_detail_shows_description_facts_and_configuration_fields(towns, catalog):
    body = text_of(towns["dresden"].login(Role.APPROVER).get("/katalog/hundesteuer/"))
    for text in [
        "Hundesteuer Anmeldung",
        "Steuern &amp; Zölle",
        "99098003001000",
        "Zentral entwickelt (Basiskomponenten)",
        "verfügbar",
        "Version",
        "Was Sie nach der Bereitstellung einrichten",
        "Zuständige Stelle",
        "Kontakt-E-Mail",
        "E-Mail-Adresse",
        "Gebühr in Euro",
        "ePayment aktiv",
        "Ja/Nein",
        "Vorgabe: ja",
        "Pflichtangabe",
    ]:
        assert text in body, text
    rows = re.findall(r'<th scope="row">([^<]+)</th>\s*<td>[^<]*</td>\s*<td>(.*?)</td>', body)
    required = {title: "Pflichtangabe" in cell for title, cell in rows}
    assert required == {
        "Zuständige Stelle": True,
        "Kontakt-E-Mail": True,
        "ePayment aktiv": False,
        "Gebühr in Euro": False,
    }


def test_configuration_fields_follow_the_required_list_then_titles():
    schema = {
        "type": "object",
        "required": ["b", "a"],
        "properties": {
            "a": {"type": "string", "title": "Amt", "description": "Das zuständige Amt"},
            "b": {"type": "integer", "title": "Betrag", "minimum": 0, "maximum": 500},
            "c": {"type": "string", "title": "Art", "enum": ["online", "vor Ort"]},
            "d": {"type": "array", "title": "Dokumente", "items": {"enum": ["Pass", "Foto"]}},
        },
    }
    fields = config_fields(schema)
    assert [f.name for f in fields] == ["b", "a", "c", "d"]
    assert fields[0].kind == "ganze Zahl (ab 0 bis 500)" and fields[0].required
    assert fields[1].description == "Das zuständige Amt"
    assert fields[2].kind == "Auswahl: online, vor Ort" and not fields[2].required
    assert fields[3].kind == "Mehrfachauswahl: Pass, Foto"
    assert config_fields({"type": "object"}) == []


@pytest.mark.parametrize("slug", ["altes-verfahren", "gibt-es-nicht"])
def test_retired_and_unknown_assistants_are_404_for_municipalities(towns, catalog, slug):
    response = towns["leipzig"].login(Role.PURCHASER).get(f"/katalog/{slug}/")
    assert response.status_code == 404
    assert "Seite nicht gefunden" in response.content.decode()


# --- the association's public catalog ---------------------------------------------------------


def test_public_catalog_is_open_and_shows_every_band(catalog):
    client = Client(HTTP_HOST="localhost")
    response = client.get("/katalog/")
    assert response.status_code == 200
    body = text_of(response)
    assert "3 Assistenten" in body and "Altes Verfahren" not in body
    entry = body[body.index('id="titel-hundesteuer"') :]
    entry = entry[: entry.index("</article>")]
    assert "800,00 €" in entry and "bis 20.000 Einwohner" in entry
    assert "1.200,00 €" in entry and "ab 20.001 Einwohnern" in entry
    assert "Merkliste" not in body and "Anmelden" in body


def test_public_detail_is_read_only(catalog):
    client = Client(HTTP_HOST="localhost")
    body = text_of(client.get("/katalog/bewohnerparken/"))
    assert "Bewohnerparkausweis" in body and "voraussichtlich ab 01.03.2027" in body
    assert "Merkliste" not in body and "/merken/" not in body
    assert client.get("/katalog/altes-verfahren/").status_code == 404
    assert client.get("/katalog/merkliste/").status_code == 404
    assert client.post(f"/katalog/{'bewohnerparken'}/merken/").status_code in {403, 404}


def test_public_catalog_search(catalog):
    body = text_of(Client(HTTP_HOST="localhost").get("/katalog/", {"q": "Gewerbe"}))
    assert "1 Assistent" in body and "Gewerbeanmeldung" in body and "Hundesteuer" not in body


def test_staff_see_the_public_catalog_too(catalog, staff_client):
    response = staff_client("katalog@kisa.example").get("/katalog/")
    assert response.status_code == 200
    assert "Hundesteuer Anmeldung" in response.content.decode()


# --- constant number of queries and the cache ----------------------------------------------


def _make_catalog(count: int) -> None:
    for number in range(count):
        assistant = AssistantFactory(
            title=f"Leistung {number:03d}",
            themenfeld=f"Themenfeld {number % 7}",
            category=list(AssistantCategory.values)[number % 4],
            status=AssistantStatus.ANNOUNCED if number % 5 == 4 else AssistantStatus.AVAILABLE,
            expected_date=date(2027, 1, 1) if number % 5 == 4 else None,
        )
        banded_prices(assistant, small="1000.00", large="1500.00", maintenance="400.00")


def _list_queries(client, host: str, **params) -> tuple[int, str]:
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/katalog/", params, HTTP_HOST=host)
    assert response.status_code == 200
    return len(queries), response.content.decode()


@pytest.mark.parametrize("params", [{}, {"q": "Leistung"}, {"status": "available", "kategorie": "central"}])
def test_list_runs_a_constant_number_of_queries(towns, params):
    leipzig = towns["leipzig"]
    client = leipzig.login(Role.PURCHASER)
    _make_catalog(3)
    few, body = _list_queries(client, leipzig.domain, **params)
    _make_catalog(27)
    many, body_many = _list_queries(client, leipzig.domain, **params)
    assert body.count('class="entry"') < body_many.count('class="entry"')
    # search_path, host → tenant, search_path, session, user, catalog version, funding
    # programmes (programmes, coverages, tranches, excluded assistants), Themenfelder,
    # assistants, prices
    assert few == many == 13


def test_public_list_runs_a_constant_number_of_queries(db):
    client = Client(HTTP_HOST="localhost")
    _make_catalog(3)
    few, _ = _list_queries(client, "localhost")
    _make_catalog(27)
    many, body = _list_queries(client, "localhost")
    assert body.count('class="entry"') == 30
    # search_path, host → tenant, search_path, catalog version, Themenfelder, assistants, prices
    assert few == many == PUBLIC_LIST_QUERIES


def test_list_is_served_from_the_cache(towns, catalog, django_assert_num_queries):
    leipzig = towns["leipzig"]
    client = leipzig.login(Role.PURCHASER)
    client.get("/katalog/")  # fills the cache
    # search_path, host → tenant (the session and the signed-in user come from the cache):
    # no catalog query at all
    with django_assert_num_queries(2):
        body = text_of(client.get("/katalog/"))
    assert "3 Assistenten" in body
    # each search has its own entry
    assert "1 Assistent<" in client.get("/katalog/", {"q": "Gewerbe"}).content.decode()
    assert "3 Assistenten" in client.get("/katalog/", {"q": ""}).content.decode()


def test_a_catalog_change_replaces_the_cached_list(towns, catalog, monkeypatch):
    # the version is looked up at most every CATALOG_VERSION_SECONDS; here at every request
    monkeypatch.setattr(shop_views, "CATALOG_VERSION_SECONDS", 0)
    client = towns["leipzig"].login(Role.PURCHASER)
    assert "Hundesteuer Anmeldung" in text_of(client.get("/katalog/"))
    catalog["hund"].title = "Hundesteuer An- und Abmeldung"
    catalog["hund"].save()
    assert "Hundesteuer An- und Abmeldung" in text_of(client.get("/katalog/"))
    PriceFactory(assistant=catalog["gewerbe"], fee_kind_id="maintenance", net_amount=Decimal("123.00"))
    assert "123,00 €" in text_of(client.get("/katalog/"))
    Price.objects.filter(net_amount=Decimal("123.00")).delete()
    assert "123,00 €" not in text_of(client.get("/katalog/"))


def test_cached_lists_are_per_municipality(towns, catalog):
    leipzig = text_of(towns["leipzig"].login(Role.PURCHASER).get("/katalog/"))
    wilsdruff = text_of(towns["wilsdruff"].login(Role.PURCHASER).get("/katalog/"))
    public = text_of(Client(HTTP_HOST="localhost").get("/katalog/"))
    assert _setup_price_of(leipzig, "hundesteuer") == "1.200,00 €"
    assert _setup_price_of(wilsdruff, "hundesteuer") == "800,00 €"
    assert "bis 20.000 Einwohner" in public


def test_ping_is_a_minimal_text_response(towns):
    response = towns["leipzig"].client().get("/ping")
    assert response.status_code == 200
    assert response.content == b"pong"


# --- the cached page around the list --------------------------------------------------------


def _csrf_tokens(body: str) -> list[str]:
    return re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)


def _without_tokens(body: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", body)


def test_a_cached_page_is_the_rendered_page_without_rendering(towns, catalog):
    client = towns["leipzig"].login(Role.PURCHASER)
    first = client.get("/katalog/", {"q": "Hund"})
    again = client.get("/katalog/", {"q": "Hund"})
    assert first.templates and again.templates == []
    assert _without_tokens(again.content.decode()) == _without_tokens(first.content.decode())
    assert 'value="/katalog/?q=Hund"' in again.content.decode()  # the language switch returns here


def test_users_of_one_municipality_get_their_own_cached_page(towns, catalog):
    leipzig = towns["leipzig"]
    purchaser, admin = leipzig.login(Role.PURCHASER), leipzig.login(Role.MUNICIPAL_ADMIN)
    for _ in range(2):  # rendered, then from the cache
        mine = text_of(purchaser.get("/katalog/"))
        theirs = text_of(admin.get("/katalog/"))
        assert "purchaser@leipzig.example" in mine and "Einkauf (Sachbearbeitung)" in mine
        assert 'href="/benutzer/"' not in mine and "municipal_admin@" not in mine
        assert "municipal_admin@leipzig.example" in theirs and "Administration der Kommune" in theirs
        assert 'href="/benutzer/"' in theirs and "purchaser@" not in theirs


def test_a_changed_role_or_name_shows_on_the_next_page(towns, catalog):
    from accounts.models import User

    leipzig = towns["leipzig"]
    client = leipzig.login(Role.MUNICIPAL_ADMIN)
    assert 'href="/benutzer/"' in text_of(client.get("/katalog/"))
    with schema_context(leipzig.schema):
        user = User.objects.get(email=leipzig.emails[Role.MUNICIPAL_ADMIN])
        user.roles, user.full_name = [Role.APPROVER], "Frieda Freigabe"
        user.save()
    body = text_of(client.get("/katalog/"))
    assert 'href="/benutzer/"' not in body and "Frieda Freigabe" in body
    assert "Freigabe (zeichnungsberechtigt)" in body


def test_each_language_has_its_own_cached_page(towns, catalog):
    client = towns["leipzig"].login(Role.PURCHASER)
    assert "Katalog der Online-Antragsassistenten" in text_of(client.get("/katalog/"))
    english = text_of(client.get("/katalog/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "Catalog of online application assistants" in english and "Sign out" in english
    assert "Abmelden" in text_of(client.get("/katalog/"))


def test_the_forms_of_a_cached_page_carry_this_sessions_csrf_token(towns, catalog):
    leipzig = towns["leipzig"]
    client, colleague = leipzig.login(Role.PURCHASER), leipzig.login(Role.PURCHASER)
    client.get("/katalog/")
    body = client.get("/katalog/").content.decode()  # from the cache
    tokens = _csrf_tokens(body)
    assert len(tokens) == 2 and "csrf-token-slot" not in body
    assert tokens[0] not in client.get("/katalog/").content.decode()  # masked anew, as Django does
    # a token of this page is worthless in another session of the same user
    strict = Client(HTTP_HOST=leipzig.domain, enforce_csrf_checks=True)
    strict.cookies = colleague.cookies
    assert strict.post("/konto/abmelden/", {"csrfmiddlewaretoken": tokens[0]}).status_code == 403
    # and signs out in its own
    strict.cookies = client.cookies
    assert strict.post("/konto/abmelden/", {"csrfmiddlewaretoken": tokens[0]}).status_code == 302
    assert client.get("/katalog/").status_code == 302


def test_a_message_shows_once_on_a_cached_page(towns, catalog):
    client = towns["leipzig"].login(Role.PURCHASER)
    client.get("/katalog/")
    response = client.post("/katalog/bewohnerparken/merken/", {"next": "/katalog/"}, follow=True)
    assert response.redirect_chain[-1][0] == "/katalog/"
    assert "steht auf Ihrer Merkliste" in text_of(response)
    assert "steht auf Ihrer Merkliste" not in text_of(client.get("/katalog/"))
