"""Stripe webhook endpoint (public domain)."""

app_name = "stripe"
urlpatterns: list = []
