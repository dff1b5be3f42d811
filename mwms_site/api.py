"""The JSON API root (/api/v1/): bearer-token auth, the error answers, and each app's router.

Every answer a client can act on is JSON {"detail": ...}: 400 malformed JSON, 401 no valid token,
403 not allowed for this role, 404 not there or not visible, 409 not possible from the current
state or lost a race, 422 a field fails validation (with {"errors": {field: message}}). Before any
handler runs, mwms_site/api_errors.py answers the same way: 400 a query of too many parameters,
404 no such endpoint, 405 a method the path does not take, 413 a body over the upload limit.
"""

import json
import logging
import math
from typing import Any

from django.db import DataError, IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser
from ninja.security import HttpBearer

from governance_app.api import router as governance_router
from governance_app.kernel.actors import Actor
from governance_app.kernel.db import SNAKE_CASE_WORD, limit_violated
from governance_app.kernel.errors import DomainError
from mwms_site.api_kit import ALIAS_CONFLICT, bearer_actor, domain_error_response, error_body, json_response
from mwms_site.web import database_unavailable_response
from requests_app.api import router as requests_router
from tasks_app.api import router as tasks_router

logger = logging.getLogger(__name__)


class BearerToken(HttpBearer):
    """`Authorization: Bearer <token>`: the token's actor, or 401 saying what is wrong."""

    def __call__(self, request: HttpRequest) -> Actor:
        return bearer_actor(request)

    def authenticate(self, request: HttpRequest, token: str) -> Actor:  # pragma: no cover - __call__ does it
        return bearer_actor(request)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is not a finite number")
    return value


def _no_constant(text: str) -> None:
    raise ValueError(f"{text} is not JSON")


class StrictJsonParser(Parser):
    """JSON only: NaN, Infinity and numbers too large for a float are malformed input (400)."""

    def parse_body(self, request: HttpRequest) -> Any:
        return json.loads(request.body, parse_float=_finite, parse_constant=_no_constant)


api = NinjaAPI(
    title="MWMS HeadOffice API",
    version="1",
    urls_namespace="api",
    auth=BearerToken(),
    parser=StrictJsonParser(),
    description=__doc__,
)


# --- the error answers -----------------------------------------------------------------------

def _field(loc: tuple) -> str:
    source, *rest = [str(part) for part in loc] or ["body"]
    if source == "body":
        rest = rest[1:]  # drop the handler's parameter name: clients know fields, not our variables
        return ".".join(rest) or "body"
    return ".".join(rest) or source


def _message(error: dict) -> str:
    kind, context = error.get("type"), error.get("ctx") or {}
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a field of this call"
    if kind == "string_too_long":
        return f"at most {context['max_length']:,} characters"
    if kind == "string_too_short" and context.get("min_length") == 1:
        return "must not be empty"
    if kind == "string_pattern_mismatch" and context.get("pattern") == SNAKE_CASE_WORD:
        return "must be a lowercase snake_case word (a-z, 0-9 and _, a letter first), e.g. report"
    return str(error.get("msg", "is not valid")).removeprefix("Value error, ")


def _error_field(error: dict) -> str:
    if error.get("type") == ALIAS_CONFLICT:  # raised for the body as a whole; ctx names the field
        return error["ctx"]["field"]
    return _field(tuple(error.get("loc", ())))


@api.exception_handler(ValidationError)
def validation_failed(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields: dict[str, str] = {}
    for error in exc.errors:
        fields.setdefault(_error_field(error), _message(error))
    detail = "; ".join(f"{field}: {message}" for field, message in fields.items()) or "The input is not valid"
    return json_response(422, error_body(detail + ".", fields))


@api.exception_handler(DomainError)
def refused(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return domain_error_response(exc)


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    message = exc.message
    if exc.status_code == 400 and exc.__cause__ is not None:
        # ninja's "Cannot parse request body", with the parser's reason (where and what).
        message = f"The body is not valid JSON: {exc.__cause__}."
    response = json_response(exc.status_code, error_body(message))
    if isinstance(exc, AuthenticationError):
        response["WWW-Authenticate"] = 'Bearer realm="mwms"'
    return response


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return json_response(404, error_body("Not found."))


@api.exception_handler(DataError)
def unstorable(request: HttpRequest, exc: DataError) -> HttpResponse:
    # Input validation should stop such values first; if one slips through it is still the
    # client's input, so it is a 422, not a 500. On PostgreSQL the error spoils the open
    # transaction (an Idempotency-Key's), so it must not be committed.
    logger.warning("API input the database refused: %s", exc)
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        transaction.set_rollback(True)
    return json_response(422, error_body("A value in this call cannot be stored (out of range or malformed)."))


@api.exception_handler(IntegrityError)
def refused_by_a_limit(request: HttpRequest, exc: IntegrityError) -> HttpResponse:
    # The schemas and services check every limit first; should a value still reach the database
    # too long (text the app composed from the input, say), it is the input's fault: a 422 naming
    # the column, not a 500. Any other integrity error is the app's own bug and stays one.
    column = limit_violated(exc)
    if column is None:
        raise exc
    logger.warning("API input over a database limit: %s", exc)
    if connection.in_atomic_block:
        transaction.set_rollback(True)
    message = f"{column}: too long to store."
    return json_response(422, error_body(message, {column: message}))


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def database_unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    # PostgreSQL down or restarting: a JSON 503 the client can retry, never an HTML 500.
    logger.warning("Database unavailable for %s: %s", request.path, exc)
    return database_unavailable_response(request)


# --- the routers -----------------------------------------------------------------------------

api.add_router("/", requests_router)
api.add_router("/", tasks_router)
api.add_router("/", governance_router)
