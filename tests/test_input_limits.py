"""Input limits (issue 17, item 6): a 1,000,000-character title and a 2.4 MB summary were accepted,
and a NUL in a note posted from the drill-down answered 500 on PostgreSQL.

Every free-text column now has a maximum (governance_app/kernel/limits.py) that the database
enforces (tests/test_check_constraints.py tries each one), and every way in refuses an overlong
value, an oversized JSON payload or a NUL first, with a message naming the field and nothing
written: the API with a 422, the pages with a form error, the services with a DomainError.
"""

import json
from typing import Any

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, models, transaction
from django.urls import reverse

from governance_app.kernel import limits
from governance_app.kernel.admin import brain_relations
from governance_app.kernel.db import limit_violated
from governance_app.kernel.errors import DomainError
from requests_app import services as rs
from requests_app.models import BrainRequest, RequestEvent, RequestEventType
from tasks_app.models import Task, TaskEvent
from tests.admin_pages import admin_url, change_form_data
from tests.api_client import (  # noqa: F401 - fixtures
    affiliate,
    created,
    executor,
    head_office,
    integration,
    moved,
    new_request_body,
    research,
    routed,
)
from tests.engine import actor, new_request
from tests.factories import make_request

pytestmark = pytest.mark.django_db


def _project_models() -> list[type[models.Model]]:
    return [m for m in apps.get_models() if "site-packages" not in m._meta.app_config.path]


# --- one list of limits, and the models take theirs from it --------------------------------------

def test_every_free_text_column_has_the_limit_the_list_gives_it():
    # Free text: a text column that is neither a Brain reference (a foreign key) nor a choice.
    # output_mode is a word with a CHECK of its own (tests/test_check_constraints.py).
    found: dict[str, dict[str, int | None]] = {}
    for model in _project_models():
        brains = set(brain_relations(model))
        for field in model._meta.concrete_fields:
            if isinstance(field, models.TextField) and not field.choices and field.attname not in brains \
                    and field.name != "output_mode":
                found.setdefault(model._meta.db_table, {})[field.column] = field.max_length

    assert found == limits.TEXT_COLUMNS


def test_every_json_column_but_the_stored_answers_has_a_size_limit():
    found = {(model._meta.db_table, field.column) for model in _project_models()
             for field in model._meta.concrete_fields if isinstance(field, models.JSONField)}

    listed = {(table, column) for table, columns in limits.JSON_COLUMNS.items() for column in columns}
    assert found - listed == {("mwms_idempotency_keys", "response_body")}  # the app's own answer
    assert listed <= found


def test_the_database_names_the_column_whose_limit_a_direct_writer_passed():
    # What the API answers with should a value still reach the database too long: a 422 naming it.
    request = make_request()
    with pytest.raises(IntegrityError) as refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE mwms_brain_requests SET request_title = %s WHERE id = %s", ["x" * 301, request.pk.hex])

    assert limit_violated(refused.value) == "request_title"
    assert BrainRequest.objects.get().request_title == request.request_title


# --- the API: a 422 that names the field --------------------------------------------------------

def test_a_million_character_title_is_a_422_naming_the_field_and_creates_nothing(research):
    response = research.post("/requests", new_request_body(request_title="x" * 1_000_000))

    assert response.status_code == 422
    assert response.json() == {"detail": "request_title: at most 300 characters.",
                               "errors": {"request_title": "at most 300 characters"}}
    assert not BrainRequest.objects.exists() and not RequestEvent.objects.exists()


def test_a_summary_of_two_point_four_megabytes_is_a_422_naming_the_field(research):
    response = research.post("/requests", new_request_body(request_summary="Demand rose. " * 184_616))

    assert response.status_code == 422
    assert response.json()["errors"] == {"request_summary": "at most 20,000 characters"}
    assert not BrainRequest.objects.exists()


