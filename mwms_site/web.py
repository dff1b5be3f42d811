"""Small HTTP helpers the apps' views share."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme


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
