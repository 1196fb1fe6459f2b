from datetime import date
from decimal import Decimal

from billing.domain.simulation import SubscriptionView, extension_programme, simulate
from billing.domain.subsidy import Category, saxony_programme

D = Decimal
SAXONY = saxony_programme()


def sub(key, ags, category=Category.CENTRAL, yearly="480.00", started=date(2022, 3, 1), ends=None):
    return SubscriptionView(
        key, f"Kommune {ags}", ags, f"a{key}", category, D(yearly), D("19"), started, ends
    )


def test_extending_2025_at_50_percent_costs_the_funder_half_the_maintenance():
    subs = [sub(1, "14628410"), sub(2, "14713000", yearly="720.00"), sub(3, "14612000", Category.EFA)]
    extension = extension_programme(SAXONY, start=date(2025, 1, 1), end=date(2025, 12, 31), percent=D("50"))
    result = simulate(subs, baseline=[SAXONY], scenario=[SAXONY, extension], years=[2024, 2025])
    assert result.per_year[2025].baseline_subsidy == D("0.00")
    assert result.per_year[2025].scenario_subsidy == D("600.00")  # 240 + 360, EfA gets nothing
    assert result.per_year[2024].funder_delta == D("0.00")  # nothing changes in 2024
    assert result.per_municipality[("14612000", "Kommune 14612000")].funder_delta == D("0.00")
    leipzig = result.per_municipality[("14713000", "Kommune 14713000")]
    assert leipzig.scenario_due == leipzig.baseline_due - D("360.00")
    assert result.total.funder_delta == D("600.00")
    assert result.lines == 6


def test_pro_rata_years_and_ended_subscriptions():
    subs = [
        sub(1, "1", started=date(2025, 7, 1)),
        sub(2, "2", started=date(2022, 1, 1), ends=date(2024, 12, 31)),
    ]
    extension = extension_programme(SAXONY, start=date(2025, 1, 1), end=date(2025, 12, 31), percent=D("100"))
    result = simulate(subs, baseline=[SAXONY], scenario=[SAXONY, extension], years=[2025])
    assert result.lines == 1
    assert result.per_year[2025].list_net == D("241.97")  # 184 of 365 days of 480 €
    assert result.per_year[2025].scenario_subsidy == D("241.97")


def test_caps_limit_the_scenario_in_issue_order():
    subs = [sub(n, str(n), started=date(2022, 1, n)) for n in range(1, 6)]
    extension = extension_programme(
        SAXONY, start=date(2025, 1, 1), end=date(2025, 12, 31), percent=D("100"), cap=D("1000.00")
    )
    result = simulate(subs, baseline=[SAXONY], scenario=[SAXONY, extension], years=[2025])
    assert result.per_year[2025].scenario_subsidy == D("1000.00")  # 480 + 480 + 40, then nothing


def test_rejecting_the_provisional_tranche_shows_the_cost_municipalities_would_bear():
    subs = [sub(1, "1", started=date(2023, 1, 1))]
    rejected = SAXONY.with_tranche_status(2, "rejected")
    result = simulate(subs, baseline=[SAXONY], scenario=[rejected], years=[2023, 2024])
    assert result.total.baseline_subsidy == D("960.00")
    assert result.total.scenario_subsidy == D("0.00")
    assert result.total.scenario_due == D("960.00")


def test_no_subscriptions_no_lines():
    result = simulate([], baseline=[SAXONY], scenario=[SAXONY], years=[2025])
    assert result.lines == 0 and result.total.funder_delta == 0
