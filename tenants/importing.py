"""Reading municipality lists (CSV) with row-level German errors.

The whole file is checked before anything is written: one bad row means
nothing is imported.
"""

from __future__ import annotations

import csv
import io
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connections

from .models import MunicipalityKind
from .schema_clone import ensure_template
from .services import MunicipalityData, municipality_onboard, municipality_slug, short_name_of
from .validators import validate_ags, validate_leitweg_id

REQUIRED_COLUMNS = ("ags", "name", "kind", "district", "population")
OPTIONAL_COLUMNS = (
    "short_name",
    "leitweg_id",
    "contact_email",
    "invoice_street",
    "invoice_postal_code",
    "invoice_city",
)


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"Zeile {self.line}" if self.line else "Datei"
        return f"{where}, Feld „{self.field}“: {self.message}" if self.field else f"{where}: {self.message}"


class ImportFileError(Exception):
    """The file cannot be imported; ``errors`` says where and why."""

    def __init__(self, errors: list[RowError]):
        self.errors = errors
        super().__init__("\n".join(str(error) for error in errors))


def _messages(error: ValidationError) -> str:
    return " ".join(error.messages)


def decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ImportFileError(
            [RowError(line, "", "Die Datei ist nicht UTF-8-kodiert (bitte als „CSV UTF-8“ speichern).")]
        ) from exc


def parse_municipalities(text: str) -> list[MunicipalityData]:
    """Parse and validate every row; raise ``ImportFileError`` listing all problems."""
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    columns = [c.strip() for c in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise ImportFileError(
            [
                RowError(
                    1,
                    "",
                    f"Es fehlen die Spalten: {', '.join(missing)} (erwartet: {', '.join(REQUIRED_COLUMNS)}).",
                )
            ]
        )
    errors: list[RowError] = []
    rows: list[MunicipalityData] = []
    seen: dict[str, int] = {}
    kinds = set(MunicipalityKind.values)
    for index, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if None in raw:
            errors.append(RowError(index, "", "Die Zeile hat mehr Werte als die Kopfzeile Spalten."))
            continue
        if not any(row.values()):
            continue
        line_errors: list[RowError] = []
        ags = row["ags"]
        try:
            validate_ags(ags)
        except ValidationError as exc:
            line_errors.append(RowError(index, "ags", _messages(exc)))
        else:
            if ags in seen:
                line_errors.append(RowError(index, "ags", f"Der AGS {ags} steht schon in Zeile {seen[ags]}."))
            seen.setdefault(ags, index)
        if not row["name"]:
            line_errors.append(RowError(index, "name", "Der Name fehlt."))
        if row["kind"] not in kinds:
            line_errors.append(
                RowError(
                    index, "kind", f"Unbekannte Art „{row['kind']}“ (erlaubt: {', '.join(sorted(kinds))})."
                )
            )
        population = 0
        try:
            population = int(row["population"].replace(".", "")) if row["population"] else 0
            if population < 0:
                raise ValueError
        except ValueError:
            line_errors.append(
                RowError(index, "population", f"„{row['population']}“ ist keine Einwohnerzahl.")
            )
        if row.get("leitweg_id"):
            try:
                validate_leitweg_id(row["leitweg_id"])
            except ValidationError as exc:
                line_errors.append(RowError(index, "leitweg_id", _messages(exc)))
        errors.extend(line_errors)
        if not line_errors:
            rows.append(
                MunicipalityData(
                    ags=ags,
                    official_name=row["name"],
                    kind=row["kind"],
                    district=row["district"],
                    population=population,
                    **{c: row.get(c, "") for c in OPTIONAL_COLUMNS},
                )
            )
    if errors:
        raise ImportFileError(errors)
    if not rows:
        raise ImportFileError([RowError(0, "", "Die Datei enthält keine Datenzeilen.")])
    return rows


@dataclass
class ImportSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def municipalities_import(
    rows: Iterable[MunicipalityData],
    *,
    progress: Callable[[int, MunicipalityData], None] | None = None,
    workers: int | None = None,
) -> ImportSummary:
    """Onboard validated rows; re-running is idempotent.

    Each municipality commits on its own (a schema per row would exhaust PostgreSQL's
    lock table in one transaction). Large files are spread over ``workers`` threads,
    each with its own database connection; rows that would compete for the same
    domain name go to the same thread, so the outcome does not depend on timing.
    """
    rows = list(rows)
    if workers is None:
        workers = min(2, os.cpu_count() or 1) if len(rows) >= 50 else 1
    summary = ImportSummary()
    lock = threading.Lock()
    done = 0

    def onboard(data: MunicipalityData) -> None:
        nonlocal done
        result = municipality_onboard(data=data, admin_email=data.contact_email or None)
        with lock:
            if result.created:
                summary.created += 1
            elif result.changed:
                summary.updated += 1
            else:
                summary.unchanged += 1
            done += 1
            if progress:
                progress(done, data)

    if workers <= 1:
        for data in rows:
            onboard(data)
        return summary

    ensure_template()  # once, before the threads start cloning
    groups: dict[str, list[MunicipalityData]] = {}
    for data in rows:
        slug = municipality_slug(data.short_name or short_name_of(data.official_name), data.kind)
        groups.setdefault(slug, []).append(data)
    shares: list[list[MunicipalityData]] = [[] for _ in range(workers)]
    for index, group in enumerate(groups.values()):
        shares[index % workers].extend(group)

    def work(share: list[MunicipalityData]) -> None:
        try:
            for data in share:
                onboard(data)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(work, share) for share in shares]:
            future.result()
    return summary
