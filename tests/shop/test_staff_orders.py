"""The association's order pages on the public domain: list with filters, detail, manual
acceptance with free price lines, retrying failed lines, history per municipality."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import User
from accounts.roles import Role
from shop.models import LineStatus, OrderLinePrice, OrderStatus, ProvisioningOutbox
from shop.ordering import order_approve
from shop.provisioning import line_fail, line_start
from tests.factories.shop import AssistantFactory, PriceFactory
from tests.fixtures import PASSWORD
from tests.shop.test_order_pages import place_order, user_of

CATALOG = "katalog@kisa.example"
FINANCE = "finanzen@kisa.example"
SUPERUSER = "admin@kisa.example"


@pytest.fixture
def catalog(db):
    central = AssistantFactory(slug="gewerbe", title="Gewerbe Anmeldung", category="central")
    efa = AssistantFactory(slug="wohngeld", title="Wohngeld Antrag", category="efa")
    individual = AssistantFactory(slug="eigen", title="Eigenentwicklung Friedhof", category="individual")
    for assistant in (central, efa):
        PriceFactory(assistant=assistant, fee_kind_id="setup", net_amount=Decimal("1200.00"))
        PriceFactory(assistant=assistant, fee_kind_id="maintenance", net_amount=Decimal("480.00"))
    return {"central": central, "efa": efa, "individual": individual}


@pytest.fixture
def review_order(towns, catalog):
    """Wilsdruff's approved order of an individual development, waiting for the association."""
    town = towns["wilsdruff"]
    order = place_order(town, catalog["individual"], catalog["efa"], key="review")
    return order_approve(order=order, user=user_of(town, Role.APPROVER))


def accept_data(line, rows):
    data = {
        f"zeile-{line.pk}-TOTAL_FORMS": "3",
        f"zeile-{line.pk}-INITIAL_FORMS": "0",
        f"zeile-{line.pk}-MIN_NUM_FORMS": "0",
        f"zeile-{line.pk}-MAX_NUM_FORMS": "3",
    }
    for index in range(3):
        kind, amount, description = rows[index] if index < len(rows) else ("customization", "", "")
        data[f"zeile-{line.pk}-{index}-fee_kind"] = kind
        data[f"zeile-{line.pk}-{index}-net_amount"] = amount
        data[f"zeile-{line.pk}-{index}-description"] = description
    return data


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


# --- who may see it ------------------------------------------------------------------------------------


@pytest.mark.parametrize("email", [CATALOG, FINANCE, SUPERUSER])
def test_staff_see_every_page(towns, catalog, review_order, staff_client, email):
    client = staff_client(email)
    listing = client.get("/verwaltung/bestellungen/")
    assert listing.status_code == 200 and review_order.number in listing.content.decode()
    assert 'href="/verwaltung/bestellungen/"' in listing.content.decode()  # navigation
    assert client.get(f"/verwaltung/bestellungen/{review_order.pk}/").status_code == 200
    assert client.get(f"/verwaltung/bestellungen/{review_order.pk}/status").status_code == 200
    assert client.get("/verwaltung/bestellungen/kommune/14628410/").status_code == 200


def test_staff_without_an_order_role_get_403(towns, review_order):
    user = User.objects.create(email="praktikum@kisa.example", roles=[], is_staff=True)
    user.set_password(PASSWORD)
    user.save()
    client = Client(HTTP_HOST="localhost")
    assert client.post("/konto/anmelden/", {"username": user.email, "password": PASSWORD}).status_code == 302
    for url in (
        "/verwaltung/bestellungen/",
        f"/verwaltung/bestellungen/{review_order.pk}/",
        f"/verwaltung/bestellungen/{review_order.pk}/status",
        "/verwaltung/bestellungen/kommune/14628410/",
    ):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/verwaltung/bestellungen/{review_order.pk}/annehmen/").status_code == 403
    review_order.refresh_from_db()
    assert review_order.status == OrderStatus.APPROVED


def test_anonymous_visitors_are_sent_to_the_login(db):
    response = Client(HTTP_HOST="localhost").get("/verwaltung/bestellungen/")
    assert response.status_code == 302 and "/konto/anmelden/" in response["Location"]


# --- list and filters --------------------------------------------------------------------------------


def test_list_filters_by_status_municipality_and_date(towns, catalog, review_order, staff_client):
    leipzig = place_order(towns["leipzig"], catalog["central"], key="l", today=date(2026, 3, 1))
    dresden = place_order(towns["dresden"], catalog["efa"], key="d", today=date(2026, 5, 1))
    client = staff_client(CATALOG)

    def numbers(**params):
        return {order.number for order in client.get("/verwaltung/bestellungen/", params).context["orders"]}

    assert numbers() == {leipzig.number, dresden.number, review_order.number}
    assert numbers(status="approved") == {review_order.number}
    assert numbers(q="leip") == {leipzig.number}
    assert numbers(q="14612") == {dresden.number}  # AGS prefix
    assert numbers(von="2026-04-01", bis="2026-05-31") == {dresden.number}
    assert numbers(von="01.03.2026", bis="01.03.2026") == {leipzig.number}
    html = client.get("/verwaltung/bestellungen/").content.decode()
    assert "1 freigegebene Bestellung wartet auf die Prüfung durch den Verband." in html


