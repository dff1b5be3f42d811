"""Small HTTP helpers the apps' views share, and the site-wide middleware for headers and faults."""

import logging
from collections.abc import Callable

from csp.constants import HEADER as CSP_HEADER
from csp.constants import HEADER_REPORT_ONLY as CSP_HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.db import InterfaceError, OperationalError, connection, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.middleware import HtmxMiddleware

from governance_app.kernel import claims, transactions
from mwms_site.api_errors import api_path
from mwms_site.api_kit import error_body, json_response

logger = logging.getLogger(__name__)


def htmx_partial(http_request: HttpRequest) -> bool:
    """An htmx request that wants a fragment (a boosted navigation, and the history restore htmx
    sends after Back when its cache has no copy of the page, want the whole page)."""
    htmx = getattr(http_request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def next_url(http_request: HttpRequest, default: str) -> str:
    """Where a POST returns to: a safe `next` field on this site, else the default."""
    target = http_request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={http_request.get_host()},
                                                  require_https=http_request.is_secure()):
        return target
    return default


def opened_from(http_request: HttpRequest, default: str) -> str:
    """Where a form that htmx loaded into a page returns to: that page (htmx names it in
    HX-Current-URL; only a path on this site is taken), else the default."""
    htmx = getattr(http_request, "htmx", None)
    path = htmx.current_url_abs_path if htmx else None
    if path and url_has_allowed_host_and_scheme(path, allowed_hosts={http_request.get_host()},
                                                require_https=http_request.is_secure()):
        return path
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
        if isinstance(exception, DATABASE_GONE):
            return database_unavailable(http_request, exception)
        return None


DATABASE_GONE = (OperationalError, InterfaceError)


def database_unavailable(http_request: HttpRequest, exception: Exception) -> HttpResponse:
    logger.warning("Database unavailable for %s: %s", http_request.path, exception)
    return database_unavailable_response(http_request)


class PermissionsPolicyMiddleware:
    """Sends settings.PERMISSIONS_POLICY (the browser features no page of this app uses)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, http_request: HttpRequest) -> HttpResponse:
        response = self.get_response(http_request)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


def bearer_api_call(request: HttpRequest) -> bool:
    """An API call with a bearer token (TenantClaimMiddleware makes its transaction final too)."""
    return "HTTP_AUTHORIZATION" in request.META and api_path(request)


def pages_only(middleware: type) -> type:
    """`middleware`, left out of API calls with a bearer token.

    Sessions, the signed-in user, messages and htmx's request details are for browsers. An API
    call with a bearer token reads none of them (its caller is the token's actor), and none of them
    changes its answer: a session or message store never touched adds no cookie and no Vary header.
    Passing them by costs nothing of the answer and about a tenth of a claim's CPU. (CSRF and
    django-axes stay whole: Django's and axes' system checks look for their own classes.)
    """

    class PagesOnly(middleware):
        def __call__(self, request: HttpRequest) -> HttpResponse:
            if bearer_api_call(request):
                return self.get_response(request)
            return super().__call__(request)

    PagesOnly.__name__ = PagesOnly.__qualname__ = f"PagesOnly{middleware.__name__}"
    PagesOnly.__module__ = __name__
    PagesOnly.__doc__ = f"{middleware.__module__}.{middleware.__name__}, for everything but bearer API calls."
    return PagesOnly


PagesOnlySessionMiddleware = pages_only(SessionMiddleware)
PagesOnlyAuthenticationMiddleware = pages_only(AuthenticationMiddleware)
PagesOnlyMessageMiddleware = pages_only(MessageMiddleware)
PagesOnlyHtmxMiddleware = pages_only(HtmxMiddleware)


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with the headers of an answer that changes nothing built once.

    django-csp builds both headers from the settings for every answer (each directive copied and
    joined, its parts turned into dicts twice): about a twentieth of an API call's CPU. An answer
    with none of django-csp's per-view changes (its decorators' `_csp_*` attributes on the
    response) and no nonce asked for gets the same headers each time, so they are built by
    django-csp once per policy (the settings' objects, which `override_settings` replaces) and
    reused; any other answer goes through django-csp as before.
    """

    PER_RESPONSE = ("_csp_config", "_csp_update", "_csp_replace", "_csp_config_ro", "_csp_update_ro",
                    "_csp_replace_ro")

    _built: tuple[object, object, str, str] | None = None

    def process_response(self, request, response):
        if (getattr(request, "_csp_nonce", None) is not None
                or any(hasattr(response, name) for name in self.PER_RESPONSE)):
            return super().process_response(request, response)
        if response.status_code in (500, 404) and settings.DEBUG:
            return response
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", None)
        report_only = getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
        built = self._built
        if built is None or built[0] is not policy or built[1] is not report_only:
            built = self._built = (policy, report_only, build_policy(), build_policy(report_only=True))
        for header, value, config, exempt in ((CSP_HEADER, built[2], policy, "_csp_exempt"),
                                              (CSP_HEADER_REPORT_ONLY, built[3], report_only, "_csp_exempt_ro")):
            prefixes = tuple((config or {}).get("EXCLUDE_URL_PREFIXES", None) or ())
            if (value and header not in response and getattr(response, exempt, False) is False
                    and not request.path_info.startswith(prefixes)):
                response[header] = value
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response


