from django.db import migrations

FEE_KINDS = [
    ("setup", "Einrichtung und Konfiguration", "one_time", 10),
    ("maintenance", "Softwarepflege und Support", "yearly", 20),
    ("customization", "Anpassung nach Aufwand", "one_time", 30),
]


def add_fee_kinds(apps, schema_editor):
    FeeKind = apps.get_model("shop", "FeeKind")
    for code, label, recurrence, position in FEE_KINDS:
        FeeKind.objects.update_or_create(code=code, defaults={"label": label, "recurrence": recurrence, "position": position})


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.RunPython(add_fee_kinds, migrations.RunPython.noop)]
