"""The canon's field names and free text, as a client written from the seeds would send them
(issue 17, item 7):

- a task event by the canon's column names (seed 000: event_summary, event_payload), the short
  names kept as aliases, the canon's the one the OpenAPI document shows;
- a task's output_mode is the canon's free `text`: any lowercase snake_case word, the four usual
  ones suggested;
- the schema standard's request status `completed` from a direct writer is stored as `closed`.
"""

import uuid

import pytest
from django.db import IntegrityError, connection, transaction

from requests_app.models import BrainRequest, RequestStatus
from tasks_app.models import OutputMode, Task, TaskEvent
from tests.api_client import (  # noqa: F401 - fixtures
    affiliate,
    executor,
    head_office,
    research,
    routed,
)
from tests.db_roles import as_runtime_role
from tests.factories import make_request, request_fields_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def running(affiliate, executor, routed) -> dict:
    task = affiliate.post(f"/requests/{routed['request_id']}/tasks", {"task_type": "offer_review_task"}).json()
    executor.post("/tasks/claim")
    return executor.post(f"/tasks/{task['task_id']}/transition", {"to_status": "running"}).json()


def _events(task: dict) -> int:
    return TaskEvent.objects.filter(task_id=task["task_id"]).count()


# --- POST /tasks/{id}/events: event_summary and event_payload ---------------------------------------

def test_an_event_is_taken_by_the_canon_s_column_names(executor, running):
    response = executor.post(f"/tasks/{running['task_id']}/events",
                             {"event_summary": "Scored 4 of 6 criteria", "event_payload": {"scored": 4}})

    assert response.status_code == 201, response.json()
    assert (response.json()["event_summary"], response.json()["event_payload"]) == ("Scored 4 of 6 criteria",
                                                                                    {"scored": 4})
    event = TaskEvent.objects.get(pk=response.json()["event_id"])
    assert (event.event_type, event.event_summary, event.event_payload) == ("progress", "Scored 4 of 6 criteria",
                                                                            {"scored": 4})


def test_the_short_names_are_still_taken_and_may_come_with_the_canon_s_when_they_agree(executor, running):
    short = executor.post(f"/tasks/{running['task_id']}/events", {"summary": "Scored 4", "payload": {"n": 4}})
    both = executor.post(f"/tasks/{running['task_id']}/events",
                         {"summary": "Scored 5", "event_summary": "Scored 5", "event_payload": {"n": 5}})

    assert (short.status_code, short.json()["event_payload"]) == (201, {"n": 4})
    assert (both.status_code, both.json()["event_summary"]) == (201, "Scored 5")


@pytest.mark.parametrize(("body", "field"), [
    ({"event_summary": "Scored 4 of 6", "summary": "Scored 5 of 6"}, "event_summary"),
    ({"event_summary": "Scored 4 of 6", "event_payload": {"n": 4}, "payload": {"n": 5}}, "event_payload"),
], ids=["summary", "payload"])
def test_both_spellings_with_different_values_are_a_422_naming_the_field(executor, running, body, field):
    events = _events(running)

    response = executor.post(f"/tasks/{running['task_id']}/events", body)

    assert response.status_code == 422
    alias = field.removeprefix("event_")
    assert response.json()["errors"] == {
        field: f"{alias} and {field} are two spellings of one field, sent with different values; send one"}
    assert _events(running) == events


def test_the_openapi_document_shows_the_canon_s_spelling_only(research):
    schemas = research.get("/openapi.json").json()["components"]["schemas"]

    event_in = schemas["TaskEventIn"]
    assert set(event_in["properties"]) == {"event_type", "event_summary", "event_payload"}
    assert event_in["required"] == ["event_summary"]
    assert "`summary` and `payload`" in event_in["description"]


# --- output_mode: any lowercase snake_case word -----------------------------------------------------

def test_a_task_takes_any_snake_case_output_mode(affiliate, routed):
    response = affiliate.post(f"/requests/{routed['request_id']}/tasks",
                              {"task_type": "offer_review_task", "output_mode": "report"})

    assert response.status_code == 201, response.json()
    assert response.json()["output_mode"] == "report"
    assert Task.objects.get().output_mode == "report"


@pytest.mark.parametrize("mode", ["Report", "e-mail", "", "2nd_pass", "x" * 65])
def test_an_output_mode_that_is_no_snake_case_word_is_a_422(affiliate, routed, mode):
    response = affiliate.post(f"/requests/{routed['request_id']}/tasks",
                              {"task_type": "offer_review_task", "output_mode": mode})

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["output_mode"]
    assert not Task.objects.exists()


