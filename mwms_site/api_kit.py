"""What every router of the JSON API shares: the caller behind a bearer token, the error body and
the status each refusal becomes, the base of every input schema, and idempotent POSTs.

mwms_site/api.py mounts the routers and installs the error handlers; the apps' api.py modules
import from here (never from mwms_site.api, which imports them).
"""

import copy
import hashlib
import json
from collections.abc import Callable
from functools import wraps
from typing import Annotated, Any, ClassVar

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from ninja import Router
from ninja.decorators import decorate_view
from ninja.errors import AuthenticationError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from governance_app.kernel import limits
from governance_app.kernel.actors import Actor, actor_for_token
from governance_app.kernel.db import SNAKE_CASE_WORD
from governance_app.kernel.errors import DomainError, Refusal, not_found  # noqa: F401 - the apps' API modules use it
from governance_app.kernel.tokens import TokenRefused, api_token_authenticate
from governance_app.models import IdempotencyRecord

# --- errors --------------------------------------------------------------------------------------

STATUS_FOR = {Refusal.INVALID: 422, Refusal.FORBIDDEN: 403, Refusal.CONFLICT: 409, Refusal.NOT_FOUND: 404}


class Out(BaseModel):
    """The base of every response body. The handlers build their answers as dicts (the `*_out`
    functions), so a plain pydantic model validates them directly; ninja's Schema would first wrap
    each dict in an attribute getter, a noticeable cost on the busiest calls."""


class FindingOut(Out):
    """One broken thing of a lineage (kernel.findings.Finding): its stable code, the table and row at
    fault, what is wrong in words, and whether it refuses closing the request."""

    code: str
    table: str
    row_id: str
    message: str
    request_id: str | None = None
    blocking: bool = False


class Error(Out):
    """Every refusal: what went wrong in words, for a 422 the fields at fault, and for a close or a
    reject a broken lineage refused (409) each problem of it."""

    detail: str
    errors: dict[str, str] | None = None
    findings: list[FindingOut] | None = None


def errors(*codes: int) -> dict[int, type[Error]]:
    """The error answers an operation declares, e.g. `response={201: Out, **errors(401, 404)}`."""
    return {code: Error for code in codes}


