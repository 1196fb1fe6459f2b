"""Bulk onboarding from CSV: the real Saxon file, idempotency and every kind of bad input."""

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from tenants.importing import ImportFileError, decode, parse_municipalities
from tenants.models import Domain, Municipality

SAXONY = Path(__file__).resolve().parents[2] / "data" / "sachsen_gemeinden.csv"
HEADER = "ags,name,kind,district,population\n"


def test_the_shipped_saxon_file_parses_completely():
    rows = parse_municipalities(decode(SAXONY.read_bytes()))
    assert len(rows) == 428
    kinds = {}
    for row in rows:
        kinds[row.kind] = kinds.get(row.kind, 0) + 1
    assert kinds == {"gemeinde": 249, "stadt": 166, "kreisfreie_stadt": 3, "landkreis": 10}
    by_ags = {row.ags: row for row in rows}
    assert by_ags["14612000"].population == 564904
    assert by_ags["14628410"].official_name == "Wilsdruff, Stadt"
    assert sum(row.population for row in rows if row.kind != "landkreis") == 4042422


def _write(tmp_path, text, encoding="utf-8"):
    path = tmp_path / "kommunen.csv"
    path.write_bytes(text.encode(encoding))
    return path


def _state():
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_namespace")
        schemas = cursor.fetchone()[0]
    return Municipality.objects.count(), Domain.objects.count(), schemas


def test_command_imports_selected_rows_and_is_idempotent(django_db_setup, db, capsys):
    before = _state()
    call_command("onboard_municipalities", ags=["14628410", "14521010", "14625020"])
    after_first = _state()
    assert after_first[0] == before[0] + 2  # Wilsdruff existed already (session fixture)
    assert after_first[2] == before[2] + 2
    call_command("onboard_municipalities", ags=["14628410", "14521010", "14625020"])
    assert _state() == after_first
    out = capsys.readouterr().out
    assert "0 angelegt, 0 aktualisiert, 3 unverändert" in out
    amtsberg = Municipality.objects.get(ags="14521010")
    assert amtsberg.primary_domain == "amtsberg.localhost"
    assert amtsberg.district == "Erzgebirgskreis"


@pytest.mark.parametrize(
    ("content", "encoding", "expected"),
    [
        (
            HEADER + "14628999,Neudorf,gemeinde,Bautzen,100\n1462899,Kurzdorf,gemeinde,Bautzen,5\n",
            "utf-8",
            "Zeile 3, Feld „ags“: Der AGS muss aus genau 8 Ziffern bestehen",
        ),
        (
            HEADER + "14628999,Neudorf,gemeinde,Bautzen,100\n14628999,Neudorf,gemeinde,Bautzen,100\n",
            "utf-8",
            "Zeile 3, Feld „ags“: Der AGS 14628999 steht schon in Zeile 2",
        ),
        (
            HEADER + "14628999,Neudorf,dorf,Bautzen,100\n",
            "utf-8",
            "Zeile 2, Feld „kind“: Unbekannte Art „dorf“",
        ),
        (HEADER + "14628999,Neudorf,gemeinde,Bautzen,viele\n", "utf-8", "Feld „population“"),
        (
            "ags,name,kind,district,population,leitweg_id\n14628999,Neudorf,gemeinde,Bautzen,1,14628999-1-00\n",
            "utf-8",
            "Feld „leitweg_id“: Die Prüfziffer der Leitweg-ID stimmt nicht",
        ),
        ("ags,name,district\n14628999,Neudorf,Bautzen\n", "utf-8", "Es fehlen die Spalten: kind, population"),
        (HEADER + "14628999,Großröhrsdorf,stadt,Bautzen,100\n", "cp1252", "nicht UTF-8-kodiert"),
        (
            HEADER + "09162000,München,kreisfreie_stadt,München,1500000\n",
            "utf-8",
            "gehört nicht zu diesem Land",
        ),
        (HEADER, "utf-8", "keine Datenzeilen"),
        (HEADER + "14628999,Neudorf,gemeinde,Bautzen,100,zuviel\n", "utf-8", "mehr Werte als die Kopfzeile"),
    ],
)
def test_bad_files_are_refused_with_line_and_field_and_change_nothing(
    django_db_setup, db, tmp_path, capsys, content, encoding, expected
):
    path = _write(tmp_path, content, encoding)
    before = _state()
    with pytest.raises(CommandError) as exc:
        call_command("onboard_municipalities", file=str(path))
    assert "nichts wurde angelegt" in str(exc.value)
    assert expected in capsys.readouterr().err
    assert _state() == before


def test_one_bad_row_among_good_ones_imports_nothing(django_db_setup, db, tmp_path):
    path = _write(
        tmp_path, HEADER + "14628998,Gutdorf,gemeinde,Bautzen,10\n14628997,Schlechtdorf,weiler,Bautzen,10\n"
    )
    before = _state()
    with pytest.raises(CommandError):
        call_command("onboard_municipalities", file=str(path))
    assert _state() == before
    assert not Municipality.objects.filter(ags="14628998").exists()


def test_all_errors_are_reported_at_once():
    text = HEADER + "1,A,gemeinde,X,1\n2,B,gemeinde,X,1\n14628999,C,nix,X,1\n"
    with pytest.raises(ImportFileError) as exc:
        parse_municipalities(text)
    assert [error.line for error in exc.value.errors] == [2, 3, 4]


def test_semicolon_separated_files_from_spreadsheets_are_accepted():
    rows = parse_municipalities(
        "ags;name;kind;district;population\n14628999;Neudorf;gemeinde;Bautzen;1.234\n"
    )
    assert rows[0].population == 1234


def test_unknown_ags_filter_is_an_error(django_db_setup, db):
    with pytest.raises(CommandError, match="Nicht in der Datei: 14999999"):
        call_command("onboard_municipalities", ags=["14999999"])
