"""Provisioning with a real Celery worker on real PostgreSQL (issue 5, "Reliability").

Orders are created through the services and committed (the worker is another process);
``conftest.py`` starts the workers and removes the committed rows afterwards.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import psycopg
import pytest
from django.db import connection
from django_tenants.utils import schema_context

from accounts.models import User
from accounts.roles import Role
from shop.models import (
    Assistant,
    AssistantCategory,
    LineStatus,
    Order,
    OrderLine,
    OrderStatus,
    ProvisioningOutbox,
    Subscription,
)
from shop.ordering import cart_add, order_approve, order_submit
from shop.provisioning import outbox_sweep
from tenants.models import Municipality
from tests.factories.shop import AssistantFactory, PriceFactory
from tests.fixtures import TOWNS, Town

pytestmark = [pytest.mark.worker, pytest.mark.django_db]  # see conftest: no transaction around

ORDER_DATE = date(2022, 9, 15)
REDIS_ONLY = pytest.mark.skipif(
    not os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"),
    reason="braucht einen Redis-Broker: CELERY_BROKER_URL=redis://… (CI setzt redis://127.0.0.1:6379/15)",
)


# --- given ----------------------------------------------------------------------------------


@pytest.fixture
def towns(committed) -> dict[str, Town]:
    """The session's three municipalities (outside the usual rolled-back transaction)."""
    result = {}
    for key, data in TOWNS.items():
        municipality = Municipality.objects.get(ags=data.ags)
        emails = {role: f"{role}@{key}.example" for role in (Role.PURCHASER, Role.APPROVER)}
        result[key] = Town(
            key=key, municipality=municipality, domain=municipality.primary_domain, emails=emails
        )
    return result


@pytest.fixture
def catalog(committed) -> Callable[[int], list[Assistant]]:
    """``catalog(n)``: n orderable assistants with a setup and a yearly maintenance price."""
    tag = uuid.uuid4().hex[:8]

    def make(count: int) -> list[Assistant]:
        assistants = []
        for number in range(count):
            assistant = AssistantFactory(
                slug=f"worker-{tag}-{number}",
                title=f"Worker-Test {number:02d}",
                category=AssistantCategory.CENTRAL if number % 2 else AssistantCategory.EFA,
            )
            PriceFactory(assistant=assistant, fee_kind_id="setup", net_amount=Decimal("1200.00"))
            PriceFactory(assistant=assistant, fee_kind_id="maintenance", net_amount=Decimal("480.00"))
            assistants.append(assistant)
        return assistants

    return make


def user_of(town: Town, role: str) -> User:
    with schema_context(town.schema):
        return User.objects.get(email=town.emails[role])


def submit(town: Town, assistants: list[Assistant]) -> Order:
    purchaser = user_of(town, Role.PURCHASER)
    for assistant in assistants:
        cart_add(municipality=town.municipality, assistant=assistant, user=purchaser)
    return order_submit(
        municipality=town.municipality, user=purchaser, idempotency_key=uuid.uuid4().hex, today=ORDER_DATE
    )


def approve(order: Order, town: Town) -> Order:
    """Approval accepts these categories at once: outbox written, lines sent after commit."""
    order = order_approve(order=order, user=user_of(town, Role.APPROVER))
    assert order.status == OrderStatus.ACCEPTED
    return order


# --- watching -------------------------------------------------------------------------------


def active_count(line_ids: list[int]) -> int:
    return OrderLine.objects.filter(pk__in=line_ids, status=LineStatus.ACTIVE).count()


def with_status(line_ids: list[int], status: str) -> list[int]:
    return sorted(OrderLine.objects.filter(pk__in=line_ids, status=status).values_list("pk", flat=True))


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"nach {timeout:.0f} s nicht erreicht: {what}")
        time.sleep(0.05)


def wait_until_quiet(broker, line_ids: list[int], *, quiet_s: float = 4, timeout: float = 120) -> None:
    """Until every line is active, or the queue is empty and nothing has changed for ``quiet_s``."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while True:
        state = (active_count(line_ids), broker.waiting())
        if state[0] == len(line_ids):
            return
        if state != last:
            last, since = state, time.monotonic()
        elif state[1] == 0 and time.monotonic() - since > quiet_s:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"Bereitstellung kommt nicht zur Ruhe: {state[0]}/{len(line_ids)} aktiv")
        time.sleep(0.1)


def raw_connection() -> psycopg.Connection:
    """A second session on the test database, outside Django (to hold a row lock)."""
    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"],
        port=db["PORT"] or None,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
    )


def waiting_for_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def waiting_with_instance_written(schema: str) -> int:
    """Sessions that wait for a lock in a transaction that has already inserted into the schema's
    instance table (they hold its row-exclusive lock until commit or rollback)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(DISTINCT a.pid) FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid
            WHERE a.datname = current_database() AND a.wait_event_type = 'Lock' AND l.granted
              AND l.mode = 'RowExclusiveLock' AND l.relation = %s::regclass
            """,
            [f'"{schema}".workspace_assistantinstance'],
        )
        return cursor.fetchone()[0]


def instance_schemas() -> list[str]:
    """Every schema that has an instance table (municipalities, and the template they are cloned from)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = 'workspace_assistantinstance'"
        )
        return sorted(row[0] for row in cursor.fetchall())


