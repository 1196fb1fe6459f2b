"""Fast creation of municipal schemas by cloning a migrated template schema.

Running every tenant migration for each new municipality costs about a second
per schema; 428 municipalities would take minutes. Instead one schema
(``settings.TENANT_TEMPLATE_SCHEMA``) is migrated the classic way and kept
current; from it a *clone plan* is derived once per process: a single SQL
script that recreates its tables, constraints and indexes **under the same
names** and copies its rows (migration records, content types, permissions).
Same names matter: later migrations address constraints and indexes by name,
so a cloned schema must be indistinguishable from a migrated one
(tests/tenants/test_schema_clone.py compares both).

The template is tagged (``COMMENT ON SCHEMA``) with a fingerprint of the
tenant migrations on disk; when the code brings new migrations the template
is migrated forward before the next clone.
"""

from __future__ import annotations

import hashlib
import re
import threading

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader
from django_tenants.utils import schema_context

TARGET = "__ozg_clone_target__"
_ADVISORY_LOCK_KEY = 0x0A65_7E47  # serialises template (re)builds across processes
_lock = threading.Lock()
_plan_cache: dict[str, str] = {}


def template_schema() -> str:
    return settings.TENANT_TEMPLATE_SCHEMA


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


_fingerprint: str | None = None
_verified: str | None = None  # fingerprint the template was last seen current with (this process)


def forget_fingerprint() -> None:
    """Re-read the migrations on disk next time (after a migration was added or removed at run time)."""
    global _fingerprint, _verified
    _fingerprint = _verified = None


def tenant_migration_fingerprint() -> str:
    """Hash of every migration of the tenant apps as found on disk (read once per process)."""
    global _fingerprint
    if _fingerprint is None:
        _fingerprint = _read_fingerprint()
    return _fingerprint


def _read_fingerprint() -> str:
    labels = {app.rsplit(".", 1)[-1] for app in settings.TENANT_APPS}
    loader = MigrationLoader(None, ignore_no_migrations=True, load=True)
    keys = sorted(f"{app}.{name}" for app, name in loader.disk_migrations if app in labels)
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()[:32]


def _schema_exists(cursor, name: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [name])
    return cursor.fetchone() is not None


def _template_fingerprint(cursor) -> str | None:
    cursor.execute(
        "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = %s",
        [template_schema()],
    )
    row = cursor.fetchone()
    return row[0] if row else None


def ensure_template(*, verbosity: int = 0) -> str:
    """Make sure the template schema exists and is fully migrated; return its fingerprint.

    Must run outside a transaction the first time (migrations commit).
    """
    global _verified
    fingerprint = tenant_migration_fingerprint()
    if _verified == fingerprint:
        return fingerprint
    with connection.cursor() as cursor:
        if _template_fingerprint(cursor) == fingerprint:
            _verified = fingerprint
            return fingerprint
    template = template_schema()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [_ADVISORY_LOCK_KEY])
    try:
        with connection.cursor() as cursor:
            if _template_fingerprint(cursor) == fingerprint:  # built by another process meanwhile
                return fingerprint
            if not _schema_exists(cursor, template):
                cursor.execute(f"CREATE SCHEMA {quote_ident(template)}")
        call_command(
            "migrate_schemas", schema_name=template, tenant=True, interactive=False, verbosity=verbosity
        )
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute(f"COMMENT ON SCHEMA {quote_ident(template)} IS %s", [fingerprint])
        _plan_cache.clear()
        _verified = fingerprint
        return fingerprint
    finally:
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_ADVISORY_LOCK_KEY])


def _retarget(sql: str, template: str) -> str:
    return re.sub(rf"\b{re.escape(template)}\.", f"{quote_ident(TARGET)}.", sql)


