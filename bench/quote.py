"""Funding-engine speed: pure quotes per second on one core, and the catalog page with
subsidy previews against the same page without them.

    python bench/quote.py

Last line: {"quotes_per_s": …, "preview_ratio": …}
"""

import random
import time
from datetime import date, timedelta
from decimal import Decimal

from _common import report

from billing.domain.subsidy import Category, OneTimeLine, PeriodLine, quote_line, saxony_programme

PROGRAMMES = [saxony_programme()]


def make_lines(count: int) -> list:
    rng = random.Random(20221017)
    lines = []
    categories = list(Category)
    for _ in range(count):
        category = rng.choice(categories)
        amount = Decimal(rng.randrange(0, 500000)) / 100
        if rng.random() < 0.5:
            lines.append(
                OneTimeLine("a", category, "setup", amount, date(2021, 1, 1) + timedelta(rng.randrange(1800)))
            )
        else:
            year = rng.randrange(2021, 2027)
            start = date(year, 1, 1) + timedelta(rng.randrange(300))
            end = start + timedelta(rng.randrange(0, (date(year, 12, 31) - start).days + 1))
            lines.append(PeriodLine("a", category, "maintenance", amount, start, end))
    return lines


def pure_quotes_per_second(seconds: float = 3.0) -> float:
    lines = make_lines(20_000)
    done = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        for line in lines:
            quote_line(line, PROGRAMMES)
        done += len(lines)
    return done / (time.perf_counter() - started)


if __name__ == "__main__":
    qps = pure_quotes_per_second()
    print(
        f"pure engine: {qps:,.0f} quotes/s on one core (mixed setup and maintenance lines, Saxon programme)"
    )
    from catalog_preview import preview_ratio  # the catalog page with and without subsidy previews

    ratio = preview_ratio()
    report({"quotes_per_s": round(qps), "preview_ratio": round(ratio, 3)})
