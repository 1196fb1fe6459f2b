"""Shared set-up for the benchmark scripts: a fresh database of their own."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)


def _admin_connection():
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db["HOST"],
        port=db["PORT"] or None,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )


def drop_database(name: str) -> None:
    """Drop a benchmark database and wait until the disk has absorbed the deletion,
    so that the next timed run does not pay for this one's thousands of unlinked files."""
    from django.db import connections
    from psycopg import sql

    connections.close_all()
    with _admin_connection() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute("CHECKPOINT")
    os.sync()
    time.sleep(3)
    os.sync()


def use_database(name: str, *, fresh: bool) -> None:
    """Point Django at database ``name`` (embedded server unless DATABASE_URL is set); recreate it if ``fresh``."""
    os.environ["OZG_DB_NAME"] = name
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    from django.conf import settings

    db = settings.DATABASES["default"]
    if fresh:
        import psycopg
        from psycopg import sql

        with psycopg.connect(
            host=db["HOST"],
            port=db["PORT"] or None,
            user=db["USER"],
            password=db["PASSWORD"] or None,
            dbname="postgres",
            autocommit=True,
        ) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            # Start from a quiet disk: flush what earlier runs (and the dropped database) left behind.
            conn.execute("CHECKPOINT")
        os.sync()
    import django

    django.setup()


def migrate_shared() -> None:
    from django.core.management import call_command

    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)


def report(figures: dict) -> None:
    print(json.dumps(figures), flush=True)


class Timer:
    def __enter__(self):
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.started
