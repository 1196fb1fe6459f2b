"""Watch list: municipal users note announced assistants and get one e-mail when they become available."""

from __future__ import annotations

from datetime import date

import pytest
from django.core import mail
from django.core.cache import cache
from django_tenants.utils import schema_context

from accounts.models import User
from accounts.roles import Role
from shop.models import AssistantStatus
from shop.tasks import notify_watchers_task
from tests.factories.shop import AssistantFactory
from workspace.models import Watch
from workspace.services import watchers_notify

MUNICIPAL_ROLES = [Role.PURCHASER, Role.APPROVER, Role.MUNICIPAL_ADMIN]


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def announced(db):
    return AssistantFactory(
        slug="bewohnerparken",
        title="Bewohnerparkausweis",
        short_description="Bewohnerparkausweis beantragen.",
        status=AssistantStatus.ANNOUNCED,
        expected_date=date(2027, 3, 1),
    )


@pytest.fixture
def available(db):
    return AssistantFactory(slug="gewerbeanmeldung", title="Gewerbeanmeldung")


def watches_in(town, **filters) -> list[Watch]:
    with schema_context(town.schema):
        return list(Watch.objects.filter(**filters).select_related("user"))


def make_available(assistant) -> None:
    assistant.status = AssistantStatus.AVAILABLE
    assistant.expected_date = None
    assistant.save()


@pytest.mark.parametrize("role", MUNICIPAL_ROLES)
def test_every_municipal_role_can_watch_and_unwatch(towns, announced, role):
    leipzig = towns["leipzig"]
    client = leipzig.login(role)
    detail = client.get("/katalog/bewohnerparken/").content.decode()
    assert 'action="/katalog/bewohnerparken/merken/"' in detail and "csrfmiddlewaretoken" in detail

    response = client.post("/katalog/bewohnerparken/merken/", follow=True)
    assert response.redirect_chain[-1][0] == "/katalog/bewohnerparken/"
    body = response.content.decode()
    assert "steht auf Ihrer Merkliste" in body and "Von der Merkliste nehmen" in body
    [watch] = watches_in(leipzig)
    assert watch.user.email == leipzig.emails[role] and watch.assistant_id == announced.pk

    watch_list = client.get("/katalog/merkliste/").content.decode()
    assert "Meine Merkliste" in watch_list and "Bewohnerparkausweis" in watch_list
    assert "voraussichtlich ab 01.03.2027" in watch_list

    response = client.post(f"/katalog/merkliste/{watch.pk}/entfernen/", follow=True)
    assert response.redirect_chain[-1][0] == "/katalog/merkliste/"
    assert "nicht mehr auf Ihrer Merkliste" in response.content.decode()
    assert watches_in(leipzig) == []
    assert "Ihre Merkliste ist leer" in client.get("/katalog/merkliste/").content.decode()


def test_watching_twice_keeps_one_entry(towns, announced):
    client = towns["dresden"].login(Role.PURCHASER)
    client.post("/katalog/bewohnerparken/merken/")
    client.post("/katalog/bewohnerparken/merken/")
    assert len(watches_in(towns["dresden"])) == 1


def test_only_announced_assistants_can_be_watched(towns, available):
    client = towns["leipzig"].login(Role.PURCHASER)
    assert "/merken/" not in client.get("/katalog/gewerbeanmeldung/").content.decode()
    response = client.post("/katalog/gewerbeanmeldung/merken/", follow=True)
    assert "Nur angekündigte Assistenten können gemerkt werden" in response.content.decode()
    assert watches_in(towns["leipzig"]) == []


def test_retired_and_unknown_assistants_cannot_be_watched(towns, db):
    AssistantFactory(slug="alt", status=AssistantStatus.RETIRED)
    client = towns["leipzig"].login(Role.PURCHASER)
    assert client.post("/katalog/alt/merken/").status_code == 404
    assert client.post("/katalog/gibt-es-nicht/merken/").status_code == 404


def test_watching_needs_post_with_csrf(towns, announced):
    leipzig = towns["leipzig"]
    client = leipzig.login(Role.PURCHASER)
    assert client.get("/katalog/bewohnerparken/merken/").status_code == 405
    from django.test import Client

    strict = Client(HTTP_HOST=leipzig.domain, enforce_csrf_checks=True)
    strict.cookies = client.cookies
    assert strict.post("/katalog/bewohnerparken/merken/").status_code == 403
    assert watches_in(leipzig) == []


def test_anonymous_cannot_watch(towns, announced):
    response = towns["leipzig"].client().post("/katalog/bewohnerparken/merken/")
    assert response.status_code == 302 and "/konto/anmelden/" in response["Location"]
    assert watches_in(towns["leipzig"]) == []


def test_a_user_cannot_remove_a_colleagues_entry(towns, announced):
    leipzig = towns["leipzig"]
    leipzig.login(Role.APPROVER).post("/katalog/bewohnerparken/merken/")
    [watch] = watches_in(leipzig)
    response = leipzig.login(Role.PURCHASER).post(f"/katalog/merkliste/{watch.pk}/entfernen/")
    assert response.status_code == 404
    assert len(watches_in(leipzig)) == 1
    assert (
        "Bewohnerparkausweis" not in leipzig.login(Role.PURCHASER).get("/katalog/merkliste/").content.decode()
    )


