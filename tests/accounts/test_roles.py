"""accounts.permissions.can is the one place that decides; it respects roles and the kind of domain."""

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from accounts.models import User
from accounts.permissions import RULES, can
from accounts.roles import Role
from accounts.services import user_invite, user_update
from tenants.models import Municipality


class FakeTenant:
    def __init__(self, schema_name):
        self.schema_name = schema_name


TENANT, PUBLIC = FakeTenant("m_14713000"), FakeTenant("public")


def make_user(*roles, superuser=False):
    return User(email="x@example.org", roles=list(roles), is_superuser=superuser, is_active=True)


@pytest.mark.parametrize(
    ("roles", "action", "tenant", "allowed"),
    [
        ([Role.PURCHASER], "order.submit", TENANT, True),
        ([Role.PURCHASER], "order.approve", TENANT, False),
        ([Role.APPROVER], "order.approve", TENANT, True),
        ([Role.APPROVER], "order.submit", TENANT, False),
        ([Role.MUNICIPAL_ADMIN], "users.manage", TENANT, True),
        ([Role.PURCHASER], "users.manage", TENANT, False),
        ([Role.CATALOG_MANAGER], "staff.catalog", PUBLIC, True),
        ([Role.CATALOG_MANAGER], "staff.finance", PUBLIC, False),
        ([Role.FINANCE], "staff.finance", PUBLIC, True),
        # roles never work on the other kind of domain
        ([Role.CATALOG_MANAGER], "staff.catalog", TENANT, False),
        ([Role.MUNICIPAL_ADMIN], "users.manage", PUBLIC, False),
        ([Role.PURCHASER], "order.submit", PUBLIC, False),
    ],
)
def test_role_matrix(roles, action, tenant, allowed):
    assert can(make_user(*roles), action, tenant) is allowed


def test_superuser_has_every_staff_action_but_no_municipal_action():
    root = make_user(superuser=True)
    for action, rule in RULES.items():
        assert can(root, action, PUBLIC) is (rule.scope.value == "public")
        assert can(root, action, TENANT) is False


def test_inactive_and_anonymous_users_may_do_nothing():
    from django.contrib.auth.models import AnonymousUser

    inactive = make_user(Role.PURCHASER)
    inactive.is_active = False
    for action in RULES:
        assert not can(inactive, action, TENANT)
        assert not can(AnonymousUser(), action, TENANT)


def test_unknown_action_is_a_programming_error():
    with pytest.raises(KeyError):
        can(make_user(Role.PURCHASER), "order.teleport", TENANT)


def test_staff_roles_cannot_be_given_in_a_municipality(towns):
    with schema_context(towns["leipzig"].schema), pytest.raises(ValidationError) as exc:
        user_invite(
            email="neu@leipzig.example", roles=[Role.FINANCE], base_url="http://x", organisation="Leipzig"
        )
    assert "gibt es in einer Kommune nicht" in str(exc.value)


def test_municipal_roles_cannot_be_given_to_staff(towns):
    with pytest.raises(ValidationError):
        user_invite(email="neu@kisa.example", roles=[Role.APPROVER], base_url="http://x", organisation="KISA")


def test_admin_cannot_remove_own_admin_role_or_deactivate_self(towns):
    with schema_context(towns["leipzig"].schema):
        admin = User.objects.get(email="municipal_admin@leipzig.example")
        with pytest.raises(ValidationError):
            user_update(user=admin, roles=[Role.PURCHASER], active=True, acting_user=admin)
        with pytest.raises(ValidationError):
            user_update(user=admin, roles=[Role.MUNICIPAL_ADMIN], active=False, acting_user=admin)
        admin.refresh_from_db()
        assert admin.roles == [Role.MUNICIPAL_ADMIN] and admin.is_active


def test_municipal_admin_invites_and_edits_users_of_own_municipality(
    towns, django_capture_on_commit_callbacks, mailoutbox
):
    leipzig = towns["leipzig"]
    client = leipzig.login(Role.MUNICIPAL_ADMIN)
    assert client.get("/benutzer/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/benutzer/einladen/",
            {
                "email": "neu@leipzig.example",
                "full_name": "Nora Neu",
                "roles": [Role.PURCHASER, Role.APPROVER],
            },
        )
    assert response.status_code == 302
    with schema_context(leipzig.schema):
        new = User.objects.get(email="neu@leipzig.example")
        assert sorted(new.roles) == [Role.APPROVER, Role.PURCHASER]
    assert mailoutbox[-1].to == ["neu@leipzig.example"]
    assert "http://leipzig.localhost/konto/passwort/" in mailoutbox[-1].body
    # nowhere else
    assert not User.objects.filter(email="neu@leipzig.example").exists()
    with schema_context(towns["dresden"].schema):
        assert not User.objects.filter(email="neu@leipzig.example").exists()

    response = client.post(f"/benutzer/{new.pk}/", {"roles": [Role.PURCHASER], "is_active": ""})
    assert response.status_code == 302
    with schema_context(leipzig.schema):
        new.refresh_from_db()
        assert new.roles == [Role.PURCHASER] and not new.is_active


def test_invitation_form_shows_german_errors(towns):
    client = towns["leipzig"].login(Role.MUNICIPAL_ADMIN)
    response = client.post("/benutzer/einladen/", {"email": "kein-mail", "roles": []})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Bitte wählen Sie mindestens eine Rolle." in html
    assert "gültige E-Mail-Adresse" in html
    duplicate = client.post(
        "/benutzer/einladen/", {"email": "purchaser@leipzig.example", "roles": [Role.PURCHASER]}
    )
    assert "Unter dieser E-Mail-Adresse gibt es hier schon ein Konto." in duplicate.content.decode()


@pytest.mark.parametrize("role", [Role.PURCHASER, Role.APPROVER])
def test_other_roles_may_not_manage_users(towns, role):
    client = towns["leipzig"].login(role)
    assert client.get("/benutzer/").status_code == 403
    assert (
        client.post("/benutzer/einladen/", {"email": "x@y.de", "roles": [Role.PURCHASER]}).status_code == 403
    )


def test_municipal_admin_page_requires_login(towns):
    response = towns["leipzig"].client().get("/benutzer/")
    assert response.status_code == 302 and response["Location"].startswith("/konto/anmelden/")


def test_staff_without_rights_is_kept_out_of_admin_models(staff_client):
    finance = staff_client("finanzen@kisa.example")
    assert finance.get("/admin/tenants/municipality/").status_code == 403
    catalog = staff_client("katalog@kisa.example")
    assert catalog.get("/admin/tenants/municipality/").status_code == 200
    assert Municipality.objects.exists()
