"""``python3 run.py demo``: database, demo data, worker, beat and web server in one command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection
from django_tenants.utils import schema_context

from accounts.models import User
from accounts.roles import Role
from tenants.importing import decode, municipalities_import, parse_municipalities
from tenants.management.commands.onboard_municipalities import DEFAULT_FILE
from tenants.schema_clone import ensure_template
from tenants.services import ensure_public_tenant

DEMO_PASSWORD = "Demo-Passwort-2024"
# A handful of real Saxon municipalities of every kind (AGS from data/sachsen_gemeinden.csv).
DEMO_AGS = {
    "14713000": "Leipzig",
    "14612000": "Dresden",
    "14511000": "Chemnitz",
    "14628410": "Wilsdruff",
    "14626110": "Görlitz",
    "14521000": "Erzgebirgskreis",
}
DEMO_LEITWEG = {"14713000": "14713000-12345-84", "14612000": "14612000-47"}
# Invoice addresses (the town halls); Wilsdruff has no Leitweg-ID, so the demo shows both cases.
DEMO_ADDRESS = {
    "14713000": ("Martin-Luther-Ring 4-6", "04109", "Leipzig"),
    "14612000": ("Dr.-Külz-Ring 19", "01067", "Dresden"),
    "14511000": ("Markt 1", "09111", "Chemnitz"),
    "14628410": ("Nossener Straße 20", "01723", "Wilsdruff"),
    "14626110": ("Untermarkt 6-8", "02826", "Görlitz"),
    "14521000": ("Paulus-Jenisius-Straße 24", "09456", "Annaberg-Buchholz"),
}


class Command(BaseCommand):
    help = "Startet den ozg-shop mit Demodaten: Datenbank, Worker, Beat und Webserver (Strg+C beendet alles)."

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="alle 428 sächsischen Kommunen anlegen")
        parser.add_argument("--port", default=os.environ.get("SHOP_PUBLIC_PORT", "8000"))
        parser.add_argument("--prepare-only", action="store_true", help="nur Daten anlegen, nichts starten")

    def handle(self, *args, **options):
        self.stdout.write("» Datenbank vorbereiten …")
        call_command("migrate_schemas", interactive=False, verbosity=0)
        ensure_public_tenant()
        ensure_template()
        rows = parse_municipalities(decode(DEFAULT_FILE.read_bytes()))
        if not options["all"]:
            rows = [row for row in rows if row.ags in DEMO_AGS]
        rows = [
            row.__class__(
                **{
                    **row.__dict__,
                    "leitweg_id": DEMO_LEITWEG.get(row.ags, ""),
                    **dict(
                        zip(
                            ("invoice_street", "invoice_postal_code", "invoice_city"),
                            DEMO_ADDRESS.get(row.ags, ("", "", "")),
                            strict=True,
                        )
                    ),
                }
            )
            for row in rows
        ]
        self.stdout.write(f"» {len(rows)} Kommunen einrichten …")
        started = time.perf_counter()
        summary = municipalities_import(rows)
        self.stdout.write(
            f"  {summary.created} neu, {summary.updated} aktualisiert, {summary.unchanged} unverändert "
            f"({time.perf_counter() - started:.1f} s)"
        )
        from shop.demo_catalog import demo_catalog_load

        assistants, prices = demo_catalog_load()
        self.stdout.write(f"» Demo-Katalog: {assistants} Assistenten, {prices} Beispielpreise neu angelegt")
        self._demo_users(options["port"])
        from billing.demo import demo_billing_load

        issued = demo_billing_load()
        if issued:
            self.stdout.write(f"» Demo-Abrechnung: {issued} Belege seit 2022 ausgestellt")
        if options["prepare_only"]:
            return
        self._run_processes(options["port"])

    def _user(self, email: str, name: str, roles: list[str], *, superuser: bool = False) -> None:
        user, created = User.objects.get_or_create(
            email=email,
            defaults={
                "full_name": name,
                "roles": roles,
                "is_staff": connection.schema_name == "public",
                "is_superuser": superuser,
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()

    def _demo_users(self, port: str) -> None:
        base = settings.SHOP_BASE_DOMAIN
        lines = [("Verband (Verwaltung)", f"http://{base}:{port}/", "")]
        self._user("admin@kisa.example", "Ada Admin", [], superuser=True)
        self._user("katalog@kisa.example", "Karl Katalog", [Role.CATALOG_MANAGER])
        self._user("finanzen@kisa.example", "Fina Finanz", [Role.FINANCE])
        lines += [
            ("  Superuser", "", "admin@kisa.example"),
            ("  Katalogpflege", "", "katalog@kisa.example"),
            ("  Finanzen", "", "finanzen@kisa.example"),
        ]
        from tenants.models import Municipality

        for municipality in Municipality.objects.filter(ags__in=DEMO_AGS).prefetch_related("domains"):
            slug = municipality.primary_domain.split(".")[0]
            with schema_context(municipality.schema_name):
                self._user(f"einkauf@{slug}.example", f"Einkauf {municipality.short_name}", [Role.PURCHASER])
                self._user(f"freigabe@{slug}.example", f"Freigabe {municipality.short_name}", [Role.APPROVER])
                self._user(
                    f"admin@{slug}.example", f"Admin {municipality.short_name}", [Role.MUNICIPAL_ADMIN]
                )
            lines.append((municipality.short_name, f"http://{municipality.primary_domain}:{port}/", ""))
            for role, prefix in (
                ("  Einkauf", "einkauf"),
                ("  Freigabe", "freigabe"),
                ("  Administration", "admin"),
            ):
                lines.append((role, "", f"{prefix}@{slug}.example"))
        self.stdout.write(f"\nDemo-Zugänge (Passwort für alle: {DEMO_PASSWORD})\n")
        for label, url, email in lines:
            self.stdout.write(f"  {label:<28} {url or email}")
        self.stdout.write(
            "\nHinweis: *.localhost zeigt in Chrome/Firefox auf diesen Rechner; "
            "E-Mails landen als Dateien in .data/mail/.\n"
        )

    def _run_processes(self, port: str) -> None:
        python = sys.executable
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings.local"),
            "SHOP_PUBLIC_PORT": port,
            "PYTHONUNBUFFERED": "1",
        }
        commands = {
            "worker": [
                python,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--loglevel=INFO",
                "--concurrency=2",
                "--hostname=demo@%h",
            ],
            "beat": [python, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO"],
            "web": [python, "manage.py", "runserver", f"0.0.0.0:{port}", "--noreload"],
        }
        processes = {
            name: subprocess.Popen(cmd, env=env, start_new_session=True) for name, cmd in commands.items()
        }
        self.stdout.write(f"» Läuft: http://{settings.SHOP_BASE_DOMAIN}:{port}/  (Strg+C beendet alles)\n")
        try:
            while all(p.poll() is None for p in processes.values()):
                time.sleep(0.5)
            failed = [name for name, p in processes.items() if p.poll() is not None]
            self.stderr.write(f"Prozess beendet: {', '.join(failed)} – fahre alles herunter.")
        except KeyboardInterrupt:
            self.stdout.write("\n» Beende Webserver, Beat und Worker …")
        finally:
            for process in processes.values():
                if process.poll() is None:
                    process.terminate()  # Celery does a warm shutdown on SIGTERM
            deadline = time.time() + 15
            for process in processes.values():
                try:
                    process.wait(timeout=max(0.1, deadline - time.time()))
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
            if not settings.DATABASE_URL:
                from config import embedded

                connection.close()
                embedded.stop()
                self.stdout.write("» Eingebettete PostgreSQL-Datenbank gestoppt.")
