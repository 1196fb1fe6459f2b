"""A real Celery worker process for the reliability tests (issue 5, "Reliability").

The worker is a separate process with its own database connections, so it sees only
committed rows: these tests do not run in the usual rolled-back transaction. They work on
the session's test database with real commits (``committed``) and delete everything they
created at the end, so that the other tests find the database as before.

Broker: ``CELERY_BROKER_URL`` from the environment (Redis in CI). The fixtures purge the
``celery`` queue of that Redis database, so give the test run a database number of its own
(CI: ``redis://127.0.0.1:6379/15``). Without it, kombu's filesystem transport runs in a
folder private to the test, never the shared ``.data/broker``.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from django.conf import settings
from django.db import connection
from django_tenants.utils import get_public_schema_name, schema_context

from config.celery import app as celery_app
from config.celery import private_filesystem_broker
from tests.processes import database_url

QUEUE = "celery"
PROVISION_TASK = "shop.tasks.provision_line_task"
READY_TIMEOUT_S = 60


# --- broker ---------------------------------------------------------------------------------


def _reset_producer_pools() -> None:
    """Forget the app's cached connection pools so the next message uses the current configuration
    (kombu keeps one pool per broker address, so switching back finds the earlier one again)."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


# Celery reads CELERY_BROKER_URL from the environment before its configuration; the read and write
# URLs are looked up in the configuration first, so those are what an override has to set.
_BROKER_KEYS = ("broker_url", "broker_read_url", "broker_write_url", "broker_transport_options")


@contextmanager
def broker_configured(url: str, transport_options: dict) -> Iterator[None]:
    """Point this process's Celery app (the one ``dispatch_lines`` sends with) at a broker."""
    saved = {key: celery_app.conf.get(key) for key in _BROKER_KEYS}
    celery_app.conf.update(
        broker_url=url, broker_read_url=url, broker_write_url=url, broker_transport_options=transport_options
    )
    _reset_producer_pools()
    try:
        yield
    finally:
        celery_app.conf.update(saved)
        _reset_producer_pools()


@dataclass
class Broker:
    url: str
    transport_options: dict
    data_dir: Path  # OZG_DATA_DIR of the worker: its filesystem broker folders live below it

    @property
    def is_redis(self) -> bool:
        return self.url.startswith("redis://")

    def waiting(self) -> int:
        """Messages in the queue that no worker has taken yet."""
        from kombu.exceptions import ChannelError

        with celery_app.connection_for_write() as conn:
            try:
                return conn.default_channel.queue_declare(queue=QUEUE, passive=True).message_count
            except ChannelError:  # a virtual queue that holds nothing does not exist
                return 0

    def purge(self) -> None:
        celery_app.control.purge()

    def unreachable(self):
        """While this context lasts, messages from this process go to a broker nobody listens on."""
        return broker_configured("redis://127.0.0.1:1/0", {})

    def _redis(self):
        import redis

        return redis.Redis.from_url(self.url)

    def unacked_lines(self) -> dict[bytes, int]:
        """Redis only: delivery tag → order line of provisioning messages handed to a worker and
        never acknowledged (kombu keeps them in the ``unacked`` hash until the visibility timeout)."""
        held = {}
        for tag, raw in self._redis().hgetall("unacked").items():
            message = json.loads(raw)[0]
            if message.get("headers", {}).get("task") != PROVISION_TASK:
                continue
            args = json.loads(base64.b64decode(message["body"]))[0]
            held[tag] = int(args[0])
        return held

    def forget_unacked(self, line_ids: set[int]) -> None:
        """Redis only: drop the unacknowledged messages of these lines, so that the broker does
        not hand them to a later test run (whose lines may have the same ids) in an hour."""
        client = self._redis()
        for tag, line_id in self.unacked_lines().items():
            if line_id in line_ids:
                client.zrem("unacked_index", tag)
                client.hdel("unacked", tag)


@pytest.fixture
def broker(tmp_path) -> Iterator[Broker]:
    """The broker of the environment, or a private filesystem broker (see the module docstring)."""
    data_dir = tmp_path / "data"
    url = os.environ.get("CELERY_BROKER_URL") or "filesystem://"
    if url.startswith("filesystem"):
        # the test's own data folder, which the worker gets as its OZG_DATA_DIR
        options = private_filesystem_broker(data_dir)
    else:
        options = dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    with broker_configured(url, options):
        result = Broker(url=url, transport_options=options, data_dir=data_dir)
        result.purge()
        yield result
        result.purge()


# --- worker ---------------------------------------------------------------------------------


