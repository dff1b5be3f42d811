"""Small HTTP helpers the apps' views share, and the site-wide middleware for headers and faults."""

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.http import url_has_allowed_host_and_scheme

from mwms_site.api_errors import api_path
from mwms_site.api_kit import error_body, json_response

logger = logging.getLogger(__name__)


def htmx_partial(http_request: HttpRequest) -> bool:
    """An htmx request that wants a fragment (a boosted navigation wants the whole page)."""
    htmx = getattr(http_request, "htmx", None)
    return bool(htmx) and not htmx.boosted


def next_url(http_request: HttpRequest, default: str) -> str:
    """Where a POST returns to: a safe `next` field on this site, else the default."""
    target = http_request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={http_request.get_host()},
                                                  require_https=http_request.is_secure()):
        return target
    return default


def render_page_or_fragment(http_request: HttpRequest, template: str, context: dict, *,
                            fragment: str) -> HttpResponse:
    """The whole page, or for an htmx request the partial it replaces (`template#fragment`).
    Views that call this vary on HX-Request (`vary_on_headers`)."""
    name = f"{template}#{fragment}" if htmx_partial(http_request) else template
    return render(http_request, name, context)


RETRY_AFTER_SECONDS = 5


def database_unavailable_response(http_request: HttpRequest) -> HttpResponse:
    """503 with Retry-After: JSON under the API, the calm "try again in a moment" page elsewhere."""
    if api_path(http_request):
        response = json_response(503, error_body("The database cannot be reached just now; nothing was "
                                                 f"saved. Try again in {RETRY_AFTER_SECONDS} seconds."))
    else:
        # Rendered without the request: its user and session live in the database too.
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    """A page whose database is unreachable answers 503 with Retry-After, never a traceback: the
    connection's health check (CONN_HEALTH_CHECKS) replaces a dead pooled connection at the next
    request, and while PostgreSQL is down or restarting every request gets this answer."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, http_request: HttpRequest) -> HttpResponse:
        return self.get_response(http_request)

    def process_exception(self, http_request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, (OperationalError, InterfaceError)):
            logger.warning("Database unavailable for %s: %s", http_request.path, exception)
            return database_unavailable_response(http_request)
        return None


class PermissionsPolicyMiddleware:
    """Sends settings.PERMISSIONS_POLICY (the browser features no page of this app uses)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, http_request: HttpRequest) -> HttpResponse:
        response = self.get_response(http_request)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response
