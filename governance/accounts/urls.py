from django.urls import path

from governance.accounts import views

app_name = "tokens"

urlpatterns = [
    path("", views.list_page, name="list"),
    path("new/", views.new_page, name="new"),
    path("<int:pk>/revoke/", views.revoke, name="revoke"),
]
