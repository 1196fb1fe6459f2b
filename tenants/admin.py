from django.contrib import admin, messages
from django.db import transaction
from django.urls import reverse
from django.utils.html import format_html
from import_export.admin import ImportExportModelAdmin

from core.services import job_create

from .models import Domain, Municipality
from .resources import MunicipalityResource
from .tasks import onboard_pending_task


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Municipality)
class MunicipalityAdmin(ImportExportModelAdmin):
    resource_classes = [MunicipalityResource]
    list_display = ("short_name", "ags", "kind", "district", "population", "leitweg_id", "primary_domain")
    list_filter = ("kind", "district")
    search_fields = ("short_name", "official_name", "ags", "leitweg_id")
    readonly_fields = ("schema_name", "created", "updated")
    inlines = [DomainInline]
    ordering = ("short_name",)

    def get_queryset(self, request):
        return super().get_queryset(request).exclude(schema_name="public").prefetch_related("domains")

    def process_result(self, result, request):
        response = super().process_result(result, request)
        job = job_create(
            kind="onboarding", label="Kommunen einrichten (Schemas und Domains)", user=request.user
        )
        transaction.on_commit(lambda: onboard_pending_task.delay(job_id=job.pk))
        messages.info(
            request,
            format_html(
                'Die Bereiche der neuen Kommunen werden im Hintergrund eingerichtet: <a href="{}">Fortschritt ansehen</a>.',
                reverse("core:job", args=[job.pk]),
            ),
        )
        return response
