"""A cloned schema must be indistinguishable from one built by running the migrations."""

import pytest
from django.db import connection

from tenants.schema_clone import clone_schema, migrate_schema_classic, quote_ident

SNAPSHOT_QUERIES = {
    "tables": """
        SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'S', 'v', 'm') ORDER BY 1""",
    "columns": """
        SELECT table_name, column_name, data_type, is_nullable, column_default, is_identity,
               identity_generation, character_maximum_length, numeric_precision, numeric_scale
        FROM information_schema.columns WHERE table_schema = %s ORDER BY 1, 2""",
    "constraints": """
        SELECT cl.relname, co.conname, co.contype,
               replace(pg_get_constraintdef(co.oid), n.nspname || '.', '')
        FROM pg_constraint co JOIN pg_class cl ON cl.oid = co.conrelid
        JOIN pg_namespace n ON n.oid = co.connamespace
        WHERE n.nspname = %s ORDER BY 1, 2""",
    "indexes": """
        SELECT tablename, indexname, replace(indexdef, schemaname || '.', '')
        FROM pg_indexes WHERE schemaname = %s ORDER BY 1, 2""",
    "migrations": "SELECT app, name FROM {schema}.django_migrations ORDER BY 1, 2",
    "content_types": "SELECT id, app_label, model FROM {schema}.django_content_type ORDER BY 1",
    "permissions": "SELECT id, codename, content_type_id FROM {schema}.auth_permission ORDER BY 1",
}


def snapshot(schema: str) -> dict:
    result = {}
    with connection.cursor() as cursor:
        for key, query in SNAPSHOT_QUERIES.items():
            if "{schema}" in query:
                cursor.execute(query.format(schema=quote_ident(schema)))
            else:
                cursor.execute(query, [schema])
            result[key] = cursor.fetchall()
    return result


@pytest.fixture
def two_schemas(django_db_setup, django_db_blocker):
    # Migrations commit, so this runs outside the per-test transaction and cleans up itself.
    with django_db_blocker.unblock():
        migrate_schema_classic("probe_migrated")
        clone_schema("probe_cloned")
        try:
            yield snapshot("probe_migrated"), snapshot("probe_cloned")
        finally:
            with connection.cursor() as cursor:
                cursor.execute("DROP SCHEMA IF EXISTS probe_migrated CASCADE")
                cursor.execute("DROP SCHEMA IF EXISTS probe_cloned CASCADE")


def test_clone_equals_migrate(two_schemas):
    migrated, cloned = two_schemas
    assert migrated["tables"], "the migrated schema has no tables at all"
    assert any(name == "django_migrations" for name, _ in migrated["tables"])
    for key in SNAPSHOT_QUERIES:
        assert cloned[key] == migrated[key], f"{key} differ between cloned and migrated schema"
    assert len(migrated["migrations"]) >= 10
    assert any(kind == "f" for _, _, kind, _ in migrated["constraints"]), "foreign keys must be compared too"


def test_cloned_schema_identity_continues_like_a_migrated_one(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        clone_schema("probe_identity")
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT max(id) FROM probe_identity.django_content_type")
                highest = cursor.fetchone()[0]
                cursor.execute(
                    "INSERT INTO probe_identity.django_content_type (app_label, model) VALUES ('x', 'y') RETURNING id"
                )
                assert cursor.fetchone()[0] == highest + 1
        finally:
            with connection.cursor() as cursor:
                cursor.execute("DROP SCHEMA IF EXISTS probe_identity CASCADE")


def test_bad_schema_names_are_refused(django_db_setup, db):
    for name in ["Robert'); DROP", "pg_catalog", "1abc", "a" * 64, ""]:
        with pytest.raises(ValueError):
            clone_schema(name)
