"""Cart and order pages of a municipality's domain, driven through the real views (real PostgreSQL).

State is set up with the ordering services; the pages are used the way a browser uses them.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from django_tenants.utils import schema_context

from accounts.models import User
from accounts.roles import Role
from shop.models import CartItem, LineStatus, Order, OrderStatus
from shop.ordering import cart_add, order_approve, order_submit
from shop.provisioning import line_fail, line_provision, line_start
from tests.factories.billing import programme_covering_this_year
from tests.factories.shop import AssistantFactory, PriceFactory

ALL_ROLES = [Role.PURCHASER, Role.APPROVER, Role.MUNICIPAL_ADMIN]


def user_of(town, role):
    with schema_context(town.schema):
        return User.objects.get(email=town.emails[role])


def place_order(town, *assistants, key="k1", today=None) -> Order:
    """An order submitted by the town's purchaser, through the services."""
    purchaser = user_of(town, Role.PURCHASER)
    for assistant in assistants:
        cart_add(municipality=town.municipality, assistant=assistant, user=purchaser)
    return order_submit(municipality=town.municipality, user=purchaser, idempotency_key=key, today=today)


def key_of(html: str) -> str:
    return re.search(r'name="idempotency_key" value="([0-9a-f]+)"', html).group(1)


def text(response) -> str:
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.fixture
def catalog(db):
    central = AssistantFactory(slug="gewerbe", title="Gewerbe Anmeldung", category="central")
    efa = AssistantFactory(slug="wohngeld", title="Wohngeld Antrag", category="efa")
    individual = AssistantFactory(slug="eigen", title="Eigenentwicklung Friedhof", category="individual")
    announced = AssistantFactory(
        slug="bald", title="Bald verfügbar", status="announced", expected_date=date(2027, 1, 1)
    )
    for assistant in (central, efa, announced):
        PriceFactory(assistant=assistant, fee_kind_id="setup", net_amount=Decimal("1200.00"))
        PriceFactory(assistant=assistant, fee_kind_id="maintenance", net_amount=Decimal("480.00"))
    return {"central": central, "efa": efa, "individual": individual, "announced": announced}


# --- pages per role --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_municipal_role_sees_cart_orders_and_order(towns, catalog, role):
    town = towns["leipzig"]
    order = place_order(town, catalog["efa"])
    client = town.login(role)
    cart = client.get("/warenkorb/")
    assert cart.status_code == 200 and "Der Warenkorb ist leer." in text(cart)
    listing = text(client.get("/bestellungen/"))
    assert order.number in listing and "eingereicht, wartet auf Freigabe" in listing
    assert 'href="/warenkorb/"' in listing and 'href="/bestellungen/"' in listing  # navigation
    detail = client.get(f"/bestellungen/{order.pk}/")
    assert detail.status_code == 200 and "Wohngeld Antrag" in text(detail)
    status = client.get(f"/bestellungen/{order.pk}/status")
    assert status.status_code == 200 and status.json()["status"] == "submitted"


