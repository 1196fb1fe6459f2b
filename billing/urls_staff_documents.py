"""Staff list of all invoices and credit notes with downloads (public domain)."""

from django.urls import path

from . import views_documents as views

app_name = "staff_documents"
urlpatterns = [
    path("", views.document_list, name="list"),
    path("<int:pk>/", views.document_detail, name="detail"),
    path("<int:pk>/pdf/", views.document_pdf_download, name="pdf"),
    path("<int:pk>/xrechnung/", views.document_xrechnung_download, name="xrechnung"),
    path("<int:pk>/gutschrift/", views.credit_note_create, name="credit_note"),
]
