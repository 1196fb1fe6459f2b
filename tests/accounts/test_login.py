"""Login, logout and password reset work on both kinds of domain."""

import re

from django_tenants.utils import schema_context

from accounts.models import User
from accounts.roles import Role
from tests.fixtures import PASSWORD


def test_login_at_own_municipality_and_logout(towns):
    leipzig = towns["leipzig"]
    client = leipzig.login(Role.PURCHASER)
    home = client.get("/")
    assert "purchaser@leipzig.example" in home.content.decode()
    assert "Leipzig" in home.content.decode()
    client.post("/konto/abmelden/")
    assert "purchaser@leipzig.example" not in client.get("/").content.decode()


def test_wrong_password_shows_german_message(towns):
    response = (
        towns["leipzig"]
        .client()
        .post("/konto/anmelden/", {"username": "purchaser@leipzig.example", "password": "falsch"})
    )
    assert response.status_code == 200
    assert "E-Mail-Adresse oder Passwort sind falsch" in response.content.decode()


def test_staff_login_on_public_domain(staff_client):
    client = staff_client("katalog@kisa.example")
    assert client.get("/admin/").status_code == 200


def test_password_reset_on_a_municipal_domain(towns, mailoutbox):
    client = towns["dresden"].client()
    response = client.post("/konto/passwort-vergessen/", {"email": "approver@dresden.example"})
    assert response.status_code == 302
    body = mailoutbox[-1].body
    link = re.search(r"http://dresden\.localhost(/konto/passwort/\S+/)", body).group(1)
    form = client.get(link, follow=True)
    assert "Passwort festlegen" in form.content.decode()
    new_password = "Neues-Passwort-2025"
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": new_password, "new_password2": new_password}
    )
    assert done.status_code == 302
    with schema_context(towns["dresden"].schema):
        assert User.objects.get(email="approver@dresden.example").check_password(new_password)


def test_password_reset_for_an_account_of_another_municipality_sends_nothing(towns, mailoutbox):
    towns["dresden"].client().post("/konto/passwort-vergessen/", {"email": "approver@leipzig.example"})
    assert mailoutbox == []


def test_staff_account_is_worthless_at_a_municipality(towns):
    response = (
        towns["leipzig"]
        .client()
        .post("/konto/anmelden/", {"username": "katalog@kisa.example", "password": PASSWORD})
    )
    assert response.status_code == 200
