"""Funding engine: which programme pays how much of a line, exact to the cent.

Pure: no Django, no clock, no I/O. Frozen dataclasses in, frozen dataclasses
out, ``Decimal`` amounts, dates passed in. The rules are those of
``shared/FUNDING.md``; docstrings cite them where they are subtle.

Arithmetic is exact: amounts are turned into integer cents once, shares are
kept as integer numerators over a common denominator (or ``Fraction`` in the
rare case of overlapping programmes), and each result is rounded half up
exactly once. Nothing passes through ``float`` or a 28-digit ``Decimal``
division, so a true tie such as 0,505 € always rounds to 0,51 €.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from itertools import groupby, pairwise
from operator import attrgetter
from types import MappingProxyType
from typing import TypeAlias

from billing.domain.money import ZERO, as_decimal, format_eur, format_percent, round_money

# calendar_year_periods and days_inclusive are re-exported (see __all__) so
# callers find the period helpers next to the engine.
from billing.domain.periods import calendar_year_periods, days_inclusive, year_days

__all__ = [
    "CATEGORY_LABELS",
    "DEFAULT_VAT_RATE",
    "FEE_KIND_LABELS",
    "MAINTENANCE",
    "PROVISIONAL_NOTE",
    "SETUP",
    "AppliedTranche",
    "Category",
    "InvoiceTotals",
    "LineQuote",
    "OneTimeLine",
    "PeriodLine",
    "Programme",
    "ProgrammeId",
    "Tranche",
    "TrancheId",
    "TrancheKey",
    "TrancheStatus",
    "VatGroup",
    "allocate_cap",
    "apply_caps",
    "calendar_year_periods",
    "category_label",
    "days_inclusive",
    "fee_kind_label",
    "initial_budgets",
    "invoice_totals",
    "quote_line",
    "saxony_programme",
    "year_days",
]

ProgrammeId: TypeAlias = str | int
TrancheId: TypeAlias = str | int
#: Identifies a tranche across programmes, e.g. for budget ledgers.
TrancheKey: TypeAlias = tuple[ProgrammeId, TrancheId]

DEFAULT_VAT_RATE = Decimal("19")
PROVISIONAL_NOTE = "vorbehaltlich Haushaltsbeschluss"


# --- Catalog vocabulary -----------------------------------------------------


class Category(StrEnum):
    """Assistant category from the catalog; only data decides eligibility."""

    CENTRAL = "central"
    EFA = "efa"
    STATE_LICENSED = "state_licensed"
    INDIVIDUAL = "individual"

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self]


CATEGORY_LABELS: Mapping[Category, str] = MappingProxyType(
    {
        Category.CENTRAL: "Zentral entwickelt (Basiskomponenten)",
        Category.EFA: "Einer für Alle (EfA)",
        Category.STATE_LICENSED: "Landeslizenziert",
        Category.INDIVIDUAL: "Individuelle Eigenentwicklung",
    }
)


def category_label(category: Category | str) -> str:
    return CATEGORY_LABELS[_category(category)]


# Fee kinds are open-ended strings (FUNDING.md: "open-ended others"); these
# two have fixed meaning and timing.
SETUP = "setup"  # one-time; the order date counts
MAINTENANCE = "maintenance"  # yearly "Softwarepflege und Support"; the period counts

FEE_KIND_LABELS: Mapping[str, str] = MappingProxyType(
    {
        SETUP: "Einrichtung und Konfiguration",
        MAINTENANCE: "Softwarepflege und Support",
    }
)


def fee_kind_label(kind: str) -> str:
    """German label of a fee kind; unknown kinds are shown as they are."""
    return FEE_KIND_LABELS.get(kind, kind)


class TrancheStatus(StrEnum):
    CONFIRMED = "confirmed"
    PROVISIONAL = "provisional"  # FUNDING.md: until the budget decision is recorded
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return _TRANCHE_STATUS_LABELS[self]


_TRANCHE_STATUS_LABELS = MappingProxyType(
    {
        TrancheStatus.CONFIRMED: "bestätigt",
        TrancheStatus.PROVISIONAL: PROVISIONAL_NOTE,
        TrancheStatus.REJECTED: "abgelehnt",
    }
)


# --- Validation helpers -----------------------------------------------------


def _category(value: Category | str) -> Category:
    try:
        return Category(value)
    except ValueError:
        raise ValueError(f"Unbekannte Kategorie: {value!r}") from None


def _tranche_status(value: TrancheStatus | str) -> TrancheStatus:
    try:
        return TrancheStatus(value)
    except ValueError:
        raise ValueError(f"Unbekannter Status einer Tranche: {value!r}") from None


def _date(value: object, what: str) -> date:
    # datetime is a date subclass, but mixing the two breaks day arithmetic
    # and would smuggle a time (and a clock) into the engine.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise TypeError(f"{what} muss ein datetime.date sein, nicht {type(value).__name__}")
    return value


def _cents(value: object, what: str) -> tuple[Decimal, int]:
    """Validate a non-negative EUR amount exact to the cent; return it and its cents."""
    amount = as_decimal(value, what)
    if amount < 0:
        raise ValueError(f"{what} darf nicht negativ sein: {format_eur(amount)}")
    if round_money(amount) != amount:
        raise ValueError(f"{what} muss auf den Cent genau sein: {amount}")
    return amount, int(amount.scaleb(2))


def _percent(value: object, what: str) -> Decimal:
    pct = as_decimal(value, what)
    if not 0 <= pct <= 100:
        raise ValueError(f"{what} muss zwischen 0 und 100 % liegen: {pct}")
    return pct


def _fee_kind(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"Ungültige Leistungsart: {value!r}")
    return value


# --- Programmes ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tranche:
    """A funding period of a programme; ``end`` is inclusive.

    ``cap`` is the optional budget in EUR (FUNDING.md: Budget caps); the
    engine only reads it in :func:`initial_budgets`, the ledger lives in the DB.
    """

    id: TrancheId
    name: str
    start: date
    end: date
    status: TrancheStatus
    cap: Decimal | None = None

    def __post_init__(self) -> None:
        _date(self.start, "Beginn der Tranche")
        _date(self.end, "Ende der Tranche")
        if self.end < self.start:
            raise ValueError(
                f"Tranche „{self.name}“: Ende {self.end:%d.%m.%Y} liegt vor Beginn {self.start:%d.%m.%Y}"
            )
        object.__setattr__(self, "status", _tranche_status(self.status))
        if self.cap is not None:
            object.__setattr__(self, "cap", _cents(self.cap, "Förderbudget")[0])


class _FrozenMapping(Mapping[str, Decimal]):
    """Read-only, hashable and picklable mapping (a MappingProxyType is neither)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Decimal]) -> None:
        self._data = dict(data)

    def __getitem__(self, key: str) -> Decimal:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(frozenset(self._data.items()))

    def __repr__(self) -> str:
        return repr(self._data)


