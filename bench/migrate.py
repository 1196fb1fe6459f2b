"""One real new tenant migration across all 428 municipal schemas, rolled back afterwards.

    python bench/migrate.py

Adds a column with an index to a table of every municipal schema (accounts_user,
which lives in each municipality's schema), timed with the project's migration
executor (tenants/migration_executor.py: migrate one schema, replay its SQL in
the identical others). Then the migration is reversed and its file removed.
For comparison it prints the cost of the same DDL as raw SQL per schema.
Last line: {"tenants": 428, "migrate_total_s": …, "raw_ddl_ms_per_schema": …}
"""

import sys
import time

from _common import ROOT, Timer, migrate_shared, report, use_database

use_database("ozg_bench_migrate", fresh=False)
migrate_shared()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.migrations.loader import MigrationLoader  # noqa: E402

from tenants.importing import decode, municipalities_import, parse_municipalities  # noqa: E402
from tenants.management.commands.onboard_municipalities import DEFAULT_FILE  # noqa: E402
from tenants.models import Municipality  # noqa: E402
from tenants.schema_clone import forget_fingerprint  # noqa: E402
from tenants.services import ensure_public_tenant  # noqa: E402

ensure_public_tenant()
if Municipality.objects.exclude(schema_name="public").count() < 428:
    municipalities_import(parse_municipalities(decode(DEFAULT_FILE.read_bytes())))
schemas = list(Municipality.objects.exclude(schema_name="public").values_list("schema_name", flat=True))
assert len(schemas) == 428, len(schemas)

loader = MigrationLoader(None, ignore_no_migrations=True)
previous = max(name for app, name in loader.disk_migrations if app == "accounts")
MIGRATION = ROOT / "accounts" / "migrations" / "9999_bench_login_hint.py"
MIGRATION.write_text(f'''from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts", "{previous}")]
    operations = [
        migrations.AddField("user", "bench_login_hint", models.CharField(max_length=40, default="", db_index=True)),
    ]
''')
try:
    forget_fingerprint()
    with Timer() as forward:
        call_command("migrate_schemas", "accounts", interactive=False, verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM information_schema.columns WHERE column_name = 'bench_login_hint' "
            "AND table_schema = ANY(%s)",
            [schemas],
        )
        migrated = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(DISTINCT schemaname) FROM pg_indexes WHERE indexdef LIKE '%%bench_login_hint%%' AND schemaname = ANY(%s)",
            [schemas],
        )
        indexed = cursor.fetchone()[0]
    assert migrated == indexed == 428, (migrated, indexed)
    print(f"forward migration on public + {len(schemas)} schemas: {forward.seconds:.2f} s")
finally:
    call_command("migrate_schemas", "accounts", previous, interactive=False, verbosity=0)
    MIGRATION.unlink(missing_ok=True)
    sys.modules.pop("accounts.migrations.9999_bench_login_hint", None)
    forget_fingerprint()

# the same DDL as raw SQL, per schema, for comparison (rolled back)
EMPTY = "''"
started = time.perf_counter()
with connection.cursor() as cursor:
    for schema in schemas[:100]:
        cursor.execute("BEGIN")
        cursor.execute(
            f'ALTER TABLE "{schema}".accounts_user ADD COLUMN bench_x varchar(40) DEFAULT {EMPTY} NOT NULL'
        )
        cursor.execute(f'CREATE INDEX bench_x_idx ON "{schema}".accounts_user (bench_x)')
        cursor.execute("ROLLBACK")
raw_ms = 1000 * (time.perf_counter() - started) / 100
print(f"raw DDL: {raw_ms:.1f} ms per schema")
report(
    {
        "tenants": len(schemas),
        "migrate_total_s": round(forward.seconds, 2),
        "raw_ddl_ms_per_schema": round(raw_ms, 1),
    }
)
