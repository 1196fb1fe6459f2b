"""Cross-tenant probes: an account, a page or a session of municipality A is worthless at B."""

import pytest

from accounts.roles import Role
from tests.fixtures import PASSWORD

TENANT_PAGES = ["/", "/benutzer/", "/benutzer/einladen/"]


@pytest.mark.parametrize("role", [Role.PURCHASER, Role.APPROVER, Role.MUNICIPAL_ADMIN])
def test_user_of_a_cannot_log_in_at_b(towns, role):
    leipzig, dresden = towns["leipzig"], towns["dresden"]
    response = dresden.client().post(
        "/konto/anmelden/", {"username": leipzig.emails[role], "password": PASSWORD}
    )
    assert response.status_code == 200
    assert "E-Mail-Adresse oder Passwort sind falsch" in response.content.decode()


def test_session_cookie_of_a_is_worthless_at_b(towns):
    leipzig, dresden = towns["leipzig"], towns["dresden"]
    client = leipzig.login(Role.MUNICIPAL_ADMIN)
    cookie = client.cookies["sessionid"]
    assert cookie["domain"] == ""  # host-only: browsers never send it to dresden.localhost
    # even if the cookie were replayed at B by hand, B's schema knows no such session
    thief = dresden.client()
    thief.cookies["sessionid"] = cookie.value
    response = thief.get("/benutzer/")
    assert response.status_code == 302 and "/konto/anmelden/" in response["Location"]
    assert "municipal_admin@leipzig.example" not in thief.get("/").content.decode()


@pytest.mark.parametrize("path", TENANT_PAGES)
def test_user_of_a_sees_none_of_bs_pages(towns, path):
    leipzig, dresden = towns["leipzig"], towns["dresden"]
    client = leipzig.login(Role.MUNICIPAL_ADMIN)
    # the same client (cookie jar) talking to B's host is anonymous there
    response = client.get(path, HTTP_HOST=dresden.domain)
    body = response.content.decode()
    assert "municipal_admin@leipzig.example" not in body
    assert "purchaser@dresden.example" not in body
    if path != "/":
        assert response.status_code == 302


def test_user_list_shows_only_own_users(towns):
    body = towns["leipzig"].login(Role.MUNICIPAL_ADMIN).get("/benutzer/").content.decode()
    assert "purchaser@leipzig.example" in body
    assert "dresden" not in body and "wilsdruff" not in body and "kisa.example" not in body


def test_user_ids_of_b_are_404_at_a(towns):
    from django_tenants.utils import schema_context

    from accounts.models import User

    with schema_context(towns["dresden"].schema):
        foreign_ids = list(User.objects.values_list("pk", flat=True))
    with schema_context(towns["leipzig"].schema):
        own_ids = set(User.objects.values_list("pk", flat=True))
    client = towns["leipzig"].login(Role.MUNICIPAL_ADMIN)
    probe = max(foreign_ids + list(own_ids)) + 1
    assert client.get(f"/benutzer/{probe}/").status_code == 404


def test_unknown_host_is_a_404_page_not_a_traceback(db):
    from django.test import Client

    response = Client(HTTP_HOST="nirgendwo.localhost").get("/")
    assert response.status_code == 404
    assert "Seite nicht gefunden" in response.content.decode()


def test_staff_pages_do_not_exist_on_municipal_domains(towns):
    client = towns["leipzig"].login(Role.MUNICIPAL_ADMIN)
    assert client.get("/admin/").status_code == 404
    assert client.get("/verwaltung/auftraege/1/").status_code in {403, 404}


def test_cached_signed_in_users_never_cross_municipalities(towns):
    """User ids repeat in every schema; the user cache is keyed per schema."""
    from django_tenants.utils import schema_context

    from accounts.models import User

    leipzig, dresden = towns["leipzig"], towns["dresden"]
    with schema_context(leipzig.schema):
        leipzig_ids = dict(User.objects.values_list("email", "pk"))
    with schema_context(dresden.schema):
        dresden_ids = dict(User.objects.values_list("email", "pk"))
    assert set(leipzig_ids.values()) & set(dresden_ids.values()), "the probe needs overlapping ids"
    a = leipzig.login(Role.PURCHASER)
    b = dresden.login(Role.PURCHASER)
    for _ in range(2):  # the second round is served from the cache
        assert "purchaser@leipzig.example" in a.get("/").content.decode()
        assert "purchaser@dresden.example" in b.get("/").content.decode()
        assert "purchaser@leipzig.example" not in b.get("/").content.decode()


def test_a_deactivated_user_is_signed_out_at_once_despite_the_cache(towns):
    from django_tenants.utils import schema_context

    from accounts.models import User

    leipzig = towns["leipzig"]
    client = leipzig.login(Role.MUNICIPAL_ADMIN)
    assert client.get("/benutzer/").status_code == 200  # now cached
    with schema_context(leipzig.schema):
        admin = User.objects.get(email=leipzig.emails[Role.MUNICIPAL_ADMIN])
        admin.is_active = False
        admin.save()
    assert client.get("/benutzer/").status_code == 302