@dataclass(frozen=True, slots=True)
class _Span:
    """A tranche as ordinals, precomputed once per programme for quoting."""

    tranche: Tranche
    first: int
    last: int
    rejected: bool
    provisional: bool


@dataclass(frozen=True, slots=True)
class _Rate:
    """A coverage percent as an exact ratio, precomputed once per programme."""

    percent: Decimal
    numerator: int
    denominator: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Programme:
    """A funding programme as data (FUNDING.md: Model), so the next one needs no code.

    ``coverage`` maps fee kind → percent (0..100); a kind missing or at 0 % is
    not covered. ``excluded_assistants`` holds assistant slugs. Tranches are
    kept sorted by start and must not overlap.
    """

    id: ProgrammeId
    name: str
    funder: str
    categories: frozenset[Category]
    excluded_assistants: frozenset[str] = frozenset()
    coverage: Mapping[str, Decimal] = field(default_factory=dict)
    tranches: tuple[Tranche, ...] = ()
    #: Prefix of the explanation, e.g. "Förderung Freistaat Sachsen";
    #: defaults to "Förderung {funder}".
    explanation_label: str = ""
    _rates: Mapping[str, _Rate] = field(init=False, repr=False, compare=False)
    _spans: tuple[_Span, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise once, here
        for name in ("categories", "excluded_assistants"):
            if isinstance(getattr(self, name), str):  # would silently become a set of letters
                raise TypeError(f"{name} muss eine Menge sein, kein einzelner Text")
        set_(self, "categories", frozenset(_category(c) for c in self.categories))
        set_(self, "excluded_assistants", frozenset(self.excluded_assistants))
        coverage = {
            _fee_kind(kind): _percent(pct, f"Förderquote für „{fee_kind_label(kind)}“")
            for kind, pct in self.coverage.items()
        }
        set_(self, "coverage", _FrozenMapping(coverage))
        for tranche in self.tranches:
            if not isinstance(tranche, Tranche):
                raise TypeError(f"Keine Tranche: {tranche!r}")
        tranches = tuple(sorted(self.tranches, key=attrgetter("start", "end")))
        ids = [t.id for t in tranches]
        if len(set(ids)) != len(ids):
            raise ValueError(f"Programm „{self.name}“: Tranchen-IDs sind nicht eindeutig: {ids}")
        for before, after in pairwise(tranches):
            if after.start <= before.end:
                raise ValueError(
                    f"Programm „{self.name}“: Tranchen „{before.name}“ und „{after.name}“ überschneiden sich"
                )
        set_(self, "tranches", tranches)
        if not self.explanation_label:
            set_(self, "explanation_label", f"Förderung {self.funder}")
        set_(
            self,
            "_rates",
            {
                kind: _Rate(pct, *pct.as_integer_ratio())
                for kind, pct in coverage.items()
                if pct > 0  # 0 % is "not covered", not a 0,00 € subsidy line
            },
        )
        set_(
            self,
            "_spans",
            tuple(
                _Span(
                    t,
                    t.start.toordinal(),
                    t.end.toordinal(),
                    t.status is TrancheStatus.REJECTED,
                    t.status is TrancheStatus.PROVISIONAL,
                )
                for t in tranches
            ),
        )

    def with_tranche_status(self, tranche_id: TrancheId, status: TrancheStatus | str) -> Programme:
        """A copy with one tranche's status changed, e.g. after the budget decision."""
        if tranche_id not in {t.id for t in self.tranches}:
            raise ValueError(f"Programm „{self.name}“ hat keine Tranche {tranche_id!r}")
        tranches = tuple(replace(t, status=status) if t.id == tranche_id else t for t in self.tranches)
        return replace(self, tranches=tranches)


def saxony_programme() -> Programme:
    """The Saxon programme of 17 Oct 2022 exactly as FUNDING.md describes it.

    EfA, state-licensed (eKOL-KFZ, VOIS|Online.Meldewesen) and individual
    developments are out by category, so no slug needs excluding.
    """
    return Programme(
        id="saxony-2022",
        name="Anschubfinanzierung Online-Antragsassistenten",
        funder="Freistaat Sachsen",
        categories=frozenset({Category.CENTRAL}),
        coverage={SETUP: Decimal("100"), MAINTENANCE: Decimal("100")},
        tranches=(
            Tranche(
                id=1,
                name="Tranche 1 (2022)",
                start=date(2022, 7, 1),
                end=date(2022, 12, 31),
                status=TrancheStatus.CONFIRMED,
            ),
            Tranche(
                id=2,
                name="Tranche 2 (2023–2024)",
                start=date(2023, 1, 1),
                end=date(2024, 12, 31),
                status=TrancheStatus.PROVISIONAL,  # "vorbehaltlich des Haushaltsbeschlusses"
            ),
        ),
        explanation_label="Förderung Freistaat Sachsen",
    )


# --- Lines to quote -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OneTimeLine:
    """A one-time fee (setup, customization, …); FUNDING.md: the order date counts.

    ``assistant_slug`` may be empty for ad-hoc quotes without a catalog entry.
    """

    assistant_slug: str
    category: Category
    fee_kind: str
    net: Decimal
    order_date: date
    vat_rate: Decimal = DEFAULT_VAT_RATE
    _net_cents: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "category", _category(self.category))
        set_(self, "fee_kind", _fee_kind(self.fee_kind))
        if self.fee_kind == MAINTENANCE:
            raise ValueError(
                "Softwarepflege und Support wird je Leistungszeitraum abgerechnet, nicht einmalig"
            )
        net, cents = _cents(self.net, "Betrag")
        set_(self, "net", net)
        set_(self, "_net_cents", cents)
        _date(self.order_date, "Bestelldatum")
        set_(self, "vat_rate", _percent(self.vat_rate, "Umsatzsteuersatz"))


