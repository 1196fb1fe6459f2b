import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import schema_context

from accounts.models import User
from accounts.roles import Role
from tenants.models import Domain, Municipality
from tenants.services import MunicipalityData, municipality_onboard, municipality_slug

GOERLITZ = MunicipalityData(
    ags="14626110",
    official_name="Görlitz, Stadt, Hochschulstadt",
    kind="stadt",
    district="Görlitz",
    population=55784,
)


def _schema_exists(name):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [name])
        return cursor.fetchone() is not None


def test_onboarding_creates_row_schema_domain_and_invites_admin(
    django_db_setup, db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        result = municipality_onboard(
            data=GOERLITZ, admin_email="IT@Goerlitz.example", admin_name="Ines Tamm"
        )
    municipality = result.municipality
    assert result.created
    assert municipality.short_name == "Görlitz"
    assert municipality.schema_name == "m_14626110"
    assert _schema_exists("m_14626110")
    assert result.domain == "goerlitz.localhost"
    assert Domain.objects.get(domain="goerlitz.localhost").tenant == municipality
    with schema_context(municipality.schema_name):
        admin = User.objects.get()
        assert admin.email == "it@goerlitz.example"
        assert admin.roles == [Role.MUNICIPAL_ADMIN]
        assert not admin.has_usable_password()
    # the admin exists only in Görlitz' schema
    assert not User.objects.filter(email="it@goerlitz.example").exists()
    assert len(mail.outbox) == 1
    assert "http://goerlitz.localhost:8000/konto/passwort/" in mail.outbox[0].body
    assert mail.outbox[0].alternatives  # HTML part


def test_onboarding_twice_updates_and_never_duplicates(django_db_setup, db):
    first = municipality_onboard(data=GOERLITZ)
    renamed = MunicipalityData(**{**GOERLITZ.__dict__, "population": 56000})
    second = municipality_onboard(data=renamed)
    third = municipality_onboard(data=renamed)
    assert not second.created and second.changed
    assert not third.created and not third.changed
    assert Municipality.objects.filter(ags="14626110").count() == 1
    assert Domain.objects.filter(tenant=first.municipality).count() == 1
    assert Municipality.objects.get(ags="14626110").population == 56000


def test_landkreis_and_city_of_the_same_name_get_distinct_domains(django_db_setup, db):
    city = municipality_onboard(data=GOERLITZ)
    district = municipality_onboard(
        data=MunicipalityData(ags="14626000", official_name="Görlitz", kind="landkreis", district="Görlitz")
    )
    assert city.domain == "goerlitz.localhost"
    assert district.domain == "landkreis-goerlitz.localhost"


def test_two_gemeinden_with_the_same_name_get_distinct_domains(django_db_setup, db):
    a = municipality_onboard(
        data=MunicipalityData(
            ags="14625020", official_name="Bernsdorf, Stadt", kind="stadt", district="Bautzen"
        )
    )
    b = municipality_onboard(
        data=MunicipalityData(ags="14524040", official_name="Bernsdorf", kind="gemeinde", district="Zwickau")
    )
    assert a.domain == "bernsdorf.localhost"
    assert b.domain == "bernsdorf-zwickau.localhost"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ags": "1462611"}, "ags"),
        ({"ags": "09162000"}, "ags"),
        ({"kind": "dorf"}, "kind"),
        ({"leitweg_id": "14626110-1-00"}, "leitweg_id"),
        ({"official_name": ""}, "official_name"),
    ],
)
def test_bad_data_is_refused_and_nothing_is_created(django_db_setup, db, change, field):
    data = MunicipalityData(**{**GOERLITZ.__dict__, **change})
    schemas_before = _count_schemas()
    with pytest.raises(ValidationError) as exc:
        municipality_onboard(data=data)
    assert field in exc.value.message_dict
    assert not Municipality.objects.filter(ags=data.ags).exists()
    assert _count_schemas() == schemas_before


def _count_schemas():
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_namespace")
        return cursor.fetchone()[0]


def test_slugs_are_readable_ascii():
    assert municipality_slug("Görlitz", "stadt") == "goerlitz"
    assert municipality_slug("Bautzen / Budyšin", "stadt") == "bautzen-budysin"
    assert (
        municipality_slug("Sächsische Schweiz-Osterzgebirge", "landkreis")
        == "landkreis-saechsische-schweiz-osterzgebirge"
    )
    assert municipality_slug("Weißwasser/O.L. / Běła Woda", "stadt") == "weisswasser-o-l-bela-woda"
