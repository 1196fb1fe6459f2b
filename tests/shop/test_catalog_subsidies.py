"""Quotes everywhere: the catalog shows list price, subsidy and what this municipality pays."""

from decimal import Decimal

from django.test import Client
from django.utils import timezone

from accounts.roles import Role
from tests.factories.billing import programme_covering_this_year
from tests.factories.shop import AssistantFactory, PriceFactory


def _programme_covering_this_year(status="confirmed"):
    return programme_covering_this_year(status=status, maintenance="50")


def _catalog():
    central = AssistantFactory(slug="hundesteuer", title="Hundesteuer Festsetzung", category="central")
    efa = AssistantFactory(slug="wohngeld", title="Wohngeld Bewilligung", category="efa")
    for assistant in (central, efa):
        PriceFactory(assistant=assistant, fee_kind_id="setup", net_amount=Decimal("1200.00"))
        PriceFactory(assistant=assistant, fee_kind_id="maintenance", net_amount=Decimal("480.00"))
    return central, efa


def test_list_and_detail_show_subsidy_and_what_the_municipality_pays(towns):
    _programme_covering_this_year()
    _catalog()
    client = towns["wilsdruff"].login(Role.PURCHASER)
    html = client.get("/katalog/").content.decode()
    assert "Förderung −1.200,00 €" in html and "Sie zahlen 0,00 €" in html  # setup, central
    assert "Förderung −240,00 €" in html and "Sie zahlen 240,00 €" in html  # maintenance at 50 %
    efa = client.get("/katalog/wohngeld/").content.decode()  # the detail page explains
    assert "Sie zahlen 1.200,00 €" in efa and "Förderung −" not in efa
    assert "Kategorie Einer für Alle (EfA) ist nicht förderfähig" in efa
    detail = client.get("/katalog/hundesteuer/").content.decode()
    assert "Förderung −1.200,00 €" in detail
    year = timezone.localdate().year
    assert "Gefördert in: 01.07.2022–31.12.2022" in detail and f"01.01.{year}–31.12.{year}" in detail


def test_funded_filter(towns):
    _programme_covering_this_year()
    _catalog()
    client = towns["wilsdruff"].login(Role.APPROVER)
    html = client.get("/katalog/", {"gefoerdert": "on"}).content.decode()
    assert "Hundesteuer Festsetzung" in html and "Wohngeld Bewilligung" not in html


def test_without_a_current_programme_nothing_is_subsidised(towns):
    _catalog()  # the Saxon programme ended on 31.12.2024
    client = towns["wilsdruff"].login(Role.PURCHASER)
    assert "Förderung −" not in client.get("/katalog/").content.decode()
    html = client.get("/katalog/hundesteuer/").content.decode()
    assert "Förderung −" not in html
    assert "Keine Förderung" in html
    assert (
        "Gefördert in: 01.07.2022–31.12.2022; 01.01.2023–31.12.2024 (vorbehaltlich Haushaltsbeschluss)"
        in html
    )
    assert (
        "Hundesteuer Festsetzung"
        not in towns["wilsdruff"]
        .login(Role.PURCHASER)
        .get("/katalog/", {"gefoerdert": "on"})
        .content.decode()
    )


def test_provisional_funding_is_marked(towns):
    _programme_covering_this_year(status="provisional")
    _catalog()
    html = towns["leipzig"].login(Role.PURCHASER).get("/katalog/hundesteuer/").content.decode()
    assert "vorbehaltlich Haushaltsbeschluss" in html


def test_a_budget_decision_shows_at_once(towns):
    programme = _programme_covering_this_year()
    _catalog()
    client = towns["leipzig"].login(Role.PURCHASER)
    assert "Sie zahlen 0,00 €" in client.get("/katalog/").content.decode()
    from django.core.cache import cache

    programme.tranches.update(status="rejected")
    cache.clear()  # what the few seconds of the programme cache do in production
    assert "Sie zahlen 0,00 €" not in client.get("/katalog/").content.decode()


def test_public_catalog_shows_list_prices_only(db):
    _programme_covering_this_year()
    _catalog()
    html = Client(HTTP_HOST="localhost").get("/katalog/").content.decode()
    assert "1.200,00 €" in html
    assert "Sie zahlen" not in html and "gefoerdert" not in html
