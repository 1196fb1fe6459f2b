"""Invariants of the funding engine, checked on thousands of generated cases.

The reference used here is deliberately naive: it walks the billed period day
by day with ``Fraction`` and rounds half up at the end, so it shares no code
(and no shortcut) with the engine.
"""

import math
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from billing.domain.subsidy import (
    Category,
    OneTimeLine,
    PeriodLine,
    Programme,
    Tranche,
    TrancheStatus,
    allocate_cap,
    apply_caps,
    invoice_totals,
    quote_line,
    saxony_programme,
    year_days,
)

pytestmark = pytest.mark.pure

D = Decimal
FIRST_YEAR, LAST_YEAR = 2021, 2027
SLUGS = ("buergerservice", "hundesteuer", "ekol-kfz")
MANY = settings(max_examples=2000, deadline=None)
# Tests that quote several lines per example: each example costs a multiple.
SOME = settings(max_examples=1000, deadline=None)


# --- Strategies ---------------------------------------------------------------------


# Generation dominates the run time of these tests, so the strategies are
# built once, from plain integers (st.decimals and st.sets cost several times
# more per draw), with several small choices packed into one draw.
def cents_to_decimal(n: int) -> Decimal:
    return Decimal(n).scaleb(-2)


CATEGORIES = list(Category)
STATUSES = list(TrancheStatus)
FEE_KINDS = ["setup", "maintenance", "customization", "hosting"]
PERIOD_KINDS = ["maintenance", "hosting"]
ONE_TIME_KINDS = ["setup", "customization"]
VAT_RATES = [D("19"), D("7"), D("0")]
MAX_CUTS = 7
FIRST_DAY = date(FIRST_YEAR, 1, 1).toordinal()
LAST_DAY = date(LAST_YEAR, 12, 31).toordinal()

amounts = st.integers(0, 10_000_000).map(cents_to_decimal)  # up to 100.000,00 €
small_amounts = st.integers(0, 500).map(cents_to_decimal)
percents = st.one_of(
    st.sampled_from([D("0"), D("50"), D("100")]), st.integers(0, 10_000).map(cents_to_decimal)
)
days = st.integers(FIRST_DAY, LAST_DAY)
cut_days = st.integers(FIRST_DAY, LAST_DAY + 1)
cut_counts = st.integers(2, MAX_CUTS)
# A status per segment between cuts, base 4 (digit 3 = gap); 0 = all confirmed.
packed_statuses = st.integers(0, 4 ** (MAX_CUTS - 1) - 1)
# Fee kinds × categories × excluded slug (0 = none); 0 shrinks to "nothing covered".
packed_programme = st.integers(0, 2 ** len(FEE_KINDS) * 2 ** len(CATEGORIES) * (len(SLUGS) + 1) - 1)
packed_line = st.integers(0, len(SLUGS) * len(CATEGORIES) * 2 * len(VAT_RATES) - 1)
years = st.integers(FIRST_YEAR, LAST_YEAR)
days_of_year = st.integers(0, 365)


def subset(items, mask):
    return [item for bit, item in enumerate(items) if mask >> bit & 1]


def draw_tranches(draw):
    """Non-overlapping tranches; neighbours may touch or leave gaps."""
    cuts = sorted({draw(cut_days) for _ in range(draw(cut_counts))})
    packed = draw(packed_statuses)
    result = []
    for i, (start, stop) in enumerate(pairwise(cuts)):
        packed, kind = divmod(packed, 4)
        if kind < len(STATUSES):
            result.append(
                Tranche(f"t{i}", f"T{i}", date.fromordinal(start), date.fromordinal(stop - 1), STATUSES[kind])
            )
    return tuple(result)


def draw_programme(draw, index, coverage):
    packed, kinds = divmod(draw(packed_programme), 2 ** len(FEE_KINDS))
    excluded, categories = divmod(packed, 2 ** len(CATEGORIES))
    return Programme(
        id=f"p{index}",
        name=f"Programm {index}",
        funder=f"Geber {index}",
        categories=frozenset(subset(CATEGORIES, categories)),
        excluded_assistants=frozenset(SLUGS[excluded - 1 : excluded]),
        coverage={kind: draw(coverage) for kind in subset(FEE_KINDS, kinds)},
        tranches=draw_tranches(draw),
    )


@st.composite
def programme_lists(draw, max_size=3, coverage=percents):
    """1..max_size programmes with distinct ids, overlapping freely."""
    n = draw(st.sampled_from(range(1, max_size + 1)))
    return [draw_programme(draw, i, coverage) for i in range(n)]


def draw_line_basics(draw, fee_kinds):
    packed, slug = divmod(draw(packed_line), len(SLUGS))
    packed, category = divmod(packed, len(CATEGORIES))
    vat, kind = divmod(packed, 2)
    return SLUGS[slug], CATEGORIES[category], fee_kinds[kind], VAT_RATES[vat]