class Worker:
    """``celery -A config worker`` in its own process group (main process + prefork pool)."""

    def __init__(self, *, broker: Broker, concurrency: int, log: Path) -> None:
        self.hostname = f"pytest-{uuid.uuid4().hex[:8]}@%h"
        self.log = log
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "OZG_DB_NAME": connection.settings_dict["NAME"],
            "DATABASE_URL": database_url(),
            "OZG_DATA_DIR": str(broker.data_dir),
            "PYTHONUNBUFFERED": "1",
        }
        if broker.is_redis:
            env["CELERY_BROKER_URL"] = broker.url
        else:
            env.pop("CELERY_BROKER_URL", None)
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "--loglevel=INFO",
                    f"--concurrency={concurrency}",
                    "-Q",
                    QUEUE,
                    f"--hostname={self.hostname}",
                    # no chatter with other workers on the same broker, and a faster start
                    "--without-mingle",
                    "--without-gossip",
                ],
                cwd=settings.BASE_DIR,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: one signal reaches the pool too
            )
        self._wait_ready()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"Celery-Worker beendet (Code {self.process.returncode}):\n{self.log_text()}")
            if " ready." in self.log_text():
                return
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"Celery-Worker nicht bereit nach {READY_TIMEOUT_S} s:\n{self.log_text()}")

    def pool_pids(self) -> list[int]:
        return [child.pid for child in psutil.Process(self.process.pid).children()]

    def kill(self) -> None:
        """SIGKILL to the whole worker (main process and pool) at once: nothing is cleaned up,
        nothing acknowledged or handed back to the broker."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            # warm shutdown through the main process, which stops its pool itself (a SIGTERM to
            # the pool processes as well makes the main process wait for them in vain)
            self.process.terminate()
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=30)
        # whatever is left of the group (pool processes orphaned by a kill of the main process)
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


@pytest.fixture
def start_worker(committed, broker, tmp_path) -> Iterator[Callable[..., Worker]]:
    """Start real workers on demand (``start_worker(concurrency=2)``); all are stopped at the end."""
    workers: list[Worker] = []

    def start(*, concurrency: int = 2) -> Worker:
        worker = Worker(broker=broker, concurrency=concurrency, log=tmp_path / f"worker-{len(workers)}.log")
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


# --- committed data -------------------------------------------------------------------------


@dataclass
class HighWater:
    order: int
    assistant: int
    cart: int
    invoice: int


def _high_water() -> HighWater:
    from django.db.models import Max

    from billing.models import Invoice
    from shop.models import Assistant, Cart, Order

    def top(model) -> int:
        return model.objects.aggregate(top=Max("pk"))["top"] or 0

    return HighWater(order=top(Order), assistant=top(Assistant), cart=top(Cart), invoice=top(Invoice))


def _delete_created(mark: HighWater) -> None:
    """Delete what a test committed, children first (the instances' foreign key to their line
    protects it, so a line cannot go while an instance of it is left in any schema)."""
    from billing.models import Invoice
    from shop.models import (
        Assistant,
        Cart,
        CartItem,
        Order,
        OrderLine,
        OrderLinePrice,
        Price,
        ProvisioningOutbox,
        Subscription,
    )
    from tenants.models import Municipality
    from tests.processes import purge_documents
    from workspace.models import AssistantInstance

    connection.set_schema_to_public()
    # activation invoices of the provisioned lines (issued documents: purged with triggers off)
    purge_documents(Invoice.objects.filter(pk__gt=mark.invoice).values_list("pk", flat=True))
    orders = list(Order.objects.filter(pk__gt=mark.order).values_list("pk", flat=True))
    lines = list(OrderLine.objects.filter(order_id__in=orders).values_list("pk", flat=True))
    schemas = Municipality.objects.exclude(schema_name=get_public_schema_name()).values_list(
        "schema_name", flat=True
    )
    for schema in list(schemas):
        with schema_context(schema):
            AssistantInstance.objects.filter(order_line_id__in=lines).delete()
    Subscription.objects.filter(order_line_id__in=lines).delete()
    OrderLinePrice.objects.filter(line_id__in=lines).delete()
    ProvisioningOutbox.objects.filter(line_id__in=lines).delete()
    # Django's deletion collector would look for the lines' instances in the public schema, where
    # the instance table does not exist: the lines go by SQL (their children are gone already).
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {OrderLine._meta.db_table} WHERE id = ANY(%s)", [lines])
    Order.objects.filter(pk__in=orders).delete()
    Cart.objects.filter(pk__gt=mark.cart).delete()
    assistants = list(Assistant.objects.filter(pk__gt=mark.assistant).values_list("pk", flat=True))
    prices = list(Price.objects.filter(assistant_id__in=assistants).values_list("pk", flat=True))
    Price.objects.filter(pk__in=prices).delete()
    CartItem.objects.filter(assistant_id__in=assistants).delete()
    with connection.cursor() as cursor:  # the collector would look for watch-list rows in public
        cursor.execute(f"DELETE FROM {Assistant._meta.db_table} WHERE id = ANY(%s)", [assistants])
    # the audit trail (simple-history) of the deleted rows, the deletions included
    Subscription.history.filter(order_line_id__in=lines).delete()
    OrderLine.history.filter(id__in=lines).delete()
    Order.history.filter(id__in=orders).delete()
    Price.history.filter(id__in=prices).delete()
    Assistant.history.filter(id__in=assistants).delete()


@pytest.fixture(autouse=True)
def _django_db_marker() -> None:
    """Replaces pytest-django's handling of the ``django_db`` marker in this folder.

    The tests here carry the marker only so that pytest-django creates the test database when
    they run alone (it creates it only for tests that ask for ``db`` or the marker). pytest-django
    would wrap a marked test in a transaction, or flush every table after it; neither fits a test
    whose rows a worker process must see. ``committed`` commits for real and cleans up instead.
    """


@pytest.fixture
def committed(django_db_setup, django_db_blocker) -> Iterator[None]:
    """Database access with real commits (the worker must see the rows); cleaned up afterwards."""
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        mark = _high_water()
        try:
            yield
        finally:
            _delete_created(mark)