def test_bad_filters_are_explained_and_filter_nothing(towns, catalog, staff_client):
    order = place_order(towns["leipzig"], catalog["central"])
    response = staff_client(FINANCE).get(
        "/verwaltung/bestellungen/", {"von": "2026-05-01", "bis": "2026-04-01", "status": "gibtsnicht"}
    )
    html = response.content.decode()
    assert "„bestellt bis“ liegt vor „bestellt ab“." in html
    assert "Bitte wählen Sie einen Status aus der Liste." in html
    assert order.number in html


# --- detail, acceptance ----------------------------------------------------------------------------


def test_detail_shows_lines_frozen_prices_and_the_accept_form(towns, review_order, staff_client):
    html = staff_client(CATALOG).get(f"/verwaltung/bestellungen/{review_order.pk}/").content.decode()
    assert "Eigenentwicklung Friedhof" in html and "Wohngeld Antrag" in html
    assert "Sie zahlen 1.200,00 €" in html  # the EfA setup, frozen
    assert "Bestellung annehmen" in html and "Preise für „Eigenentwicklung Friedhof“" in html
    assert "Wilsdruff" in html and "Verlauf" in html


def test_accept_with_a_free_price_line(towns, review_order, staff_client):
    line = review_order.lines.get(assistant_category="individual")
    response = staff_client(CATALOG).post(
        f"/verwaltung/bestellungen/{review_order.pk}/annehmen/",
        accept_data(line, [("customization", "4.800,00", "Anpassung nach Aufwand, 50 Stunden")]),
        follow=True,
    )
    assert (
        f"Bestellung {review_order.number} ist angenommen; die Bereitstellung hat begonnen."
        in messages_of(response)
    )
    review_order.refresh_from_db()
    assert review_order.status == OrderStatus.ACCEPTED and review_order.accepted_by_email == CATALOG
    price = OrderLinePrice.objects.get(line=line, is_individual=True)
    assert (price.fee_kind_id, price.net_amount, price.subsidy, price.net_due, price.description) == (
        "customization",
        Decimal("4800.00"),
        Decimal("0.00"),
        Decimal("4800.00"),
        "Anpassung nach Aufwand, 50 Stunden",
    )
    assert set(review_order.lines.values_list("status", flat=True)) == {LineStatus.QUEUED}
    html = response.content.decode()
    assert "4.800,00 €" in html and "individueller Preis des Verbands" in html
    assert "Bestellung annehmen" not in html


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (("customization", "-100,00", "Rabatt"), "Ein Preis darf nicht negativ sein."),
        (("customization", "zwölf", "Anpassung"), "Bitte geben Sie einen Betrag in Euro an, z. B. 1.200,00."),
        (("customization", "10,005", "Anpassung"), "Bitte höchstens zwei Nachkommastellen (Cent) angeben."),
        (("customization", "100,00", ""), "Bitte beschreiben Sie die Leistung"),
        (("customization", "", "Anpassung"), "Bitte geben Sie den Nettobetrag an."),
        (("gibtsnicht", "100,00", "Anpassung"), "Bitte wählen Sie eine Gebührenart."),
    ],
)
def test_bad_free_prices_change_nothing(towns, review_order, staff_client, row, message):
    line = review_order.lines.get(assistant_category="individual")
    response = staff_client(CATALOG).post(
        f"/verwaltung/bestellungen/{review_order.pk}/annehmen/", accept_data(line, [row])
    )
    assert response.status_code == 200 and message in response.content.decode()
    review_order.refresh_from_db()
    assert review_order.status == OrderStatus.APPROVED
    assert not OrderLinePrice.objects.filter(line=line).exists()
    assert not ProvisioningOutbox.objects.filter(line__order=review_order).exists()


def test_an_individual_line_needs_a_price(towns, review_order, staff_client):
    line = review_order.lines.get(assistant_category="individual")
    response = staff_client(CATALOG).post(
        f"/verwaltung/bestellungen/{review_order.pk}/annehmen/", accept_data(line, [])
    )
    assert "Für „Eigenentwicklung Friedhof“ fehlt ein Preis" in response.content.decode()
    review_order.refresh_from_db()
    assert review_order.status == OrderStatus.APPROVED


