from django.core.management.base import BaseCommand

from shop.demo_catalog import demo_catalog_load


class Command(BaseCommand):
    help = "Legt den Demo-Katalog an (70 Assistenten mit Beispielpreisen; idempotent)."

    def handle(self, *args, **options):
        assistants, prices = demo_catalog_load()
        self.stdout.write(
            self.style.SUCCESS(f"{assistants} Assistenten und {prices} Beispielpreise angelegt.")
        )
