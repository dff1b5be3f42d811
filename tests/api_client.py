"""A JSON API client for tests: a bearer token issued the way `issue_token` issues one, and the
Django test client with that token on every call. Nothing here calls a service the API would."""

import json
import uuid
from typing import Any

import pytest
from django.test import Client

from governance_app.kernel.db import DEFAULT_TENANT_ID
from governance_app.kernel.tokens import api_token_issue
from governance_app.models import TokenRole

BASE = "/api/v1"


class Api:
    """Calls /api/v1/... as one token (or as nobody, with secret=None)."""

    def __init__(self, secret: str | None, *, label: str = "anonymous") -> None:
        self.secret = secret
        self.label = label
        self.client = Client()

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.secret}"} if self.secret else {}
        return {**headers, **(extra or {})}

    def get(self, path: str, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None):
        return self.client.get(BASE + path, params or {}, headers=self._headers(headers))

    def post(self, path: str, body: Any = None, *, raw: bytes | str | None = None, key: str | None = None,
             headers: dict[str, str] | None = None):
        extra = {**(headers or {}), **({"Idempotency-Key": key} if key else {})}
        content = raw if raw is not None else ("" if body is None else json.dumps(body))
        return self.client.post(BASE + path, content, content_type="application/json", headers=self._headers(extra))

    def __repr__(self) -> str:
        return f"<Api {self.label}>"


def api_as(brain: str, role: str = TokenRole.BRAIN, label: str | None = None, *,
           tenant_id: uuid.UUID = DEFAULT_TENANT_ID) -> Api:
    """A client holding a fresh token of this Brain (of the demo tenant unless told) and role."""
    label = label or f"{brain}-{role}"
    _token, secret = api_token_issue(tenant_id=tenant_id, brain=brain, role=role, label=label)
    return Api(secret, label=label)


def new_request_body(**overrides: Any) -> dict[str, Any]:
    """A valid POST /requests body from Research to Affiliate (protocol flow example 1)."""
    return {
        "destination_brain": "affiliate",
        "request_type": "offer_review_request",
        "request_title": "Review offer: collagen gummies",
        "request_summary": "Search demand for collagen gummies rose 40% in four weeks; review the offer.",
        "source_origin": "research_signal",
        "priority": "high",
        **overrides,
    }


OUTCOME = {
    "outcome_type": "recommendation_delivered",
    "result_summary": "Offer reviewed against the research signal; conversion evidence is strong.",
    "outcome_decision": "Proceed to a controlled test with a capped budget.",
    "outcome_evidence": ["https://wiki.example.org/affiliate/research-dossier-2026-11-01"],
    "next_step": "Experimentation Brain designs the test structure.",
    "next_step_owner": "experimentation",
    "head_office_review_required": False,
}


def created(api: Api, **overrides: Any) -> dict[str, Any]:
    """POST /requests and return the new request (asserting the 201)."""
    response = api.post("/requests", new_request_body(**overrides))
    assert response.status_code == 201, response.json()
    return response.json()


def moved(api: Api, request_id: str, **body: Any) -> dict[str, Any]:
    """POST /requests/{id}/transition and return the request's new state (asserting the 200)."""
    response = api.post(f"/requests/{request_id}/transition", body)
    assert response.status_code == 200, response.json()
    return response.json()


# --- the cast, as API clients (import the fixtures a test module uses) -------------------------

@pytest.fixture
def head_office(brains) -> Api:
    """A headoffice token: what a HeadOffice reviewer may do."""
    return api_as("headoffice", TokenRole.HEADOFFICE)


@pytest.fixture
def research(brains) -> Api:
    """A brain token of the Research Brain: what its owner may do."""
    return api_as("research")


@pytest.fixture
def affiliate(brains) -> Api:
    """A brain token of the Affiliate Brain."""
    return api_as("affiliate")


@pytest.fixture
def content(brains) -> Api:
    """A brain token of the Content Brain, which takes part in none of the fixtures' requests."""
    return api_as("content")


@pytest.fixture
def executor(brains) -> Api:
    """An executor token of the Affiliate Brain."""
    return api_as("affiliate", TokenRole.EXECUTOR)


@pytest.fixture
def integration(brains) -> Api:
    """An integration token (plugin, Brain Room, signal source) of the Research Brain."""
    return api_as("research", TokenRole.INTEGRATION)


@pytest.fixture
def routed(research, head_office) -> dict[str, Any]:
    """A request from Research to Affiliate, routed by HeadOffice."""
    request = created(research)
    return moved(head_office, request["request_id"], to_status="routed", review_owner="headoffice")
