"""Cross-tenant probes for carts and orders: Leipzig's ids are worthless at Dresden (404),
a role without the right gets 403, and the staff area does not exist on a municipality's domain."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import User
from accounts.roles import Role
from shop.models import CartItem, LineStatus, Order, OrderStatus
from shop.ordering import cart_add, order_submit
from tests.factories.shop import AssistantFactory, PriceFactory

MUNICIPAL_ROLES = [Role.PURCHASER, Role.APPROVER, Role.MUNICIPAL_ADMIN]


def user_of(town, role):
    with schema_context(town.schema):
        return User.objects.get(email=town.emails[role])


@pytest.fixture
def assistants(db):
    result = {}
    for slug, title in (("gewerbe", "Gewerbe Anmeldung"), ("hundesteuer", "Hundesteuer Anmeldung")):
        assistant = AssistantFactory(slug=slug, title=title, category="efa")
        PriceFactory(assistant=assistant, fee_kind_id="setup", net_amount=Decimal("900.00"))
        result[slug] = assistant
    return result


@pytest.fixture
def leipzig_order(towns, assistants) -> Order:
    town = towns["leipzig"]
    purchaser = user_of(town, Role.PURCHASER)
    cart_add(municipality=town.municipality, assistant=assistants["gewerbe"], user=purchaser)
    return order_submit(municipality=town.municipality, user=purchaser, idempotency_key="leipzig-1")


@pytest.fixture
def leipzig_cart_item(towns, assistants) -> CartItem:
    town = towns["leipzig"]
    return cart_add(
        municipality=town.municipality,
        assistant=assistants["hundesteuer"],
        user=user_of(town, Role.PURCHASER),
    )


def _unchanged(order: Order) -> None:
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED and not order.decided_at and not order.cancelled_at
    assert set(order.lines.values_list("status", flat=True)) == {LineStatus.PENDING}


@pytest.mark.parametrize("role", MUNICIPAL_ROLES)
def test_leipzigs_order_is_not_found_at_dresden(towns, leipzig_order, role):
    client = towns["dresden"].login(role)
    assert client.get(f"/bestellungen/{leipzig_order.pk}/").status_code == 404
    status = client.get(f"/bestellungen/{leipzig_order.pk}/status")
    assert status.status_code == 404 and "Gewerbe" not in status.content.decode()
    assert leipzig_order.number not in client.get("/bestellungen/").content.decode()


def test_deciding_or_cancelling_leipzigs_order_at_dresden_is_404(towns, leipzig_order):
    approver = towns["dresden"].login(Role.APPROVER)
    assert approver.post(f"/bestellungen/{leipzig_order.pk}/freigeben/").status_code == 404
    assert (
        approver.post(f"/bestellungen/{leipzig_order.pk}/ablehnen/", {"reason": "fremd"}).status_code == 404
    )
    purchaser = towns["dresden"].login(Role.PURCHASER)
    assert purchaser.post(f"/bestellungen/{leipzig_order.pk}/stornieren/").status_code == 404
    _unchanged(leipzig_order)


def test_dresdens_cart_never_shows_leipzigs_items(towns, leipzig_cart_item):
    for role in MUNICIPAL_ROLES:
        html = towns["dresden"].login(role).get("/warenkorb/").content.decode()
        assert "Hundesteuer Anmeldung" not in html and "Der Warenkorb ist leer." in html
    assert (
        "Hundesteuer Anmeldung" in towns["leipzig"].login(Role.APPROVER).get("/warenkorb/").content.decode()
    )


def test_removing_leipzigs_cart_item_at_dresden_is_404(towns, leipzig_cart_item):
    response = towns["dresden"].login(Role.PURCHASER).post(f"/warenkorb/{leipzig_cart_item.pk}/entfernen/")
    assert response.status_code == 404
    assert CartItem.objects.filter(pk=leipzig_cart_item.pk).exists()


def test_submitting_at_dresden_never_orders_leipzigs_cart(towns, leipzig_cart_item):
    response = towns["dresden"].login(Role.PURCHASER).post("/warenkorb/bestellen/", {"idempotency_key": "x"})
    assert "Der Warenkorb ist leer." in response.content.decode()
    assert not Order.objects.exists()
    assert CartItem.objects.filter(pk=leipzig_cart_item.pk).exists()


def test_the_same_idempotency_key_at_another_municipality_is_another_order(towns, leipzig_order, assistants):
    """A key is unique per municipality: Dresden reusing Leipzig's key never gets Leipzig's order."""
    client = towns["dresden"].login(Role.PURCHASER)
    client.post("/warenkorb/hinzufuegen/gewerbe/")
    response = client.post("/warenkorb/bestellen/", {"idempotency_key": "leipzig-1"})
    dresden_order = Order.objects.get(municipality=towns["dresden"].municipality)
    assert (
        response["Location"] == f"/bestellungen/{dresden_order.pk}/" and dresden_order.pk != leipzig_order.pk
    )


@pytest.mark.parametrize(
    ("role", "method", "url"),
    [
        (Role.APPROVER, "post", "/warenkorb/hinzufuegen/gewerbe/"),
        (Role.MUNICIPAL_ADMIN, "post", "/warenkorb/hinzufuegen/gewerbe/"),
        (Role.APPROVER, "post", "/warenkorb/bestellen/"),
        (Role.MUNICIPAL_ADMIN, "post", "/warenkorb/bestellen/"),
        (Role.APPROVER, "post", "/warenkorb/{item}/entfernen/"),
        (Role.PURCHASER, "post", "/bestellungen/{order}/freigeben/"),
        (Role.MUNICIPAL_ADMIN, "post", "/bestellungen/{order}/freigeben/"),
        (Role.PURCHASER, "post", "/bestellungen/{order}/ablehnen/"),
        (Role.APPROVER, "post", "/bestellungen/{order}/stornieren/"),
        (Role.MUNICIPAL_ADMIN, "post", "/bestellungen/{order}/stornieren/"),
    ],
)
def test_wrong_role_is_403_and_changes_nothing(towns, leipzig_order, leipzig_cart_item, role, method, url):
    client = towns["leipzig"].login(role)
    url = url.format(order=leipzig_order.pk, item=leipzig_cart_item.pk)
    response = getattr(client, method)(url, {"idempotency_key": "k", "reason": "x"})
    assert response.status_code == 403
    _unchanged(leipzig_order)
    assert CartItem.objects.filter(cart__municipality=towns["leipzig"].municipality).count() == 1


def test_a_foreign_role_is_403_even_for_a_foreign_id(towns, leipzig_order):
    """The right is checked before the lookup: no difference between "not yours" and "not allowed"."""
    assert (
        towns["dresden"]
        .login(Role.PURCHASER)
        .post(f"/bestellungen/{leipzig_order.pk}/freigeben/")
        .status_code
        == 403
    )
    _unchanged(leipzig_order)


@pytest.mark.parametrize(
    "url",
    [
        "/verwaltung/bestellungen/",
        "/verwaltung/bestellungen/{order}/",
        "/verwaltung/bestellungen/{order}/status",
        "/verwaltung/bestellungen/kommune/14713000/",
    ],
)
@pytest.mark.parametrize("role", MUNICIPAL_ROLES)
def test_municipal_domains_have_no_staff_order_pages(towns, leipzig_order, url, role):
    client = towns["leipzig"].login(role)
    assert client.get(url.format(order=leipzig_order.pk)).status_code == 404
    assert client.post(f"/verwaltung/bestellungen/{leipzig_order.pk}/annehmen/").status_code == 404


@pytest.mark.parametrize(
    "url", ["/warenkorb/", "/bestellungen/", "/bestellungen/{order}/", "/bestellungen/{order}/status"]
)
def test_the_associations_domain_has_no_municipal_order_pages(towns, leipzig_order, staff_client, url):
    client = staff_client("katalog@kisa.example")
    assert client.get(url.format(order=leipzig_order.pk)).status_code == 404
    assert Client(HTTP_HOST="localhost").get(url.format(order=leipzig_order.pk)).status_code == 404


def test_a_leipzig_session_is_worthless_at_dresden(towns, leipzig_order):
    client = towns["leipzig"].login(Role.APPROVER)
    response = client.get("/bestellungen/", HTTP_HOST=towns["dresden"].domain)
    assert response.status_code == 302 and "/konto/anmelden/" in response["Location"]
    response = client.post(f"/bestellungen/{leipzig_order.pk}/freigeben/", HTTP_HOST=towns["dresden"].domain)
    assert response.status_code in (302, 403)
    _unchanged(leipzig_order)
