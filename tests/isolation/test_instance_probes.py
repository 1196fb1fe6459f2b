"""Cross-tenant probes for 'Meine Assistenten': Leipzig's instances, configuration forms and
subscriptions are out of reach from Dresden, whatever the role; a wrong role gets 403."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django_tenants.utils import schema_context

from accounts.roles import Role
from shop.models import Subscription
from tests.factories.shop import AssistantFactory, PriceFactory
from tests.workspace.test_instances import GOOD, provision_instance
from workspace.models import AssistantInstance, InstanceStatus

MUNICIPAL_ROLES = [Role.PURCHASER, Role.APPROVER, Role.MUNICIPAL_ADMIN]
CANCEL = {"ends_on": "2027-12-31", "confirm": "on"}


def priced(slug: str, title: str):
    assistant = AssistantFactory(slug=slug, title=title)
    PriceFactory(assistant=assistant, fee_kind_id="setup", net_amount=Decimal("1200.00"))
    PriceFactory(assistant=assistant, fee_kind_id="maintenance", net_amount=Decimal("480.00"))
    return assistant


@pytest.fixture
def leipzigs(towns, db) -> AssistantInstance:
    return provision_instance(towns["leipzig"], priced("hundesteuer", "Hundesteuer Anmeldung"))


def pages(pk: int) -> list[str]:
    return [f"/assistenten/{pk}/", f"/assistenten/{pk}/einrichten/", f"/assistenten/{pk}/kuendigen/"]


def untouched(towns, instance) -> None:
    with schema_context(towns["leipzig"].schema):
        stored = AssistantInstance.objects.get(pk=instance.pk)
    assert (stored.status, stored.configuration) == (InstanceStatus.CONFIGURING, {})
    assert Subscription.objects.get(order_line_id=instance.order_line_id).cancelled_at is None


# At Dresden, Leipzig's ids do not exist: 404 for whoever may use the page; a role that may
# not use it gets 403 before any lookup, so neither answer tells whether the id exists.
DRESDEN_PROBES = [
    (role, method, page, 404)
    for role in MUNICIPAL_ROLES
    for method, page in (("get", ""), ("get", "einrichten/"), ("post", "einrichten/"))
    if not (role == Role.APPROVER and page)
] + [
    (Role.MUNICIPAL_ADMIN, "get", "kuendigen/", 404),
    (Role.MUNICIPAL_ADMIN, "post", "kuendigen/", 404),
    (Role.APPROVER, "get", "einrichten/", 403),
    (Role.APPROVER, "post", "einrichten/", 403),
    (Role.PURCHASER, "post", "kuendigen/", 403),
    (Role.APPROVER, "post", "kuendigen/", 403),
]


@pytest.mark.parametrize(("role", "method", "page", "status"), DRESDEN_PROBES)
def test_leipzigs_instance_ids_at_dresden(towns, leipzigs, role, method, page, status):
    with schema_context(towns["dresden"].schema):
        assert not AssistantInstance.objects.filter(pk=leipzigs.pk).exists()
    client = towns["dresden"].login(role)
    path = f"/assistenten/{leipzigs.pk}/{page}"
    data = CANCEL if page == "kuendigen/" else GOOD
    response = client.post(path, data) if method == "post" else client.get(path)
    assert response.status_code == status
    untouched(towns, leipzigs)


def test_dresdens_list_shows_only_its_own_instances(towns, leipzigs):
    dresdens = provision_instance(towns["dresden"], priced("wohngeld", "Wohngeld"))
    body = towns["dresden"].login(Role.APPROVER).get("/assistenten/").content.decode()
    assert "Wohngeld" in body and "Hundesteuer Anmeldung" not in body
    assert f'href="/assistenten/{dresdens.pk}/"' in body
    leipzig_body = towns["leipzig"].login(Role.APPROVER).get("/assistenten/").content.decode()
    assert "Hundesteuer Anmeldung" in leipzig_body and "Wohngeld" not in leipzig_body


def test_the_same_id_at_dresden_is_dresdens_own_instance(towns, leipzigs):
    """Ids are per schema: Dresden's instance with Leipzig's id shows Dresden's data and
    Dresden's subscription, and cancelling it never reaches Leipzig's subscription."""
    dresden = towns["dresden"]
    dresdens = provision_instance(dresden, priced("wohngeld", "Wohngeld"))
    with schema_context(dresden.schema):
        AssistantInstance.objects.filter(pk=dresdens.pk).update(id=leipzigs.pk)
    client = dresden.login(Role.MUNICIPAL_ADMIN)
    body = client.get(f"/assistenten/{leipzigs.pk}/").content.decode()
    assert "Wohngeld" in body and "Hundesteuer" not in body
    assert client.post(f"/assistenten/{leipzigs.pk}/kuendigen/", CANCEL).status_code in (200, 302)
    assert client.post(f"/assistenten/{leipzigs.pk}/einrichten/", GOOD).status_code == 302
    untouched(towns, leipzigs)
    assert Subscription.objects.get(order_line_id=dresdens.order_line_id).cancelled_at is not None


@pytest.mark.parametrize(
    ("role", "path", "method"),
    [
        (Role.APPROVER, "einrichten", "get"),
        (Role.APPROVER, "einrichten", "post"),
        (Role.PURCHASER, "kuendigen", "post"),
        (Role.APPROVER, "kuendigen", "post"),
    ],
)
def test_wrong_role_is_403_in_the_own_municipality(towns, leipzigs, role, path, method):
    client = towns["leipzig"].login(role)
    data = GOOD if path == "einrichten" else CANCEL
    response = getattr(client, method)(
        f"/assistenten/{leipzigs.pk}/{path}/", data if method == "post" else None
    )
    assert response.status_code == 403
    untouched(towns, leipzigs)


def test_a_leipzig_session_is_anonymous_at_dresden(towns, leipzigs):
    client = towns["leipzig"].login(Role.MUNICIPAL_ADMIN)
    for path in ["/assistenten/", *pages(leipzigs.pk)]:
        response = client.get(path, HTTP_HOST=towns["dresden"].domain)
        assert response.status_code == 302 and "/konto/anmelden/" in response["Location"], path


def test_no_instance_pages_on_the_associations_domain(towns, leipzigs, staff_client):
    client = staff_client("admin@kisa.example")
    for path in ["/assistenten/", *pages(leipzigs.pk)]:
        assert client.get(path).status_code == 404, path
