"""Applying tenant migrations to hundreds of schemas in seconds.

django-tenants' standard executor runs Django's ``migrate`` once per schema:
the migration graph is loaded, the database introspected and the project
state rendered again for each of 428 municipalities. All municipal schemas
are clones of one template (tenants/schema_clone.py), so they are identical:
the SQL a migration issues in one of them is exactly the SQL it needs in every
other one. The *replay* executor therefore migrates the first pending schema
the standard way while recording every statement it sends, and then replays
that recording, statement by statement with the same parameters, in each
further schema whose applied migrations were identical before the run, one
transaction per schema. A schema that differs takes the standard path.
"""

from __future__ import annotations

from django.db import connection, transaction
from django_tenants.migration_executors import get_executor as tenants_get_executor
from django_tenants.migration_executors.base import MigrationExecutor, run_migrations

_SKIP_PREFIXES = ("select", "show", "savepoint", "release savepoint", "rollback to savepoint", "set ")


def _applied(schema_name: str) -> frozenset[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = 'django_migrations')",
            [schema_name],
        )
        if not cursor.fetchone()[0]:
            return frozenset()
        cursor.execute(f'SELECT app, name FROM "{schema_name}".django_migrations')
        return frozenset(cursor.fetchall())


class _Recorder:
    def __init__(self):
        self.statements: list[tuple[str, object, bool]] = []

    def __call__(self, execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        text = sql.lstrip().lower() if isinstance(sql, str) else ""
        if text and not text.startswith(_SKIP_PREFIXES):
            self.statements.append((sql, list(params) if many else params, many))
        return result


class ReplayExecutor(MigrationExecutor):
    codename = "replay"

    def _standard(self, schema_name: str, idx: int, count: int) -> None:
        run_migrations(self.args, self.options, self.codename, schema_name, idx=idx, count=count)

    def run_migrations(self, tenants=None):
        tenants = list(tenants or [])
        if self.PUBLIC_SCHEMA_NAME in tenants:
            tenants.remove(self.PUBLIC_SCHEMA_NAME)
            self._standard(self.PUBLIC_SCHEMA_NAME, 0, 1)
        # Migrating to a named migration (or backwards) and fake runs stay on the standard path.
        if len(tenants) < 2 or self.options.get("migration_name") or self.options.get("fake"):
            for idx, schema_name in enumerate(tenants):
                self._standard(schema_name, idx, len(tenants))
            return

        first, rest = tenants[0], tenants[1:]
        connection.set_schema_to_public()
        before = _applied(first)
        recorder = _Recorder()
        with connection.execute_wrapper(recorder):
            self._standard(first, 0, len(tenants))
        connection.set_schema_to_public()
        after = _applied(first)
        if after == before:
            return  # nothing was pending in the first schema; identical schemas need nothing either
        replayed = 0
        for idx, schema_name in enumerate(rest, start=1):
            connection.set_schema_to_public()
            if _applied(schema_name) != before:
                self._standard(schema_name, idx, len(tenants))
                continue
            connection.set_schema(schema_name, include_public=True)
            with transaction.atomic(), connection.cursor() as cursor:
                for sql, params, many in recorder.statements:
                    if many:
                        cursor.executemany(sql, params)
                    else:
                        cursor.execute(sql, params)
            replayed += 1
        connection.set_schema_to_public()
        if int(self.options.get("verbosity", 1)) >= 1:
            self.logger_write(f"{replayed} Schemas per Wiedergabe migriert, {len(rest) - replayed} einzeln.")

    def logger_write(self, message: str) -> None:
        import sys

        sys.stdout.write(f"[replay] {message}\n")

    def run_multi_type_migrations(self, tenants):
        for idx, (schema_name, tenant_type) in enumerate(tenants):
            run_migrations(
                self.args,
                self.options,
                self.codename,
                schema_name,
                tenant_type=tenant_type,
                idx=idx,
                count=len(tenants),
            )


def get_executor(codename=None):
    if codename in (None, ReplayExecutor.codename):
        return ReplayExecutor
    return tenants_get_executor(codename)
