"""Schemathesis against /api/v1/openapi.json: whatever a client sends, no 500, and every answer
(status code, content type, body) is one the OpenAPI document declares.

The WSGI app runs in the test's thread, so it sees the test's database transaction. Path ids are
sometimes swapped for ids that exist (a routed request, a task), so the generated calls reach the
services, not only the 404s.
"""

import re

import pytest
import schemathesis
from django.contrib.staticfiles import finders
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mwms_site.wsgi import application
from tests.api_client import Api, api_as, new_request_body

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
KNOWN: dict[str, list[str]] = {"request_id": [], "task_id": []}


@schema.hook
def flatmap_path_parameters(context, path_parameters: dict | None) -> st.SearchStrategy:
    path_parameters = path_parameters or {}
    swaps = {name: st.sampled_from([value, *KNOWN[name]]) for name, value in path_parameters.items() if KNOWN.get(name)}
    return st.fixed_dictionaries({**{k: st.just(v) for k, v in path_parameters.items()}, **swaps})


def call_and_validate(case, headers: dict[str, str] | None = None):
    """Call the app and run the checks. Schemathesis calls the WSGI app directly, not through
    Django's test client, so Django's per-request connection clean-up would close the connection
    that holds the test's transaction (on PostgreSQL); like the test client, switch it off."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        return case.call_and_validate(headers=headers, checks=CHECKS)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def tokens(db) -> dict[str, str]:
    """A HeadOffice token and a Brain token, and a routed request with a queued task to aim at."""
    head_office, research, affiliate = api_as("headoffice", "headoffice"), api_as("research"), api_as("affiliate")
    request_id = research.post("/requests", new_request_body()).json()["request_id"]
    head_office.post(f"/requests/{request_id}/transition", {"to_status": "routed", "review_owner": "headoffice"})
    task_id = affiliate.post(f"/requests/{request_id}/tasks", {"task_type": "offer_review_task"}).json()["task_id"]
    feedback_id = research.post("/requests", new_request_body(
        destination_brain="headoffice", request_type="mcr_update_suggestion", mcr_update_suggested=True)).json()
    KNOWN["request_id"][:] = [request_id, feedback_id["request_id"]]
    KNOWN["task_id"][:] = [task_id]
    return {"headoffice": head_office.secret, "brain": affiliate.secret}


SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much,
                           HealthCheck.data_too_large],
)


@schema.parametrize()
@SETTINGS
def test_every_answer_to_a_headoffice_token_is_declared_and_none_is_a_500(case, tokens):
    call_and_validate(case, headers={"Authorization": f"Bearer {tokens['headoffice']}"})


@schema.parametrize()
@SETTINGS
def test_every_answer_to_a_brain_token_is_declared_and_none_is_a_500(case, tokens):
    call_and_validate(case, headers={"Authorization": f"Bearer {tokens['brain']}"})


@schema.parametrize()
@settings(SETTINGS, max_examples=5)
def test_every_answer_without_a_token_is_a_declared_401(case, db):
    case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    response = call_and_validate(case)
    assert response.status_code in (401, 405)  # 405: schemathesis also tries methods the path lacks


# --- the document itself -----------------------------------------------------------------------

ERRORS_OF_A_MOVE = {"400", "401", "403", "404", "409", "422"}


def test_the_document_is_served_without_a_token_and_declares_every_endpoint(client):
    document = client.get("/api/v1/openapi.json").json()

    operations = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    assert operations == {
        ("POST", "/api/v1/requests"), ("GET", "/api/v1/requests"), ("GET", "/api/v1/requests/{request_id}"),
        ("GET", "/api/v1/requests/{request_id}/integrity"), ("POST", "/api/v1/requests/{request_id}/assign"),
        ("GET", "/api/v1/requests/export"),
        ("POST", "/api/v1/requests/{request_id}/transition"), ("POST", "/api/v1/requests/{request_id}/tasks"),
        ("POST", "/api/v1/requests/{request_id}/decisions"), ("POST", "/api/v1/requests/{request_id}/classification"),
        ("POST", "/api/v1/requests/{request_id}/mcr-decision"), ("POST", "/api/v1/tasks/claim"),
        ("GET", "/api/v1/tasks/{task_id}"), ("POST", "/api/v1/tasks/{task_id}/transition"),
        ("POST", "/api/v1/tasks/{task_id}/events"), ("POST", "/api/v1/tasks/{task_id}/artifacts"),
        ("POST", "/api/v1/signals"), ("POST", "/api/v1/brain-room/messages"),
        ("GET", "/api/v1/canon"), ("GET", "/api/v1/canon/{slug}"), ("GET", "/api/v1/canon/{slug}/versions"),
        ("GET", "/api/v1/canon/{slug}/versions/{version}"),
        ("POST", "/api/v1/canon/{slug}/amendments/{amendment_id}/rollback"),
    }
    assert document["components"]["securitySchemes"] == {"BearerToken": {"type": "http", "scheme": "bearer"}}


def test_the_browsable_docs_load_their_assets_from_this_site_not_a_cdn(client):
    page = client.get("/api/v1/docs")

    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert "/static/ninja/swagger-ui-bundle.js" in assets
    assert [a for a in assets if "//" in a] == []
    assert finders.find("ninja/swagger-ui-bundle.js")   # collectstatic gathers it for whitenoise


def test_the_document_declares_each_answer_an_endpoint_can_give(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]

    def codes(method: str, path: str) -> set[str]:
        return set(paths[f"/api/v1{path}"][method]["responses"])

    assert codes("post", "/requests") == {"201", "400", "401", "403", "413", "422"}
    assert codes("get", "/requests") == {"200", "400", "401", "422"}
    assert codes("get", "/requests/export") == {"200", "400", "401", "422"}
    assert codes("get", "/requests/{request_id}") == {"200", "400", "401", "404", "422"}
    assert codes("get", "/requests/{request_id}/integrity") == {"200", "400", "401", "404", "422"}
    for path in ("/requests/{request_id}/transition", "/tasks/{task_id}/transition"):
        assert codes("post", path) == {"200", "413"} | ERRORS_OF_A_MOVE
    for path in ("/requests/{request_id}/tasks", "/requests/{request_id}/decisions", "/tasks/{task_id}/events",
                 "/requests/{request_id}/classification", "/requests/{request_id}/mcr-decision",
                 "/tasks/{task_id}/artifacts"):
        assert codes("post", path) == {"201", "413"} | ERRORS_OF_A_MOVE
    assert codes("post", "/tasks/claim") == {"200", "204", "400", "401", "403", "413", "422"}
    assert codes("get", "/canon") == {"200", "400", "401"}
    for path in ("/canon/{slug}", "/canon/{slug}/versions", "/canon/{slug}/versions/{version}"):
        assert codes("get", path) == {"200", "400", "401", "404", "422"}
    assert codes("post", "/canon/{slug}/amendments/{amendment_id}/rollback") == {"201", "413"} | ERRORS_OF_A_MOVE
    error = paths["/api/v1/requests"]["post"]["responses"]["422"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/Error"}


def test_the_export_declares_both_of_its_formats_and_the_list_filters(client):
    document = client.get("/api/v1/openapi.json").json()
    export = document["paths"]["/api/v1/requests/export"]["get"]
    listed = document["paths"]["/api/v1/requests"]["get"]

    content = export["responses"]["200"]["content"]
    assert content["text/csv"]["schema"] == {"type": "string"}
    assert content["application/json"]["schema"]["items"] == {"$ref": "#/components/schemas/RequestOut"}
    names = {p["name"] for p in export["parameters"]}
    assert names == {p["name"] for p in listed["parameters"]} - {"limit", "offset"} | {"format"}


def test_every_post_documents_the_idempotency_key_and_the_transition_fields(client):
    document = client.get("/api/v1/openapi.json").json()

    for path, item in document["paths"].items():
        if "post" in item:
            names = [p["name"] for p in item["post"]["parameters"] if p["in"] == "header"]
            assert names == ["Idempotency-Key"], path
    transition = document["components"]["schemas"]["TransitionIn"]
    assert {"to_status", "move", "expected_version", "review_owner", "outcome_evidence"} <= set(
        transition["properties"])
    assert "held_from_status" in transition["description"]


# --- the answers every operation shares ----------------------------------------------------------

MISSING = "3f1c1b7e-0000-4000-8000-000000000000"
POSTS_WITH_A_BODY = ["/requests", "/signals", "/brain-room/messages", f"/requests/{MISSING}/transition",
                     f"/requests/{MISSING}/tasks", f"/requests/{MISSING}/decisions",
                     f"/requests/{MISSING}/classification", f"/requests/{MISSING}/mcr-decision",
                     f"/tasks/{MISSING}/transition", f"/tasks/{MISSING}/events", f"/tasks/{MISSING}/artifacts",
                     f"/canon/missing/amendments/{MISSING}/rollback"]


@pytest.mark.parametrize("path", [*POSTS_WITH_A_BODY, "/tasks/claim"])
def test_every_post_answers_401_without_a_token(brains, path):
    response = Api(None).post(path, {})

    assert response.status_code == 401
    assert response.json()["detail"]


@pytest.mark.parametrize("path", POSTS_WITH_A_BODY)
def test_every_post_with_a_body_answers_400_to_malformed_json(brains, path):
    response = api_as("headoffice", "headoffice").post(path, raw="{'single': 'quotes'}")

    assert response.status_code == 400
    assert response.json()["detail"].startswith("The body is not valid JSON")


@pytest.mark.parametrize("path", [p for p in POSTS_WITH_A_BODY if MISSING in p])
def test_every_post_on_a_missing_request_or_task_answers_404(brains, path):
    body = {"classification": "approve", "note": "x", "reason": "A reason that is not a placeholder.", "decision": "approved", "reasoning": "x",
            "decision_summary": "x", "task_type": "x", "summary": "x", "artifact_type": "x", "artifact_summary": "x",
            "to_status": "running" if path.startswith("/tasks") else "under_review"}
    fields = {
        "transition": ["to_status"], "tasks": ["task_type"], "decisions": ["decision_summary", "reasoning"],
        "classification": ["classification", "note"], "mcr-decision": ["decision", "reasoning"],
        "events": ["summary"], "artifacts": ["artifact_type", "artifact_summary"], "rollback": ["reason"],
    }[path.rsplit("/", 1)[1]]

    response = api_as("headoffice", "headoffice").post(path, {f: body[f] for f in fields})

    assert response.status_code == 404, response.json()


@pytest.mark.parametrize("path", ["/requests/not-a-uuid", "/tasks/not-a-uuid"])
def test_a_malformed_id_is_422_naming_it(brains, path):
    response = api_as("headoffice", "headoffice").get(path)

    assert response.status_code == 422
    assert set(response.json()["errors"]) & {"request_id", "task_id"}
