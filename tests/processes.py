"""Helpers for tests that start other processes on the session's test database."""

from __future__ import annotations

import os

from django.db import connection

from config.env import database_url as env_database_url


def database_url() -> str:
    """The test database for another process: the environment's server, or the embedded one's socket."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]  # the database name comes from OZG_DB_NAME
    return env_database_url(connection.settings_dict)


def process_env(**extra: str) -> dict[str, str]:
    """Environment for a Django process on the test database."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "OZG_DB_NAME": connection.settings_dict["NAME"],
        "DATABASE_URL": database_url(),
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def purge_documents(invoice_ids) -> None:
    """Delete committed test invoices with everything that refers to them. Issued documents are
    immutable by trigger, so this runs with triggers off (a superuser's replica role)."""
    ids = list(invoice_ids)
    if not ids:
        return
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            for sql in (
                "DELETE FROM billing_payment WHERE invoice_id = ANY(%s)",
                "DELETE FROM billing_stripeinvoice WHERE invoice_id = ANY(%s)",
                "DELETE FROM billing_invoiceevent WHERE invoice_id = ANY(%s)",
                "DELETE FROM billing_billingcharge WHERE line_id IN "
                "(SELECT id FROM billing_invoiceline WHERE invoice_id = ANY(%s))",
                "DELETE FROM billing_invoicelinesubsidy WHERE line_id IN "
                "(SELECT id FROM billing_invoiceline WHERE invoice_id = ANY(%s))",
                "DELETE FROM billing_invoiceline WHERE invoice_id = ANY(%s)",
                "DELETE FROM billing_invoice WHERE id = ANY(%s)",
            ):
                cursor.execute(sql, [ids])
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")
