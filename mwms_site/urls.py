from django.contrib import admin
from django.http import HttpRequest, HttpResponseRedirect
from django.templatetags.static import static
from django.urls import include, path

from mwms_site.api import api


def favicon(request: HttpRequest) -> HttpResponseRedirect:
    # Browsers ask for /favicon.ico on every page that names no icon (the admin's): the site's mark,
    # looked up per request because its name is hashed once collectstatic has run.
    return HttpResponseRedirect(static("img/mark.svg"))


urlpatterns = [
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("governance_app.urls")),
    path("", include("requests_app.urls")),
    path("", include("tasks_app.urls")),
]