def test_anonymous_visitors_are_sent_to_the_login(towns, catalog):
    order = place_order(towns["leipzig"], catalog["efa"])
    client = towns["leipzig"].client()
    for url in (
        "/warenkorb/",
        "/bestellungen/",
        f"/bestellungen/{order.pk}/",
        f"/bestellungen/{order.pk}/status",
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/konto/anmelden/" in response["Location"]


def test_only_purchasers_edit_and_submit_the_cart(towns, catalog):
    town = towns["wilsdruff"]
    cart_add(municipality=town.municipality, assistant=catalog["efa"], user=user_of(town, Role.PURCHASER))
    purchaser = text(town.login(Role.PURCHASER).get("/warenkorb/"))
    assert "Entfernen" in purchaser and "Bestellung absenden" in purchaser
    for role in (Role.APPROVER, Role.MUNICIPAL_ADMIN):
        html = text(town.login(role).get("/warenkorb/"))
        assert "Wohngeld Antrag" in html
        assert "Entfernen" not in html and "Bestellung absenden" not in html


# --- add to cart from the catalog ------------------------------------------------------------------


def test_add_to_cart_from_the_catalog_detail_page(towns, catalog):
    town = towns["leipzig"]
    client = town.login(Role.PURCHASER)
    detail = text(client.get("/katalog/gewerbe/"))
    assert "In den Warenkorb" in detail and 'action="/warenkorb/hinzufuegen/gewerbe/"' in detail
    response = client.post("/warenkorb/hinzufuegen/gewerbe/", {"next": "/katalog/gewerbe/"}, follow=True)
    assert response.redirect_chain[-1][0] == "/katalog/gewerbe/"
    assert "„Gewerbe Anmeldung“ liegt jetzt im Warenkorb." in messages_of(response)
    again = client.post("/warenkorb/hinzufuegen/gewerbe/", follow=True)
    assert "„Gewerbe Anmeldung“ liegt schon im Warenkorb." in messages_of(again)
    assert CartItem.objects.filter(cart__municipality=town.municipality).count() == 1


def test_no_order_button_for_other_roles_or_announced_assistants(towns, catalog):
    town = towns["leipzig"]
    assert "In den Warenkorb" not in text(town.login(Role.APPROVER).get("/katalog/gewerbe/"))
    assert "In den Warenkorb" not in text(town.login(Role.PURCHASER).get("/katalog/bald/"))


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("bald", "„Bald verfügbar“ ist erst angekündigt (voraussichtlich ab 01.01.2027)"),
        ("alt", "„Alter Assistent“ wird nicht mehr angeboten."),
        ("gewerbe", "„Gewerbe Anmeldung“ hat Leipzig bereits aktiv oder in Bestellung."),
    ],
)
def test_add_to_cart_refusals_are_explained_in_german(towns, catalog, slug, message):
    town = towns["leipzig"]
    AssistantFactory(slug="alt", title="Alter Assistent", status="retired")
    place_order(town, catalog["central"])  # "gewerbe" is already ordered
    response = town.login(Role.PURCHASER).post(f"/warenkorb/hinzufuegen/{slug}/", follow=True)
    assert response.status_code == 200
    assert any(m.startswith(message) for m in messages_of(response)), messages_of(response)
    assert not CartItem.objects.filter(cart__municipality=town.municipality).exists()


def test_add_to_cart_unknown_assistant_is_404(towns, catalog):
    assert (
        towns["leipzig"].login(Role.PURCHASER).post("/warenkorb/hinzufuegen/gibt-es-nicht/").status_code
        == 404
    )


def test_remove_from_cart(towns, catalog):
    town = towns["dresden"]
    item = cart_add(
        municipality=town.municipality, assistant=catalog["efa"], user=user_of(town, Role.PURCHASER)
    )
    response = town.login(Role.PURCHASER).post(f"/warenkorb/{item.pk}/entfernen/", follow=True)
    assert "„Wohngeld Antrag“ wurde aus dem Warenkorb entfernt." in messages_of(response)
    assert not CartItem.objects.filter(pk=item.pk).exists()
    assert town.login(Role.PURCHASER).post(f"/warenkorb/{item.pk}/entfernen/").status_code == 404


# --- cart page: quotes and totals ------------------------------------------------------------------


def test_cart_shows_subsidy_and_what_the_municipality_pays(towns, catalog):
    programme_covering_this_year()
    town = towns["wilsdruff"]
    cart_add(municipality=town.municipality, assistant=catalog["central"], user=user_of(town, Role.PURCHASER))
    html = text(town.login(Role.PURCHASER).get("/warenkorb/"))
    assert "Förderung −1.200,00 €" in html and "Sie zahlen 0,00 €" in html
    assert "Förderung −480,00 €" in html  # maintenance for the full year, 100 %
    assert "Förderung Freistaat Sachsen: 100 % Rabatt auf Einrichtung und Konfiguration" in html


