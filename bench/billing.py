"""The yearly billing run for 428 municipalities × 50 subscriptions (21,400 lines).

    python bench/billing.py

On a fresh database: the 428 Saxon municipalities and districts of data/sachsen_gemeinden.csv
(their rows; billing lives in the public schema and never touches a municipality's own schema,
so no tenant schemas are created), a catalog of 50 assistants (half `central`, subsidised by the
Saxon programme's provisional 2023–2024 tranche, half `efa`), and 50 subscriptions in every
municipality with varied activation dates (pro rata first years) and some cancellations ending
in the billed year. Timed: ``billing_run(year=2024)``: quoting every line through the funding
engine, one invoice per municipality with its lines and subsidy parts, numbers drawn from the
series, the immutability triggers firing for every row.

Baseline in the same run: psycopg's ``executemany`` of as many rows into a plain table with the
columns of an invoice line (no constraints, no triggers).
Last line: {"lines": 21400, "total_s": …, "lines_per_s": …, "raw_insert_rows_per_s": …}
"""

import os
import random
import time
from datetime import date, timedelta
from decimal import Decimal

from _common import drop_database, migrate_shared, report, use_database

DATABASE = "ozg_bench_billing"
ASSISTANTS = 50
YEAR = 2024

use_database(DATABASE, fresh=True)
migrate_shared()

from django.db import connection

from billing.invoicing import billing_run
from billing.models import Invoice, InvoiceLine, InvoiceLineSubsidy
from shop.models import Assistant, Subscription
from tenants.importing import decode, parse_municipalities
from tenants.management.commands.onboard_municipalities import DEFAULT_FILE
from tenants.models import Municipality
from tenants.services import ensure_public_tenant, schema_name_for

# --- given ----------------------------------------------------------------------------------

ensure_public_tenant()
rows = parse_municipalities(decode(DEFAULT_FILE.read_bytes()))
Municipality.objects.bulk_create(
    [
        Municipality(
            schema_name=schema_name_for(row.ags),
            ags=row.ags,
            official_name=row.official_name,
            short_name=row.official_name.split(",")[0],
            kind=row.kind,
            district=row.district,
            population=row.population,
            leitweg_id=f"{row.ags}-0000-{row.ags[-2:]}",
            invoice_city=row.official_name.split(",")[0],
        )
        for row in rows
    ]
)
municipalities = list(Municipality.objects.exclude(schema_name="public").order_by("ags"))
assistants = Assistant.objects.bulk_create(
    [
        Assistant(
            slug=f"bench-{n}",
            title=f"Bench-Assistent {n:02d}",
            short_description="Online-Antrag für eine Verwaltungsleistung.",
            themenfeld="Querschnitt",
            category="central" if n % 2 else "efa",
            status="available",
            version="1.0",
            config_schema={"type": "object"},
            leika_keys=["99050012104000"],
        )
        for n in range(ASSISTANTS)
    ]
)
rng = random.Random(2024)
subscriptions = []
for municipality in municipalities:
    for assistant in assistants:
        started = date(2022, 7, 1) + timedelta(days=rng.randrange(0, 900))  # up to mid-December 2024
        ends = date(2024, 12, 31) if rng.random() < 0.1 else None
        subscriptions.append(
            Subscription(
                municipality=municipality,
                assistant=assistant,
                ordered_on=started,
                started_on=started,
                ends_on=ends,
                maintenance_yearly=Decimal(rng.choice(["240.00", "480.00", "612.50", "1199.99"])),
                vat_rate=Decimal("19"),
            )
        )
Subscription.objects.bulk_create(subscriptions, batch_size=5000)
lines_expected = len(subscriptions)
assert lines_expected == 21400, lines_expected
connection.close()

# --- timed: the billing run -------------------------------------------------------------------

started = time.perf_counter()
if os.environ.get("BENCH_PROFILE"):  # where the time goes (slower; not for the figures)
    import cProfile
    import pstats

    with cProfile.Profile() as profile:
        result = billing_run(year=YEAR, actor="bench", issue_date=date(YEAR, 1, 2))
    pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
else:
    result = billing_run(year=YEAR, actor="bench", issue_date=date(YEAR, 1, 2))
total_s = time.perf_counter() - started
assert result.lines == lines_expected and result.invoices == len(municipalities), result
assert InvoiceLine.objects.count() == lines_expected
assert Invoice.objects.filter(status="issued").count() == len(municipalities)
parts = InvoiceLineSubsidy.objects.count()
numbers = sorted(Invoice.objects.values_list("sequence", flat=True))
assert numbers == list(range(1, len(municipalities) + 1)), "Nummern lückenhaft"

# --- baseline: raw executemany of as many rows --------------------------------------------------

with connection.cursor() as cursor:
    cursor.execute(
        "CREATE TABLE bench_raw_line (id bigserial PRIMARY KEY, invoice_id bigint, position smallint, "
        "description varchar(300), assistant_id bigint, fee_kind varchar(40), subscription_id bigint, "
        "billing_year smallint, charge_key varchar(80), period_start date, period_end date, "
        "list_net numeric(14,2), subsidy numeric(14,2), net_due numeric(14,2), vat_rate numeric(5,2), "
        "provisional boolean, explanation varchar(400))"
    )
raw_rows = [
    (
        n // ASSISTANTS,
        n % ASSISTANTS + 1,
        "Softwarepflege und Support – Bench-Assistent",
        n % ASSISTANTS + 1,
        "maintenance",
        n + 1,
        YEAR,
        f"maintenance:{n + 1}:{YEAR}",
        date(YEAR, 1, 1),
        date(YEAR, 12, 31),
        Decimal("480.00"),
        Decimal("480.00"),
        Decimal("0.00"),
        Decimal("19.00"),
        True,
        "Förderung Freistaat Sachsen: 100 % Rabatt auf Softwarepflege und Support, 366 von 366 Tagen",
    )
    for n in range(lines_expected)
]
raw_connection = connection.connection  # the psycopg connection under Django's
raw_started = time.perf_counter()
with raw_connection.cursor() as cursor:
    cursor.executemany(
        "INSERT INTO bench_raw_line (invoice_id, position, description, assistant_id, fee_kind, "
        "subscription_id, billing_year, charge_key, period_start, period_end, list_net, subsidy, net_due, "
        "vat_rate, provisional, explanation) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
        "%s, %s, %s)",
        raw_rows,
    )
raw_connection.commit() if not raw_connection.autocommit else None
raw_s = time.perf_counter() - raw_started

print(
    f"Jahresabrechnung {YEAR}: {result.invoices} Rechnungen, {result.lines} Positionen, "
    f"{parts} Förderanteile in {total_s:.2f} s; executemany von {lines_expected} Zeilen: {raw_s:.2f} s"
)
drop_database(DATABASE)
report(
    {
        "lines": result.lines,
        "total_s": round(total_s, 2),
        "lines_per_s": round(result.lines / total_s, 1),
        "raw_insert_rows_per_s": round(lines_expected / raw_s, 1),
        "invoices": result.invoices,
        "subsidy_parts": parts,
        "ratio_to_raw": round((result.lines / total_s) / (lines_expected / raw_s), 3),
    }
)
