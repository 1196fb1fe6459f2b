"""Onboarding all 428 Saxon municipalities and districts on a fresh database, against the classic way.

    python bench/onboard.py

Prints the time for all rows (schema cloned from the template, domain, row), the
time per tenant, and in the same run the time per tenant for 20 tenants made the
classic django-tenants way (CREATE SCHEMA + all migrations per schema).
Last line: {"tenants": 428, "total_s": …, "ms_per_tenant": …, "classic_ms_per_tenant": …, "speedup": …}
"""

import os

from _common import Timer, drop_database, migrate_shared, report, use_database

use_database("ozg_bench_onboard", fresh=True)
migrate_shared()

from tenants.importing import decode, municipalities_import, parse_municipalities  # noqa: E402
from tenants.management.commands.onboard_municipalities import DEFAULT_FILE  # noqa: E402
from tenants.models import Domain, Municipality  # noqa: E402
from tenants.services import ensure_public_tenant  # noqa: E402

ensure_public_tenant()
rows = parse_municipalities(decode(DEFAULT_FILE.read_bytes()))
with Timer() as total:  # includes building the template schema once
    summary = municipalities_import(rows, workers=int(os.environ.get("BENCH_WORKERS", "0")) or None)
assert summary.created == len(rows) == 428, summary
from django.db import connection  # noqa: E402

with connection.cursor() as cursor:
    cursor.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'm\\_%%'")
    assert cursor.fetchone()[0] == 428
# the same work on one thread, for the record: 50 more schemas cloned one after another
import time  # noqa: E402

from django.db import transaction  # noqa: E402

from tenants.schema_clone import clone_schema  # noqa: E402

started = time.perf_counter()
for number in range(50):
    with transaction.atomic():
        clone_schema(f"serial_{number}")
serial_clone_ms = 1000 * (time.perf_counter() - started) / 50
print(
    f"onboarded {len(rows)} municipalities in {total.seconds:.2f} s "
    f"({1000 * total.seconds / len(rows):.1f} ms per tenant)"
)

CLASSIC = 20
with Timer() as classic:
    for number in range(CLASSIC):
        municipality = Municipality(
            schema_name=f"classic_{number}",
            ags=f"1499{number:04d}",
            official_name=f"Klassisch {number}",
            short_name=f"Klassisch {number}",
            kind="gemeinde",
        )
        municipality.save()
        municipality.create_schema(check_if_exists=True, sync_schema=True, verbosity=0)
        Domain.objects.create(domain=f"classic-{number}.localhost", tenant=municipality, is_primary=True)
classic_ms = 1000 * classic.seconds / CLASSIC
ms = 1000 * total.seconds / len(rows)
print(f"classic: {CLASSIC} tenants in {classic.seconds:.2f} s ({classic_ms:.1f} ms per tenant)")
print(f"one schema clone on one thread: {serial_clone_ms:.1f} ms")
drop_database("ozg_bench_onboard")
report(
    {
        "tenants": len(rows),
        "total_s": round(total.seconds, 2),
        "ms_per_tenant": round(ms, 1),
        "classic_ms_per_tenant": round(classic_ms, 1),
        "speedup": round(classic_ms / ms, 1),
        "serial_clone_ms": round(serial_clone_ms, 1),
    }
)