def test_cart_totals_once_and_per_year_with_vat(towns, catalog):
    town = towns["wilsdruff"]
    purchaser = user_of(town, Role.PURCHASER)
    for assistant in (catalog["central"], catalog["efa"]):  # no programme today: nothing subsidised
        cart_add(municipality=town.municipality, assistant=assistant, user=purchaser)
    response = town.login(Role.PURCHASER).get("/warenkorb/")
    totals = response.context["totals"]
    assert (totals.once.list_net, totals.once.net_due, totals.once.vat, totals.once.gross_due) == (
        Decimal("2400.00"),
        Decimal("2400.00"),
        Decimal("456.00"),
        Decimal("2856.00"),
    )
    assert totals.yearly.net_due == Decimal("960.00") and totals.yearly.gross_due == Decimal("1142.40")
    html = text(response)
    assert "2.856,00 €" in html and "1.142,40 €" in html and "Keine Förderung" in html


def test_provisional_funding_is_marked_in_the_cart(towns, catalog):
    programme_covering_this_year(status="provisional")
    town = towns["leipzig"]
    cart_add(municipality=town.municipality, assistant=catalog["central"], user=user_of(town, Role.PURCHASER))
    assert "vorbehaltlich Haushaltsbeschluss" in text(town.login(Role.APPROVER).get("/warenkorb/"))


# --- submitting ------------------------------------------------------------------------------------


def test_submitting_twice_with_the_same_key_creates_one_order(towns, catalog):
    town = towns["leipzig"]
    client = town.login(Role.PURCHASER)
    client.post("/warenkorb/hinzufuegen/gewerbe/")
    client.post("/warenkorb/hinzufuegen/wohngeld/")
    key = key_of(text(client.get("/warenkorb/")))
    first = client.post("/warenkorb/bestellen/", {"idempotency_key": key, "note": "Az. 12-34"})
    order = Order.objects.get(municipality=town.municipality)
    assert first.status_code == 302 and first["Location"] == f"/bestellungen/{order.pk}/"
    assert order.note == "Az. 12-34" and order.lines.count() == 2
    again = client.post("/warenkorb/bestellen/", {"idempotency_key": key, "note": "Az. 12-34"}, follow=True)
    assert again.redirect_chain[-1][0] == f"/bestellungen/{order.pk}/"
    assert f"Diese Bestellung wurde bereits als {order.number} eingereicht." in messages_of(again)
    assert Order.objects.filter(municipality=town.municipality).count() == 1


def test_each_rendering_of_the_cart_has_a_new_key(towns, catalog):
    client = towns["leipzig"].login(Role.PURCHASER)
    client.post("/warenkorb/hinzufuegen/gewerbe/")
    assert key_of(text(client.get("/warenkorb/"))) != key_of(text(client.get("/warenkorb/")))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"idempotency_key": "leer-1"}, "Der Warenkorb ist leer."),
        ({"idempotency_key": ""}, "Das Formular ist ungültig. Bitte laden Sie den Warenkorb neu."),
        ({"idempotency_key": "x" * 65}, "Das Formular ist ungültig. Bitte laden Sie den Warenkorb neu."),
    ],
)
def test_bad_submissions_change_nothing(towns, catalog, data, message):
    town = towns["leipzig"]
    response = town.login(Role.PURCHASER).post("/warenkorb/bestellen/", data)
    assert response.status_code == 200 and message in text(response)
    assert not Order.objects.filter(municipality=town.municipality).exists()


def test_an_assistant_retired_while_in_the_cart_cannot_be_submitted(towns, catalog):
    town = towns["leipzig"]
    cart_add(municipality=town.municipality, assistant=catalog["efa"], user=user_of(town, Role.PURCHASER))
    catalog["efa"].status = "retired"
    catalog["efa"].save()
    response = town.login(Role.PURCHASER).post(
        "/warenkorb/bestellen/", {"idempotency_key": "k-ret", "note": "x"}
    )
    assert "„Wohngeld Antrag“ wird nicht mehr angeboten." in text(response)
    assert "x</textarea>" in text(response)  # the note is kept
    assert not Order.objects.filter(municipality=town.municipality).exists()


# --- order page: frozen prices, totals ---------------------------------------------------------------


