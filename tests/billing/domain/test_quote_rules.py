"""quote_line against FUNDING.md: boundaries, categories, tranches, texts."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from billing.domain.subsidy import (
    Category,
    OneTimeLine,
    PeriodLine,
    Programme,
    Tranche,
    TrancheStatus,
    category_label,
    fee_kind_label,
    quote_line,
    saxony_programme,
)

pytestmark = pytest.mark.pure

D = Decimal
SAXONY = saxony_programme()


def setup_line(order_date, *, category=Category.CENTRAL, net="1200.00", slug="buergerservice", kind="setup"):
    return OneTimeLine(slug, category, kind, D(net), order_date)


def maintenance_line(start, end, *, yearly="480.00", category=Category.CENTRAL, slug="buergerservice"):
    return PeriodLine(slug, category, "maintenance", D(yearly), start, end)


# --- The Saxon programme as data -------------------------------------------------


def test_saxony_programme_is_installed_as_funding_md_describes():
    p = saxony_programme()
    assert p.name == "Anschubfinanzierung Online-Antragsassistenten"
    assert p.funder == "Freistaat Sachsen"
    assert p.explanation_label == "Förderung Freistaat Sachsen"
    assert p.categories == frozenset({Category.CENTRAL})
    assert p.excluded_assistants == frozenset()
    assert dict(p.coverage) == {"setup": D("100"), "maintenance": D("100")}
    assert [(t.id, t.start, t.end, t.status, t.cap) for t in p.tranches] == [
        (1, date(2022, 7, 1), date(2022, 12, 31), TrancheStatus.CONFIRMED, None),
        (2, date(2023, 1, 1), date(2024, 12, 31), TrancheStatus.PROVISIONAL, None),
    ]
    assert p == saxony_programme()
    assert hash(p) == hash(saxony_programme())


# --- Setup: the order date counts --------------------------------------------------


@pytest.mark.parametrize(
    ("order_date", "subsidy", "provisional", "tranche"),
    [
        (date(2022, 6, 30), D("0.00"), False, None),  # day before start
        (date(2022, 7, 1), D("1200.00"), False, 1),  # first day
        (date(2022, 12, 31), D("1200.00"), False, 1),  # last day of tranche 1
        (date(2023, 1, 1), D("1200.00"), True, 2),  # first day of tranche 2
        (date(2024, 2, 29), D("1200.00"), True, 2),  # leap day
        (date(2024, 12, 31), D("1200.00"), True, 2),  # last day
        (date(2025, 1, 1), D("0.00"), False, None),  # day after end
    ],
)
def test_setup_boundaries(order_date, subsidy, provisional, tranche):
    quote = quote_line(setup_line(order_date), [SAXONY])

    assert quote.subsidy == subsidy
    assert quote.net_due == D("1200.00") - subsidy
    assert quote.provisional is provisional
    assert [a.tranche_id for a in quote.applied] == ([tranche] if tranche else [])


def test_setup_outside_programme_explains_the_order_date():
    quote = quote_line(setup_line(date(2022, 6, 30)), [SAXONY])
    assert quote.explanation == "Keine Förderung: Bestelldatum außerhalb des Förderzeitraums"


def test_setup_in_provisional_tranche_is_marked():
    quote = quote_line(setup_line(date(2024, 12, 31)), [SAXONY])
    assert quote.explanation == (
        "Förderung Freistaat Sachsen: 100 % Rabatt auf Einrichtung und Konfiguration "
        "(vorbehaltlich Haushaltsbeschluss)"
    )
    assert quote.applied[0].provisional is True


# --- Periods: days inside non-rejected tranches ----------------------------------


@pytest.mark.parametrize(
    ("start", "end", "net", "subsidy", "covered", "provisional"),
    [
        # whole 2022: 184 of 365 days funded
        (date(2022, 1, 1), date(2022, 12, 31), "480.00", "241.97", 184, False),
        # ends the day before the programme
        (date(2022, 1, 1), date(2022, 6, 30), "238.03", "0.00", 0, False),
        # starts on the first day
        (date(2022, 7, 1), date(2022, 12, 31), "241.97", "241.97", 184, False),
        # a single day either side of the start
        (date(2022, 6, 30), date(2022, 6, 30), "1.32", "0.00", 0, False),
        (date(2022, 7, 1), date(2022, 7, 1), "1.32", "1.32", 1, False),
        (date(2022, 6, 30), date(2022, 7, 1), "2.63", "1.32", 1, False),
        # the last day of the programme is in leap year 2024: 1/366
        (date(2024, 12, 31), date(2024, 12, 31), "1.31", "1.31", 1, True),
        (date(2024, 12, 1), date(2024, 12, 31), "40.66", "40.66", 31, True),
        # the day after the end
        (date(2025, 1, 1), date(2025, 1, 1), "1.32", "0.00", 0, False),
        # whole 2023 and whole leap year 2024: fully funded, provisional
        (date(2023, 1, 1), date(2023, 12, 31), "480.00", "480.00", 365, True),
        (date(2024, 1, 1), date(2024, 12, 31), "480.00", "480.00", 366, True),
        # leap day alone: 480/366 = 1,3114…
        (date(2024, 2, 29), date(2024, 2, 29), "1.31", "1.31", 1, True),
    ],
)
def test_period_boundaries(start, end, net, subsidy, covered, provisional):
    quote = quote_line(maintenance_line(start, end), [SAXONY])

    assert quote.list_net == D(net)
    assert quote.subsidy == D(subsidy)
    assert quote.net_due == D(net) - D(subsidy)
    assert sum(a.covered_days for a in quote.applied) == covered
    assert quote.provisional is provisional


def test_leap_year_uses_366_days():
    quote = quote_line(maintenance_line(date(2024, 1, 1), date(2024, 12, 31)), [SAXONY])

    assert (quote.period_days, quote.year_days) == (366, 366)
    assert quote.explanation == (
        "Förderung Freistaat Sachsen: 100 % Rabatt auf Softwarepflege und Support, 366 von 366 Tagen "
        "(vorbehaltlich Haushaltsbeschluss)"
    )


def test_half_year_in_leap_year_is_pro_rata_by_366():
    # 2024-01-01–2024-06-30 = 182 days: 480 × 182/366 = 238,6885…
    quote = quote_line(maintenance_line(date(2024, 1, 1), date(2024, 6, 30)), [SAXONY])
    assert quote.list_net == quote.subsidy == D("238.69")


def test_single_day_explanation_is_singular():
    quote = quote_line(maintenance_line(date(2022, 7, 1), date(2022, 7, 1)), [SAXONY])
    assert quote.explanation.endswith(", 1 von 1 Tag")


# --- Eligibility by category, slug and fee kind -----------------------------------


@pytest.mark.parametrize(
    ("category", "funded"),
    [
        (Category.CENTRAL, True),
        (Category.EFA, False),
        (Category.STATE_LICENSED, False),
        (Category.INDIVIDUAL, False),
    ],
)
def test_each_category(category, funded):
    setup = quote_line(setup_line(date(2022, 9, 15), category=category), [SAXONY])
    maintenance = quote_line(
        maintenance_line(date(2022, 1, 1), date(2022, 12, 31), category=category), [SAXONY]
    )

    assert (setup.subsidy > 0) is funded
    assert (maintenance.subsidy > 0) is funded
    if not funded:
        expected = f"Keine Förderung: Kategorie {category_label(category)} ist nicht förderfähig"
        assert setup.explanation == maintenance.explanation == expected


def test_category_is_accepted_as_plain_string():
    line = setup_line(date(2022, 9, 15), category="state_licensed")
    assert line.category is Category.STATE_LICENSED


def test_category_labels_are_german():
    assert [c.label for c in Category] == [
        "Zentral entwickelt (Basiskomponenten)",
        "Einer für Alle (EfA)",
        "Landeslizenziert",
        "Individuelle Eigenentwicklung",
    ]


def test_fee_kind_labels():
    assert fee_kind_label("setup") == "Einrichtung und Konfiguration"
    assert fee_kind_label("maintenance") == "Softwarepflege und Support"
    assert fee_kind_label("customization") == "customization"


def test_excluded_assistant_gets_nothing():
    programme = replace(SAXONY, excluded_assistants=frozenset({"ekol-kfz"}))

    excluded = quote_line(setup_line(date(2022, 9, 15), slug="ekol-kfz"), [programme])
    other = quote_line(setup_line(date(2022, 9, 15), slug="hundesteuer"), [programme])

    assert excluded.subsidy == D("0.00")
    assert excluded.explanation == "Keine Förderung: Assistent ist von der Förderung ausgenommen"
    assert other.subsidy == D("1200.00")


def test_other_fee_kind_is_not_covered_by_saxony():
    line = setup_line(date(2022, 9, 15), kind="customization", net="950.00")

    quote = quote_line(line, [SAXONY])

    assert quote.subsidy == D("0.00")
    assert quote.net_due == D("950.00")
    assert quote.explanation == "Keine Förderung: Leistungsart customization ist nicht förderfähig"


def test_other_fee_kind_covered_when_a_programme_says_so():
    programme = replace(SAXONY, coverage={**SAXONY.coverage, "customization": D("50")})

    quote = quote_line(setup_line(date(2022, 9, 15), kind="customization", net="950.00"), [programme])

    assert quote.subsidy == D("475.00")
    assert quote.explanation == "Förderung Freistaat Sachsen: 50 % Rabatt auf customization"


def test_yearly_other_fee_kind_uses_the_period():
    programme = replace(SAXONY, coverage={"hosting": D("100")})
    line = PeriodLine("x", Category.CENTRAL, "hosting", D("365.00"), date(2022, 12, 1), date(2022, 12, 31))
    assert quote_line(line, [programme]).subsidy == D("31.00")


# --- Coverage percentages -----------------------------------------------------------


def test_coverage_50_percent_setup_rounds_half_up():
    programme = replace(SAXONY, coverage={"setup": D("50"), "maintenance": D("50")})

    quote = quote_line(setup_line(date(2022, 9, 15), net="0.01"), [programme])

    assert quote.subsidy == D("0.01")  # 0,005 → 0,01
    assert quote.net_due == D("0.00")


def test_coverage_50_percent_maintenance():
    programme = replace(SAXONY, coverage={"maintenance": D("50")})

    quote = quote_line(maintenance_line(date(2022, 3, 1), date(2022, 12, 31)), [programme])

    # 480 × 50 % × 184/365 = 120,9863…
    assert quote.list_net == D("402.41")
    assert quote.subsidy == D("120.99")
    assert quote.net_due == D("281.42")
    assert quote.explanation == (
        "Förderung Freistaat Sachsen: 50 % Rabatt auf Softwarepflege und Support, 184 von 306 Tagen"
    )


def test_fractional_coverage_is_exact():
    programme = replace(SAXONY, coverage={"setup": D("50.5")})

    quote = quote_line(setup_line(date(2022, 9, 15), net="1.00"), [programme])

    assert quote.subsidy == D("0.51")  # exactly 0,505 → 0,51 (half up)
    assert "50,5 % Rabatt" in quote.explanation


def test_zero_coverage_is_no_subsidy():
    programme = replace(SAXONY, coverage={"setup": D("0"), "maintenance": D("0")})

    quote = quote_line(setup_line(date(2022, 9, 15)), [programme])

    assert quote.subsidy == D("0.00")
    assert quote.applied == ()
    assert (
        quote.explanation
        == "Keine Förderung: Leistungsart Einrichtung und Konfiguration ist nicht förderfähig"
    )


def test_zero_price_under_a_tranche_is_a_zero_subsidy():
    quote = quote_line(setup_line(date(2022, 9, 15), net="0.00"), [SAXONY])
    assert (quote.list_net, quote.subsidy, quote.net_due) == (D("0.00"), D("0.00"), D("0.00"))
    assert [a.amount for a in quote.applied] == [D("0.00")]


# --- Tranche status: provisional, rejected, confirmed ---------------------------------


def test_rejected_tranche_pays_nothing_for_2023():
    rejected = SAXONY.with_tranche_status(2, TrancheStatus.REJECTED)

    setup = quote_line(setup_line(date(2023, 5, 2)), [rejected])
    maintenance = quote_line(maintenance_line(date(2023, 1, 1), date(2023, 12, 31)), [rejected])

    assert setup.subsidy == maintenance.subsidy == D("0.00")
    assert setup.applied == maintenance.applied == ()
    assert setup.provisional is maintenance.provisional is False
    assert setup.explanation == "Keine Förderung: Förderstufe abgelehnt"
    assert maintenance.explanation == "Keine Förderung: Förderstufe abgelehnt"


def test_rejected_second_tranche_leaves_2022_funded():
    rejected = SAXONY.with_tranche_status(2, "rejected")

    quote = quote_line(maintenance_line(date(2022, 3, 1), date(2022, 12, 31)), [rejected])

    assert quote.subsidy == D("241.97")
    assert quote.provisional is False


def test_confirmed_second_tranche_is_no_longer_provisional():
    confirmed = SAXONY.with_tranche_status(2, TrancheStatus.CONFIRMED)

    quote = quote_line(maintenance_line(date(2024, 1, 1), date(2024, 12, 31)), [confirmed])

    assert quote.subsidy == D("480.00")
    assert quote.provisional is False
    assert "vorbehaltlich" not in quote.explanation


def test_with_tranche_status_rejects_unknown_tranche():
    with pytest.raises(ValueError, match="keine Tranche"):
        SAXONY.with_tranche_status(99, TrancheStatus.CONFIRMED)


def test_period_across_confirmed_and_provisional_tranches_of_one_programme():
    # A programme whose tranches split a year: the period gets two parts that
    # add up to the line subsidy and the line is provisional.
    programme = Programme(
        id="p",
        name="Halbjahre",
        funder="Testland",
        categories=frozenset({Category.CENTRAL}),
        coverage={"maintenance": D("100")},
        tranches=(
            Tranche("h1", "1. Halbjahr", date(2026, 1, 1), date(2026, 6, 30), TrancheStatus.CONFIRMED),
            Tranche("h2", "2. Halbjahr", date(2026, 7, 1), date(2026, 12, 31), TrancheStatus.PROVISIONAL),
        ),
    )

    quote = quote_line(maintenance_line(date(2026, 1, 1), date(2026, 12, 31), yearly="100.00"), [programme])

    # exact shares 100 × 181/365 = 49,589… and 100 × 184/365 = 50,410…
    assert quote.subsidy == D("100.00")
    assert [(a.tranche_id, a.covered_days, a.amount, a.provisional) for a in quote.applied] == [
        ("h1", 181, D("49.59"), False),
        ("h2", 184, D("50.41"), True),
    ]
    assert quote.provisional is True
    assert quote.explanation == (
        "Förderung Testland: 100 % Rabatt auf Softwarepflege und Support, 365 von 365 Tagen "
        "(vorbehaltlich Haushaltsbeschluss)"
    )


def test_tranche_parts_sum_exactly_when_each_would_round_up():
    # Shares 0,005 + 0,005 (exact) round to 0,01 in total: one tranche gets
    # the cent, deterministically the earlier one.
    programme = Programme(
        id="p",
        name="Halbe Cent",
        funder="Testland",
        categories=frozenset({Category.CENTRAL}),
        coverage={"maintenance": D("50")},
        tranches=(
            Tranche("a", "A", date(2026, 1, 1), date(2026, 1, 1), TrancheStatus.CONFIRMED),
            Tranche("b", "B", date(2026, 1, 2), date(2026, 1, 2), TrancheStatus.CONFIRMED),
        ),
    )
    # yearly 3,65 € → 0,01 €/day; 50 % → 0,005 €/day per tranche
    quote = quote_line(maintenance_line(date(2026, 1, 1), date(2026, 1, 2), yearly="3.65"), [programme])

    assert quote.list_net == D("0.02")
    assert quote.subsidy == D("0.01")
    assert [a.amount for a in quote.applied] == [D("0.01"), D("0.00")]


# --- Several programmes --------------------------------------------------------------


def _second_programme(coverage, start=date(2022, 1, 1), end=date(2022, 12, 31), **kwargs):
    return Programme(
        id="bund",
        name="Bundesprogramm",
        funder="Bund",
        categories=frozenset({Category.CENTRAL, Category.EFA}),
        coverage={"setup": D(coverage), "maintenance": D(coverage)},
        tranches=(Tranche("b1", "Bund 2022", start, end, TrancheStatus.CONFIRMED),),
        **kwargs,
    )


def test_two_programmes_below_100_percent_add_up():
    a = replace(SAXONY, coverage={"maintenance": D("40")})
    b = _second_programme("30")

    quote = quote_line(maintenance_line(date(2022, 7, 1), date(2022, 12, 31), yearly="365.00"), [a, b])

    # 184 days at 1 €/day: 40 % → 73,60, 30 % → 55,20
    assert quote.subsidy == D("128.80")
    assert [(a.programme_id, a.amount) for a in quote.applied] == [
        ("saxony-2022", D("73.60")),
        ("bund", D("55.20")),
    ]
    assert quote.explanation == (
        "Förderung Freistaat Sachsen: 40 % Rabatt auf Softwarepflege und Support, 184 von 184 Tagen; "
        "Förderung Bund: 30 % Rabatt auf Softwarepflege und Support, 184 von 184 Tagen"
    )


def test_overlapping_programmes_never_exceed_net():
    b = _second_programme("100")

    setup = quote_line(setup_line(date(2022, 9, 15)), [SAXONY, b])
    maintenance = quote_line(maintenance_line(date(2022, 7, 1), date(2022, 12, 31)), [SAXONY, b])

    assert setup.subsidy == setup.list_net == D("1200.00")
    assert [a.amount for a in setup.applied] == [D("600.00"), D("600.00")]  # shared by rate
    assert maintenance.subsidy == maintenance.list_net
    assert sum(a.amount for a in maintenance.applied) == maintenance.subsidy


def test_overlap_is_capped_day_by_day_not_per_line():
    # Saxony covers 2022-07-01 onwards at 100 %, the second programme the whole
    # of 2022 at 50 %: Jan–Jun 50 %, Jul–Dec capped at 100 %.
    b = _second_programme("50")

    quote = quote_line(maintenance_line(date(2022, 1, 1), date(2022, 12, 31), yearly="365.00"), [SAXONY, b])

    # 181 days × 0,50 + 184 days × 1,00 = 274,50 (not 365 – a per-line cap would over-fund)
    assert quote.subsidy == D("274.50")
    by_programme = {a.programme_id: a.amount for a in quote.applied}
    # Jul–Dec is shared 100:50 → Saxony 122,67, Bund 61,33 + Jan–Jun 90,50
    assert by_programme == {"saxony-2022": D("122.67"), "bund": D("151.83")}


def test_overlap_result_does_not_depend_on_programme_order_except_ties():
    b = _second_programme("70")
    line = maintenance_line(date(2022, 2, 3), date(2022, 11, 30), yearly="999.99")
    one = quote_line(line, [SAXONY, b])
    two = quote_line(line, [b, SAXONY])
    assert one.subsidy == two.subsidy
    assert {a.key: a.amount for a in one.applied} == {a.key: a.amount for a in two.applied}


def test_reason_comes_from_the_programme_that_got_furthest():
    b = _second_programme("100", start=date(2030, 1, 1), end=date(2030, 12, 31))

    quote = quote_line(setup_line(date(2022, 9, 15), category=Category.EFA), [SAXONY, b])

    assert quote.explanation == "Keine Förderung: Bestelldatum außerhalb des Förderzeitraums"


def test_no_programmes_at_all():
    quote = quote_line(setup_line(date(2022, 9, 15)), [])
    assert quote.subsidy == D("0.00")
    assert quote.explanation == "Keine Förderung: kein Förderprogramm"


def test_programme_ids_must_be_unique_per_quote():
    with pytest.raises(ValueError, match="gleicher ID"):
        quote_line(setup_line(date(2022, 9, 15)), [SAXONY, SAXONY])


def test_vat_rate_is_carried_to_the_quote():
    line = OneTimeLine("x", Category.CENTRAL, "setup", D("100.00"), date(2022, 9, 15), vat_rate=D("7"))
    assert quote_line(line, [SAXONY]).vat_rate == D("7")


def test_quote_rejects_other_objects():
    with pytest.raises(TypeError):
        quote_line(object(), [SAXONY])
