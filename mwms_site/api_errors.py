"""The answers the JSON API gives before any of its handlers runs, as JSON {"detail": ...} like the rest.

Django and ninja answer some requests themselves: a path that is no endpoint (Django's HTML 404, or
first a redirect to the path with a slash), a method the path lacks (ninja's plain-text 405) and a
body over DATA_UPLOAD_MAX_MEMORY_SIZE (a 500 traceback under DEBUG, an HTML 400 without). Under the
API's prefix these become JSON; every other path, every browser page, is left as Django answers it.
"""

import json
from collections.abc import Callable
from functools import cache

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse
from django.middleware.common import CommonMiddleware
from django.urls import get_script_prefix, reverse

from mwms_site.api_kit import error_body, json_response


@cache
def api_root() -> str:
    """The API's root as `request.path_info` spells it ("/api/v1/"), from the URLconf, not a copy."""
    return "/" + reverse("api:api-root").removeprefix(get_script_prefix())


def api_path(request: HttpRequest) -> bool:
    root = api_root()
    return request.path_info.startswith(root) or request.path_info == root.rstrip("/")


def _message(request: HttpRequest, response: HttpResponse) -> str:
    if response.status_code == 404:
        return (f"No API endpoint at {request.path}; the endpoints are listed in "
                f"{reverse('api:openapi-json')}.")
    if response.status_code == 405 and response.has_header("Allow"):
        return f"{request.method} is not allowed on {request.path}; use {response['Allow'].replace(', ', ' or ')}."
    return f"{response.reason_phrase}."


def _is_json(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").startswith("application/json")


class ApiErrorMiddleware:
    """Under the API's prefix: a JSON 413 for a body over the limit, and any 4xx that is not JSON
    (Django's 404 page, ninja's 405) rewritten as JSON with the same status and headers (Allow)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not api_path(request):
            return self.get_response(request)
        try:
            # Django's own checks of the body's size and the query's number of fields, run before
            # anything reads them (ninja only does once the token is accepted, and its DEBUG handler
            # turns their errors into a 500). Django reads at most one byte past the size limit, and
            # the handlers read the same body anyway.
            request.body  # noqa: B018
            request.GET  # noqa: B018
        except RequestDataTooBig:
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            return json_response(413, error_body(f"The request body is larger than the limit of {limit} bytes."))
        except TooManyFieldsSent:
            limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
            return json_response(400, error_body(f"The query has more than {limit} parameters."))
        except ValueError:  # Django reads Content-Length as a number
            return json_response(400, error_body("The Content-Length header is not a number."))
        response = self.get_response(request)
        if 400 <= response.status_code < 500 and not response.streaming and not _is_json(response):
            response.content = json.dumps(error_body(_message(request, response))).encode()
            response["Content-Type"] = "application/json"
            if response.has_header("Content-Length"):
                response["Content-Length"] = str(len(response.content))
        return response


class ApiCommonMiddleware(CommonMiddleware):
    """Django's CommonMiddleware, except that a path under the API's prefix is never redirected to
    the same path with a slash (APPEND_SLASH): an API client gets the JSON 404, and a POST under
    DEBUG no longer stops on Django's "URL doesn't end in a slash" RuntimeError."""

    def should_redirect_with_slash(self, request: HttpRequest) -> bool:
        return not api_path(request) and super().should_redirect_with_slash(request)
