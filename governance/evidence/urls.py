from django.urls import path

from governance.evidence import views

app_name = "evidence"

urlpatterns = [
    path("", views.evidence_page, name="list"),
    path("<int:pk>/status/", views.pack_status, name="status"),
    path("<int:pk>/download/", views.download, name="download"),
    path("public-key.pem", views.public_key, name="public-key"),
]
