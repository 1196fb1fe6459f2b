"""The order workflow as services: cart → submit → approve → accept → provision (real PostgreSQL)."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django_tenants.utils import schema_context

from accounts.models import User
from accounts.roles import Role
from shop.models import (
    CartItem,
    LineStatus,
    OrderLine,
    OrderStatus,
    ProvisioningOutbox,
    Subscription,
)
from shop.ordering import cart_add, order_accept, order_approve, order_cancel, order_reject, order_submit
from shop.provisioning import line_provision, line_start, outbox_sweep
from tests.factories.shop import AssistantFactory, PriceFactory
from workspace.models import AssistantInstance


def user_of(town, role):
    with schema_context(town.schema):
        return User.objects.get(email=town.emails[role])


@pytest.fixture
def catalog(db):
    central = AssistantFactory(slug="gewerbe", title="Gewerbe Anmeldung", category="central")
    efa = AssistantFactory(slug="wohngeld", title="Wohngeld", category="efa")
    individual = AssistantFactory(slug="eigen", title="Eigenentwicklung", category="individual")
    announced = AssistantFactory(
        slug="bald", title="Bald", status="announced", expected_date=date(2027, 1, 1)
    )
    for assistant in (central, efa, announced):
        PriceFactory(assistant=assistant, fee_kind_id="setup", net_amount=Decimal("1200.00"))
        PriceFactory(assistant=assistant, fee_kind_id="maintenance", net_amount=Decimal("480.00"))
    return {"central": central, "efa": efa, "individual": individual, "announced": announced}


def submit(town, *assistants, key="k1", today=date(2022, 9, 15)):
    purchaser = user_of(town, Role.PURCHASER)
    for assistant in assistants:
        cart_add(municipality=town.municipality, assistant=assistant, user=purchaser)
    return order_submit(municipality=town.municipality, user=purchaser, idempotency_key=key, today=today)


def test_submit_freezes_prices_and_quotes_of_the_order_date(towns, catalog):
    order = submit(towns["wilsdruff"], catalog["central"], catalog["efa"])
    assert order.number == f"B-2022-{order.pk:06d}" and order.status == OrderStatus.SUBMITTED
    central, efa = (
        order.lines.order_by("assistant__slug").reverse()[1],
        order.lines.get(assistant=catalog["efa"]),
    )
    setup = central.prices.get(fee_kind_id="setup")
    assert (setup.net_amount, setup.subsidy, setup.net_due) == (
        Decimal("1200.00"),
        Decimal("1200.00"),
        Decimal("0.00"),
    )
    maintenance = central.prices.get(fee_kind_id="maintenance")
    # first year from the order date 15.09.2022: 108 days of 365, fully subsidised (tranche 2022)
    assert maintenance.net_amount == Decimal("480.00") and maintenance.net_due == Decimal("0.00")
    assert efa.prices.get(fee_kind_id="setup").net_due == Decimal("1200.00")
    assert not CartItem.objects.filter(cart__municipality=towns["wilsdruff"].municipality).exists()


def test_submitting_twice_creates_one_order(towns, catalog):
    first = submit(towns["leipzig"], catalog["central"], key="same")
    purchaser = user_of(towns["leipzig"], Role.PURCHASER)
    again = order_submit(municipality=towns["leipzig"].municipality, user=purchaser, idempotency_key="same")
    assert again.pk == first.pk


def test_four_eyes_and_automatic_acceptance(towns, catalog, django_capture_on_commit_callbacks):
    town = towns["leipzig"]
    order = submit(town, catalog["central"])
    with pytest.raises(ValidationError, match="Vier-Augen"):
        # a purchaser who is also approver may still not approve their own order
        submitter = user_of(town, Role.PURCHASER)
        order_approve(order=order, user=submitter)
    with django_capture_on_commit_callbacks(execute=False):
        order = order_approve(order=order, user=user_of(town, Role.APPROVER))
    assert order.status == OrderStatus.ACCEPTED
    line = order.lines.get()
    assert line.status == LineStatus.QUEUED
    assert ProvisioningOutbox.objects.filter(line=line, done_at__isnull=True).exists()
    with pytest.raises(ValidationError, match="bereits entschieden"):
        order_approve(order=order, user=user_of(town, Role.APPROVER))


def test_provisioning_creates_one_instance_in_the_own_schema_and_a_subscription(towns, catalog):
    town, other = towns["leipzig"], towns["dresden"]
    order = submit(town, catalog["central"])
    order = order_approve(order=order, user=user_of(town, Role.APPROVER))
    line = order.lines.get()
    assert line_start(line_id=line.pk)
    line_provision(line_id=line.pk, today=date(2022, 10, 1))
    line_provision(line_id=line.pk, today=date(2022, 10, 2))  # twice: nothing more happens
    line.refresh_from_db()
    assert line.status == LineStatus.ACTIVE and line.activated_on == date(2022, 10, 1)
    with schema_context(town.schema):
        instances = list(AssistantInstance.objects.all())
    with schema_context(other.schema):
        assert not AssistantInstance.objects.exists()
    assert len(instances) == 1 and instances[0].order_line_id == line.pk
    assert instances[0].config_schema == catalog["central"].config_schema
    subscription = Subscription.objects.get(order_line=line)
    assert (subscription.started_on, subscription.maintenance_yearly) == (
        date(2022, 10, 1),
        Decimal("480.00"),
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert ProvisioningOutbox.objects.get(line=line).done_at is not None


def test_an_assistant_cannot_be_ordered_twice(towns, catalog):
    town = towns["leipzig"]
    submit(town, catalog["central"])
    purchaser = user_of(town, Role.PURCHASER)
    with pytest.raises(ValidationError, match="bereits aktiv oder in Bestellung"):
        cart_add(municipality=town.municipality, assistant=catalog["central"], user=purchaser)
    with pytest.raises(IntegrityError), transaction.atomic():  # and the database says so too
        order = OrderLine.objects.first().order
        OrderLine.objects.create(
            order=order,
            municipality=town.municipality,
            assistant=catalog["central"],
            assistant_title="x",
            assistant_category="central",
            assistant_version="1",
        )


def test_announced_and_retired_assistants_cannot_be_ordered(towns, catalog):
    purchaser = user_of(towns["leipzig"], Role.PURCHASER)
    with pytest.raises(ValidationError, match="erst angekündigt"):
        cart_add(municipality=towns["leipzig"].municipality, assistant=catalog["announced"], user=purchaser)
    retired = AssistantFactory(slug="alt", status="retired")
    with pytest.raises(ValidationError, match="nicht mehr angeboten"):
        cart_add(municipality=towns["leipzig"].municipality, assistant=retired, user=purchaser)


def test_reject_needs_a_reason_and_frees_the_assistant(towns, catalog):
    town = towns["dresden"]
    order = submit(town, catalog["central"])
    with pytest.raises(ValidationError):
        order_reject(order=order, user=user_of(town, Role.APPROVER), reason="  ")
    order = order_reject(order=order, user=user_of(town, Role.APPROVER), reason="Kein Budget")
    assert order.status == OrderStatus.REJECTED
    assert order.lines.get().status == LineStatus.CANCELLED
    submit(town, catalog["central"], key="k2")  # may be ordered again


def test_cancel_until_provisioning_starts(towns, catalog, django_capture_on_commit_callbacks):
    town = towns["leipzig"]
    order = submit(town, catalog["central"], catalog["efa"])
    with django_capture_on_commit_callbacks(execute=False):
        order = order_approve(order=order, user=user_of(town, Role.APPROVER))
    first = order.lines.first()
    line_start(line_id=first.pk)
    with pytest.raises(ValidationError, match="Bereitstellung hat begonnen"):
        order_cancel(order=order, user=user_of(town, Role.PURCHASER))
    other = submit(town, catalog["individual"], key="k3")
    cancelled = order_cancel(order=other, user=user_of(town, Role.PURCHASER))
    assert cancelled.status == OrderStatus.CANCELLED


def test_individual_developments_wait_for_the_association(towns, catalog, staff_client):
    town = towns["wilsdruff"]
    order = submit(town, catalog["individual"])
    order = order_approve(order=order, user=user_of(town, Role.APPROVER))
    assert order.status == OrderStatus.APPROVED
    line = order.lines.get()
    staff = User.objects.get(email="katalog@kisa.example")
    order = order_accept(
        order=order,
        staff_user=staff,
        individual_prices={line.pk: [("customization", Decimal("4800.00"), "Anpassung 50 h")]},
    )
    assert order.status == OrderStatus.ACCEPTED
    price = line.prices.get(is_individual=True)
    assert (price.net_amount, price.subsidy, price.net_due) == (Decimal("4800.00"), 0, Decimal("4800.00"))


def test_sweeper_resends_lines_that_were_never_dispatched(towns, catalog, django_capture_on_commit_callbacks):
    town = towns["leipzig"]
    order = submit(town, catalog["central"])
    with django_capture_on_commit_callbacks(execute=False):  # as if the broker had been down
        order_approve(order=order, user=user_of(town, Role.APPROVER))
    outbox = ProvisioningOutbox.objects.get(line__order=order)
    assert outbox.dispatched_at is None
    assert outbox_sweep() == 1
    outbox.refresh_from_db()
    assert outbox.dispatched_at is not None and outbox.dispatch_count == 1


def test_after_the_subscription_ended_the_assistant_can_be_ordered_again(towns, catalog):
    from workspace.services import instances_deactivate_ended

    town = towns["wilsdruff"]
    order = order_approve(order=submit(town, catalog["central"]), user=user_of(town, Role.APPROVER))
    line = order.lines.get()
    line_start(line_id=line.pk)
    line_provision(line_id=line.pk, today=date(2022, 10, 1))
    Subscription.objects.filter(order_line=line).update(ends_on=date(2023, 12, 31))
    assert instances_deactivate_ended(municipality=town.municipality, today=date(2024, 1, 1)) == 1
    line.refresh_from_db()
    assert line.status == LineStatus.ENDED
    with schema_context(town.schema):
        assert AssistantInstance.objects.get(order_line_id=line.pk).status == "deactivated"
    cart_add(municipality=town.municipality, assistant=catalog["central"], user=user_of(town, Role.PURCHASER))
    assert instances_deactivate_ended(municipality=town.municipality, today=date(2024, 1, 2)) == 0
