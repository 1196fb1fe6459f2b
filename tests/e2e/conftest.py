"""Real processes for the browser tests: the web server and a Celery worker on the session's
test database, with rows that are really committed (both are other processes), and Debian's
Chromium driven by Playwright.

* Database: the test database pytest-django created (``OZG_DB_NAME``), reached through
  ``DATABASE_URL`` (the environment's server, or the embedded server's Unix socket).
* ``OZG_DATA_DIR``: a folder of the test, shared by server and worker, so kombu's filesystem
  broker lives there and never in the shared ``.data/broker``; with ``CELERY_BROKER_URL`` set
  (Redis in CI) both use that instead.
* Host names: Chromium resolves ``*.localhost`` to the loopback address itself, so
  ``http://leipzig.localhost:PORT/`` reaches the server and routes to Leipzig's schema.

Playwright's sync API runs an event loop, inside which Django refuses database access; tests
therefore touch the database before starting the browser or after closing it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django_tenants.utils import get_public_schema_name, schema_context

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",  # loopback only: never through a proxy of the environment
]
START_TIMEOUT_S = 60


def _database_url() -> str:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]  # the name comes from OZG_DB_NAME
    db = connection.settings_dict
    credentials = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    port = f":{db['PORT']}" if db["PORT"] else ""
    if db["HOST"].startswith("/"):  # the embedded server's Unix socket folder
        return f"postgres://{credentials}@{port}/{quote(db['NAME'])}?host={quote(db['HOST'])}"
    return f"postgres://{credentials}@{db['HOST']}{port}/{quote(db['NAME'])}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Process:
    """A child process in its own process group, with its output in a log file."""

    name: str
    process: subprocess.Popen
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def failed(self, why: str) -> None:
        pytest.fail(f"{self.name}: {why}\n--- Log ---\n{self.log_text()[-6000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=20)


@dataclass
class Stack:
    """Web server (and workers started on demand) on the test database."""

    port: int
    env: dict[str, str]
    folder: Path
    server: Process | None = None
    workers: list[Process] = field(default_factory=list)

    def url(self, host: str, path: str = "/") -> str:
        return f"http://{host}:{self.port}{path}"

    def _spawn(self, name: str, command: list[str]) -> Process:
        log = self.folder / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                command,
                cwd=settings.BASE_DIR,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return Process(name=name, process=process, log=log)

    def start_server(self) -> None:
        self.server = self._spawn(
            "web",
            # --insecure: static files (CSS, the progress script) from the app, as DEBUG is off
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{self.port}", "--noreload", "--insecure"],
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy for loopback
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.server.process.poll() is not None:
                self.server.failed(f"beendet mit Code {self.server.process.returncode}")
            try:
                request = urllib.request.Request(
                    self.url("127.0.0.1", "/ping"), headers={"Host": "localhost"}
                )
                with opener.open(request, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.server.failed(f"nicht erreichbar nach {START_TIMEOUT_S} s")

    def start_worker(self) -> Process:
        worker = self._spawn(
            f"worker-{len(self.workers)}",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--concurrency=1",
                "--pool=solo",
                "--loglevel=INFO",
                f"--hostname=e2e-{uuid.uuid4().hex[:8]}@%h",
                "--without-mingle",
                "--without-gossip",
            ],
        )
        self.workers.append(worker)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if worker.process.poll() is not None:
                worker.failed(f"beendet mit Code {worker.process.returncode}")
            if " ready." in worker.log_text():
                return worker
            time.sleep(0.2)
        worker.failed(f"nicht bereit nach {START_TIMEOUT_S} s")
        return worker

    def stop(self) -> None:
        for process in [*self.workers, *([self.server] if self.server else [])]:
            process.stop()


@pytest.fixture
def chromium() -> dict:
    """Launch options for Debian's Chromium (Playwright never downloads a browser here)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Debian-Chromium fehlt ({CHROMIUM}); .ci/run installiert ihn mit apt-get, wenn möglich.")
    pytest.importorskip("playwright.sync_api", reason="Python-Paket playwright ist nicht installiert.")
    return {"executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def committed(django_db_setup, django_db_blocker) -> Iterator[Callable[[Callable[[], object]], object]]:
    """Run setup code with real commits (server and worker must see the rows); whatever the
    test made is deleted afterwards, so the tests after it find the database as before."""
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        mark = _high_water()

    def run(function: Callable[[], object]) -> object:
        with django_db_blocker.unblock():
            try:
                return function()
            finally:
                connection.set_schema_to_public()

    yield run
    with django_db_blocker.unblock():
        _delete_created(mark)


def _high_water() -> dict[str, int]:
    from django.db.models import Max

    from billing.models import FundingProgramme, Invoice
    from shop.models import Assistant, Cart, Order

    return {
        model.__name__: model.objects.aggregate(top=Max("pk"))["top"] or 0
        for model in (Order, Assistant, Cart, FundingProgramme, Invoice)
    }


def _delete_created(mark: dict[str, int]) -> None:
    """Children first: an instance protects its order line, a line its order and assistant."""
    from billing.models import BudgetEntry, BudgetLedger, Coverage, FundingProgramme, Invoice, Tranche
    from shop.models import Assistant, Cart, Order, OrderLine, Price, Subscription
    from tenants.models import Municipality
    from tests.processes import purge_documents
    from workspace.models import AssistantInstance

    connection.set_schema_to_public()
    # the activation invoices of the provisioned lines (issued documents: purged with triggers off)
    purge_documents(Invoice.objects.filter(pk__gt=mark["Invoice"]).values_list("pk", flat=True))
    orders = list(Order.objects.filter(pk__gt=mark["Order"]).values_list("pk", flat=True))
    lines = list(OrderLine.objects.filter(order_id__in=orders).values_list("pk", flat=True))
    schemas = list(
        Municipality.objects.exclude(schema_name=get_public_schema_name()).values_list(
            "schema_name", flat=True
        )
    )
    for schema in schemas:
        with schema_context(schema):
            AssistantInstance.objects.filter(order_line_id__in=lines).delete()
    # Deleting lines and assistants makes Django look for tenant rows pointing at them
    # (instances, watch entries): from a municipality's search path ("m_…, public") those
    # tables exist, and hold nothing of this test any more.
    with schema_context(schemas[0]):
        Subscription.objects.filter(order_line_id__in=lines).delete()
        OrderLine.objects.filter(pk__in=lines).delete()  # with their prices and outbox records
        Order.objects.filter(pk__in=orders).delete()
        Cart.objects.filter(pk__gt=mark["Cart"]).delete()
        assistants = list(Assistant.objects.filter(pk__gt=mark["Assistant"]).values_list("pk", flat=True))
        prices = list(Price.objects.filter(assistant_id__in=assistants).values_list("pk", flat=True))
        Price.objects.filter(pk__in=prices).delete()
        Assistant.objects.filter(pk__in=assistants).delete()
    programmes = list(
        FundingProgramme.objects.filter(pk__gt=mark["FundingProgramme"]).values_list("pk", flat=True)
    )
    tranches = list(Tranche.objects.filter(programme_id__in=programmes).values_list("pk", flat=True))
    BudgetEntry.objects.filter(ledger__tranche_id__in=tranches).delete()
    BudgetLedger.objects.filter(tranche_id__in=tranches).delete()
    FundingProgramme.objects.filter(pk__in=programmes).delete()  # with coverages and tranches
    assert not Coverage.objects.filter(programme_id__in=programmes).exists()
    # the audit trail (simple-history) of the deleted rows, the deletions included
    Subscription.history.filter(order_line_id__in=lines).delete()
    OrderLine.history.filter(id__in=lines).delete()
    Order.history.filter(id__in=orders).delete()
    Price.history.filter(id__in=prices).delete()
    Assistant.history.filter(id__in=assistants).delete()
    Tranche.history.filter(id__in=tranches).delete()
    FundingProgramme.history.filter(id__in=programmes).delete()


@pytest.fixture
def stack(committed, tmp_path) -> Iterator[Stack]:
    """The web server on a free port of 127.0.0.1; workers via ``stack.start_worker()``."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "OZG_DB_NAME": connection.settings_dict["NAME"],
        "DATABASE_URL": _database_url(),
        "OZG_DATA_DIR": str(data_dir),
        "PYTHONUNBUFFERED": "1",
        "NO_PROXY": "localhost,.localhost,127.0.0.1",
        "no_proxy": "localhost,.localhost,127.0.0.1",
    }
    result = Stack(port=_free_port(), env=env, folder=tmp_path)
    try:
        result.start_server()
        yield result
    finally:
        result.stop()
