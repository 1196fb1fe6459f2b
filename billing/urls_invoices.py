"""A municipality's own invoices, credit notes and payments (its domain)."""

app_name = "invoices"
urlpatterns: list = []
