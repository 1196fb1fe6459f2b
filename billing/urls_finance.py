"""Finance area of the association (public domain, finance role)."""

from django.urls import path

from . import views_finance as views

app_name = "finance"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("abgleich/", views.reconciliation_list, name="reconciliation"),
    path("foerderabruf/", views.claim, name="claim"),
    path("foerderabruf/export.<str:fmt>", views.claim_export, name="claim_export"),
    path("jahresabrechnung/", views.billing_run, name="billing_run"),
    path("nachberechnung/", views.rebilling_list, name="rebilling"),
    path("nachberechnung/<int:pk>/", views.rebilling_confirm, name="rebilling_confirm"),
    path("periodenabschluss/", views.period_close_view, name="period_close"),
]
