"""German e-mails (text + HTML) along the order flow, to the right people."""

from datetime import date
from decimal import Decimal

from django_tenants.utils import schema_context

from accounts.models import User
from accounts.roles import Role
from shop.models import LineStatus
from shop.ordering import cart_add, order_approve, order_reject, order_submit
from shop.provisioning import line_provision, line_start
from tests.factories.shop import AssistantFactory, PriceFactory


def user_of(town, role):
    with schema_context(town.schema):
        return User.objects.get(email=town.emails[role])


def _order(town, category="central", key="m1"):
    assistant = AssistantFactory(slug=f"mail-{category}", category=category)
    PriceFactory(assistant=assistant, fee_kind_id="setup", net_amount=Decimal("1200.00"))
    purchaser = user_of(town, Role.PURCHASER)
    cart_add(municipality=town.municipality, assistant=assistant, user=purchaser)
    return order_submit(
        municipality=town.municipality, user=purchaser, idempotency_key=key, today=date(2023, 3, 1)
    )


def test_mails_along_the_flow(towns, mailoutbox, django_capture_on_commit_callbacks):
    town = towns["leipzig"]
    with django_capture_on_commit_callbacks(execute=True):
        order = _order(town)
    submitted = mailoutbox[-1]
    assert submitted.to == [town.emails[Role.APPROVER]]
    assert submitted.subject == f"Bestellung {order.number} wartet auf Ihre Freigabe"
    assert "http://leipzig.localhost:8000/bestellungen/" in submitted.body
    assert submitted.alternatives and '<html lang="de">' in submitted.alternatives[0][0]
    with django_capture_on_commit_callbacks(execute=True):
        order_approve(order=order, user=user_of(town, Role.APPROVER))
    assert mailoutbox[-1].subject == f"Bestellung {order.number} freigegeben"
    assert mailoutbox[-1].to == [town.emails[Role.PURCHASER]]
    line = order.lines.get()
    line_start(line_id=line.pk)
    with django_capture_on_commit_callbacks(execute=True):
        line_provision(line_id=line.pk)
    provisioned = mailoutbox[-1]
    assert provisioned.subject == f"Bestellung {order.number} bereitgestellt"
    assert set(provisioned.to) == {town.emails[Role.PURCHASER], town.emails[Role.MUNICIPAL_ADMIN]}
    line.refresh_from_db()
    assert line.status == LineStatus.ACTIVE
    assert line.history.count() >= 3  # pending → queued → provisioning → active, all audit-logged


def test_rejection_mail_carries_the_reason(towns, mailoutbox, django_capture_on_commit_callbacks):
    town = towns["dresden"]
    order = _order(town, key="m2")
    with django_capture_on_commit_callbacks(execute=True):
        order_reject(order=order, user=user_of(town, Role.APPROVER), reason="Haushaltssperre")
    assert "Grund: Haushaltssperre" in mailoutbox[-1].body


def test_the_association_hears_of_orders_awaiting_review(
    towns, mailoutbox, django_capture_on_commit_callbacks, settings
):
    town = towns["wilsdruff"]
    order = _order(town, category="individual", key="m3")
    with django_capture_on_commit_callbacks(execute=True):
        order_approve(order=order, user=user_of(town, Role.APPROVER))
    review = [m for m in mailoutbox if m.to == [settings.SHOP_STAFF_EMAIL]]
    assert review and "wartet auf Prüfung" in review[0].subject
    assert "/verwaltung/bestellungen/" in review[0].body
