"""URLs of a municipality's domain (its own schema)."""

from django.urls import include, path

urlpatterns = [
    path("", include("core.urls")),
    path("konto/", include("accounts.urls")),
    path("katalog/", include("shop.urls")),
    path("", include("shop.urls_orders")),
    path("assistenten/", include("workspace.urls")),
    path("rechnungen/", include("billing.urls_invoices")),
    path("benutzer/", include("accounts.urls_manage")),
    path("i18n/", include("django.conf.urls.i18n")),
]

handler404 = "core.views.not_found"
handler403 = "core.views.forbidden"
handler500 = "core.views.server_error"
