"""The what-if simulation page: numbers for a real scenario, German errors, nothing changed."""

from datetime import date
from decimal import Decimal

from billing.models import BudgetEntry, FundingProgramme, Tranche
from shop.models import Subscription
from tests.factories.shop import AssistantFactory


def _subscriptions(towns):
    central = AssistantFactory(slug="sim-zentral", category="central")
    efa = AssistantFactory(slug="sim-efa", category="efa")
    Subscription.objects.create(
        municipality=towns["wilsdruff"].municipality,
        assistant=central,
        ordered_on=date(2022, 2, 1),
        started_on=date(2022, 3, 1),
        maintenance_yearly=Decimal("480.00"),
    )
    Subscription.objects.create(
        municipality=towns["leipzig"].municipality,
        assistant=central,
        ordered_on=date(2022, 2, 1),
        started_on=date(2022, 3, 1),
        maintenance_yearly=Decimal("720.00"),
    )
    Subscription.objects.create(
        municipality=towns["dresden"].municipality,
        assistant=efa,
        ordered_on=date(2022, 2, 1),
        started_on=date(2022, 3, 1),
        maintenance_yearly=Decimal("360.00"),
    )


def _state():
    return (
        FundingProgramme.objects.count(),
        Tranche.objects.count(),
        BudgetEntry.objects.count(),
        list(Tranche.objects.values_list("status", flat=True)),
    )


def test_extension_2025_at_50_percent(towns, staff_client):
    _subscriptions(towns)
    programme = FundingProgramme.objects.get(code="saxony-2022")
    before = _state()
    response = staff_client("finanzen@kisa.example").get(
        "/verwaltung/foerderung/simulation/",
        {
            "mode": "extend",
            "programme": programme.pk,
            "start": "2025-01-01",
            "end": "2025-12-31",
            "percent": "50",
            "fee_kinds": "maintenance",
            "year_from": "2025",
            "year_to": "2025",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "600,00 €" in html  # funder: 240 + 360 more in 2025; the EfA subscription gets nothing
    assert "1.560,00 €" in html  # list price of the three subscriptions in 2025
    assert "−360,00 €" in html  # Leipzig pays 360 less
    assert _state() == before


def test_rejecting_the_provisional_tranche(towns, staff_client):
    _subscriptions(towns)
    tranche = Tranche.objects.get(name="Tranche 2023–2024")
    response = staff_client("katalog@kisa.example").get(
        "/verwaltung/foerderung/simulation/",
        {
            "mode": "reject",
            "tranche": tranche.pk,
            "year_from": "2023",
            "year_to": "2024",
        },
    )
    html = response.content.decode()
    assert "2.400,00 €" in html  # (480 + 720) × 2 years of subsidy at stake
    tranche.refresh_from_db()
    assert tranche.status == "provisional"


def test_bad_input_gets_german_errors(towns, staff_client):
    response = staff_client("finanzen@kisa.example").get(
        "/verwaltung/foerderung/simulation/",
        {
            "mode": "extend",
            "start": "2025-12-31",
            "end": "2025-01-01",
            "year_from": "2026",
            "year_to": "2025",
        },
    )
    html = response.content.decode()
    assert "Das Ende liegt vor dem Beginn." in html
    assert "„bis“ liegt vor „von“." in html
    assert "Für eine Verlängerung bitte angeben." in html


def test_only_staff_on_the_public_domain(towns, client):
    assert client.get("/verwaltung/foerderung/simulation/", HTTP_HOST="localhost").status_code == 302
    municipal = towns["leipzig"].login("municipal_admin")
    assert municipal.get("/verwaltung/foerderung/simulation/").status_code == 404
