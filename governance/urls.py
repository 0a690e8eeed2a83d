from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from governance.accounts.forms import LoginForm

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="features:list"), name="home"),
    path("login/", auth_views.LoginView.as_view(authentication_form=LoginForm), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("features/", include("features.urls")),
    path("reviews/", include("governance.reviews.urls")),
    path("audit/", include("governance.audit.urls")),
    path("tokens/", include("governance.accounts.urls")),
    path("drift/", include("governance.drift.urls")),
    path("evidence/", include("governance.evidence.urls")),
    path("", include("governance.drift.urls_api")),
    path("api/v1/", include(("governance.api.urls", "api"))),
    path("admin/", admin.site.urls),
]
