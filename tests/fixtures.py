"""Session-wide test data: a few real Saxon municipalities with users for every role.

Tenant schemas are slow to create, so they are created once per session and
every test runs inside a transaction that is rolled back (STYLE.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from accounts.roles import Role
from tenants.models import Municipality
from tenants.schema_clone import ensure_template
from tenants.services import MunicipalityData, ensure_public_tenant, municipality_onboard

PASSWORD = "Test-Passwort-2024"

TOWNS = {
    "leipzig": MunicipalityData(
        ags="14713000",
        official_name="Leipzig, Stadt",
        kind="kreisfreie_stadt",
        district="Leipzig, Stadt",
        population=611850,
        leitweg_id="14713000-12345-84",
        invoice_street="Martin-Luther-Ring 4-6",
        invoice_postal_code="04109",
        invoice_city="Leipzig",
    ),
    "dresden": MunicipalityData(
        ags="14612000",
        official_name="Dresden, Stadt",
        kind="kreisfreie_stadt",
        district="Dresden, Stadt",
        population=564904,
    ),
    "wilsdruff": MunicipalityData(
        ags="14628410",
        official_name="Wilsdruff, Stadt",
        kind="stadt",
        district="Sächsische Schweiz-Osterzgebirge",
        population=14583,
    ),
}


@dataclass
class Town:
    key: str
    municipality: Municipality
    domain: str
    emails: dict[str, str] = field(default_factory=dict)

    @property
    def schema(self) -> str:
        return self.municipality.schema_name

    def client(self) -> Client:
        return Client(HTTP_HOST=self.domain)

    def login(self, role: str) -> Client:
        """A client signed in through the real login form of this municipality's domain."""
        client = self.client()
        response = client.post("/konto/anmelden/", {"username": self.emails[role], "password": PASSWORD})
        assert response.status_code == 302, f"Anmeldung als {role} bei {self.key} fehlgeschlagen"
        return client


def _make_user(email: str, roles: list[str], *, staff: bool = False, superuser: bool = False):
    from accounts.models import User

    user, _ = User.objects.get_or_create(
        email=email, defaults={"roles": roles, "is_staff": staff or superuser, "is_superuser": superuser}
    )
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        ensure_public_tenant()
        ensure_template()
        for key, data in TOWNS.items():
            result = municipality_onboard(data=data)
            with schema_context(result.municipality.schema_name):
                for role in (Role.PURCHASER, Role.APPROVER, Role.MUNICIPAL_ADMIN):
                    _make_user(f"{role}@{key}.example", [role])
        _make_user("katalog@kisa.example", [Role.CATALOG_MANAGER], staff=True)
        _make_user("finanzen@kisa.example", [Role.FINANCE], staff=True)
        _make_user("admin@kisa.example", [], superuser=True)
        connection.set_schema_to_public()
    yield


@pytest.fixture
def towns(django_db_setup, db) -> dict[str, Town]:
    result = {}
    for key, data in TOWNS.items():
        municipality = Municipality.objects.get(ags=data.ags)
        result[key] = Town(
            key=key,
            municipality=municipality,
            domain=municipality.primary_domain,
            emails={
                role: f"{role}@{key}.example"
                for role in (Role.PURCHASER, Role.APPROVER, Role.MUNICIPAL_ADMIN)
            },
        )
    return result


@pytest.fixture
def staff_client(db):
    def make(email: str) -> Client:
        client = Client(HTTP_HOST="localhost")
        response = client.post("/konto/anmelden/", {"username": email, "password": PASSWORD})
        assert response.status_code == 302, f"Anmeldung {email} fehlgeschlagen"
        return client

    return make


@pytest.fixture(autouse=True)
def _public_schema_after_test():
    yield
    connection.set_schema_to_public()


@pytest.fixture(autouse=True)
def _empty_cache():
    """Caches (catalog pages, funding programmes, sessions) never carry over from one test to the next."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
