"""The catalog list page (70 assistants) against a minimal view, both served by gunicorn.

    python bench/catalog.py

A fresh database with one municipality (Leipzig) and 70 assistants with banded prices;
gunicorn with 2 workers; a purchaser logs in through the real login form; then a bounded
load generator on 127.0.0.1 (threads with http.client keep-alive connections, which gunicorn's
sync workers close after each response, so they reconnect; a fixed time per target, rounds) requests the catalog list and /ping on leipzig.localhost with the same
session cookie, through the same middleware. The home page "/" (session, user, base layout,
nothing else) is measured too and printed for reference: the floor of any signed-in page.
BENCH_SECONDS (per target, default 8), BENCH_THREADS (default 4); BENCH_KEEP_DB=1 keeps the
database for profiling afterwards.
Last line: {"catalog_rps": …, "baseline_rps": …, "ratio": …}
"""

import csv
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from decimal import Decimal
from http.cookies import SimpleCookie

from _common import ROOT, drop_database, report, use_database

DB_NAME = "ozg_bench_catalog"
HOST = "leipzig.localhost"
ASSISTANTS = 70
THREADS = int(os.environ.get("BENCH_THREADS", "4"))
SECONDS_PER_TARGET = float(os.environ.get("BENCH_SECONDS", "8"))
ROUNDS = 2  # ping, catalog, home, then again: all see the same machine state
MAX_REQUESTS_PER_THREAD = 200_000
PASSWORD = "Bench-Passwort-2024"
EMAIL = "einkauf@leipzig.example"

use_database(DB_NAME, fresh=True)
from django.core.management import call_command  # noqa: E402

call_command("migrate_schemas", interactive=False, verbosity=0)

from django.db import connection  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.roles import Role  # noqa: E402
from shop.models import Assistant, AssistantCategory, AssistantStatus, Price  # noqa: E402
from tenants.schema_clone import ensure_template  # noqa: E402
from tenants.services import MunicipalityData, ensure_public_tenant, municipality_onboard  # noqa: E402

CONFIG_SCHEMA = {
    "type": "object",
    "required": ["zustaendige_stelle", "kontakt_email"],
    "properties": {
        "zustaendige_stelle": {"type": "string", "title": "Zuständige Stelle"},
        "kontakt_email": {"type": "string", "title": "Kontakt-E-Mail", "format": "email"},
        "epayment": {"type": "boolean", "title": "ePayment aktiv", "default": True},
    },
}


def set_up() -> None:
    ensure_public_tenant()
    ensure_template()
    result = municipality_onboard(
        data=MunicipalityData(
            ags="14713000",
            official_name="Leipzig, Stadt",
            kind="kreisfreie_stadt",
            district="Leipzig, Stadt",
            population=611850,
        )
    )
    with schema_context(result.municipality.schema_name):
        User.objects.create_user(EMAIL, PASSWORD, full_name="Erika Einkauf", roles=[Role.PURCHASER])
    connection.set_schema_to_public()

    with open(ROOT / "data" / "leistungen.csv", encoding="utf-8") as source:
        services = list(csv.DictReader(source))[:ASSISTANTS]
    categories = list(AssistantCategory.values)
    assistants = Assistant.objects.bulk_create(
        Assistant(
            slug=f"assistent-{number:02d}",
            title=row["name"],
            short_description=f"{row['name']}: der Antrag online, mit ePayment und Nachweis-Upload.",
            description="Bürgerinnen und Bürger stellen den Antrag online; die Verwaltung erhält ihn strukturiert.",
            themenfeld=row["themenfeld"],
            leika_keys=[row["leika"]],
            category=categories[number % len(categories)],
            status=AssistantStatus.ANNOUNCED if number % 7 == 6 else AssistantStatus.AVAILABLE,
            expected_date=date(2027, 3, 1) if number % 7 == 6 else None,
            config_schema=CONFIG_SCHEMA,
        )
        for number, row in enumerate(services)
    )
    assert len(assistants) == ASSISTANTS, len(assistants)
    old = date.today() - timedelta(days=800)
    current = old + timedelta(days=366)
    prices = []
    for assistant in assistants:
        for fee_kind, small, large in (("setup", "1200.00", "1800.00"), ("maintenance", "480.00", "720.00")):
            # an expired price, and today's prices in two population bands
            for valid_from, valid_until, band, amount in (
                (old, old + timedelta(days=365), {}, small),
                (current, None, {"population_max": 20_000}, small),
                (current, None, {"population_min": 20_001}, large),
            ):
                prices.append(
                    Price(
                        assistant=assistant,
                        fee_kind_id=fee_kind,
                        net_amount=Decimal(amount),
                        valid_from=valid_from,
                        valid_until=valid_until,
                        **band,
                    )
                )
    Price.objects.bulk_create(prices)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(port: int, method: str, path: str, *, headers: dict | None = None, body: str | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, body=body, headers={"Host": HOST, **(headers or {})})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response, data


