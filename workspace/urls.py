"""'Meine Assistenten' on a municipality's domain (mounted at /assistenten/)."""

from django.urls import path

from . import views

app_name = "workspace"
urlpatterns = [
    path("", views.instance_list, name="list"),
    path("<int:pk>/", views.instance_detail, name="detail"),
    path("<int:pk>/einrichten/", views.instance_configure_view, name="configure"),
    path("<int:pk>/kuendigen/", views.instance_cancel, name="cancel"),
]
