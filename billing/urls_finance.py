"""Finance area of the association (public domain, finance role)."""

app_name = "finance"
urlpatterns: list = []
