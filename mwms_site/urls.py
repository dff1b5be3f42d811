from django.contrib import admin
from django.urls import include, path

from mwms_site.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("governance_app.urls")),
    path("", include("requests_app.urls")),
    path("", include("tasks_app.urls")),
]