@dataclass(frozen=True, slots=True)
class PeriodLine:
    """A yearly fee billed for ``period_start``–``period_end`` (inclusive).

    FUNDING.md: maintenance is billed per calendar year, partial years pro rata
    by days, so a period must lie within one calendar year; split longer ranges
    with :func:`calendar_year_periods`.
    """

    assistant_slug: str
    category: Category
    fee_kind: str
    yearly: Decimal
    period_start: date
    period_end: date
    vat_rate: Decimal = DEFAULT_VAT_RATE
    _yearly_cents: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "category", _category(self.category))
        set_(self, "fee_kind", _fee_kind(self.fee_kind))
        if self.fee_kind == SETUP:
            raise ValueError("Einrichtung und Konfiguration ist einmalig, nicht je Zeitraum")
        yearly, cents = _cents(self.yearly, "Jahresbetrag")
        set_(self, "yearly", yearly)
        set_(self, "_yearly_cents", cents)
        start = _date(self.period_start, "Beginn des Leistungszeitraums")
        end = _date(self.period_end, "Ende des Leistungszeitraums")
        if end < start:
            raise ValueError(f"Leistungszeitraum: Ende {end:%d.%m.%Y} liegt vor Beginn {start:%d.%m.%Y}")
        if start.year != end.year:
            raise ValueError(
                f"Leistungszeitraum {start:%d.%m.%Y}–{end:%d.%m.%Y} umfasst mehr als ein "
                "Kalenderjahr; bitte je Kalenderjahr abrechnen"
            )
        set_(self, "vat_rate", _percent(self.vat_rate, "Umsatzsteuersatz"))


