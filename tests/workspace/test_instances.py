"""'Meine Assistenten': instances, their configuration, cancellation of the subscription and
deactivation when it has ended (real PostgreSQL, real tenant schemas)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from accounts.roles import Role
from shop.models import Subscription
from shop.ordering import cart_add, order_approve, order_submit
from shop.provisioning import line_provision, line_start
from shop.subscriptions import cancellation_effective_on, cancellation_preview, subscription_cancel
from tests.factories.shop import AssistantFactory, PriceFactory
from workspace import tasks as workspace_tasks
from workspace.models import AssistantInstance, InstanceStatus
from workspace.services import instance_configure, instances_deactivate_ended

MUNICIPAL_ROLES = [Role.PURCHASER, Role.APPROVER, Role.MUNICIPAL_ADMIN]
ACTIVATED = date(2026, 3, 2)

GOOD = {
    "zustaendige_stelle": "Bürgeramt",
    "kontakt_email": "buergeramt@leipzig.de",
    "gebuehr": "12,50",
    "epayment": "on",
}


def user_of(town, role):
    with schema_context(town.schema):
        return User.objects.get(email=town.emails[role])


def provision_instance(town, assistant, *, today: date = ACTIVATED) -> AssistantInstance:
    """Order, approve and provision ``assistant`` for ``town`` through the services."""
    purchaser = user_of(town, Role.PURCHASER)
    cart_add(municipality=town.municipality, assistant=assistant, user=purchaser)
    order = order_submit(
        municipality=town.municipality, user=purchaser, idempotency_key=f"k-{assistant.slug}", today=today
    )
    order = order_approve(order=order, user=user_of(town, Role.APPROVER))
    line = order.lines.get()
    line_start(line_id=line.pk)
    line_provision(line_id=line.pk, today=today)
    connection.set_schema_to_public()
    with schema_context(town.schema):
        return AssistantInstance.objects.get(order_line_id=line.pk)


def fetch(town, instance) -> AssistantInstance:
    with schema_context(town.schema):
        return AssistantInstance.objects.get(pk=instance.pk)


def subscription_of(instance) -> Subscription:
    return Subscription.objects.get(order_line_id=instance.order_line_id)


def priced(assistant):
    PriceFactory(assistant=assistant, fee_kind_id="setup", net_amount=Decimal("1200.00"))
    PriceFactory(assistant=assistant, fee_kind_id="maintenance", net_amount=Decimal("480.00"))
    return assistant


@pytest.fixture
def assistant(db):
    return priced(AssistantFactory(slug="hundesteuer", title="Hundesteuer Anmeldung", version="2.1"))


@pytest.fixture
def instance(towns, assistant) -> AssistantInstance:
    return provision_instance(towns["leipzig"], assistant)


# --- list and detail ------------------------------------------------------------------------


@pytest.mark.parametrize("role", MUNICIPAL_ROLES)
def test_every_municipal_role_sees_the_instances(towns, instance, role):
    client = towns["leipzig"].login(role)
    body = client.get("/assistenten/").content.decode()
    assert "Meine Assistenten" in body
    assert f'href="/assistenten/{instance.pk}/"' in body and "Hundesteuer Anmeldung" in body
    assert "2.1" in body and "02.03.2026" in body
    assert '<span class="badge warn">einzurichten</span>' in body and "läuft" in body
    detail = client.get(f"/assistenten/{instance.pk}/")
    assert detail.status_code == 200
    assert "Zuständige Stelle" in detail.content.decode() and "fehlt noch" in detail.content.decode()


def test_list_is_empty_with_a_way_to_the_catalog(towns, db):
    body = towns["wilsdruff"].login(Role.PURCHASER).get("/assistenten/").content.decode()
    assert "noch kein Assistent bereitgestellt" in body and 'href="/katalog/"' in body


def test_anonymous_visitors_are_sent_to_the_login(towns, instance):
    for path in ("/assistenten/", f"/assistenten/{instance.pk}/", f"/assistenten/{instance.pk}/einrichten/"):
        response = towns["leipzig"].client().get(path)
        assert response.status_code == 302 and "/konto/anmelden/" in response["Location"]


def test_list_shows_the_end_of_a_cancelled_subscription(towns, instance):
    subscription_cancel(
        subscription=subscription_of(instance),
        user=user_of(towns["leipzig"], Role.MUNICIPAL_ADMIN),
        today=date(2026, 9, 30),
    )
    body = towns["leipzig"].login(Role.APPROVER).get("/assistenten/").content.decode()
    assert "gekündigt zum 31.12.2026" in body


# --- configuration --------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.PURCHASER, Role.MUNICIPAL_ADMIN])
def test_purchasers_and_admins_configure_and_the_instance_becomes_ready(towns, instance, role):
    town = towns["leipzig"]
    client = town.login(role)
    page = client.get(f"/assistenten/{instance.pk}/einrichten/").content.decode()
    assert 'type="email"' in page and "Kontakt-E-Mail" in page and 'name="gebuehr"' in page
    assert "checked" in page  # epayment defaults to true

    response = client.post(f"/assistenten/{instance.pk}/einrichten/", GOOD)
    assert response.status_code == 302 and response["Location"] == f"/assistenten/{instance.pk}/"
    stored = fetch(town, instance)
    assert stored.status == InstanceStatus.READY
    assert stored.configuration == {
        "zustaendige_stelle": "Bürgeramt",
        "kontakt_email": "buergeramt@leipzig.de",
        "gebuehr": 12.5,
        "epayment": True,
    }
    assert stored.configured_by_email == town.emails[role] and stored.configured_at is not None
    detail = client.get(response["Location"]).content.decode()
    assert "ist eingerichtet" in detail and '<span class="badge ok">eingerichtet</span>' in detail
    assert "12,5" in detail and "Konfiguration ändern" in detail


def test_approvers_only_view(towns, instance):
    client = towns["leipzig"].login(Role.APPROVER)
    assert client.get(f"/assistenten/{instance.pk}/einrichten/").status_code == 403
    assert client.post(f"/assistenten/{instance.pk}/einrichten/", GOOD).status_code == 403
    assert fetch(towns["leipzig"], instance).configuration == {}
    detail = client.get(f"/assistenten/{instance.pk}/").content.decode()
    assert "/einrichten/" not in detail and "Einrichten können Personen mit der Rolle" in detail


def test_wrong_values_are_shown_at_their_fields_and_nothing_is_saved(towns, instance):
    town = towns["leipzig"]
    client = town.login(Role.PURCHASER)
    response = client.post(
        f"/assistenten/{instance.pk}/einrichten/",
        {"zustaendige_stelle": "", "kontakt_email": "kein-at-zeichen", "gebuehr": "-3"},
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors == {
        "zustaendige_stelle": ["Dieses Feld ist erforderlich."],
        "kontakt_email": ["Bitte geben Sie eine gültige E-Mail-Adresse ein."],
        "gebuehr": ["Der Wert muss mindestens 0 sein."],
    }
    body = response.content.decode()
    assert 'id="id_kontakt_email_error"' in body and "Es wurde nichts gespeichert." in body
    assert 'value="kein-at-zeichen"' in body  # what was typed stays in the form
    stored = fetch(town, instance)
    assert (stored.status, stored.configuration, stored.configured_at) == (
        InstanceStatus.CONFIGURING,
        {},
        None,
    )


def test_a_draft_keeps_the_instance_configuring(towns, instance):
    town = towns["leipzig"]
    client = town.login(Role.PURCHASER)
    response = client.post(
        f"/assistenten/{instance.pk}/einrichten/", {"zustaendige_stelle": "Ordnungsamt", "entwurf": "1"}
    )
    assert response.status_code == 302
    stored = fetch(town, instance)
    assert stored.status == InstanceStatus.CONFIGURING
    assert stored.configuration == {"zustaendige_stelle": "Ordnungsamt", "epayment": False}
    page = client.get(f"/assistenten/{instance.pk}/einrichten/").content.decode()
    assert 'value="Ordnungsamt"' in page  # the form starts from what was stored


def test_a_ready_instance_cannot_be_made_incomplete(towns, instance):
    town = towns["leipzig"]
    purchaser = user_of(town, Role.PURCHASER)
    with schema_context(town.schema):
        ready = instance_configure(
            instance=instance,
            data={"zustaendige_stelle": "Amt", "kontakt_email": "amt@example.org"},
            user=purchaser,
        )
        assert ready.status == InstanceStatus.READY
        with pytest.raises(ValidationError) as error:
            instance_configure(
                instance=instance, data={"zustaendige_stelle": "Amt"}, user=purchaser, draft=True
            )
        assert error.value.message_dict == {"kontakt_email": ["Dieses Feld ist erforderlich."]}
        assert (
            AssistantInstance.objects.get(pk=instance.pk).configuration["kontakt_email"] == "amt@example.org"
        )


def test_a_deactivated_instance_cannot_be_configured(towns, instance):
    town = towns["leipzig"]
    with schema_context(town.schema):
        AssistantInstance.objects.filter(pk=instance.pk).update(status=InstanceStatus.DEACTIVATED)
        with pytest.raises(ValidationError, match="deaktiviert"):
            instance_configure(
                instance=instance,
                data={"zustaendige_stelle": "Amt", "kontakt_email": "amt@example.org"},
                user=user_of(town, Role.PURCHASER),
            )
    response = town.login(Role.PURCHASER).post(f"/assistenten/{instance.pk}/einrichten/", GOOD)
    assert response.status_code == 302
    assert fetch(town, instance).configuration == {}


# --- cancellation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("declared_on", "months", "ends_on"),
    [
        (date(2026, 9, 30), 3, date(2026, 12, 31)),
        (date(2026, 10, 1), 3, date(2027, 12, 31)),
        (date(2026, 1, 1), 3, date(2026, 12, 31)),
        (date(2026, 12, 31), 3, date(2027, 12, 31)),
        (date(2026, 12, 31), 0, date(2026, 12, 31)),
        (date(2026, 8, 31), 4, date(2026, 12, 31)),  # 31.08. + 4 months = 31.12.
        (date(2026, 9, 1), 4, date(2027, 12, 31)),
        (date(2026, 6, 30), 6, date(2026, 12, 31)),
        (date(2026, 7, 1), 6, date(2027, 12, 31)),
        (date(2026, 3, 15), 15, date(2027, 12, 31)),
        (date(2028, 2, 29), 10, date(2028, 12, 31)),
    ],
)
def test_cancellation_takes_effect_at_the_first_year_end_after_the_notice(declared_on, months, ends_on):
    assert cancellation_effective_on(declared_on=declared_on, notice_months=months) == ends_on


def test_cancellation_sets_the_end_once(towns, instance):
    admin = user_of(towns["leipzig"], Role.MUNICIPAL_ADMIN)
    subscription = subscription_cancel(
        subscription=subscription_of(instance), user=admin, today=date(2026, 9, 30)
    )
    assert subscription.ends_on == date(2026, 12, 31) and subscription.cancelled_at is not None
    record = subscription.history.latest()
    # the municipal account lives in Leipzig's schema: recorded by address, not as a staff user
    assert record.history_user is None and record.history_change_reason == f"Kündigung durch {admin.email}"

    with pytest.raises(ValidationError) as error:
        subscription_cancel(subscription=subscription, user=admin, today=date(2026, 10, 5))
    assert error.value.messages == ["Dieses Abonnement ist bereits gekündigt (zum 31.12.2026)."]
    assert subscription_of(instance).ends_on == date(2026, 12, 31)


def test_a_deadline_that_passed_after_the_page_was_shown_changes_nothing(towns, instance):
    admin = user_of(towns["leipzig"], Role.MUNICIPAL_ADMIN)
    with pytest.raises(ValidationError) as error:
        subscription_cancel(
            subscription=subscription_of(instance),
            user=admin,
            today=date(2026, 10, 1),
            expected_ends_on=date(2026, 12, 31),
        )
    assert "erst zum 31.12.2027 wirksam" in error.value.messages[0]
    subscription = subscription_of(instance)
    assert (subscription.ends_on, subscription.cancelled_at) == (None, None)


@override_settings(SUBSCRIPTION_NOTICE_MONTHS=6)
def test_the_notice_period_is_a_setting(towns, instance):
    subscription = subscription_of(instance)
    assert cancellation_preview(subscription=subscription, today=date(2026, 7, 1)) == date(2027, 12, 31)
    assert cancellation_preview(subscription=subscription, today=date(2026, 6, 30)) == date(2026, 12, 31)


def test_admins_confirm_the_cancellation_on_the_detail_page(towns, instance):
    town = towns["leipzig"]
    client = town.login(Role.MUNICIPAL_ADMIN)
    ends_on = cancellation_effective_on(declared_on=timezone.localdate(), notice_months=3)
    detail = client.get(f"/assistenten/{instance.pk}/").content.decode()
    assert 'id="kuendigen"' in detail and f"endet es am <strong>{ends_on:%d.%m.%Y}</strong>" in detail
    assert f'value="{ends_on.isoformat()}"' in detail

    unconfirmed = client.post(f"/assistenten/{instance.pk}/kuendigen/", {"ends_on": ends_on.isoformat()})
    assert unconfirmed.status_code == 200
    assert "Bitte bestätigen Sie die Kündigung." in unconfirmed.content.decode()
    assert subscription_of(instance).cancelled_at is None

    response = client.post(
        f"/assistenten/{instance.pk}/kuendigen/", {"ends_on": ends_on.isoformat(), "confirm": "on"}
    )
    assert response.status_code == 302
    assert subscription_of(instance).ends_on == ends_on
    page = client.get(response["Location"]).content.decode()
    assert f"Es endet am {ends_on:%d.%m.%Y}" in page and f"gekündigt zum {ends_on:%d.%m.%Y}" in page
    assert 'id="kuendigen"' not in page

    again = client.post(
        f"/assistenten/{instance.pk}/kuendigen/", {"ends_on": ends_on.isoformat(), "confirm": "on"}
    )
    assert "bereits gekündigt" in client.get(again["Location"]).content.decode()


def test_an_outdated_end_date_is_refused_and_the_new_one_shown(towns, instance):
    client = towns["leipzig"].login(Role.MUNICIPAL_ADMIN)
    current = cancellation_effective_on(declared_on=timezone.localdate(), notice_months=3)
    stale = current - timedelta(days=365)
    response = client.post(
        f"/assistenten/{instance.pk}/kuendigen/", {"ends_on": stale.isoformat(), "confirm": "on"}
    )
    body = response.content.decode()
    assert response.status_code == 200 and "inzwischen abgelaufen" in body
    assert f'value="{current.isoformat()}"' in body
    assert subscription_of(instance).cancelled_at is None


@pytest.mark.parametrize("role", [Role.PURCHASER, Role.APPROVER])
def test_only_municipal_admins_cancel(towns, instance, role):
    client = towns["leipzig"].login(role)
    assert 'id="kuendigen"' not in client.get(f"/assistenten/{instance.pk}/").content.decode()
    response = client.post(
        f"/assistenten/{instance.pk}/kuendigen/", {"ends_on": "2027-12-31", "confirm": "on"}
    )
    assert response.status_code == 403
    assert subscription_of(instance).cancelled_at is None


# --- deactivation ---------------------------------------------------------------------------


def test_ended_subscriptions_deactivate_their_instances_once(towns, assistant, monkeypatch):
    leipzig, dresden = towns["leipzig"], towns["dresden"]
    ended = provision_instance(leipzig, assistant)
    other = priced(AssistantFactory(slug="wohngeld", title="Wohngeld"))
    running = provision_instance(leipzig, other)
    elsewhere = provision_instance(dresden, assistant)
    admin = user_of(leipzig, Role.MUNICIPAL_ADMIN)
    subscription_cancel(subscription=subscription_of(ended), user=admin, today=date(2026, 9, 30))
    subscription_cancel(
        subscription=subscription_of(elsewhere),
        user=user_of(dresden, Role.MUNICIPAL_ADMIN),
        today=date(2026, 10, 1),  # ends 31.12.2027
    )

    sent = []

    def record(municipality_id, today):
        sent.append((connection.schema_name, municipality_id, today))

    monkeypatch.setattr(workspace_tasks.deactivate_municipality_instances_task, "delay", record)
    assert workspace_tasks.deactivate_ended_instances_task.apply(args=["2026-12-31"]).get() == 0
    assert workspace_tasks.deactivate_ended_instances_task.apply(args=["2027-01-01"]).get() == 1
    # fanned out from inside Leipzig's schema: tenant-schemas-celery sends the schema along
    assert sent == [(leipzig.schema, leipzig.municipality.pk, "2027-01-01")]

    for _ in range(2):  # the per-municipality task, twice: the second run changes nothing
        result = workspace_tasks.deactivate_municipality_instances_task.apply(
            args=[leipzig.municipality.pk, "2027-01-01"]
        )
        assert result.get() in (1, 0)
    assert instances_deactivate_ended(municipality=leipzig.municipality, today=date(2027, 1, 2)) == 0

    gone = fetch(leipzig, ended)
    assert (gone.status, gone.deactivated_on) == (InstanceStatus.DEACTIVATED, date(2027, 1, 1))
    assert fetch(leipzig, running).status == InstanceStatus.CONFIGURING
    assert fetch(dresden, elsewhere).status == InstanceStatus.CONFIGURING

    client = leipzig.login(Role.MUNICIPAL_ADMIN)
    body = client.get("/assistenten/").content.decode()
    assert "beendet am 31.12.2026" in body and '<tr class="inactive">' in body
    detail = client.get(f"/assistenten/{ended.pk}/").content.decode()
    assert "seit 01.01.2027 deaktiviert" in detail and 'id="kuendigen"' not in detail
    assert "/einrichten/" not in detail
