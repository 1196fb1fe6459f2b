"""One issuing process of the gapless-numbering test: issues documents as fast as it can.

Usage: python tests/billing/issuer_process.py MUNICIPALITY_ID COUNT YEAR FAIL_EVERY NAME
Every FAIL_EVERY-th document is rolled back after its number was drawn (0: never), so a
rollback is shown to return its number. Prints the issued numbers, one per line.
"""

import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import django  # noqa: E402

django.setup()

from django.db import transaction  # noqa: E402

from billing.domain.subsidy import Category, OneTimeLine, quote_line  # noqa: E402
from billing.invoicing import LineSpec, issue_document  # noqa: E402
from tenants.models import Municipality  # noqa: E402


class Rollback(Exception):
    pass


def main() -> None:
    municipality_id, count, year, fail_every = (int(a) for a in sys.argv[1:5])
    municipality = Municipality.objects.get(pk=municipality_id)
    issued = 0
    attempt = 0
    while issued < count:
        attempt += 1
        quote = quote_line(OneTimeLine("x", Category.EFA, "setup", Decimal("100.00"), date(year, 1, 2)), [])
        spec = LineSpec(
            description="Einrichtung",
            fee_kind="setup",
            quote=quote,
            charge_key=f"gapless:{sys.argv[5]}:{attempt}",
        )
        try:
            with transaction.atomic():
                invoice = issue_document(
                    municipality=municipality,
                    kind="invoice",
                    origin="correction",
                    specs=[spec],
                    issue_date=date(year, 1, 2),
                    actor="gapless",
                    capped=set(),
                )
                if fail_every and attempt % fail_every == 0:
                    raise Rollback
        except Rollback:
            continue
        issued += 1
        print(invoice.number, flush=True)


if __name__ == "__main__":
    main()
