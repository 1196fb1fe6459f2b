"""Municipality import/export in the admin (django-import-export)."""

from import_export import fields

from core.resources import FileError, SafeModelResource

from .importing import REQUIRED_COLUMNS
from .models import Municipality
from .services import schema_name_for, short_name_of


class MunicipalityResource(SafeModelResource):
    """Columns as in data/sachsen_gemeinden.csv. Rows are matched by AGS (re-import updates).

    The import writes the rows only; schemas and domains are created afterwards by a
    background job (a transaction creating hundreds of schemas would exhaust PostgreSQL's
    lock table), which the admin shows with a progress bar. Exports are formula-safe
    (core.resources).
    """

    name = fields.Field(attribute="official_name", column_name="name")

    class Meta:
        model = Municipality
        import_id_fields = ("ags",)
        fields = (
            "ags",
            "name",
            "kind",
            "district",
            "population",
            "leitweg_id",
            "contact_email",
            "invoice_recipient",
            "invoice_street",
            "invoice_postal_code",
            "invoice_city",
        )
        export_order = fields
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True
        use_transactions = True

    def get_queryset(self):
        return super().get_queryset().exclude(schema_name="public")

    def before_import(self, dataset, **kwargs):
        headers = [h.strip() for h in (dataset.headers or []) if h]
        missing = [c for c in REQUIRED_COLUMNS if c not in headers]
        if missing:
            raise FileError(
                f"Es fehlen die Spalten: {', '.join(missing)}. Erwartet werden: {', '.join(REQUIRED_COLUMNS)}."
            )

    def before_save_instance(self, instance, row, **kwargs):
        if not instance.schema_name:
            instance.schema_name = schema_name_for(instance.ags)
        if not instance.short_name:
            instance.short_name = short_name_of(instance.official_name)

    def import_instance(self, instance, row, **kwargs):
        super().import_instance(instance, row, **kwargs)
        # full_clean() needs these before the row is saved
        if not instance.schema_name:
            instance.schema_name = schema_name_for(instance.ags or "")
        if not instance.short_name and instance.official_name:
            instance.short_name = short_name_of(instance.official_name)
