"""Funding test data."""

from datetime import date
from decimal import Decimal

from django.utils import timezone

from billing.models import Coverage, FundingProgramme, Tranche


def programme_covering_this_year(
    *, code: str = "test-laufend", status: str = "confirmed", setup: str = "100", maintenance: str = "100"
) -> FundingProgramme:
    """A central-category programme for the current calendar year (the Saxon one ended on 31.12.2024)."""
    year = timezone.localdate().year
    programme = FundingProgramme.objects.create(
        code=code,
        name="Laufende Förderung",
        funder="Freistaat Sachsen",
        explanation_label="Förderung Freistaat Sachsen",
        categories=["central"],
    )
    Coverage.objects.create(programme=programme, fee_kind_id="setup", percent=Decimal(setup))
    Coverage.objects.create(programme=programme, fee_kind_id="maintenance", percent=Decimal(maintenance))
    Tranche.objects.create(
        programme=programme,
        name=f"Tranche {year}",
        start=date(year, 1, 1),
        end=date(year, 12, 31),
        status=status,
    )
    return programme


def subscribe(town, assistant, *, started_on, yearly="480.00", ends_on=None, vat="19"):
    """A running subscription of ``town`` (a tests.fixtures.Town), as provisioning starts one."""
    from shop.models import Subscription

    return Subscription.objects.create(
        municipality=town.municipality,
        assistant=assistant,
        ordered_on=started_on,
        started_on=started_on,
        ends_on=ends_on,
        maintenance_yearly=Decimal(yearly),
        vat_rate=Decimal(vat),
    )
