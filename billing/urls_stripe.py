"""Stripe webhook endpoint (public domain)."""

from django.urls import path

from .webhooks import stripe_webhook

app_name = "stripe"
urlpatterns = [
    path("webhook/", stripe_webhook, name="webhook"),
]