def test_accepting_an_order_that_is_not_approved_changes_nothing(towns, catalog, staff_client):
    order = place_order(towns["leipzig"], catalog["central"])
    response = staff_client(CATALOG).post(f"/verwaltung/bestellungen/{order.pk}/annehmen/", follow=True)
    assert "Nur freigegebene Bestellungen können angenommen werden." in messages_of(response)
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED


# --- retry ---------------------------------------------------------------------------------------------


def test_retry_a_failed_line(towns, catalog, staff_client):
    town = towns["leipzig"]
    order = order_approve(order=place_order(town, catalog["central"]), user=user_of(town, Role.APPROVER))
    line = order.lines.get()
    line_start(line_id=line.pk)
    line_fail(line_id=line.pk, reason="Formularservice nicht erreichbar")
    client = staff_client(FINANCE)
    html = client.get(f"/verwaltung/bestellungen/{order.pk}/").content.decode()
    assert "Formularservice nicht erreichbar" in html and "Erneut bereitstellen" in html
    response = client.post(f"/verwaltung/bestellungen/{order.pk}/positionen/{line.pk}/erneut/", follow=True)
    assert "„Gewerbe Anmeldung“ wird erneut bereitgestellt." in messages_of(response)
    line.refresh_from_db()
    order.refresh_from_db()
    assert line.status == LineStatus.QUEUED and order.status == OrderStatus.ACCEPTED
    assert ProvisioningOutbox.objects.get(line=line).done_at is None
    again = client.post(f"/verwaltung/bestellungen/{order.pk}/positionen/{line.pk}/erneut/", follow=True)
    assert "Nur fehlgeschlagene Positionen können erneut bereitgestellt werden." in messages_of(again)


def test_retry_with_foreign_or_unknown_ids_is_404(towns, catalog, staff_client):
    town = towns["leipzig"]
    first = place_order(town, catalog["central"], key="a")
    second = place_order(town, catalog["efa"], key="b")
    client = staff_client(CATALOG)
    other_line = second.lines.get()
    assert (
        client.post(f"/verwaltung/bestellungen/{first.pk}/positionen/{other_line.pk}/erneut/").status_code
        == 404
    )
    assert client.post("/verwaltung/bestellungen/999999/positionen/1/erneut/").status_code == 404
    assert client.get("/verwaltung/bestellungen/999999/").status_code == 404
    assert client.get("/verwaltung/bestellungen/999999/status").status_code == 404


def test_staff_status_json(towns, catalog, staff_client):
    town = towns["leipzig"]
    order = order_approve(order=place_order(town, catalog["central"]), user=user_of(town, Role.APPROVER))
    data = staff_client(CATALOG).get(f"/verwaltung/bestellungen/{order.pk}/status").json()
    assert data["in_progress"] and data["lines"][0]["status"] == "queued"


# --- history per municipality ------------------------------------------------------------------------


def test_order_history_of_one_municipality(towns, catalog, staff_client):
    leipzig = place_order(towns["leipzig"], catalog["central"], key="l")
    dresden = place_order(towns["dresden"], catalog["central"], key="d")
    client = staff_client(CATALOG)
    html = client.get("/verwaltung/bestellungen/kommune/14713000/").content.decode()
    assert leipzig.number in html and dresden.number not in html
    assert "Leipzig, Stadt" in html and "eingereicht, wartet auf Freigabe: 1" in html
    assert client.get("/verwaltung/bestellungen/kommune/14999999/").status_code == 404
    assert client.get("/verwaltung/bestellungen/kommune/00000000/").status_code == 404  # the association


def test_staff_actions_are_credited_to_the_staff_account(towns, review_order, staff_client):
    line = review_order.lines.get(assistant_category="individual")
    staff_client(CATALOG).post(
        f"/verwaltung/bestellungen/{review_order.pk}/annehmen/",
        accept_data(line, [("customization", "100", "Anpassung")]),
    )
    with schema_context("public"):
        assert review_order.history.first().history_user.email == CATALOG


def test_the_list_is_paged_and_keeps_its_filters(towns, catalog, staff_client, monkeypatch):
    import shop.views_staff

    monkeypatch.setattr(shop.views_staff, "ORDERS_PER_PAGE", 1)
    first = place_order(towns["leipzig"], catalog["central"], key="a")
    second = place_order(towns["leipzig"], catalog["efa"], key="b")
    client = staff_client(CATALOG)
    page_one = client.get("/verwaltung/bestellungen/", {"q": "Leipzig"}).content.decode()
    assert second.number in page_one and first.number not in page_one
    assert "Seite 1 von 2" in page_one and 'href="?q=Leipzig&amp;seite=2"' in page_one
    page_two = client.get("/verwaltung/bestellungen/", {"q": "Leipzig", "seite": "2"}).content.decode()
    assert first.number in page_two and second.number not in page_two