@st.composite
def period_lines(draw, yearly=amounts, min_days=1):
    """A billed period within one calendar year, at least min_days (1 or 2) long."""
    slug, category, kind, vat = draw_line_basics(draw, PERIOD_KINDS)
    year = draw(years)
    last = year_days(year) - 1
    a, b = sorted(min(draw(days_of_year), last) for _ in range(2))
    if b - a + 1 < min_days:
        a, b = (a, b + 1) if b < last else (a - 1, b)
    first_day = date(year, 1, 1)
    return PeriodLine(
        slug, category, kind, draw(yearly), first_day + timedelta(a), first_day + timedelta(b), vat
    )


@st.composite
def one_time_lines(draw, net=amounts):
    slug, category, kind, vat = draw_line_basics(draw, ONE_TIME_KINDS)
    return OneTimeLine(slug, category, kind, draw(net), date.fromordinal(draw(days)), vat)


lines = st.one_of(period_lines(), one_time_lines())


# --- Reference ------------------------------------------------------------------------


def half_up_cents(x: Fraction) -> int:
    assert x >= 0
    return math.floor(x * 100 + Fraction(1, 2))


def reference(line, progs):
    """Day-by-day exact subsidy per tranche, coverage capped at 100 % per day."""
    if isinstance(line, PeriodLine):
        n = (line.period_end - line.period_start).days + 1
        days = [line.period_start + timedelta(i) for i in range(n)]
        per_day = Fraction(line.yearly) / year_days(line.period_start.year)
    else:
        days = [line.order_date]
        per_day = Fraction(line.net)
    eligible = [
        (p, Fraction(p.coverage[line.fee_kind]))
        for p in progs
        if line.category in p.categories
        and line.assistant_slug not in p.excluded_assistants
        and p.coverage.get(line.fee_kind, 0) > 0
    ]
    # Which tranches fund each day; days funded alike are counted together so
    # the Fraction arithmetic runs once per distinct set, not once per day.
    funded_alike = Counter(
        tuple(
            ((p.id, t.id), pct)
            for p, pct in eligible
            for t in p.tranches
            if t.start <= day <= t.end and t.status is not TrancheStatus.REJECTED
        )
        for day in days
    )
    shares = defaultdict(Fraction)
    for active, count in funded_alike.items():
        total = sum(pct for _, pct in active)
        scale = min(Fraction(1), 100 / total) if total else Fraction(1)
        for key, pct in active:
            shares[key] += per_day * count * pct / 100 * scale
    net = half_up_cents(per_day * len(days))
    return net, half_up_cents(sum(shares.values())), dict(shares)


def cents(x: Decimal) -> int:
    return int(x * 100)


# --- Properties ------------------------------------------------------------------------


@MANY
@given(lines, programme_lists())
def test_subsidy_is_a_discount_within_list_net(line, progs):
    quote = quote_line(line, progs)

    assert D("0") <= quote.subsidy <= quote.list_net
    assert quote.net_due == quote.list_net - quote.subsidy
    assert sum((a.amount for a in quote.applied), D("0")) == quote.subsidy
    assert all(a.amount >= 0 for a in quote.applied)
    assert quote.provisional == any(a.provisional for a in quote.applied)
    for amount in (quote.list_net, quote.subsidy, quote.net_due, *(a.amount for a in quote.applied)):
        assert amount.as_tuple().exponent == -2
    if not quote.applied:
        assert quote.explanation.startswith("Keine Förderung: ")


@settings(max_examples=3000, deadline=None)
@given(lines, programme_lists())
def test_engine_matches_day_by_day_fraction_reference(line, progs):
    quote = quote_line(line, progs)
    net, subsidy, shares = reference(line, progs)

    assert cents(quote.list_net) == net
    assert cents(quote.subsidy) == subsidy  # half up, once, over the exact sum
    assert {a.key for a in quote.applied} == set(shares)
    for a in quote.applied:
        exact = shares[a.key] * 100
        assert math.floor(exact) <= cents(a.amount) <= math.ceil(exact)  # largest remainder


@MANY
@given(st.data(), programme_lists())
def test_splitting_a_period_changes_totals_by_at_most_a_cent(data, progs):
    line = data.draw(period_lines(min_days=2))
    split = data.draw(st.integers(0, (line.period_end - line.period_start).days - 1))
    middle = line.period_start + timedelta(split)
    first = replace(line, period_end=middle)
    second = replace(line, period_start=middle + timedelta(1))

    whole = quote_line(line, progs)
    parts = [quote_line(first, progs), quote_line(second, progs)]

    assert abs(sum(q.list_net for q in parts) - whole.list_net) <= D("0.01")
    assert abs(sum(q.subsidy for q in parts) - whole.subsidy) <= D("0.01")


