"""Provisioning 1,000 order lines for 100 municipalities with a real Celery worker (2 processes).

    python bench/provision.py                                            # filesystem broker
    CELERY_BROKER_URL=redis://127.0.0.1:6379/9 python bench/provision.py  # Redis (a database of its own:
                                                                          # its queue is purged first)

On a fresh database: 100 Saxon municipalities onboarded from data/sachsen_gemeinden.csv, a
purchaser and an approver in each, a catalog of 10 assistants with a setup and a yearly
maintenance price, one submitted order of 10 lines per municipality. Then a real worker
(``celery -A config worker --concurrency=2``) is started and the clock runs from the first
approval (the categories are accepted automatically; each acceptance sends its lines after
commit) until all 1,000 lines are active, each with its instance in the municipality's schema.
Last line: {"lines": 1000, "lines_per_s": …, …}

On the filesystem broker the figure is bound by kombu's polling: once the worker holds as many
unacknowledged messages as it may prefetch (2: acks_late, prefetch multiplier 1, 2 processes),
the transport sleeps ``polling_interval`` (default 1 s) before it looks again, so about two
lines per second get through, whatever the database does. Redis pushes messages instead.
"""

import os

# the acceptance and provisioning mails are rendered and sent, but kept in memory, not in .data/mail
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")

import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import suppress
from datetime import date
from decimal import Decimal
from pathlib import Path

from _common import ROOT, drop_database, migrate_shared, report, use_database

DATABASE = "ozg_bench_provision"
MUNICIPALITIES = 100
ASSISTANTS = 10

use_database(DATABASE, fresh=True)
migrate_shared()

from django.db import connection
from django_tenants.utils import schema_context

from accounts.models import User
from accounts.roles import Role
from config.celery import app as celery_app
from config.celery import private_filesystem_broker
from config.env import database_url as env_database_url
from shop.models import Assistant, LineStatus, OrderLine, Price, Subscription
from shop.ordering import cart_add, order_approve, order_submit
from tenants.importing import decode, municipalities_import, parse_municipalities
from tenants.management.commands.onboard_municipalities import DEFAULT_FILE
from tenants.models import Municipality
from tenants.services import ensure_public_tenant
from workspace.models import AssistantInstance

# --- given: municipalities, users, catalog, submitted orders ------------------------------

ensure_public_tenant()
rows = [row for row in parse_municipalities(decode(DEFAULT_FILE.read_bytes())) if row.kind != "landkreis"]
rows = rows[:MUNICIPALITIES]
summary = municipalities_import(rows)
assert summary.created == MUNICIPALITIES, summary

towns = list(Municipality.objects.filter(ags__in=[row.ags for row in rows]).order_by("ags"))

catalog = []
for number in range(ASSISTANTS):
    assistant = Assistant.objects.create(
        slug=f"bench-{number}",
        title=f"Bench-Assistent {number}",
        short_description="Online-Antrag für eine Verwaltungsleistung.",
        themenfeld="Querschnitt",
        category="central" if number % 2 else "efa",
        config_schema={"type": "object", "properties": {"kontakt_email": {"type": "string"}}},
    )
    for fee_kind, amount in (("setup", "1200.00"), ("maintenance", "480.00")):
        Price.objects.create(
            assistant=assistant,
            fee_kind_id=fee_kind,
            net_amount=Decimal(amount),
            vat_rate=Decimal("19"),
            valid_from=date(2022, 1, 1),
            population_min=0,
            population_max=None,
        )
    catalog.append(assistant)

orders = []
for town in towns:
    with schema_context(town.schema_name):
        purchaser = User.objects.create_user(f"einkauf@{town.ags}.example", roles=[Role.PURCHASER])
        approver = User.objects.create_user(f"freigabe@{town.ags}.example", roles=[Role.APPROVER])
    for assistant in catalog:
        cart_add(municipality=town, assistant=assistant, user=purchaser)
    order = order_submit(municipality=town, user=purchaser, idempotency_key=uuid.uuid4().hex)
    orders.append((order, approver))
LINES = MUNICIPALITIES * ASSISTANTS
assert OrderLine.objects.filter(status=LineStatus.PENDING).count() == LINES

# --- the broker and a real worker ---------------------------------------------------------

data_dir = Path(tempfile.mkdtemp(prefix="ozg-bench-provision-"))
broker_url = os.environ.get("CELERY_BROKER_URL") or "filesystem://"
if broker_url.startswith("filesystem"):
    # a broker folder of our own (the worker derives the same one from its OZG_DATA_DIR)
    options = private_filesystem_broker(data_dir)
    celery_app.conf.update(
        broker_url=broker_url,
        broker_read_url=broker_url,
        broker_write_url=broker_url,
        broker_transport_options=options,
    )
else:
    celery_app.control.purge()

db = connection.settings_dict
# the environment's server (the name comes from OZG_DB_NAME), or the embedded one's socket
database_url = os.environ.get("DATABASE_URL") or env_database_url(db)
log = data_dir / "worker.log"
hostname = f"bench-{uuid.uuid4().hex[:8]}@%h"
env = {
    **os.environ,
    "DATABASE_URL": database_url,
    "OZG_DB_NAME": db["NAME"],
    "OZG_DATA_DIR": str(data_dir),
    "PYTHONUNBUFFERED": "1",
}
with log.open("wb") as out:
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--loglevel=INFO",
            "--concurrency=2",
            "-Q",
            "celery",
            f"--hostname={hostname}",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_worker() -> None:
    if worker.poll() is None:
        worker.terminate()  # warm shutdown
        with suppress(subprocess.TimeoutExpired):
            worker.wait(timeout=60)
    with suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()


try:
    deadline = time.monotonic() + 60
    while " ready." not in log.read_text(errors="replace"):
        if worker.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"Worker nicht bereit:\n{log.read_text(errors='replace')}")
        time.sleep(0.1)

    # --- timed: accept everything at once, until every line is active ---------------------
    started = time.perf_counter()
    for order, approver in orders:
        order_approve(order=order, user=approver)
    accept_s = time.perf_counter() - started
    deadline = time.monotonic() + 1800
    while OrderLine.objects.filter(status=LineStatus.ACTIVE).count() < LINES:
        if worker.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"Bereitstellung unvollständig, Worker-Protokoll: {log}")
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    stop_worker()

    # --- checks: one instance per line in its own schema, one subscription per line -------
    for town in towns:
        with schema_context(town.schema_name):
            assert AssistantInstance.objects.count() == ASSISTANTS, town
    assert Subscription.objects.count() == LINES
    assert not OrderLine.objects.exclude(status=LineStatus.ACTIVE).exists()
finally:
    stop_worker()
    drop_database(DATABASE)

shutil.rmtree(data_dir)
broker = "redis" if broker_url.startswith("redis") else "filesystem"
print(
    f"{LINES} lines for {MUNICIPALITIES} municipalities, {broker} broker: accepted in {accept_s:.2f} s, "
    f"all active after {seconds:.2f} s ({LINES / seconds:.1f} lines/s)"
)
report(
    {
        "lines": LINES,
        "lines_per_s": round(LINES / seconds, 1),
        "seconds": round(seconds, 2),
        "accept_s": round(accept_s, 2),
        "broker": broker,
        "worker_processes": 2,
    }
)
