app_name = "staff_orders"
urlpatterns: list = []