def test_next_must_stay_on_this_host(towns, announced):
    client = towns["leipzig"].login(Role.PURCHASER)
    response = client.post("/katalog/bewohnerparken/merken/", {"next": "https://evil.example/"})
    assert response["Location"] == "/katalog/bewohnerparken/"


# --- notification when the assistant becomes available -----------------------------------------


def test_watchers_in_every_municipality_get_one_mail(towns, announced):
    towns["leipzig"].login(Role.PURCHASER).post("/katalog/bewohnerparken/merken/")
    towns["leipzig"].login(Role.APPROVER).post("/katalog/bewohnerparken/merken/")
    towns["wilsdruff"].login(Role.MUNICIPAL_ADMIN).post("/katalog/bewohnerparken/merken/")
    mail.outbox.clear()
    make_available(announced)

    # through Celery's task machinery (tenant-schemas-celery), executed in this process
    assert notify_watchers_task.apply(args=[announced.pk]).get() == 3

    recipients = sorted(message.to[0] for message in mail.outbox)
    assert recipients == [
        "approver@leipzig.example",
        "municipal_admin@wilsdruff.example",
        "purchaser@leipzig.example",
    ]
    message = next(m for m in mail.outbox if m.to == ["municipal_admin@wilsdruff.example"])
    assert message.subject == "Jetzt verfügbar: Bewohnerparkausweis"
    assert "Wilsdruff" in message.body and "http://wilsdruff.localhost" in message.body
    assert "/katalog/bewohnerparken/" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and "Bewohnerparkausweis" in html and 'lang="de"' in html
    for town in (towns["leipzig"], towns["wilsdruff"]):
        assert all(watch.notified is not None for watch in watches_in(town))

    # running again (a retry, a second status change) mails nobody twice
    mail.outbox.clear()
    assert notify_watchers_task(announced.pk) == 0
    assert watchers_notify(assistant_id=announced.pk) == 0
    assert mail.outbox == []


def test_a_later_watcher_is_mailed_without_repeating_earlier_ones(towns, announced):
    towns["dresden"].login(Role.PURCHASER).post("/katalog/bewohnerparken/merken/")
    make_available(announced)
    watchers_notify(assistant_id=announced.pk)
    # an entry that was added while still announced but not yet notified (e.g. a race)
    with schema_context(towns["dresden"].schema):
        Watch.objects.create(user=User.objects.get(email="approver@dresden.example"), assistant=announced)
    mail.outbox.clear()
    assert watchers_notify(assistant_id=announced.pk) == 1
    assert [m.to for m in mail.outbox] == [["approver@dresden.example"]]


def test_nothing_is_sent_while_the_assistant_is_still_announced(towns, announced):
    towns["leipzig"].login(Role.PURCHASER).post("/katalog/bewohnerparken/merken/")
    mail.outbox.clear()
    assert watchers_notify(assistant_id=announced.pk) == 0
    assert watchers_notify(assistant_id=987654321) == 0
    assert mail.outbox == []
    assert watches_in(towns["leipzig"], notified__isnull=True)


def test_deactivated_users_get_no_mail(towns, announced):
    leipzig = towns["leipzig"]
    leipzig.login(Role.PURCHASER).post("/katalog/bewohnerparken/merken/")
    with schema_context(leipzig.schema):
        User.objects.filter(email=leipzig.emails[Role.PURCHASER]).update(is_active=False)
    make_available(announced)
    mail.outbox.clear()
    assert watchers_notify(assistant_id=announced.pk) == 0
    assert mail.outbox == []


def test_watch_list_shows_when_the_mail_went_out(towns, announced):
    client = towns["leipzig"].login(Role.PURCHASER)
    client.post("/katalog/bewohnerparken/merken/")
    make_available(announced)
    watchers_notify(assistant_id=announced.pk)
    body = client.get("/katalog/merkliste/").content.decode()
    assert "jetzt verfügbar" in body and "E-Mail am" in body


def test_a_failed_mail_is_retried_alone(towns, announced, monkeypatch):
    from django.core.mail.backends.locmem import EmailBackend

    from workspace.services import WatchersNotifyError

    towns["leipzig"].login(Role.PURCHASER).post("/katalog/bewohnerparken/merken/")
    towns["dresden"].login(Role.PURCHASER).post("/katalog/bewohnerparken/merken/")
    make_available(announced)
    mail.outbox.clear()
    original = EmailBackend.send_messages

    def flaky(self, messages):
        if any("dresden" in message.to[0] for message in messages):
            raise ConnectionError("SMTP-Server nicht erreichbar")
        return original(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", flaky)
    with pytest.raises(WatchersNotifyError):
        notify_watchers_task(announced.pk)  # called directly, the task re-raises instead of retrying
    assert [m.to for m in mail.outbox] == [["purchaser@leipzig.example"]]
    assert watches_in(towns["dresden"], notified__isnull=True)

    monkeypatch.setattr(EmailBackend, "send_messages", original)
    assert notify_watchers_task(announced.pk) == 1
    assert [m.to for m in mail.outbox] == [["purchaser@leipzig.example"], ["purchaser@dresden.example"]]
