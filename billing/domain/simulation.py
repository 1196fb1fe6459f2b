"""What-if simulation of funding programmes (pure: no Django, no clock).

Staff ask "what would it cost the funder if …": a draft programme is added, or an
existing one is extended (e.g. "2025 at 50 %"). The simulation quotes the maintenance
of every subscription for each chosen calendar year under the current programmes
(baseline) and under the scenario, applies budget caps in issue order, and sums the
results per year and per municipality. Nothing is written anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from billing.domain.subsidy import (
    MAINTENANCE,
    Category,
    PeriodLine,
    Programme,
    Tranche,
    TrancheStatus,
    apply_caps,
    initial_budgets,
    quote_line,
)

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class SubscriptionView:
    """What the simulation needs of a subscription."""

    key: int
    municipality: str
    ags: str
    assistant_slug: str
    category: Category
    yearly: Decimal
    vat_rate: Decimal
    started_on: date
    ends_on: date | None

    def period(self, year: int) -> tuple[date, date] | None:
        start = max(self.started_on, date(year, 1, 1))
        end = min(self.ends_on or date(year, 12, 31), date(year, 12, 31))
        return (start, end) if start <= end else None


@dataclass(frozen=True)
class Totals:
    list_net: Decimal = ZERO
    baseline_subsidy: Decimal = ZERO
    scenario_subsidy: Decimal = ZERO

    @property
    def funder_delta(self) -> Decimal:
        return self.scenario_subsidy - self.baseline_subsidy

    @property
    def baseline_due(self) -> Decimal:
        return self.list_net - self.baseline_subsidy

    @property
    def scenario_due(self) -> Decimal:
        return self.list_net - self.scenario_subsidy

    def add(self, list_net: Decimal, baseline: Decimal, scenario: Decimal) -> Totals:
        return Totals(
            self.list_net + list_net, self.baseline_subsidy + baseline, self.scenario_subsidy + scenario
        )


@dataclass(frozen=True)
class SimulationResult:
    years: tuple[int, ...]
    per_year: dict[int, Totals]
    per_municipality: dict[tuple[str, str], Totals]  # (ags, name) -> totals
    total: Totals
    lines: int


def extension_programme(
    base: Programme,
    *,
    start: date,
    end: date,
    percent: Decimal,
    fee_kinds: Sequence[str] = (MAINTENANCE,),
    status: TrancheStatus = TrancheStatus.PROVISIONAL,
    cap: Decimal | None = None,
) -> Programme:
    """``base`` continued for ``start``–``end`` at ``percent`` (its own programme: coverage is per programme)."""
    label = f"Verlängerung {start:%d.%m.%Y}–{end:%d.%m.%Y}"
    return replace(
        base,
        id=f"{base.id}~verlaengerung",
        name=f"{base.name} ({label})",
        coverage=dict.fromkeys(fee_kinds, percent),
        tranches=(Tranche(id="verlaengerung", name=label, start=start, end=end, status=status, cap=cap),),
    )


def _run(lines: list[tuple[SubscriptionView, PeriodLine]], programmes: Sequence[Programme]) -> list[Decimal]:
    budgets = initial_budgets(programmes)
    subsidies = []
    for _, line in lines:
        quote = quote_line(line, programmes)
        if budgets:
            quote, budgets = apply_caps(quote, budgets)
        subsidies.append(quote.subsidy)
    return subsidies


def simulate(
    subscriptions: Iterable[SubscriptionView],
    *,
    baseline: Sequence[Programme],
    scenario: Sequence[Programme],
    years: Sequence[int],
) -> SimulationResult:
    lines: list[tuple[SubscriptionView, PeriodLine]] = []
    for year in sorted(years):
        # issue order within a year: as a billing run would issue them
        for sub in sorted(subscriptions, key=lambda s: (s.started_on, s.key)):
            period = sub.period(year)
            if period is None:
                continue
            lines.append(
                (
                    sub,
                    PeriodLine(
                        sub.assistant_slug,
                        sub.category,
                        MAINTENANCE,
                        sub.yearly,
                        period[0],
                        period[1],
                        sub.vat_rate,
                    ),
                )
            )
    base_subsidies = _run(lines, baseline)
    scenario_subsidies = _run(lines, scenario)
    per_year: dict[int, Totals] = {year: Totals() for year in sorted(years)}
    per_municipality: dict[tuple[str, str], Totals] = {}
    total = Totals()
    for (sub, line), base, scen in zip(lines, base_subsidies, scenario_subsidies, strict=True):
        net = quote_line(line, ()).list_net
        year = line.period_start.year
        per_year[year] = per_year[year].add(net, base, scen)
        key = (sub.ags, sub.municipality)
        per_municipality[key] = per_municipality.get(key, Totals()).add(net, base, scen)
        total = total.add(net, base, scen)
    return SimulationResult(
        tuple(sorted(years)), per_year, dict(sorted(per_municipality.items())), total, len(lines)
    )
