from django.urls import path

from features import views

app_name = "features"

urlpatterns = [
    path("", views.feature_list_page, name="list"),
    path("new/", views.feature_create_page, name="create"),
    path("<slug:key>/", views.feature_detail_page, name="detail"),
    path("<slug:key>/edit/", views.registration_edit_page, name="edit"),
    path("<slug:key>/submit/", views.registration_submit_page, name="submit"),
    path("<slug:key>/diff/", views.registration_diff_page, name="diff"),
    path("<slug:key>/versions/<int:version>/", views.registration_detail_page, name="version"),
]