def instances_in(schema: str, line_ids: list[int]) -> list[tuple[int, int]]:
    """(order line, instance id) of the instances of these lines in one schema, read by SQL so that
    nothing depends on the connection's current search path."""
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT order_line_id, id FROM "{schema}".workspace_assistantinstance WHERE order_line_id = ANY(%s)',
            [line_ids],
        )
        return list(cursor.fetchall())


def schema_fingerprint(schema: str) -> dict[str, str]:
    """Table → hash of its whole content: any row written, changed or deleted shows."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s AND table_type = 'BASE TABLE'",
            [schema],
        )
        tables = sorted(row[0] for row in cursor.fetchall())
        result = {}
        for table in tables:
            content = "md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
            cursor.execute(f'SELECT count(*), {content} FROM "{schema}"."{table}" t')
            result[table] = "{}:{}".format(*cursor.fetchone())
    return result


# --- then -----------------------------------------------------------------------------------


def assert_provisioned_once(line_ids: list[int]) -> None:
    """Each line active; exactly one instance per line, in its own municipality's schema and in no
    other; one subscription per line; the outbox done; the orders completed."""
    lines = {
        line.pk: line for line in OrderLine.objects.filter(pk__in=line_ids).select_related("municipality")
    }
    assert len(lines) == len(line_ids), "Positionen verloren"
    not_active = {pk: line.status for pk, line in lines.items() if line.status != LineStatus.ACTIVE}
    assert not not_active, f"nicht aktiv: {not_active}"
    for schema in instance_schemas():
        found = instances_in(schema, line_ids)
        per_line = Counter(line_id for line_id, _ in found)
        expected = {pk for pk, line in lines.items() if line.municipality.schema_name == schema}
        assert set(per_line) == expected, f"{schema}: Instanzen fremder oder fehlender Positionen"
        assert all(count == 1 for count in per_line.values()), f"{schema}: doppelte Instanzen {per_line}"
        for line_id, instance_id in found:
            assert lines[line_id].instance_id == instance_id
    subscriptions = Counter(
        Subscription.objects.filter(order_line_id__in=line_ids).values_list(
            "order_line_id", "municipality_id"
        )
    )
    assert subscriptions == Counter({(pk, line.municipality_id): 1 for pk, line in lines.items()})
    assert not ProvisioningOutbox.objects.filter(line_id__in=line_ids, done_at__isnull=True).exists()
    orders = set(Order.objects.filter(lines__in=line_ids).values_list("status", flat=True))
    assert orders == {OrderStatus.COMPLETED}


# --- tests ----------------------------------------------------------------------------------


@REDIS_ONLY
@pytest.mark.parametrize("kill", ["pool", "worker"])
def test_sigkill_in_the_middle_of_a_batch_provisions_every_line_exactly_once(
    kill, broker, start_worker, towns, catalog, record_property
):
    """40 lines for the three municipalities. The test holds the outbox rows of Leipzig's lines
    locked, so the worker's processes stop inside Leipzig's provisioning transactions, after the
    instance, the line and the subscription have been written and before the commit. Then SIGKILL:

    * ``pool``: the two pool processes. The worker's main process sees them lost and, with
      ``acks_late`` + ``reject_on_worker_lost``, hands their messages back to Redis at once.
    * ``worker``: the whole worker, main process included, and a new worker is started. The
      messages the dead worker held stay unacknowledged in Redis until the visibility timeout
      (1 h); the sweeper, as beat runs it, sends those lines again.
    """
    assistants = catalog(14)
    orders = {}
    for key, count in (("dresden", 13), ("wilsdruff", 13), ("leipzig", 14)):
        orders[key] = approve(submit(towns[key], assistants[:count]), towns[key])
    line_ids = list(OrderLine.objects.filter(order__in=orders.values()).values_list("pk", flat=True))
    assert len(line_ids) == 40 and broker.waiting() == 40

    blocker = raw_connection()
    try:
        # the last row provisioning writes before its commit: the outbox record of the line
        blocker.execute(
            "SELECT 1 FROM shop_provisioningoutbox o JOIN shop_orderline l ON l.id = o.line_id"
            " WHERE l.order_id = %s FOR UPDATE OF o",
            [orders["leipzig"].pk],
        )
        worker = start_worker(concurrency=2)
        wait_until(lambda: waiting_for_locks() == 2, timeout=60, what="beide Prozesse warten auf Leipzig")
        active_before = active_count(line_ids)
        in_flight = with_status(line_ids, LineStatus.PROVISIONING)
        assert 0 < active_before < 40 and len(in_flight) == 2, (active_before, in_flight)
        # both stopped inside the transaction, after writing the instance, before the commit
        assert waiting_with_instance_written(towns["leipzig"].schema) == 2
        if kill == "pool":
            for pid in worker.pool_pids():
                os.kill(pid, signal.SIGKILL)
        else:
            worker.kill()
    finally:
        blocker.rollback()  # the killed transactions can end now: rolled back, their client is gone
        blocker.close()

    try:
        if kill == "worker":
            start_worker(concurrency=2)
        wait_until_quiet(broker, line_ids)
        left = sorted(set(line_ids) - set(with_status(line_ids, LineStatus.ACTIVE)))
        if not left:
            path = "Broker: Nachrichten sofort erneut zugestellt"
        else:
            held = sorted(broker.unacked_lines().values())
            # the lines of the dead worker, still unacknowledged: Redis would hand them out after an hour
            assert set(left) <= set(held), (left, held)
            time.sleep(1.1)
            sent = outbox_sweep(stale_after=timedelta(seconds=1))
            assert sent == len(left)
            wait_until(lambda: active_count(line_ids) == 40, timeout=60, what="alle Positionen aktiv")
            path = f"Sweeper: {sent} Position(en) erneut gesendet, von Redis unbestätigt gehalten"
        record_property("recovery_path", path)
        print(f"\n[{kill}] {active_before}/40 aktiv beim Kill, {in_flight} mitten in der Transaktion; {path}")

        assert_provisioned_once(line_ids)
        attempts = dict(OrderLine.objects.filter(pk__in=in_flight).values_list("pk", "attempts"))
        assert all(count >= 2 for count in attempts.values()), attempts  # started, killed, started again
        if kill == "pool":
            assert path.startswith("Broker"), "reject_on_worker_lost muss die Aufgaben zurückgeben"
    finally:
        broker.forget_unacked(set(line_ids))


def test_order_accepted_while_the_broker_is_down_is_provisioned_by_the_sweeper(
    broker, start_worker, towns, catalog
):
    start_worker(concurrency=2)
    town = towns["wilsdruff"]
    order = submit(town, catalog(5))

    started = time.monotonic()
    with broker.unreachable():
        order = approve(order, town)  # no exception reaches the approver
    took = time.monotonic() - started

    line_ids = list(order.lines.values_list("pk", flat=True))
    assert with_status(line_ids, LineStatus.QUEUED) == sorted(line_ids)
    outbox = ProvisioningOutbox.objects.filter(line_id__in=line_ids)
    assert outbox.count() == 5
    assert set(outbox.values_list("dispatch_count", "dispatched_at", "done_at")) == {(0, None, None)}
    # one refused connection is waited for (kombu's connect timeout), not one per line
    assert took < 15, f"Freigabe dauerte {took:.1f} s"
    time.sleep(1)
    assert broker.waiting() == 0 and active_count(line_ids) == 0

    assert outbox_sweep() == 5  # the beat task, with the broker back
    wait_until(lambda: active_count(line_ids) == 5, timeout=60, what="alle Positionen aktiv")
    assert_provisioned_once(line_ids)
    assert set(outbox.values_list("dispatch_count", flat=True)) == {1}
    assert outbox_sweep() == 0


def test_provisioning_for_one_municipality_never_writes_into_another_schema(
    broker, start_worker, towns, catalog
):
    """Leipzig's and Wilsdruff's lines alternate in the queue and one worker process (one database
    connection) provisions them all, switching schema from line to line; Dresden orders nothing."""
    leipzig, dresden, wilsdruff = towns["leipzig"], towns["dresden"], towns["wilsdruff"]
    dresden_before = schema_fingerprint(dresden.schema)
    leipzig_before = schema_fingerprint(leipzig.schema)
    assistants = catalog(6)
    orders = []
    for assistant in assistants:
        for town in (leipzig, wilsdruff):
            orders.append(approve(submit(town, [assistant]), town))
    line_ids = list(OrderLine.objects.filter(order__in=orders).values_list("pk", flat=True))

    start_worker(concurrency=1)
    wait_until(lambda: active_count(line_ids) == 12, timeout=60, what="alle Positionen aktiv")

    assert_provisioned_once(line_ids)  # each instance in its own schema, in no other
    assert schema_fingerprint(dresden.schema) == dresden_before
    leipzig_after = schema_fingerprint(leipzig.schema)
    changed = {table for table in leipzig_after if leipzig_after[table] != leipzig_before.get(table)}
    assert changed == {"workspace_assistantinstance"}  # Leipzig's schema got its instances, nothing else