@SOME
@given(st.data(), programme_lists(max_size=2))
def test_splitting_into_many_parts_stays_within_a_cent_per_split(data, progs):
    line = data.draw(period_lines(min_days=2))
    length = (line.period_end - line.period_start).days
    offsets = sorted(data.draw(st.sets(st.integers(0, length - 1), min_size=1, max_size=6)))
    bounds = [
        line.period_start - timedelta(1),
        *(line.period_start + timedelta(o) for o in offsets),
        line.period_end,
    ]
    parts = [
        quote_line(replace(line, period_start=a + timedelta(1), period_end=b), progs)
        for a, b in pairwise(bounds)
    ]
    whole = quote_line(line, progs)
    splits = len(parts) - 1

    assert abs(sum(q.list_net for q in parts) - whole.list_net) <= D("0.01") * splits
    assert abs(sum(q.subsidy for q in parts) - whole.subsidy) <= D("0.01") * splits


@MANY
@given(lines, programme_lists(coverage=st.just(D("0"))))
def test_zero_coverage_gives_zero_subsidy(line, progs):
    quote = quote_line(line, progs)
    assert quote.subsidy == D("0.00")
    assert quote.net_due == quote.list_net
    assert quote.applied == ()


@MANY
@given(st.data(), lines, programme_lists())
def test_rejected_tranche_is_the_same_as_no_tranche(data, line, progs):
    candidates = [(i, t) for i, p in enumerate(progs) for t in p.tranches]
    assume(candidates)
    i, tranche = data.draw(st.sampled_from(candidates))
    rejected = [*progs]
    rejected[i] = progs[i].with_tranche_status(tranche.id, TrancheStatus.REJECTED)
    removed = [*progs]
    removed[i] = replace(progs[i], tranches=tuple(t for t in progs[i].tranches if t.id != tranche.id))

    a, b = quote_line(line, rejected), quote_line(line, removed)

    assert (a.list_net, a.subsidy, a.net_due, a.applied, a.provisional) == (
        b.list_net,
        b.subsidy,
        b.net_due,
        b.applied,
        b.provisional,
    )
    assert all(x.tranche_id != tranche.id or x.programme_id != f"p{i}" for x in a.applied)


@SOME
@given(st.lists(lines, max_size=8), programme_lists(max_size=2))
def test_invoice_totals_are_sums_of_lines_and_groups(invoice_lines, progs):
    quotes = [quote_line(line, progs) for line in invoice_lines]

    totals = invoice_totals(quotes)

    assert totals.list_net == sum((q.list_net for q in quotes), D("0"))
    assert totals.subsidy == sum((q.subsidy for q in quotes), D("0"))
    assert totals.net_due == sum((q.net_due for q in quotes), D("0"))
    assert totals.net_due == totals.list_net - totals.subsidy
    assert totals.net_due == sum((g.base for g in totals.vat_groups), D("0"))
    assert totals.vat == sum((g.vat for g in totals.vat_groups), D("0"))
    assert totals.gross_due == totals.net_due + totals.vat
    assert [g.rate for g in totals.vat_groups] == sorted({q.vat_rate for q in quotes})
    for g in totals.vat_groups:
        base = sum((q.net_due for q in quotes if q.vat_rate == g.rate), D("0"))
        assert g.base == base
        assert cents(g.vat) == half_up_cents(Fraction(base) * Fraction(g.rate) / 100)


@MANY
@given(
    st.lists(one_time_lines(net=small_amounts) | period_lines(yearly=small_amounts), max_size=10), st.data()
)
def test_caps_are_never_overspent_and_the_crossing_line_gets_the_remainder(issued, data):
    programme = saxony_programme()
    cap = data.draw(st.integers(0, 2000).map(cents_to_decimal))
    budgets = {(programme.id, t.id): cap for t in programme.tranches}
    requested = defaultdict(lambda: D("0"))
    granted = defaultdict(lambda: D("0"))

    for line in issued:
        quote = quote_line(line, [programme])
        for a in quote.applied:
            requested[a.key] += a.amount
        capped, budgets = apply_caps(quote, budgets)
        assert sum((a.amount for a in capped.applied), D("0")) == capped.subsidy <= quote.subsidy
        assert capped.net_due == capped.list_net - capped.subsidy
        for a in capped.applied:
            granted[a.key] += a.amount

    for key, remaining in budgets.items():
        assert granted[key] == min(cap, requested[key])
        assert remaining == cap - granted[key] >= 0


@MANY
@given(
    st.integers(0, 100_000).map(cents_to_decimal),
    st.one_of(st.none(), st.integers(-1000, 100_000).map(cents_to_decimal)),
)
def test_allocate_cap_grants_at_most_what_is_left(requested, remaining):
    granted, after = allocate_cap(requested, remaining)
    assert 0 <= granted <= requested
    if remaining is None:
        assert (granted, after) == (requested, None)
    else:
        assert granted == min(requested, max(remaining, D("0")))
        assert after == remaining - granted
