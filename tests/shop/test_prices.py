"""Which price applies, and the database refusing overlapping prices (real PostgreSQL)."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from shop.models import Price
from shop.selectors import price_for
from tests.factories.shop import AssistantFactory, PriceFactory

OVERLAP_MESSAGE = "gibt es im selben Zeitraum schon einen Preis"


@pytest.fixture
def assistant(django_db_setup, db):
    """Setup fee: 1.000 € in 2024, 1.100 € from 2025 on (open end); maintenance in three bands."""
    assistant = AssistantFactory(slug="hundesteuer")
    PriceFactory(
        assistant=assistant,
        fee_kind_id="setup",
        net_amount=Decimal("1000.00"),
        valid_from=date(2024, 1, 1),
        valid_until=date(2024, 12, 31),
    )
    PriceFactory(
        assistant=assistant, fee_kind_id="setup", net_amount=Decimal("1100.00"), valid_from=date(2025, 1, 1)
    )
    for low, high, amount in ((0, 5000, "300.00"), (5001, 20000, "500.00"), (20001, None, "900.00")):
        PriceFactory(
            assistant=assistant,
            fee_kind_id="maintenance",
            net_amount=Decimal(amount),
            valid_from=date(2024, 1, 1),
            population_min=low,
            population_max=high,
        )
    return assistant


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2023, 12, 31), None),  # day before the first price
        (date(2024, 1, 1), Decimal("1000.00")),  # first day
        (date(2024, 12, 31), Decimal("1000.00")),  # last day (valid_until is inclusive)
        (date(2025, 1, 1), Decimal("1100.00")),  # day after: the next price
        (date(2031, 6, 30), Decimal("1100.00")),  # open end
    ],
)
def test_price_across_validity_boundaries(assistant, on, expected):
    price = price_for(assistant=assistant, fee_kind="setup", population=10_000, on=on)
    assert (price.net_amount if price else None) == expected


@pytest.mark.parametrize(
    ("population", "expected"),
    [
        (0, "300.00"),
        (5000, "300.00"),  # upper edge inclusive
        (5001, "500.00"),  # lower edge inclusive
        (20000, "500.00"),
        (20001, "900.00"),
        (611_850, "900.00"),  # open band
    ],
)
def test_price_by_population_band(assistant, population, expected):
    price = price_for(
        assistant=assistant.pk, fee_kind="maintenance", population=population, on=date(2025, 3, 1)
    )
    assert price.net_amount == Decimal(expected)
    assert price.fee_kind.label == "Softwarepflege und Support"


def test_no_price_for_unknown_fee_kind_or_other_assistant(assistant):
    other = AssistantFactory(slug="gewerbeanmeldung")
    assert price_for(assistant=assistant, fee_kind="lizenz", population=1, on=date(2025, 1, 1)) is None
    assert price_for(assistant=other, fee_kind="setup", population=1, on=date(2025, 1, 1)) is None


def _insert_sql(assistant_id: int, *, valid_from: str, valid_until: str | None, band: tuple[int, int | None]):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO shop_price (assistant_id, fee_kind, net_amount, vat_rate, valid_from, valid_until,"
            " population_min, population_max, is_sample) VALUES (%s, 'setup', 1, 19, %s, %s, %s, %s, false)",
            [assistant_id, valid_from, valid_until, band[0], band[1]],
        )


@pytest.mark.parametrize(
    ("valid_from", "valid_until", "band"),
    [
        ("2024-06-01", "2024-06-30", (0, None)),  # inside 2024
        ("2024-12-31", None, (0, None)),  # starts on the last day of 2024 (inclusive end)
        ("2020-01-01", None, (0, None)),  # open end overlapping everything after
        ("2026-01-01", "2026-12-31", (4000, 6000)),  # inside the open 2025 price, any band
    ],
)
def test_database_refuses_overlapping_price_inserted_with_sql(assistant, valid_from, valid_until, band):
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        _insert_sql(assistant.pk, valid_from=valid_from, valid_until=valid_until, band=band)
    assert refused.value.__cause__.diag.constraint_name == "price_no_overlap"
    assert Price.objects.filter(assistant=assistant, fee_kind_id="setup").count() == 2


def test_database_accepts_adjacent_and_other_band_prices(assistant):
    other = AssistantFactory(slug="anwohnerparken")
    PriceFactory(
        assistant=other, valid_from=date(2024, 1, 1), valid_until=date(2024, 12, 31), population_max=5000
    )
    with transaction.atomic():
        _insert_sql(other.pk, valid_from="2025-01-01", valid_until=None, band=(0, 5000))  # the day after
        _insert_sql(other.pk, valid_from="2024-01-01", valid_until=None, band=(5001, None))  # next band
    assert Price.objects.filter(assistant=other).count() == 3


def test_orm_insert_of_overlap_fails_and_full_clean_explains_it_in_german(assistant):
    overlapping = Price(
        assistant=assistant, fee_kind_id="setup", net_amount=Decimal("5.00"), valid_from=date(2024, 7, 1)
    )
    with pytest.raises(ValidationError) as invalid:
        overlapping.full_clean()
    assert OVERLAP_MESSAGE in " ".join(invalid.value.messages)
    with pytest.raises(IntegrityError), transaction.atomic():
        overlapping.save()
    assert not Price.objects.filter(net_amount=Decimal("5.00")).exists()
