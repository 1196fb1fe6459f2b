"""The replay executor gives every municipal schema exactly what a real migration gives the first."""

import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from tenants.models import Municipality
from tenants.schema_clone import forget_fingerprint

MIGRATIONS = Path(__file__).resolve().parents[2] / "accounts" / "migrations"


def _snapshot(schema):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = 'accounts_user' ORDER BY 1",
            [schema],
        )
        columns = cursor.fetchall()
        cursor.execute(
            "SELECT indexname, replace(indexdef, schemaname || '.', '') FROM pg_indexes "
            "WHERE schemaname = %s AND tablename = 'accounts_user' ORDER BY 1",
            [schema],
        )
        indexes = cursor.fetchall()
        cursor.execute(f'SELECT app, name FROM "{schema}".django_migrations ORDER BY 1, 2')
        migrations = cursor.fetchall()
    return columns, indexes, migrations


@pytest.fixture
def probe_migration(django_db_setup, django_db_blocker):
    previous = max(name for app, name in MigrationLoader(None).disk_migrations if app == "accounts")
    path = MIGRATIONS / "9990_probe_column.py"
    path.write_text(
        "from django.db import migrations, models\n\n\n"
        "class Migration(migrations.Migration):\n"
        f"    dependencies = [('accounts', '{previous}')]\n"
        "    operations = [migrations.AddField('user', 'probe_hint', "
        "models.CharField(max_length=20, default='', db_index=True))]\n"
    )
    with django_db_blocker.unblock():
        forget_fingerprint()
        try:
            yield previous
        finally:
            call_command("migrate_schemas", "accounts", previous, interactive=False, verbosity=0)
            path.unlink(missing_ok=True)
            sys.modules.pop("accounts.migrations.9990_probe_column", None)
            forget_fingerprint()


def test_replayed_schemas_equal_the_really_migrated_one(probe_migration, capsys):
    schemas = list(
        Municipality.objects.exclude(schema_name="public")
        .order_by("schema_name")
        .values_list("schema_name", flat=True)
    )
    assert len(schemas) >= 3
    call_command("migrate_schemas", "accounts", interactive=False, verbosity=1)
    assert f"{len(schemas) - 1} Schemas per Wiedergabe migriert" in capsys.readouterr().out
    first = _snapshot(schemas[0])
    assert "probe_hint" in [name for name, *_ in first[0]]
    assert any("probe_hint" in definition for _, definition in first[1])
    assert ("accounts", "9990_probe_column") in first[2]
    for schema in schemas[1:]:
        assert _snapshot(schema) == first, f"{schema} differs from {schemas[0]}"
    # public is migrated too (the user table lives there as well)
    public_columns = _snapshot("public")[0]
    assert "probe_hint" in [name for name, *_ in public_columns]