# --- Quotes ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AppliedTranche:
    """What one tranche pays for one line; finance claims per tranche.

    ``covered_days`` is None for one-time fees. ``capped`` says the tranche's
    budget cut ``amount`` (see :func:`apply_caps`).
    """

    programme_id: ProgrammeId
    programme_name: str
    tranche_id: TrancheId
    tranche_name: str
    covered_days: int | None
    amount: Decimal
    provisional: bool
    coverage: Decimal
    explanation_label: str
    capped: bool = False

    @property
    def key(self) -> TrancheKey:
        return (self.programme_id, self.tranche_id)


@dataclass(frozen=True, slots=True)
class LineQuote:
    """A line's price after funding. FUNDING.md: the subsidy is a discount on net.

    ``sum(a.amount for a in applied) == subsidy`` holds exactly;
    ``period_days``/``year_days`` are None for one-time fees.
    """

    fee_kind: str
    list_net: Decimal
    subsidy: Decimal
    net_due: Decimal
    vat_rate: Decimal
    applied: tuple[AppliedTranche, ...]
    provisional: bool
    explanation: str
    period_days: int | None = None
    year_days: int | None = None
    budget_exhausted: bool = False


@dataclass(frozen=True, slots=True)
class _Candidate:
    index: int  # position of the programme in the quoted sequence
    programme: Programme
    span: _Span
    rate: _Rate
    first: int  # first covered day (ordinal)
    last: int  # last covered day (ordinal)


# Why nothing applies, most specific last: with several programmes the one
# that got furthest explains the result.
_NO_PROGRAMME, _CATEGORY, _EXCLUDED, _FEE_KIND, _OUTSIDE, _REJECTED = range(6)


