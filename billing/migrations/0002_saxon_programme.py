"""The real Saxon programme, exactly as FUNDING.md describes it (announcement of 17 Oct 2022)."""

from datetime import date
from decimal import Decimal

from django.db import migrations


def install(apps, schema_editor):
    FundingProgramme = apps.get_model("billing", "FundingProgramme")
    Coverage = apps.get_model("billing", "Coverage")
    Tranche = apps.get_model("billing", "Tranche")
    BudgetLedger = apps.get_model("billing", "BudgetLedger")
    programme, created = FundingProgramme.objects.get_or_create(
        code="saxony-2022",
        defaults={
            "name": "Anschubfinanzierung Online-Antragsassistenten",
            "funder": "Freistaat Sachsen",
            "explanation_label": "Förderung Freistaat Sachsen",
            "categories": ["central"],
            "note": (
                "Kostenneutrale Einrichtung und Konfiguration sowie 100 % Rabatt auf Softwarepflege und Support "
                "für die zentral auf den sächsischen E-Government-Basiskomponenten entwickelten Assistenten. "
                "Nicht gefördert: individuelle Eigenentwicklungen, EfA-Leistungen, eKOL-KFZ und "
                "VOIS|Online.Meldewesen. Mittel: Landesmittel und SächsFAG."
            ),
        },
    )
    if not created:
        return
    for fee_kind in ("setup", "maintenance"):
        Coverage.objects.create(programme=programme, fee_kind_id=fee_kind, percent=Decimal("100"))
    for name, start, end, status in (
        ("Tranche 2022", date(2022, 7, 1), date(2022, 12, 31), "confirmed"),
        ("Tranche 2023–2024", date(2023, 1, 1), date(2024, 12, 31), "provisional"),
    ):
        tranche = Tranche.objects.create(programme=programme, name=name, start=start, end=end, status=status)
        BudgetLedger.objects.create(tranche=tranche)


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial"), ("shop", "0002_fee_kinds")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
