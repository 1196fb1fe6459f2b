"""Staff list of all invoices and credit notes with downloads (public domain)."""

app_name = "staff_documents"
urlpatterns: list = []
