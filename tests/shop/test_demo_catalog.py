"""The shipped demo catalog: real services, all four categories, sample prices, valid templates."""

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

from shop.demo_catalog import build_specs, demo_catalog_load
from shop.models import Assistant, Price, validate_json_schema
from shop.selectors import price_for

LEISTUNGEN = Path(__file__).resolve().parents[2] / "data" / "leistungen.csv"


def test_specs_use_real_services_and_cover_every_category():
    specs = build_specs()
    by_slug = {spec.slug: spec for spec in specs}
    assert len(by_slug) == len(specs) == 71
    assert {spec.category for spec in specs} == {"central", "efa", "state_licensed", "individual"}
    assert by_slug["ekol-kfz"].category == "state_licensed"
    assert by_slug["vois-online-meldewesen"].leika_keys == ("99115005104000", "99115005070000")
    assert sum(spec.status == "available" for spec in specs) >= 50
    assert 15 <= sum(spec.status == "announced" for spec in specs) <= 25
    source = {row["leika"]: row for row in csv.DictReader(LEISTUNGEN.open(encoding="utf-8")) if row["leika"]}
    for spec in specs:
        for key in spec.leika_keys:
            assert key in source, f"{spec.slug}: {key} is not in the shipped source"
            assert spec.themenfeld == source[key]["themenfeld"]
        validate_json_schema(spec.config_schema)
        if spec.status == "announced":
            assert spec.expected_date is not None


def test_loading_is_idempotent_and_prices_are_marked_as_samples(db):
    first = demo_catalog_load()
    second = demo_catalog_load()
    assert first[0] == 71 and first[1] > 500
    assert second == (0, 0)
    assert Assistant.objects.count() == 71
    assert not Price.objects.filter(is_sample=False).exists()


def test_worked_example_prices_exist_for_a_small_town(db):
    demo_catalog_load()
    assistant = Assistant.objects.get(slug="gewerbe-anmeldung")
    setup = price_for(assistant=assistant, fee_kind="setup", population=14583, on=date(2022, 9, 15))
    maintenance = price_for(
        assistant=assistant, fee_kind="maintenance", population=14583, on=date(2022, 3, 1)
    )
    assert setup.net_amount == Decimal("1200.00")
    assert maintenance.net_amount == Decimal("480.00")
    # a large city pays the larger band, and prices rose in 2025
    assert price_for(
        assistant=assistant, fee_kind="setup", population=611850, on=date(2022, 9, 15)
    ).net_amount == Decimal("1800.00")
    assert price_for(
        assistant=assistant, fee_kind="setup", population=14583, on=date(2025, 1, 1)
    ).net_amount == Decimal("1260.00")
