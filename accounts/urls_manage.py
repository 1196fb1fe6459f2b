from django.urls import path

from . import views

app_name = "users"
urlpatterns = [
    path("", views.user_list, name="list"),
    path("einladen/", views.user_invite_view, name="invite"),
    path("<int:pk>/", views.user_edit, name="edit"),
]