def quote_line(line: OneTimeLine | PeriodLine, programmes: Sequence[Programme]) -> LineQuote:
    """Quote one line against the programmes in force (FUNDING.md, exactly).

    One-time fee: subsidised when the order date lies in a non-rejected
    tranche of a programme covering the category and fee kind and not
    excluding the assistant; subsidy = net × coverage %.

    Period: ``net = yearly × period_days / year_days``, ``subsidy = Σ yearly ×
    coverage % × covered_days / year_days`` over the applicable non-rejected
    tranches, each rounded half up once over the exact value. Where
    programmes overlap, coverage is capped at 100 % day by day (shared in
    proportion to their rates), so ``0 <= subsidy <= list_net`` and splitting
    a period changes the total by at most a cent per split. The rounded
    subsidy is shared across tranches by largest remainder of their exact
    shares (ties: earlier programme, earlier tranche), so the per-tranche
    amounts add up to the subsidy to the cent.
    """
    if isinstance(line, PeriodLine):
        first = line.period_start.toordinal()
        last = line.period_end.toordinal()
        period_days: int | None = last - first + 1
        ydays: int | None = year_days(line.period_start.year)
        base = line._yearly_cents
        days, per = period_days, ydays
        net_cents = (2 * base * days + per) // (2 * per)  # half up, once
    elif isinstance(line, OneTimeLine):
        first = last = line.order_date.toordinal()
        period_days = ydays = None
        base = net_cents = line._net_cents
        per = 1  # a one-time fee is a single "day" worth its whole net
    else:
        raise TypeError(f"Unbekannte Rechnungsposition: {type(line).__name__}")

    if len({p.id for p in programmes}) != len(programmes):
        # AppliedTranche.key must identify a tranche for claims and caps.
        raise ValueError("Förderprogramme mit gleicher ID übergeben")
    candidates: list[_Candidate] = []
    reason, reason_programme = _NO_PROGRAMME, None
    for index, programme in enumerate(programmes):
        if line.category not in programme.categories:
            stage = _CATEGORY
        elif line.assistant_slug in programme.excluded_assistants:
            stage = _EXCLUDED
        elif (rate := programme._rates.get(line.fee_kind)) is None:
            stage = _FEE_KIND
        else:
            stage = _OUTSIDE
            for span in programme._spans:
                lo = first if first > span.first else span.first
                hi = last if last < span.last else span.last
                if lo > hi:
                    continue
                if span.rejected:
                    stage = _REJECTED
                else:
                    candidates.append(_Candidate(index, programme, span, rate, lo, hi))
        if stage > reason:
            reason, reason_programme = stage, programme

    if not candidates:
        return LineQuote(
            fee_kind=line.fee_kind,
            list_net=_money(net_cents),
            subsidy=ZERO,
            net_due=_money(net_cents),
            vat_rate=line.vat_rate,
            applied=(),
            provisional=False,
            explanation=_no_subsidy_text(reason, reason_programme, line),
            period_days=period_days,
            year_days=ydays,
        )

    weights, denominator = _exact_shares(candidates, base, per)
    total = sum(weights)
    subsidy_cents = (2 * total + denominator) // (2 * denominator)  # half up, once
    if subsidy_cents > net_cents:
        # Unreachable while coverage is capped per day (exact subsidy <= exact
        # net, rounding is monotone); kept so a future rule change cannot
        # break FUNDING.md's 0 <= subsidy <= list net.
        weights, denominator = [w * net_cents for w in weights], total
        subsidy_cents = net_cents
    amounts = _largest_remainder(weights, denominator, subsidy_cents)

    applied = tuple(
        AppliedTranche(
            programme_id=c.programme.id,
            programme_name=c.programme.name,
            tranche_id=c.span.tranche.id,
            tranche_name=c.span.tranche.name,
            covered_days=None if period_days is None else c.last - c.first + 1,
            amount=_money(cents),
            provisional=c.span.provisional,
            coverage=c.rate.percent,
            explanation_label=c.programme.explanation_label,
        )
        for c, cents in zip(candidates, amounts, strict=True)
    )
    return LineQuote(
        fee_kind=line.fee_kind,
        list_net=_money(net_cents),
        subsidy=_money(subsidy_cents),
        net_due=_money(net_cents - subsidy_cents),
        vat_rate=line.vat_rate,
        applied=applied,
        provisional=any(c.span.provisional for c in candidates),
        explanation=_explain(applied, line.fee_kind, period_days),
        period_days=period_days,
        year_days=ydays,
    )


