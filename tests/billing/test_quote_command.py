"""manage.py quote: the worked examples of FUNDING.md, catalog quotes and bad arguments."""

import json
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from tests.factories.shop import AssistantFactory, PriceFactory


def quote(capsys, *args):
    call_command("quote", *args)
    return json.loads(capsys.readouterr().out)


def test_worked_example_1_setup_fully_subsidised(db, capsys):
    result = quote(
        capsys, "--category", "central", "--net", "1200.00", "--fee", "setup", "--date", "2022-09-15"
    )
    assert (result["list_net"], result["subsidy"], result["net_due"], result["gross_due"]) == (
        "1200.00",
        "1200.00",
        "0.00",
        "0.00",
    )
    assert result["provisional"] is False


def test_worked_example_2_maintenance_straddling_the_start(db, capsys):
    result = quote(
        capsys,
        "--category",
        "central",
        "--net",
        "480",
        "--fee",
        "maintenance",
        "--period-start",
        "2022-03-01",
        "--period-end",
        "2022-12-31",
    )
    assert (result["list_net"], result["subsidy"], result["net_due"], result["vat"], result["gross_due"]) == (
        "402.41",
        "241.97",
        "160.44",
        "30.48",
        "190.92",
    )
    assert result["tranches"][0]["covered_days"] == 184
    assert (
        result["explanation"]
        == "Förderung Freistaat Sachsen: 100 % Rabatt auf Softwarepflege und Support, 184 von 306 Tagen"
    )


def test_worked_example_3_efa_gets_nothing(db, capsys):
    result = quote(capsys, "--category", "efa", "--net", "1200", "--fee", "setup", "--date", "2023-05-02")
    assert result["subsidy"] == "0.00" and result["tranches"] == []


def test_worked_example_4_maintenance_2025_gets_nothing(db, capsys):
    result = quote(
        capsys,
        "--category",
        "central",
        "--net",
        "480",
        "--fee",
        "maintenance",
        "--period-start",
        "2025-01-01",
        "--period-end",
        "2025-12-31",
    )
    assert (result["list_net"], result["subsidy"], result["net_due"]) == ("480.00", "0.00", "480.00")


def test_provisional_tranche_is_flagged(db, capsys):
    result = quote(
        capsys,
        "--category",
        "central",
        "--net",
        "480",
        "--fee",
        "maintenance",
        "--period-start",
        "2024-01-01",
        "--period-end",
        "2024-12-31",
    )
    assert result["subsidy"] == "480.00" and result["provisional"] is True
    assert result["year_days"] == 366
    assert "vorbehaltlich Haushaltsbeschluss" in result["explanation"]


def test_catalog_quote_uses_the_municipality_band_and_the_price_of_the_day(towns, capsys):
    assistant = AssistantFactory(slug="gewerbe-test")
    PriceFactory(
        assistant=assistant, fee_kind_id="setup", net_amount=Decimal("1200.00"), population_max=20000
    )
    PriceFactory(
        assistant=assistant, fee_kind_id="setup", net_amount=Decimal("1800.00"), population_min=20001
    )
    small = quote(
        capsys,
        "--assistant",
        "gewerbe-test",
        "--municipality",
        "14628410",
        "--fee",
        "setup",
        "--date",
        "2023-02-01",
    )
    large = quote(
        capsys,
        "--assistant",
        "gewerbe-test",
        "--municipality",
        "14713000",
        "--fee",
        "setup",
        "--date",
        "2023-02-01",
    )
    assert (small["list_net"], small["net_due"], small["provisional"]) == ("1200.00", "0.00", True)
    assert (large["list_net"], large["net_due"]) == ("1800.00", "0.00")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [
                "--category",
                "central",
                "--net",
                "480",
                "--fee",
                "maintenance",
                "--period-start",
                "2022-12-31",
                "--period-end",
                "2022-03-01",
            ],
            "vor seinem Beginn",
        ),
        (
            [
                "--category",
                "central",
                "--net",
                "480",
                "--fee",
                "maintenance",
                "--period-start",
                "2022-12-01",
                "--period-end",
                "2023-01-31",
            ],
            "in einem Kalenderjahr",
        ),
        (["--category", "central", "--net", "-1", "--fee", "setup", "--date", "2022-09-15"], "nicht negativ"),
        (["--category", "central", "--net", "abc", "--fee", "setup", "--date", "2022-09-15"], "kein Betrag"),
        (
            [
                "--assistant",
                "gibt-es-nicht",
                "--municipality",
                "14713000",
                "--fee",
                "setup",
                "--date",
                "2022-09-15",
            ],
            "Unbekannter Assistent",
        ),
        (
            ["--category", "central", "--net", "1", "--fee", "zauberei", "--date", "2022-09-15"],
            "Unbekannte Gebührenart",
        ),
        (["--category", "central", "--net", "1", "--fee", "setup"], "--date"),
        (["--category", "central", "--net", "1", "--fee", "setup", "--date", "15.09.2022"], "kein Datum"),
    ],
)
def test_bad_arguments_exit_with_code_2_and_a_german_message(towns, args, message):
    with pytest.raises(CommandError) as exc:
        call_command("quote", *args)
    assert exc.value.returncode == 2
    assert message in str(exc.value)


def test_unknown_municipality(towns):
    AssistantFactory(slug="x-test")
    with pytest.raises(CommandError, match="Keine Kommune mit AGS"):
        call_command(
            "quote",
            "--assistant",
            "x-test",
            "--municipality",
            "14999999",
            "--fee",
            "setup",
            "--date",
            str(date(2022, 9, 15)),
        )