def test_order_page_shows_the_frozen_quote_with_subsidy(towns, catalog):
    programme_covering_this_year()
    town = towns["wilsdruff"]
    order = place_order(town, catalog["central"])
    html = text(town.login(Role.PURCHASER).get(f"/bestellungen/{order.pk}/"))
    assert "Förderung −1.200,00 €" in html and "Sie zahlen 0,00 €" in html
    assert "Förderung Freistaat Sachsen: 100 % Rabatt auf Einrichtung und Konfiguration" in html
    assert order.number in html and "Gewerbe Anmeldung" in html


def test_order_page_vat_summary_from_the_frozen_amounts(towns, catalog):
    town = towns["wilsdruff"]
    order = place_order(town, catalog["efa"], today=date(2025, 12, 1))  # no subsidy for EfA
    response = town.login(Role.PURCHASER).get(f"/bestellungen/{order.pk}/")
    totals = response.context["totals"]
    assert (totals.once.net_due, totals.once.vat, totals.once.gross_due) == (
        Decimal("1200.00"),
        Decimal("228.00"),
        Decimal("1428.00"),
    )
    # maintenance frozen for the first year from the order date: 480 × 31/365 = 40,77 €
    assert totals.yearly.list_net == Decimal("40.77") and totals.yearly.net_due == Decimal("40.77")
    assert totals.yearly.vat == Decimal("7.75") and totals.yearly.gross_due == Decimal("48.52")
    html = text(response)
    assert "1.428,00 €" in html and "jährlich 480,00 €" in html and "48,52 €" in html


def test_order_list_newest_first_with_status_badges(towns, catalog):
    town = towns["leipzig"]
    older = place_order(town, catalog["efa"], key="a")
    newer = place_order(town, catalog["central"], key="b")
    order_approve(order=newer, user=user_of(town, Role.APPROVER))
    html = text(town.login(Role.MUNICIPAL_ADMIN).get("/bestellungen/"))
    assert html.index(newer.number) < html.index(older.number)
    assert "status-accepted" in html and "status-submitted" in html


def test_approvers_see_how_many_orders_wait(towns, catalog):
    town = towns["leipzig"]
    place_order(town, catalog["efa"])
    assert "1 Bestellung wartet auf Freigabe." in text(town.login(Role.APPROVER).get("/bestellungen/"))
    assert "wartet auf Freigabe." not in text(town.login(Role.PURCHASER).get("/bestellungen/"))


# --- approve, reject, cancel -------------------------------------------------------------------------


def test_approve_via_the_page(towns, catalog):
    town = towns["leipzig"]
    order = place_order(town, catalog["central"])
    client = town.login(Role.APPROVER)
    page = text(client.get(f"/bestellungen/{order.pk}/"))
    assert "Bestellung freigeben" in page and "Bestellung ablehnen" in page
    response = client.post(f"/bestellungen/{order.pk}/freigeben/", follow=True)
    assert any("ist freigegeben und angenommen" in m for m in messages_of(response))
    order.refresh_from_db()
    assert order.status == OrderStatus.ACCEPTED and order.decided_by_email == town.emails[Role.APPROVER]
    assert order.lines.get().status == LineStatus.QUEUED
    html = text(response)
    assert "Bestellung freigeben" not in html and "0 von 1 Assistent bereitgestellt" in html


def test_approving_a_decided_order_changes_nothing(towns, catalog):
    town = towns["leipzig"]
    order = place_order(town, catalog["central"])
    client = town.login(Role.APPROVER)
    client.post(f"/bestellungen/{order.pk}/freigeben/")
    order.refresh_from_db()
    decided_at = order.decided_at
    again = client.post(f"/bestellungen/{order.pk}/freigeben/", follow=True)
    assert "Über diese Bestellung ist bereits entschieden (angenommen, wird bereitgestellt)." in messages_of(
        again
    )
    reject = client.post(f"/bestellungen/{order.pk}/ablehnen/", {"reason": "zu spät"}, follow=True)
    assert any("bereits entschieden" in m for m in messages_of(reject))
    order.refresh_from_db()
    assert order.status == OrderStatus.ACCEPTED and order.decided_at == decided_at