def _money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _exact_shares(candidates: list[_Candidate], base: int, per: int) -> tuple[list[int], int]:
    """Exact subsidy of each candidate in cents, as numerators over one denominator.

    share = base × coverage/100 × covered_days/per, with ``base`` the yearly
    (or one-time) amount in cents and ``per`` the days of the year (1 for
    one-time fees).
    """
    rate_by_programme = {c.index: c.rate.percent for c in candidates}
    if len(rate_by_programme) == 1 or sum(rate_by_programme.values()) <= 100:
        # No day can be covered above 100 %: the plain FUNDING.md formula.
        common = math.lcm(*(c.rate.denominator for c in candidates))
        weights = [
            base * c.rate.numerator * (common // c.rate.denominator) * (c.last - c.first + 1)
            for c in candidates
        ]
        return weights, 100 * common * per

    # Overlapping programmes above 100 %: sweep the segments between tranche
    # boundaries and cap each segment at 100 %, shared in proportion to the
    # rates. FUNDING.md only says overlaps must never exceed net; capping per
    # day (not per line) keeps the result independent of how the period is
    # split into invoices.
    rates = [Fraction(c.rate.numerator, c.rate.denominator) for c in candidates]
    shares = [Fraction(0)] * len(candidates)
    cuts = sorted({c.first for c in candidates} | {c.last + 1 for c in candidates})
    for seg_first, seg_end in pairwise(cuts):
        active = [i for i, c in enumerate(candidates) if c.first <= seg_first and c.last >= seg_end - 1]
        if not active:
            continue
        total_rate = sum(rates[i] for i in active)
        scale = Fraction(1) if total_rate <= 100 else 100 / total_rate
        worth = Fraction(base * (seg_end - seg_first), 100 * per) * scale
        for i in active:
            shares[i] += worth * rates[i]
    common = math.lcm(*(s.denominator for s in shares))
    return [s.numerator * (common // s.denominator) for s in shares], common


def _largest_remainder(weights: list[int], denominator: int, total: int) -> list[int]:
    """Split ``total`` cents so each part is its exact share rounded down or up.

    Parts start at floor(weight / denominator); the cents still missing go to
    the largest remainders, earlier entries first on ties (sorted is stable).
    """
    parts = [w // denominator for w in weights]
    missing = total - sum(parts)
    if missing:
        order = sorted(range(len(weights)), key=lambda i: -(weights[i] % denominator))
        if not 0 < missing <= len(order):
            raise AssertionError("Rundungsrest passt nicht zu den Anteilen")  # pragma: no cover
        for i in order[:missing]:
            parts[i] += 1
    return parts


def _explain(applied: Iterable[AppliedTranche], fee_kind: str, period_days: int | None) -> str:
    """German explanation, one part per programme.

    "Förderung Freistaat Sachsen: 100 % Rabatt auf Softwarepflege und Support,
    184 von 306 Tagen (vorbehaltlich Haushaltsbeschluss)".
    """
    label = fee_kind_label(fee_kind)
    parts = []
    for _, group_iter in groupby(applied, key=attrgetter("programme_id")):
        group = list(group_iter)
        head = group[0]
        if all(a.capped and not a.amount for a in group):
            parts.append(f"{head.explanation_label}: Förderbudget ausgeschöpft")
            continue
        text = f"{head.explanation_label}: {format_percent(head.coverage)} Rabatt auf {label}"
        if period_days is not None:
            covered = sum(a.covered_days or 0 for a in group)
            text += f", {covered} von {period_days} {'Tag' if period_days == 1 else 'Tagen'}"
        if any(a.provisional for a in group):
            text += f" ({PROVISIONAL_NOTE})"
        if any(a.capped for a in group):
            text += ", Förderbudget ausgeschöpft"
        parts.append(text)
    return "; ".join(parts)


def _no_subsidy_text(reason: int, programme: Programme | None, line: OneTimeLine | PeriodLine) -> str:
    if reason == _CATEGORY:
        why = f"Kategorie {line.category.label} ist nicht förderfähig"
    elif reason == _EXCLUDED:
        why = "Assistent ist von der Förderung ausgenommen"
    elif reason == _FEE_KIND:
        why = f"Leistungsart {fee_kind_label(line.fee_kind)} ist nicht förderfähig"
    elif reason == _OUTSIDE:
        when = "Leistungszeitraum" if isinstance(line, PeriodLine) else "Bestelldatum"
        why = f"{when} außerhalb des Förderzeitraums"
    elif reason == _REJECTED:
        why = "Förderstufe abgelehnt"
    else:
        why = "kein Förderprogramm"
    return f"Keine Förderung: {why}"


# --- Budget caps ----------------------------------------------------------------


def allocate_cap(requested: Decimal, remaining: Decimal | None) -> tuple[Decimal, Decimal | None]:
    """Grant from a tranche budget; ``remaining=None`` means no cap.

    FUNDING.md: the line that crosses the cap gets the remainder, later lines
    none. A budget already overspent (cap lowered by staff) grants nothing and
    is not made worse. Returns ``(granted, remaining_after)``.
    """
    requested = as_decimal(requested, "Förderbetrag")
    if requested < 0:
        raise ValueError(f"Förderbetrag darf nicht negativ sein: {requested}")
    if remaining is None:
        return requested, None
    remaining = as_decimal(remaining, "Förderbudget")
    granted = min(requested, max(remaining, ZERO))
    return granted, remaining - granted


def initial_budgets(programmes: Iterable[Programme]) -> dict[TrancheKey, Decimal]:
    """Full budgets of the capped tranches, keyed for :func:`apply_caps`.

    For simulations; issuing reads what is left from the ledger instead.
    """
    return {(p.id, t.id): t.cap for p in programmes for t in p.tranches if t.cap is not None}


def apply_caps(
    quote: LineQuote, remaining_by_tranche: Mapping[TrancheKey, Decimal | None]
) -> tuple[LineQuote, dict[TrancheKey, Decimal | None]]:
    """Cut a quote's per-tranche amounts to what the tranches' budgets have left.

    ``remaining_by_tranche`` maps ``AppliedTranche.key`` to the budget left
    (None or absent: no cap). Returns the quote with subsidy, net due,
    provisional flag and explanation recomputed, and the budgets after this
    line (a new dict). Tranches cut to 0,00 € leave ``applied``; the
    explanation says "Förderbudget ausgeschöpft". The caller runs this in
    issue order under a row lock on the ledger (FUNDING.md: Budget caps).
    """
    remaining = dict(remaining_by_tranche)
    marked: list[AppliedTranche] = []
    cut = False
    for part in quote.applied:
        key = part.key
        if key in remaining:
            granted, remaining[key] = allocate_cap(part.amount, remaining[key])
            if granted != part.amount:
                cut = True
                part = replace(part, amount=granted, capped=True)
        marked.append(part)
    if not cut:
        return quote, remaining
    applied = tuple(a for a in marked if not (a.capped and not a.amount))
    subsidy = sum((a.amount for a in applied), ZERO)
    if applied:
        explanation = _explain(marked, quote.fee_kind, quote.period_days)
    else:
        explanation = "Keine Förderung: Förderbudget ausgeschöpft"
    capped = replace(
        quote,
        applied=applied,
        subsidy=subsidy,
        net_due=quote.list_net - subsidy,
        provisional=any(a.provisional for a in applied),
        explanation=explanation,
        budget_exhausted=True,
    )
    return capped, remaining


# --- Invoice totals ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VatGroup:
    rate: Decimal
    base: Decimal
    vat: Decimal


@dataclass(frozen=True, slots=True)
class InvoiceTotals:
    """Invoice totals; every total is the exact sum of its parts."""

    list_net: Decimal
    subsidy: Decimal
    net_due: Decimal
    vat_groups: tuple[VatGroup, ...]
    vat: Decimal
    gross_due: Decimal

    @property
    def settled_by_subsidy(self) -> bool:
        """FUNDING.md: an invoice due 0,00 € is still issued, settled by subsidy."""
        return self.gross_due == 0 and self.subsidy > 0


def invoice_totals(quotes: Sequence[LineQuote]) -> InvoiceTotals:
    """Totals with VAT per rate (FUNDING.md; EN 16931 BR-CO-17).

    VAT of a rate = net due of that rate's lines summed, then rounded half up
    once; groups sorted by rate. An empty or all-zero invoice is valid.
    """
    bases: dict[Decimal, Decimal] = {}
    for q in quotes:
        bases[q.vat_rate] = bases.get(q.vat_rate, ZERO) + q.net_due
    groups = tuple(
        VatGroup(rate=rate, base=base, vat=round_money(base * rate / 100))
        for rate, base in sorted(bases.items())
    )
    net_due = sum((q.net_due for q in quotes), ZERO)
    vat = sum((g.vat for g in groups), ZERO)
    return InvoiceTotals(
        list_net=sum((q.list_net for q in quotes), ZERO),
        subsidy=sum((q.subsidy for q in quotes), ZERO),
        net_due=net_due,
        vat_groups=groups,
        vat=vat,
        gross_due=net_due + vat,
    )
