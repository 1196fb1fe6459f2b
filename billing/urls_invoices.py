"""A municipality's own invoices, credit notes and payments (its domain)."""

from django.urls import path

from . import views_documents as views

app_name = "invoices"
urlpatterns = [
    path("", views.invoice_list, name="list"),
    path("<int:pk>/", views.invoice_detail, name="detail"),
    path("<int:pk>/pdf/", views.invoice_pdf_download, name="pdf"),
    path("<int:pk>/xrechnung/", views.invoice_xrechnung_download, name="xrechnung"),
]
