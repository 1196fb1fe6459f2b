"""Cart and orders on a municipality's domain (mounted at the root of config/urls_tenants.py)."""

from django.urls import path

from . import views_orders as views

app_name = "orders"
urlpatterns = [
    path("warenkorb/", views.cart_view, name="cart"),
    path("warenkorb/bestellen/", views.cart_submit_view, name="submit"),
    path("warenkorb/hinzufuegen/<slug:slug>/", views.cart_add_view, name="cart_add"),
    path("warenkorb/<int:item_id>/entfernen/", views.cart_remove_view, name="cart_remove"),
    path("bestellungen/", views.order_list, name="list"),
    path("bestellungen/<int:pk>/", views.order_detail, name="detail"),
    path("bestellungen/<int:pk>/status", views.order_status, name="status"),
    path("bestellungen/<int:pk>/freigeben/", views.order_approve_view, name="approve"),
    path("bestellungen/<int:pk>/ablehnen/", views.order_reject_view, name="reject"),
    path("bestellungen/<int:pk>/stornieren/", views.order_cancel_view, name="cancel"),
]