def _request_body_strings(document: dict) -> list[tuple[str, str, dict]]:
    """(operation, property, schema) for every string an input body of the OpenAPI document takes."""
    schemas = document["components"]["schemas"]

    def resolve(schema: dict) -> dict:
        while "$ref" in schema:
            schema = schemas[schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def strings(schema: dict, where: str, seen: frozenset) -> list[tuple[str, dict]]:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[1]
            return [] if name in seen else strings(schemas[name], where, seen | {name})
        found = []
        for variant in schema.get("anyOf", []) + schema.get("allOf", []):
            found += strings(variant, where, seen)
        if schema.get("type") == "string":
            found.append((where, schema))
        if "items" in schema:
            found += strings(schema["items"], f"{where}[]", seen)
        for name, prop in schema.get("properties", {}).items():
            found += strings(prop, name, seen)
        return found

    out = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body:
                out += [(f"{method.upper()} {path}", where, schema)
                        for where, schema in strings(resolve(body), "body", frozenset())]
    return out


def test_every_text_an_input_body_takes_has_a_maximum_in_the_openapi_document(research):
    document = research.get("/openapi.json").json()
    strings = _request_body_strings(document)
    assert len(strings) > 60, "the walk over the input schemas found too little"

    unbounded = [(operation, where) for operation, where, schema in strings
                 if "maxLength" not in schema and "enum" not in schema and "format" not in schema]

    assert unbounded == []


@pytest.mark.parametrize(("field", "limit"), [
    ("request_title", 300), ("request_summary", 20_000), ("required_output", 20_000), ("intake_id", 200),
    ("offer_id", 200), ("experiment_id", 200), ("source_origin", 200), ("source_page", 2_000),
    ("source_system", 200), ("note", 20_000),
])
def test_each_text_of_a_new_request_is_refused_one_character_over_its_limit(research, field, limit):
    response = research.post("/requests", new_request_body(**{field: "x" * (limit + 1)}))

    assert response.status_code == 422
    assert response.json()["errors"] == {field: f"at most {limit:,} characters"}
    assert not BrainRequest.objects.exists()


def test_a_json_payload_over_its_size_is_a_422_naming_the_field(research):
    response = research.post("/requests", new_request_body(meta_json={"blob": "x" * limits.JSON}))

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["meta_json"]
    assert "at most 100,000 characters as JSON" in response.json()["detail"]
    assert not BrainRequest.objects.exists()


def test_a_nul_in_an_event_is_a_422_naming_the_field(executor, affiliate, routed):
    task = affiliate.post(f"/requests/{routed['request_id']}/tasks", {"task_type": "offer_review_task"}).json()
    executor.post("/tasks/claim")
    executor.post(f"/tasks/{task['task_id']}/transition", {"to_status": "running"})
    events = TaskEvent.objects.count()

    response = executor.post(f"/tasks/{task['task_id']}/events", {"event_summary": "Scored \x00 four"})

    assert response.status_code == 422
    assert response.json()["errors"] == {"event_summary": "must not contain the NUL character (\\u0000)"}
    assert TaskEvent.objects.count() == events


def test_a_brain_room_message_too_large_to_keep_names_its_source_context(integration, brains):
    # The request keeps the message (instruction and context) in its meta_json: both within their
    # own limits, together over meta_json's.
    response = integration.post("/brain-room/messages", {
        "requested_brain": "content", "user_instruction": "Draft three headlines for the spring sale page.",
        "source_context": {"page": "x" * (limits.JSON - 200)},
    })

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["source_context"]
    assert "source_context: at most 100,000 characters as JSON" in response.json()["detail"]
    assert not BrainRequest.objects.exists()


def test_a_result_that_would_take_a_task_s_notes_over_their_limit_is_refused(affiliate, executor, routed):
    task = affiliate.post(f"/requests/{routed['request_id']}/tasks", {
        "task_type": "offer_review_task", "execution_notes": "Check the refund terms. " * 800}).json()
    executor.post("/tasks/claim")
    executor.post(f"/tasks/{task['task_id']}/transition", {"to_status": "running"})

    response = executor.post(f"/tasks/{task['task_id']}/transition", {
        "to_status": "completed", "result_summary": "The offer scores 8 of 10 on the rubric. " * 100})

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["result_summary"]
    assert Task.objects.get().status == "running"


# --- the services: a refusal naming the field, for every caller (commands, admin, pages) ---------

def test_the_service_refuses_an_overlong_title_naming_the_field(owner):
    with pytest.raises(DomainError) as refused:
        rs.request_create(actor=actor(owner), destination_brain="affiliate", request_type="offer_review_request",
                          request_title="x" * 301, request_summary="Search demand rose 40% in four weeks.")

    assert refused.value.errors == {"request_title": "request_title: at most 300 characters (this has 301)."}
    assert not BrainRequest.objects.exists()


def test_the_service_refuses_a_nul_in_a_note(owner):
    request = new_request(actor(owner))

    with pytest.raises(DomainError) as refused:
        rs.request_note_add(request=request, actor=actor(owner), note="Checked \x00 twice")

    assert refused.value.field == "note" and "NUL" in refused.value.message
    assert not RequestEvent.objects.filter(event_type=RequestEventType.NOTE).exists()


# --- the pages: a form error, never a 500 --------------------------------------------------------

def _signed_in(client, user):
    client.force_login(user)
    return client


def _notes(request: BrainRequest) -> list[str]:
    return list(RequestEvent.objects.filter(request=request, event_type=RequestEventType.NOTE)
                .values_list("note", flat=True))


@pytest.mark.parametrize(("note", "error"), [
    ("Checked the refund terms\x00 twice.", "Null characters are not allowed."),
    ("x" * 20_001, "Ensure this value has at most 20000 characters (it has 20001)."),
], ids=["nul", "too-long"])
def test_a_note_the_database_cannot_store_is_a_form_error_on_the_drill_down(client, owner, note, error):
    # On PostgreSQL a NUL used to reach psycopg, which refuses it: a 500.
    request = new_request(actor(owner))

    page = _signed_in(client, owner).post(reverse("requests:note", args=[request.pk]), {"note": note})

    assert page.status_code == 200
    assert page.context["note_form"].errors == {"note": [error]}
    assert '<ul class="field-error"><li>' in page.text and "The note was not added" in page.text
    assert _notes(request) == []


def test_a_note_from_the_drill_down_is_added(client, owner):
    request = new_request(actor(owner))

    page = _signed_in(client, owner).post(reverse("requests:note", args=[request.pk]),
                                          {"note": "Checked the refund terms twice."})

    assert page.status_code == 302 and page["Location"] == reverse("requests:detail", args=[request.pk])
    assert _notes(request) == ["Checked the refund terms twice."]


def test_an_overlong_title_on_the_create_page_is_a_form_error(client, owner):
    page = _signed_in(client, owner).post(reverse("requests:create"), {
        "origin_brain": "research", "destination_brain": "affiliate", "request_type": "offer_review_request",
        "priority": "high", "request_title": "x" * 1_000_000, "operating_layer": "operational",
        "request_summary": "Search demand for collagen gummies rose 40% in four weeks."})

    assert page.status_code == 200
    assert page.context["form"].errors == {
        "request_title": ["Ensure this value has at most 300 characters (it has 1000000)."]}
    assert 'maxlength="300"' in page.text  # the browser stops typing there, too
    assert not BrainRequest.objects.exists()


def test_every_text_input_of_every_move_has_a_maximum():
    from requests_app.forms import MoveForm
    from requests_app.transitions import MOVES

    unbounded = [(move.name, name) for move in MOVES for name, field in MoveForm(move=move, brains=[]).fields.items()
                 if field.__class__.__name__ == "CharField" and field.max_length is None]

    assert unbounded == []


@pytest.mark.parametrize(("meta_json", "error"), [
    ({"note": "bad \x00 byte"}, "The JSON must not contain the NUL character"),
    ({"blob": "x" * limits.JSON}, "The JSON must be at most 100,000 characters as JSON"),
], ids=["nul", "too-large"])
def test_an_admin_json_input_the_database_cannot_store_is_a_form_error(admin_client, owner, meta_json, error):
    # The admin's JSON inputs are text too: PostgreSQL's jsonb takes no \u0000.
    request = new_request(actor(owner))
    url = admin_url(BrainRequest, "change", request.pk)
    data: dict[str, Any] = change_form_data(admin_client.get(url))

    page = admin_client.post(url, {**data, "meta_json": json.dumps(meta_json)})

    assert page.status_code == 200
    assert error in page.text
    assert BrainRequest.objects.get().meta_json == request.meta_json