def test_nobody_approves_their_own_order(towns, catalog):
    town = towns["leipzig"]
    with schema_context(town.schema):
        both = User.objects.get(email=town.emails[Role.APPROVER])
        both.roles = [Role.PURCHASER, Role.APPROVER]
        both.save()
    client = town.login(Role.APPROVER)
    client.post("/warenkorb/hinzufuegen/wohngeld/")
    client.post("/warenkorb/bestellen/", {"idempotency_key": "eigene"})
    order = Order.objects.get(municipality=town.municipality)
    page = text(client.get(f"/bestellungen/{order.pk}/"))
    assert "Sie haben diese Bestellung selbst eingereicht" in page and "Bestellung freigeben" not in page
    response = client.post(f"/bestellungen/{order.pk}/freigeben/", follow=True)
    assert "Niemand gibt die eigene Bestellung frei (Vier-Augen-Prinzip)." in messages_of(response)
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED


def test_reject_needs_a_reason(towns, catalog):
    town = towns["dresden"]
    order = place_order(town, catalog["efa"])
    client = town.login(Role.APPROVER)
    empty = client.post(f"/bestellungen/{order.pk}/ablehnen/", {"reason": "   "})
    assert empty.status_code == 200 and "Bitte geben Sie einen Grund für die Ablehnung an." in text(empty)
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED
    response = client.post(
        f"/bestellungen/{order.pk}/ablehnen/", {"reason": "Kein Haushalt 2026"}, follow=True
    )
    assert f"Bestellung {order.number} ist abgelehnt." in messages_of(response)
    order.refresh_from_db()
    assert order.status == OrderStatus.REJECTED and order.rejection_reason == "Kein Haushalt 2026"
    html = text(response)
    assert "Kein Haushalt 2026" in html and "Diese Bestellung wird nicht berechnet." in html


def test_cancel_until_provisioning_starts(towns, catalog):
    town = towns["leipzig"]
    order = place_order(town, catalog["efa"])
    client = town.login(Role.PURCHASER)
    assert "Bestellung stornieren" in text(client.get(f"/bestellungen/{order.pk}/"))
    response = client.post(f"/bestellungen/{order.pk}/stornieren/", follow=True)
    assert f"Bestellung {order.number} ist storniert." in messages_of(response)
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED


def test_cancelling_after_provisioning_started_changes_nothing(towns, catalog):
    town = towns["leipzig"]
    order = order_approve(order=place_order(town, catalog["central"]), user=user_of(town, Role.APPROVER))
    line = order.lines.get()
    line_start(line_id=line.pk)
    client = town.login(Role.PURCHASER)
    assert "Bestellung stornieren" not in text(client.get(f"/bestellungen/{order.pk}/"))
    response = client.post(f"/bestellungen/{order.pk}/stornieren/", follow=True)
    assert (
        "Diese Bestellung kann nicht mehr storniert werden: die Bereitstellung hat begonnen."
        in messages_of(response)
    )
    order.refresh_from_db()
    line.refresh_from_db()
    assert order.status == OrderStatus.ACCEPTED and line.status == LineStatus.PROVISIONING


def test_only_approvers_see_decision_forms_and_only_purchasers_cancel(towns, catalog):
    town = towns["leipzig"]
    order = place_order(town, catalog["efa"])
    admin = text(town.login(Role.MUNICIPAL_ADMIN).get(f"/bestellungen/{order.pk}/"))
    assert "Bestellung freigeben" not in admin and "Bestellung stornieren" not in admin
    purchaser = text(town.login(Role.PURCHASER).get(f"/bestellungen/{order.pk}/"))
    assert "Bestellung freigeben" not in purchaser
    approver = text(town.login(Role.APPROVER).get(f"/bestellungen/{order.pk}/"))
    assert "Bestellung stornieren" not in approver


# --- live progress ---------------------------------------------------------------------------------