def build_clone_plan() -> str:
    """Derive the SQL script that recreates the template schema under the name ``TARGET``."""
    template = template_schema()
    src = quote_ident(template)
    dst = quote_ident(TARGET)
    statements: list[str] = [f"CREATE SCHEMA {dst}"]
    with transaction.atomic(), connection.cursor() as cursor:
        # Fully qualified names from pg_get_*def(): nothing but pg_catalog on the path.
        cursor.execute("SET LOCAL search_path TO pg_catalog")
        cursor.execute(
            """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY c.relname""",
            [template],
        )
        tables = [row[0] for row in cursor.fetchall()]
        # Whole CREATE TABLE statements with their columns and (non-FK) constraints inline:
        # far cheaper than CREATE TABLE ... LIKE followed by one ALTER TABLE per constraint.
        cursor.execute(
            """SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                      pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
                      CASE WHEN a.attcollation <> t.typcollation THEN co.collname END
               FROM pg_attribute a
               JOIN pg_class c ON c.oid = a.attrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
               JOIN pg_type t ON t.oid = a.atttypid
               LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
               LEFT JOIN pg_collation co ON co.oid = a.attcollation
               WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
               ORDER BY c.relname, a.attnum""",
            [template],
        )
        columns: dict[str, list[str]] = {table: [] for table in tables}
        for table, name, type_, notnull, default, identity, generated, collation in cursor.fetchall():
            parts = [quote_ident(name), type_]
            if collation:
                parts.append(f"COLLATE {quote_ident(collation)}")
            if generated == "s":
                parts.append(f"GENERATED ALWAYS AS ({default}) STORED")
            elif default is not None:
                parts.append(f"DEFAULT {_retarget(default, template)}")
            if identity:
                parts.append(
                    "GENERATED ALWAYS AS IDENTITY" if identity == "a" else "GENERATED BY DEFAULT AS IDENTITY"
                )
            if notnull:
                parts.append("NOT NULL")
            columns[table].append(" ".join(parts))
        cursor.execute(
            """SELECT cl.relname, co.conname, co.contype, pg_get_constraintdef(co.oid)
               FROM pg_constraint co
               JOIN pg_class cl ON cl.oid = co.conrelid
               JOIN pg_namespace n ON n.oid = co.connamespace
               WHERE n.nspname = %s AND co.contype IN ('p', 'u', 'x', 'c', 'f')
               ORDER BY cl.relname, co.contype, co.conname""",
            [template],
        )
        foreign_keys: list[str] = []
        for table, name, contype, definition in cursor.fetchall():
            definition = _retarget(definition, template)
            if contype == "f":
                foreign_keys.append(
                    f"ALTER TABLE {dst}.{quote_ident(table)} ADD CONSTRAINT {quote_ident(name)} {definition}"
                )
            else:
                columns[table].append(f"CONSTRAINT {quote_ident(name)} {definition}")
        for table in tables:
            statements.append(f"CREATE TABLE {dst}.{quote_ident(table)} ({', '.join(columns[table])})")
        cursor.execute(
            """SELECT pg_get_indexdef(i.indexrelid)
               FROM pg_index i
               JOIN pg_class ic ON ic.oid = i.indexrelid
               JOIN pg_namespace n ON n.oid = ic.relnamespace
               WHERE n.nspname = %s
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint co
                                 WHERE co.conindid = i.indexrelid AND co.conrelid = i.indrelid
                                   AND co.contype IN ('p', 'u', 'x'))
               ORDER BY ic.relname""",
            [template],
        )
        statements.extend(_retarget(row[0], template) for row in cursor.fetchall())
        for table in tables:
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {src}.{quote_ident(table)})")
            if cursor.fetchone()[0]:
                statements.append(
                    f"INSERT INTO {dst}.{quote_ident(table)} SELECT * FROM {src}.{quote_ident(table)}"
                )
        # Identity sequences continue where the template's stand, as after a real migration.
        cursor.execute(
            """SELECT c.relname, a.attname, s.seqrelid::regclass::text
               FROM pg_attribute a
               JOIN pg_class c ON c.oid = a.attrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
               JOIN pg_depend d ON d.refobjid = c.oid AND d.refobjsubid = a.attnum AND d.deptype = 'i'
               JOIN pg_sequence s ON s.seqrelid = d.objid
               WHERE n.nspname = %s AND a.attidentity <> ''""",
            [template],
        )
        for table, column, sequence in cursor.fetchall():
            cursor.execute(f"SELECT last_value, is_called FROM {sequence}")
            last_value, is_called = cursor.fetchone()
            if is_called:
                statements.append(
                    f"SELECT setval(pg_get_serial_sequence('{dst}.{quote_ident(table)}', "
                    f"'{column}'), {int(last_value)}, true)"
                )
    statements.extend(foreign_keys)
    return ";\n".join(statements) + ";"


def clone_plan() -> str:
    fingerprint = ensure_template()
    with _lock:
        plan = _plan_cache.get(fingerprint)
        if plan is None:
            plan = _plan_cache[fingerprint] = build_clone_plan()
        return plan


def clone_schema(schema_name: str) -> None:
    """Create ``schema_name`` as a copy of the migrated template (inside the caller's transaction)."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", schema_name) or schema_name.startswith("pg_"):
        raise ValueError(f"Ungültiger Schemaname: {schema_name!r}")
    plan = clone_plan()
    script = plan.replace(quote_ident(TARGET), quote_ident(schema_name))
    with schema_context("public"), connection.cursor() as cursor:
        cursor.execute(script)


def migrate_schema_classic(schema_name: str, *, verbosity: int = 0) -> None:
    """The slow path: create a schema and run every tenant migration in it (benchmarks, tests)."""
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema_name)}")
    call_command(
        "migrate_schemas", schema_name=schema_name, tenant=True, interactive=False, verbosity=verbosity
    )
    connection.set_schema_to_public()
