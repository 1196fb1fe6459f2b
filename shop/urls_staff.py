"""The association's order pages (mounted at /verwaltung/bestellungen/ in config/urls_public.py)."""

from django.urls import path

from . import views_staff as views

app_name = "staff_orders"
urlpatterns = [
    path("", views.order_list, name="list"),
    path("<int:pk>/", views.order_detail, name="detail"),
    path("<int:pk>/status", views.order_status, name="status"),
    path("<int:pk>/annehmen/", views.order_accept_view, name="accept"),
    path("<int:pk>/positionen/<int:line_id>/erneut/", views.line_retry_view, name="retry"),
    path("kommune/<str:ags>/", views.municipality_orders, name="municipality"),
]
