from django.urls import path

from . import views

app_name = "core"
urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("ping", views.ping, name="ping"),
    path("verwaltung/auftraege/<int:pk>/", views.job_detail, name="job"),
    path("verwaltung/auftraege/<int:pk>/status", views.job_status, name="job_status"),
]