def error_body(message: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    return {"detail": message, "errors": fields} if fields else {"detail": message}


def json_response(status: int, body: Any) -> HttpResponse:
    content = b"" if body is None else json.dumps(body).encode()
    return HttpResponse(content, status=status, content_type="application/json")


def domain_error_response(error: DomainError) -> HttpResponse:
    body = error_body(error.message, error.errors)
    if error.findings:
        body["findings"] = [finding.as_json() for finding in error.findings]
    return json_response(STATUS_FOR[error.kind], body)


# --- the caller --------------------------------------------------------------------------------

def bearer_actor(request: HttpRequest) -> Actor:
    """The actor behind `Authorization: Bearer <token>`, worked out once per request."""
    cached = getattr(request, "_mwms_api_actor", None)
    if cached is not None:
        return cached
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise AuthenticationError(401, "Send Authorization: Bearer <token> (a token from `manage.py issue_token`).")
    try:
        token = api_token_authenticate(secret.strip())
    except TokenRefused as refused:
        raise AuthenticationError(401, str(refused)) from None
    request._mwms_api_actor = actor = actor_for_token(token)
    return actor


# --- input -----------------------------------------------------------------------------------

MAX_JSON_DEPTH = 32  # nesting a field's JSON may have; pydantic cannot write out much deeper values


def _unstorable(value: Any) -> str | None:
    """Why a value cannot be stored (PostgreSQL refuses NUL in text and jsonb; a value nested
    deeper than MAX_JSON_DEPTH could not be answered back; JSON over limits.JSON characters), or
    None. A string's length is its schema field's business (max_length)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= MAX_JSON_DEPTH:
                return f"must not nest objects and arrays more than {MAX_JSON_DEPTH} levels deep"
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
        elif isinstance(item, str):
            problem = limits.unstorable_text(item)
            if problem:
                return problem
    if isinstance(value, dict | list):
        return limits.too_large(value)
    return None


def _storable_text(value: str) -> str:
    problem = _unstorable(value)
    if problem:
        raise ValueError(problem)
    return value


# A text query parameter, refused (422 naming it) when the database could not compare it: PostgreSQL
# takes no NUL in text, so a filter holding one would fail there and match nothing on SQLite.
QueryText = Annotated[str, AfterValidator(_storable_text)]

# The text of an input body, each kind with its maximum (governance_app/kernel/limits.py); the 422
# names the field: "request_title: at most 300 characters".
Title = Annotated[str, Field(max_length=limits.TITLE)]
Text = Annotated[str, Field(max_length=limits.TEXT)]
Name = Annotated[str, Field(max_length=limits.NAME)]
Link = Annotated[str, Field(max_length=limits.LINK)]
Document = Annotated[str, Field(max_length=limits.DOCUMENT)]
SnakeCaseWord = Annotated[str, Field(min_length=1, max_length=limits.WORD, pattern=SNAKE_CASE_WORD)]


ALIAS_CONFLICT = "alias_conflict"


class In(BaseModel):
    """An input body: unknown fields are refused (a typo must not be silently ignored), and text
    that the database cannot store is refused with the field named.

    `aliases` maps other accepted spellings of a field to it ({"summary": "event_summary"}): the
    OpenAPI document shows the field's own name only, either spelling is taken, and both at once
    must agree (a 422 naming the field otherwise)."""

    model_config = ConfigDict(extra="forbid")
    aliases: ClassVar[dict[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _spelled_either_way(cls, data: Any) -> Any:
        if not cls.aliases or not isinstance(data, dict):
            return data
        data = dict(data)
        for alias, name in cls.aliases.items():
            if alias not in data:
                continue
            value = data.pop(alias)
            if name in data and data[name] != value:
                raise PydanticCustomError(
                    ALIAS_CONFLICT, "{alias} and {name} are two spellings of one field, sent with different "
                    "values; send one", {"field": name, "alias": alias, "name": name})
            data[name] = value
        return data

    @field_validator("*", mode="before")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        problem = _unstorable(value)
        if problem:
            raise ValueError(problem)
        return value


# --- idempotent POSTs ----------------------------------------------------------------------------

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_DOC = {
    "parameters": [{
        "in": "header",
        "name": IDEMPOTENCY_HEADER,
        "required": False,
        "schema": {"type": "string", "minLength": 1, "maxLength": 255},
        "description": (
            "Makes the call safe to retry. A successful (2xx) answer is stored for this token and key, "
            "and a retry with the same key and the same body gets that answer back (same status and "
            "body, header `Idempotent-Replayed: true`) without doing the work again. The body is "
            "compared as JSON: the same fields and values with the keys in another order or other spacing "
            "are the same body. The same key with a different method, path or body is refused with 422. "
            "Refused calls (4xx) change nothing and are not stored: retrying one runs it again."
        ),
    }],
}


def _canonical_body(body: bytes) -> bytes:
    """The body's JSON written one way (keys sorted, no spaces), so that the same request
    serialised again (other key order or spacing) is recognised as a retry; a body that is no JSON
    as it came (the call answers 400 then, and nothing is stored)."""
    try:
        parsed = json.loads(body)
    except ValueError:  # not JSON, or not UTF-8 text
        return body
    return json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8", "surrogatepass")


def _digest(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _fingerprints(request: HttpRequest) -> tuple[str, str]:
    """The call's fingerprint (method, path and the body's canonical JSON), then the one stored
    before issue 17 (the body's bytes as sent), which a record written then still holds."""
    method, path = request.method.encode(), request.path.encode()
    return _digest(method, path, _canonical_body(request.body)), _digest(method, path, request.body)


def _stored(actor: Actor, key: str) -> IdempotencyRecord | None:
    return IdempotencyRecord.objects.filter(token_id=actor.token_id, key=key).first()


def _replay(record: IdempotencyRecord, fingerprints: tuple[str, str]) -> HttpResponse:
    if record.fingerprint not in fingerprints:
        message = (f"This {IDEMPOTENCY_HEADER} was already used for a different request; "
                   f"use a new key for a new request.")
        return json_response(422, error_body(message, {IDEMPOTENCY_HEADER: message}))
    response = json_response(record.response_status, record.response_body)
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(run: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap an operation's whole run (auth, parsing, handler, rendering) with Idempotency-Key.

    The work and the stored answer commit together, so two concurrent calls with one key cannot
    both act: the second either waits on the unique (token, key) index, fails, rolls back its own
    work and returns the first call's answer, or waits on the first call's row locks, finds the
    move already made, and returns the first call's answer instead of its own refusal.
    """
    @wraps(run)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is None:
            return run(request, *args, **kwargs)
        try:
            actor = bearer_actor(request)
        except AuthenticationError:
            return run(request, *args, **kwargs)  # answers 401 the usual way
        if not 1 <= len(key) <= 255 or _unstorable(key):
            message = f"{IDEMPOTENCY_HEADER} must be 1 to 255 characters of text."
            return json_response(422, error_body(message, {IDEMPOTENCY_HEADER: message}))
        fingerprints = _fingerprints(request)
        stored = _stored(actor, key)
        if stored is not None:
            return _replay(stored, fingerprints)
        try:
            with transaction.atomic():
                response = run(request, *args, **kwargs)
                if 200 <= response.status_code < 300:
                    IdempotencyRecord.objects.create(
                        tenant_id=actor.tenant_id, token_id=actor.token_id, key=key, fingerprint=fingerprints[0],
                        response_status=response.status_code,
                        response_body=json.loads(response.content) if response.content else None,
                    )
                elif response.status_code >= 500:
                    transaction.set_rollback(True)
        except IntegrityError:
            stored = _stored(actor, key)
            if stored is None:
                raise
            return _replay(stored, fingerprints)
        if 400 <= response.status_code < 500:
            # A retry that ran while the first call held its locks finds the work already done
            # (a 409, say); the first call's answer has committed with that work, so give it back.
            stored = _stored(actor, key)
            if stored is not None:
                return _replay(stored, fingerprints)
        return response

    return wrapper


# What mwms_site/api_errors.py may answer before any handler runs, declared on every operation:
# 400 for a query of too many parameters (or a Content-Length that is no number), and on a POST
# 413 for a body over the upload limit.
BEFORE_ANY_HANDLER = {400: Error}
BEFORE_ANY_POST = {400: Error, 413: Error}


def get(router: Router, path: str, *, response: dict[int, Any], **kwargs: Any) -> Callable:
    """`router.get`, declaring the answers given before any handler runs too."""
    return router.get(path, response={**response, **BEFORE_ANY_HANDLER}, **kwargs)


def post(router: Router, path: str, *, response: dict[int, Any], **kwargs: Any) -> Callable:
    """`router.post`, with the Idempotency-Key header honoured and documented, and the answers
    given before any handler runs declared."""
    def register(view: Callable) -> Callable:
        operation = router.post(path, openapi_extra=copy.deepcopy(IDEMPOTENCY_DOC),
                                response={**response, **BEFORE_ANY_POST}, **kwargs)
        return operation(decorate_view(idempotent)(view))
    return register
