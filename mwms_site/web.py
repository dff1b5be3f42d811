"""Small HTTP helpers the apps' views share."""

from django.http import HttpRequest
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