def test_status_json_follows_provisioning(towns, catalog):
    town = towns["leipzig"]
    order = place_order(town, catalog["central"], catalog["efa"])
    client = town.login(Role.PURCHASER)
    data = client.get(f"/bestellungen/{order.pk}/status").json()
    assert data["status"] == "submitted" and not data["in_progress"]
    assert [line["status"] for line in data["lines"]] == ["pending", "pending"]

    order = order_approve(order=order, user=user_of(town, Role.APPROVER))
    first, second = order.lines.order_by("pk")
    response = client.get(f"/bestellungen/{order.pk}/status")
    assert response["Cache-Control"] == "no-store"
    data = response.json()
    assert data["in_progress"] and data["status_label"] == "angenommen, wird bereitgestellt"
    assert data["lines"][0]["status_label"] == "in der Warteschlange"

    line_start(line_id=first.pk)
    line_provision(line_id=first.pk, today=date(2026, 3, 2))
    line_start(line_id=second.pk)
    data = client.get(f"/bestellungen/{order.pk}/status").json()
    assert data["lines"][0] == {
        "id": first.pk,
        "title": "Gewerbe Anmeldung",
        "status": "active",
        "status_label": "aktiv",
        "failure_reason": "",
        "activated_on": "02.03.2026",
        "status_changed": data["lines"][0]["status_changed"],
    }
    assert data["lines"][1]["status"] == "provisioning" and data["in_progress"] and data["active"] == 1

    line_fail(line_id=second.pk, reason="Vorlage fehlt im Formularservice")
    data = client.get(f"/bestellungen/{order.pk}/status").json()
    assert data["status"] == "failed" and not data["in_progress"]
    assert data["lines"][1]["failure_reason"] == "Vorlage fehlt im Formularservice"


def test_order_page_renders_progress_without_javascript(towns, catalog):
    town = towns["leipzig"]
    order = order_approve(order=place_order(town, catalog["central"]), user=user_of(town, Role.APPROVER))
    line = order.lines.get()
    client = town.login(Role.PURCHASER)
    queued = text(client.get(f"/bestellungen/{order.pk}/"))
    assert 'data-poll="1"' in queued and "in der Warteschlange" in queued
    assert 'aria-live="polite"' in queued and "/static/js/order_progress.js" in queued
    assert f'data-status-url="/bestellungen/{order.pk}/status"' in queued
    line_start(line_id=line.pk)
    line_fail(line_id=line.pk, reason="Formularservice nicht erreichbar")
    failed = text(client.get(f"/bestellungen/{order.pk}/"))
    assert 'data-poll="0"' in failed and "Formularservice nicht erreichbar" in failed
    assert "Bereitstellung fehlgeschlagen" in failed


def test_unknown_ids_are_404(towns, catalog):
    client = towns["leipzig"].login(Role.APPROVER)
    assert client.get("/bestellungen/999999/").status_code == 404
    assert client.get("/bestellungen/999999/status").status_code == 404
    assert client.post("/bestellungen/999999/freigeben/").status_code == 404
    assert client.post("/bestellungen/999999/ablehnen/", {"reason": "x"}).status_code == 404
    assert towns["leipzig"].login(Role.PURCHASER).post("/bestellungen/999999/stornieren/").status_code == 404


def test_writes_need_post(towns, catalog):
    order = place_order(towns["leipzig"], catalog["efa"])
    client = towns["leipzig"].login(Role.APPROVER)
    assert client.get(f"/bestellungen/{order.pk}/freigeben/").status_code == 405
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED


def test_the_audit_trail_never_credits_a_municipal_action_to_a_staff_account(towns, catalog):
    """History rows live in the public schema; a municipal user's id means someone else there."""
    town = towns["leipzig"]
    client = town.login(Role.PURCHASER)
    client.post("/warenkorb/hinzufuegen/wohngeld/")
    client.post("/warenkorb/bestellen/", {"idempotency_key": "audit"})
    order = Order.objects.get(municipality=town.municipality)
    town.login(Role.APPROVER).post(f"/bestellungen/{order.pk}/freigeben/")
    records = list(order.history.all())
    assert [r.status for r in reversed(records)][-1] == OrderStatus.ACCEPTED
    assert all(record.history_user_id is None for record in records)
    order.refresh_from_db()
    assert (order.submitted_by_email, order.decided_by_email) == (
        town.emails[Role.PURCHASER],
        town.emails[Role.APPROVER],
    )
