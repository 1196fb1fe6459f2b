from django.urls import path

from . import views

app_name = "shop"
urlpatterns = [
    path("", views.catalog_list, name="catalog"),
    # before the slug pattern: an assistant cannot be called "merkliste"
    path("merkliste/", views.watch_list, name="watch_list"),
    path("merkliste/<int:pk>/entfernen/", views.watch_remove_view, name="watch_remove"),
    path("<slug:slug>/", views.assistant_detail, name="detail"),
    path("<slug:slug>/merken/", views.watch_add_view, name="watch_add"),
]