def test_the_openapi_document_suggests_the_four_usual_output_modes(research):
    mode = research.get("/openapi.json").json()["components"]["schemas"]["TaskIn"]["properties"]["output_mode"]

    assert (mode["type"], mode["pattern"], mode["maxLength"], mode["default"]) == (
        "string", "^[a-z][a-z0-9_]*$", 64, "artifact")
    assert all(word in mode["description"] for word in OutputMode.values)
    assert "enum" not in mode


# --- `completed` from a direct writer is `closed` ---------------------------------------------------

OUTCOME_COLUMNS = ("outcome_type", "result_summary", "outcome_decision", "next_step", "next_step_owner",
                   "head_office_review_required")


def _runtime_role_if_two() -> None:
    """On PostgreSQL with two roles (as CI runs), the statements below are the runtime role's,
    under row-level security with the demo tenant's claim (tests/conftest.py sets it)."""
    if as_runtime_role():
        with connection.cursor() as cursor:
            cursor.execute("SELECT rolsuper, rolbypassrls, current_setting('request.jwt.claims', true) "
                           "FROM pg_roles WHERE rolname = current_user")
            superuser, bypass, claim = cursor.fetchone()
        assert (superuser, bypass) == (False, False) and "tenant_id" in claim


def _insert_finished(status: str, **outcome) -> uuid.UUID:
    fields = {k: v for k, v in request_fields_for(RequestStatus.CLOSED).items() if k in OUTCOME_COLUMNS}
    fields.update(outcome)
    request_id = uuid.uuid4()
    columns = ["id", "requesting_authority", "requesting_brain", "target_brain", "request_summary", "required_output",
               "operating_layer", "priority", "request_type", "request_title", "status", *fields]
    values = [request_id.hex, "research", "research", "affiliate", "Is the Voltcamp 900 offer worth a capped test?",
              "A go/no-go recommendation", "operational", "high", "offer_review_request",
              "Review the Voltcamp 900 offer", status, *fields.values()]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO mwms_brain_requests ({', '.join(columns)}, closed_at) "
                       f"VALUES ({', '.join(['%s'] * len(values))}, CURRENT_TIMESTAMP)", values)
    return request_id


def _stored(request_id: uuid.UUID) -> dict:
    return BrainRequest.objects.filter(pk=request_id).values().get()


def test_a_direct_writer_s_insert_with_completed_is_stored_as_closed():
    _runtime_role_if_two()

    request_id = _insert_finished("completed")

    row = _stored(request_id)
    assert row["status"] == RequestStatus.CLOSED
    twin = _stored(_insert_finished("closed"))
    ignore = {"id", "created_at", "updated_at", "closed_at", "status_entered_at"}
    assert {k: v for k, v in row.items() if k not in ignore} == {k: v for k, v in twin.items() if k not in ignore}


def test_completed_without_the_complete_outcome_is_refused_like_closed():
    _runtime_role_if_two()

    with pytest.raises(IntegrityError) as refused:
        _insert_finished("completed", next_step="")

    assert "mwms_brain_requests_final_has_complete_outcome" in str(refused.value)
    assert not BrainRequest.objects.exists()


def test_a_direct_writer_s_update_to_completed_ends_exactly_like_one_to_closed():
    _runtime_role_if_two()
    completed, closed = (make_request(**request_fields_for(RequestStatus.RESPONDED), status=RequestStatus.RESPONDED)
                         for _ in range(2))
    outcome = {k: v for k, v in request_fields_for(RequestStatus.CLOSED).items() if k in OUTCOME_COLUMNS}
    assignments = ", ".join(f"{column} = %s" for column in outcome)

    for request, status in ((completed, "completed"), (closed, "closed")):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"UPDATE mwms_brain_requests SET status = %s, {assignments}, closed_at = CURRENT_TIMESTAMP "
                           f"WHERE id = %s", [status, *outcome.values(), request.pk.hex])

    ignore = {"id", "created_at", "updated_at", "closed_at", "status_entered_at", "request_title"}
    after_completed, after_closed = _stored(completed.pk), _stored(closed.pk)
    assert after_completed["status"] == RequestStatus.CLOSED
    assert {k: v for k, v in after_completed.items() if k not in ignore} == \
        {k: v for k, v in after_closed.items() if k not in ignore}


def test_no_row_ever_holds_completed():
    _insert_finished("completed")
    request = make_request(**request_fields_for(RequestStatus.RESPONDED), status=RequestStatus.RESPONDED)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE mwms_brain_requests SET status = 'completed', outcome_type = 'decision_recorded', "
                       "result_summary = 'Scored 8 of 10.', outcome_decision = 'Go for a capped test.', "
                       "next_step = 'Design the test.', next_step_owner = 'experimentation', "
                       "head_office_review_required = %s, closed_at = CURRENT_TIMESTAMP WHERE id = %s",
                       [False, request.pk.hex])

        cursor.execute("SELECT count(*) FROM mwms_brain_requests WHERE status = 'completed'")
        assert cursor.fetchone() == (0,)
