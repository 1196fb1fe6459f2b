"""Gapless numbering under concurrency: 8 processes issue 1,040 invoices in one series and year,
some of them rolled back after drawing their number. Every number 1…1,040 exists exactly once."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from billing.models import Invoice, NumberSequence
from tenants.models import Municipality
from tests.processes import process_env, purge_documents

YEAR = 2098  # a year of its own: nothing else in the test session issues in it
PROCESSES = 8
PER_PROCESS = 130
SCRIPT = Path(__file__).with_name("issuer_process.py")


@pytest.fixture
def committed_series(django_db_setup, django_db_blocker):
    """Real commits (the issuers are other processes); removed afterwards. Issued invoices are
    immutable by trigger: purge_documents() removes them with triggers off. No ``django_db``
    marker: pytest-django would run the test, and with it this clean-up, in a transaction that
    is rolled back, leaving the issuers' committed invoices to every later test."""
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        yield
        purge_documents(Invoice.objects.filter(issue_date__year=YEAR).values_list("pk", flat=True))
        NumberSequence.objects.filter(year=YEAR).delete()


def test_eight_processes_issue_gapless_unique_numbers(committed_series):
    municipalities = list(Municipality.objects.exclude(schema_name="public").order_by("pk")[:3])
    env = process_env()
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                str(SCRIPT),
                str(municipalities[i % len(municipalities)].pk),
                str(PER_PROCESS),
                str(YEAR),
                "7",  # every 7th attempt rolls back after drawing its number
                str(i),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(PROCESSES)
    ]
    printed = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-3000:]
        printed.extend(out.split())
    total = PROCESSES * PER_PROCESS
    expected = [f"RE-{YEAR}-{n:06d}" for n in range(1, total + 1)]
    assert sorted(printed) == expected  # what the issuers saw: no duplicate, no gap
    stored = list(
        Invoice.objects.filter(issue_date__year=YEAR).order_by("sequence").values_list("number", "sequence")
    )
    assert [number for number, _ in stored] == expected
    assert [sequence for _, sequence in stored] == list(range(1, total + 1))
    assert NumberSequence.objects.get(series="RE", year=YEAR).last == total
