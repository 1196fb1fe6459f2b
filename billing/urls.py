from django.urls import path

from . import views

app_name = "billing"
urlpatterns = [
    path("foerderung/simulation/", views.simulation, name="simulation"),
]
