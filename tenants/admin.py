from django.contrib import admin

from .models import Domain, Municipality


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Municipality)
class MunicipalityAdmin(admin.ModelAdmin):
    list_display = ("short_name", "ags", "kind", "district", "population", "leitweg_id", "primary_domain")
    list_filter = ("kind", "district")
    search_fields = ("short_name", "official_name", "ags", "leitweg_id")
    readonly_fields = ("schema_name", "created", "updated")
    inlines = [DomainInline]
    ordering = ("short_name",)