class TenantClaimMiddleware:
    """On PostgreSQL, each web request and API call is one transaction that acts for one tenant.

    Row-level security shows a transaction only the rows of the tenant its claim names
    (`request.jwt.claims`, kernel.claims). For a signed-in person the claim is their tenant (an
    installation superuser in the Django admin acts for every tenant); the API sets it from the
    bearer token's tenant (kernel.tokens). The claim is transaction-local, so a pooled connection
    never carries it into the next request; nested in an outer transaction (a test), the previous
    claim is put back on the way out.

    A 5xx answer rolls the transaction back (Django has already turned the exception into the
    response, so the atomic block alone would commit a half-done write). An API call's transaction
    is final (kernel.transactions): its services take no savepoint, and a refusal rolls it back. A streaming answer is
    read in a transaction of its own with the same claim. On SQLite this does nothing: the
    selectors' tenant filter is the guard there.
    """

    # Answers that read no table (the OpenAPI document and its viewer) open no transaction.
    NO_DATABASE = ("/openapi.json", "/docs")

    STATEMENT = claims.TAG + (
        "SELECT s.previous, set_config('request.jwt.claims', "
        "json_build_object('tenant_id', s.tenant_id, 'mwms_scope', %s::text)::text, true), s.tenant_id "
        "FROM (SELECT current_setting('request.jwt.claims', true) AS previous, "
        "public.mwms_user_tenant(%s) AS tenant_id) s"
    )

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # The view's own database errors reach DatabaseUnavailableMiddleware; these are the claim's
        # (the first statement of a request, so the one that finds the database gone).
        try:
            return self._in_a_claimed_transaction(request)
        except DATABASE_GONE as exception:
            return database_unavailable(request, exception)

    def _in_a_claimed_transaction(self, request: HttpRequest) -> HttpResponse:
        if connection.vendor != "postgresql" or not self._acts_for_a_tenant(request):
            return self.get_response(request)
        nested = connection.in_atomic_block
        # An API call answers a refusal and does nothing more, so its services need no savepoint.
        final = "HTTP_AUTHORIZATION" in request.META and api_path(request)
        with transactions.call_transaction(final=final):
            previous, tenant_id = self._claim(request, nested)
            response = self.get_response(request)
            if response.status_code >= 500:
                transaction.set_rollback(True)
            elif nested and not transactions.doomed():
                claims.restore_claim(previous)  # (a doomed call's rollback to its savepoint restores it)
        if tenant_id and getattr(response, "streaming", False) and not getattr(response, "is_async", False):
            response.streaming_content = _streamed_with_claim(response.streaming_content, tenant_id)
        return response

    def _acts_for_a_tenant(self, request: HttpRequest) -> bool:
        """A signed-in person's page, or an API call with a bearer token. Anyone else (the sign-in
        page, a 404 for a stranger) sees no tenant's rows, so needs neither claim nor transaction."""
        if request.path_info.endswith(self.NO_DATABASE):
            return False
        if "HTTP_AUTHORIZATION" in request.META:
            return True
        user = getattr(request, "user", None)
        return user is not None and user.is_authenticated

    def _claim(self, request: HttpRequest, nested: bool):
        """Set the signed-in person's claim; return the claim it replaces and their tenant. An API
        call's claim is set by its token's lookup (kernel.tokens), so here only the claim to put
        back is read, and only when there is an outer transaction to put it back in."""
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            if not nested:
                return None, None
            with connection.cursor() as cursor:
                cursor.execute(claims.TAG + "SELECT current_setting('request.jwt.claims', true)")
                return cursor.fetchone()[0], None
        every = user.is_superuser and request.path_info.startswith("/admin/")
        with connection.cursor() as cursor:
            cursor.execute(self.STATEMENT, ["installation" if every else None, user.pk])
            previous, _set, tenant_id = cursor.fetchone()
        return previous, tenant_id


def _streamed_with_claim(content, tenant_id):
    with claims.tenant_claim(tenant_id):
        yield from content
