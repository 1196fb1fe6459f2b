"""Cross-tenant probes for the catalog: watch lists and sessions of municipality A are worthless at B."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.cache import cache
from django.test import Client
from django_tenants.utils import schema_context

from accounts.roles import Role
from shop.models import AssistantStatus
from tests.factories.shop import AssistantFactory, PriceFactory
from workspace.models import Watch

CATALOG_PAGES = ["/katalog/", "/katalog/bewohnerparken/", "/katalog/merkliste/"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def announced(db):
    assistant = AssistantFactory(
        slug="bewohnerparken",
        title="Bewohnerparkausweis",
        status=AssistantStatus.ANNOUNCED,
        expected_date=date(2027, 3, 1),
    )
    PriceFactory(assistant=assistant)
    return assistant


@pytest.fixture
def leipzig_watch(towns, announced) -> Watch:
    towns["leipzig"].login(Role.PURCHASER).post("/katalog/bewohnerparken/merken/")
    with schema_context(towns["leipzig"].schema):
        return Watch.objects.get()


def test_leipzigs_watch_list_is_invisible_at_dresden(towns, leipzig_watch):
    dresden = towns["dresden"].login(Role.PURCHASER)
    body = dresden.get("/katalog/merkliste/").content.decode()
    assert "Ihre Merkliste ist leer" in body and "Bewohnerparkausweis" not in body
    detail = dresden.get("/katalog/bewohnerparken/").content.decode()
    assert "Auf die Merkliste" in detail and "Von der Merkliste nehmen" not in detail
    with schema_context(towns["dresden"].schema):
        assert not Watch.objects.exists()


@pytest.mark.parametrize("role", [Role.PURCHASER, Role.APPROVER, Role.MUNICIPAL_ADMIN])
def test_removing_another_municipalitys_watch_entry_is_404(towns, leipzig_watch, role):
    client = towns["dresden"].login(role)
    assert client.post(f"/katalog/merkliste/{leipzig_watch.pk}/entfernen/").status_code == 404
    with schema_context(towns["leipzig"].schema):
        assert Watch.objects.filter(pk=leipzig_watch.pk).exists()


def test_the_same_id_in_another_schema_belongs_to_someone_else(towns, leipzig_watch, announced):
    """Ids are per schema: Dresden may hold an entry with Leipzig's id, owned by a Dresden colleague."""
    from accounts.models import User

    dresden = towns["dresden"]
    with schema_context(dresden.schema):
        colleague = User.objects.get(email=dresden.emails[Role.APPROVER])
        Watch.objects.create(pk=leipzig_watch.pk, user=colleague, assistant=announced)
    client = dresden.login(Role.PURCHASER)
    assert client.post(f"/katalog/merkliste/{leipzig_watch.pk}/entfernen/").status_code == 404
    assert "Bewohnerparkausweis" not in client.get("/katalog/merkliste/").content.decode()
    with schema_context(dresden.schema):
        assert Watch.objects.filter(pk=leipzig_watch.pk, user=colleague).exists()
    with schema_context(towns["leipzig"].schema):
        assert Watch.objects.filter(pk=leipzig_watch.pk).exists()


def test_a_leipzig_session_cookie_at_dresdens_catalog_goes_to_the_login(towns, leipzig_watch):
    leipzig, dresden = towns["leipzig"], towns["dresden"]
    cookie = leipzig.login(Role.PURCHASER).cookies["sessionid"].value
    thief = dresden.client()
    thief.cookies["sessionid"] = cookie
    for path in CATALOG_PAGES:
        response = thief.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/konto/anmelden/"), path
    response = thief.post(f"/katalog/merkliste/{leipzig_watch.pk}/entfernen/")
    assert response.status_code == 302 and "/konto/anmelden/" in response["Location"]
    with schema_context(leipzig.schema):
        assert Watch.objects.filter(pk=leipzig_watch.pk).exists()


@pytest.mark.parametrize("path", CATALOG_PAGES)
def test_the_same_browser_is_anonymous_at_another_municipality(towns, announced, path):
    client = towns["leipzig"].login(Role.MUNICIPAL_ADMIN)
    response = client.get(path, HTTP_HOST=towns["dresden"].domain)
    assert response.status_code == 302 and "/konto/anmelden/" in response["Location"]


def test_a_municipal_session_is_worthless_on_the_public_catalog(towns, leipzig_watch):
    cookie = towns["leipzig"].login(Role.PURCHASER).cookies["sessionid"].value
    public = Client(HTTP_HOST="localhost")
    public.cookies["sessionid"] = cookie
    body = public.get("/katalog/").content.decode()
    assert "purchaser@leipzig.example" not in body and "Merkliste" not in body
    assert public.get("/katalog/merkliste/").status_code == 404
    assert public.post(f"/katalog/merkliste/{leipzig_watch.pk}/entfernen/").status_code in {403, 404}


def test_cached_catalog_pages_do_not_leak_between_municipalities(towns, announced):
    # Leipzig renders (and caches) its list first; Dresden's list names Dresden, not Leipzig.
    towns["leipzig"].login(Role.PURCHASER).get("/katalog/")
    body = towns["dresden"].login(Role.PURCHASER).get("/katalog/").content.decode()
    assert "Nettopreise für Dresden" in body and "Leipzig" not in body


def test_cached_catalog_pages_of_the_same_user_id_stay_in_their_municipality(towns, announced):
    """User ids are per schema: Leipzig's and Dresden's purchaser may share one, never a page."""
    from accounts.models import User

    leipzig, dresden = towns["leipzig"], towns["dresden"]
    ids = []
    for town in (leipzig, dresden):
        with schema_context(town.schema):
            ids.append(User.objects.get(email=town.emails[Role.PURCHASER]).pk)
    assert ids[0] == ids[1]
    clients = {town.key: town.login(Role.PURCHASER) for town in (leipzig, dresden)}
    for _ in range(2):  # rendered, then from the cache
        for town in (leipzig, dresden):
            body = clients[town.key].get("/katalog/").content.decode()
            other = dresden if town is leipzig else leipzig
            assert f"Nettopreise für {town.municipality.short_name}" in body
            assert town.emails[Role.PURCHASER] in body and other.emails[Role.PURCHASER] not in body
            assert other.municipality.short_name not in body and other.municipality.ags not in body
