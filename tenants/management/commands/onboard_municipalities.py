"""Onboard municipalities from a CSV file (default: all Saxon municipalities and districts)."""

import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.progress import ProgressBar
from tenants.importing import ImportFileError, decode, municipalities_import, parse_municipalities
from tenants.schema_clone import ensure_template
from tenants.services import ensure_public_tenant

DEFAULT_FILE = Path(settings.BASE_DIR) / "data" / "sachsen_gemeinden.csv"


class Command(BaseCommand):
    help = "Legt Kommunen aus einer CSV-Datei an oder aktualisiert sie (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--file", default=str(DEFAULT_FILE), help="CSV mit ags,name,kind,district,population"
        )
        parser.add_argument("--ags", nargs="*", help="nur diese AGS aus der Datei")
        parser.add_argument("--dry-run", action="store_true", help="nur prüfen, nichts anlegen")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"Datei nicht gefunden: {path}")
        try:
            rows = parse_municipalities(decode(path.read_bytes()))
        except ImportFileError as exc:
            for error in exc.errors:
                self.stderr.write(str(error))
            raise CommandError(f"{len(exc.errors)} Fehler in {path.name} – nichts wurde angelegt.") from None
        if options["ags"]:
            wanted = set(options["ags"])
            unknown = wanted - {row.ags for row in rows}
            if unknown:
                raise CommandError(f"Nicht in der Datei: {', '.join(sorted(unknown))}")
            rows = [row for row in rows if row.ags in wanted]
        if options["dry_run"]:
            self.stdout.write(f"{len(rows)} Zeilen geprüft, keine Fehler. (Probelauf: nichts angelegt)")
            return
        started = time.perf_counter()
        ensure_public_tenant()
        ensure_template()
        bar = ProgressBar(len(rows), label="Kommunen", stream=self.stdout if sys.stdout.isatty() else None)
        summary = municipalities_import(rows, progress=lambda n, row: bar.update(n, row.official_name))
        bar.finish()
        self.stdout.write(
            self.style.SUCCESS(
                f"{summary.created} angelegt, {summary.updated} aktualisiert, {summary.unchanged} unverändert "
                f"in {time.perf_counter() - started:.1f} s."
            )
        )