def start_gunicorn(port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "OZG_DB_NAME": DB_NAME,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DJANGO_DEBUG": "0",
        "SHOP_BASE_DOMAIN": "localhost",
        "DJANGO_ALLOWED_HOSTS": ".localhost,localhost",
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn ended with {server.returncode}")
        try:
            response, _ = request(port, "GET", "/ping")
            if response.status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not answer within 60 s")


def cookies_of(response) -> dict[str, str]:
    jar = SimpleCookie()
    for header in response.headers.get_all("Set-Cookie") or []:
        jar.load(header)
    return {name: morsel.value for name, morsel in jar.items()}


def log_in(port: int) -> str:
    """The real login form: GET for the CSRF token, POST the credentials; returns the Cookie header."""
    from urllib.parse import urlencode

    response, page = request(port, "GET", "/konto/anmelden/")
    assert response.status == 200, response.status
    cookies = cookies_of(response)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
    form = urlencode({"csrfmiddlewaretoken": token, "username": EMAIL, "password": PASSWORD})
    response, _ = request(
        port,
        "POST",
        "/konto/anmelden/",
        body=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={cookies['csrftoken']}",
            "Referer": f"http://{HOST}/konto/anmelden/",
        },
    )
    assert response.status == 302, f"Anmeldung fehlgeschlagen: {response.status}"
    cookies.update(cookies_of(response))
    assert "sessionid" in cookies
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def drive(port: int, path: str, cookie: str, seconds: float) -> tuple[int, int, float]:
    """THREADS threads, each with one keep-alive connection, for ``seconds``; (ok, errors, elapsed)."""
    headers = {"Host": HOST, "Cookie": cookie, "Connection": "keep-alive"}
    counts = [[0, 0] for _ in range(THREADS)]
    start = threading.Barrier(THREADS + 1)

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        start.wait()
        deadline = time.perf_counter() + seconds
        done = 0
        while time.perf_counter() < deadline and done < MAX_REQUESTS_PER_THREAD:
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                counts[index][0 if response.status == 200 else 1] += 1
                if response.will_close:  # gunicorn's sync workers close after each response
                    conn.close()
            except (OSError, http.client.HTTPException):
                counts[index][1] += 1
                conn.close()
            done += 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return sum(c[0] for c in counts), sum(c[1] for c in counts), elapsed


set_up()
port = free_port()
server = start_gunicorn(port)
try:
    cookie = log_in(port)
    response, page = request(port, "GET", "/katalog/", headers={"Cookie": cookie})
    assert response.status == 200, response.status
    text = page.decode()
    for expected in (f"{ASSISTANTS} Assistenten", "1.800,00 €", "zzgl. 19 % USt."):
        assert expected in text, expected
    # warm both workers (imports, template loading, caches) before timing
    drive(port, "/katalog/", cookie, 1.0)
    drive(port, "/ping", cookie, 1.0)
    drive(port, "/", cookie, 1.0)
    # "/" (the home page: session, user, base layout, nothing else) is printed for reference:
    # the floor of any signed-in page in this project.
    totals = {"/ping": [0, 0, 0.0], "/katalog/": [0, 0, 0.0], "/": [0, 0, 0.0]}
    for _round in range(ROUNDS):
        for path in totals:
            ok, errors, elapsed = drive(port, path, cookie, SECONDS_PER_TARGET / ROUNDS)
            totals[path][0] += ok
            totals[path][1] += errors
            totals[path][2] += elapsed
    # what the timed requests got from the caches is the whole page: the signed-in user's
    # header with its form tokens, and every assistant
    response, page = request(port, "GET", "/katalog/", headers={"Cookie": cookie})
    text = page.decode()
    for expected in (f"{ASSISTANTS} Assistenten", "Erika Einkauf", 'name="csrfmiddlewaretoken"', "</html>"):
        assert expected in text, expected
    assert text.count('class="entry"') == ASSISTANTS, text.count('class="entry"')
finally:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()

for path, (ok, errors, elapsed) in totals.items():
    print(
        f"{path:10} {ok:6d} responses in {elapsed:5.2f} s = {ok / elapsed:7.1f} req/s ({errors} errors), "
        f"{THREADS} threads"
    )
assert all(errors == 0 for _ok, errors, _elapsed in totals.values()), totals
catalog_rps = totals["/katalog/"][0] / totals["/katalog/"][2]
baseline_rps = totals["/ping"][0] / totals["/ping"][2]
if not os.environ.get("BENCH_KEEP_DB"):  # keep it to profile the page afterwards
    drop_database(DB_NAME)
report(
    {
        "catalog_rps": round(catalog_rps, 1),
        "baseline_rps": round(baseline_rps, 1),
        "ratio": round(catalog_rps / baseline_rps, 2),
    }
)
