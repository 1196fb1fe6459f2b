"""URLs of the association's domain (public schema): staff area, admin, public catalog."""

from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "ozg-shop · Verwaltung"
admin.site.site_title = "ozg-shop"
admin.site.index_title = "Verwaltung des Verbands"

urlpatterns = [
    path("", include("core.urls")),
    path("konto/", include("accounts.urls")),
    path("katalog/", include("shop.urls")),
    path("verwaltung/bestellungen/", include("shop.urls_staff")),
    path("verwaltung/finanzen/", include("billing.urls_finance")),
    path("verwaltung/belege/", include("billing.urls_staff_documents")),
    path("verwaltung/", include("billing.urls")),
    path("stripe/", include("billing.urls_stripe")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]

handler404 = "core.views.not_found"
handler403 = "core.views.forbidden"
handler500 = "core.views.server_error"
