from django.urls import path

from governance.drift import views

app_name = "drift"

urlpatterns = [
    path("", views.dashboard_page, name="dashboard"),
    path("features/<slug:key>/", views.data_paths_page, name="data-paths"),
]
