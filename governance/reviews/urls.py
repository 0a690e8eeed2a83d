from django.urls import path

from governance.reviews import views

app_name = "reviews"

urlpatterns = [
    path("", views.queue_page, name="queue"),
    path("<slug:key>/v<int:version>/", views.review_page, name="review"),
    path("<slug:key>/v<int:version>/decide/", views.decide, name="decide"),
    path("findings/<int:finding_id>/accept/", views.accept_finding, name="accept-finding"),
]
