"""The tasks API: creating tasks under routed requests, and the executor's loop (claim, start,
progress, artifacts, complete or fail) with the answers it gets when it oversteps."""

import pytest

from governance_app.models import TokenRole
from requests_app.models import BrainRequest
from tasks_app.models import Task, TaskArtifact, TaskEvent
from tests.api_client import (  # noqa: F401 - fixtures
    OUTCOME,
    Api,
    affiliate,
    api_as,
    content,
    created,
    executor,
    head_office,
    integration,
    moved,
    research,
    routed,
)

pytestmark = pytest.mark.django_db


def make_task(api: Api, request_id: str, **body) -> dict:
    response = api.post(f"/requests/{request_id}/tasks", {"task_type": "offer_review_task", **body})
    assert response.status_code == 201, response.json()
    return response.json()


def task_move(api: Api, task_id: str, **body):
    return api.post(f"/tasks/{task_id}/transition", body)


@pytest.fixture
def queued(affiliate, routed) -> dict:
    """A queued task of the Affiliate Brain under a routed request."""
    return make_task(affiliate, routed["request_id"], title="Score the offer", input_payload={"offer": 881})


@pytest.fixture
def running(executor, queued) -> dict:
    """The queued task, claimed and started by the Affiliate executor."""
    assert executor.post("/tasks/claim").status_code == 200
    return task_move(executor, queued["task_id"], to_status="running").json()


# --- POST /requests/{request_id}/tasks -----------------------------------------------------------

def test_a_brain_working_a_routed_request_creates_a_task(affiliate, routed):
    response = affiliate.post(f"/requests/{routed['request_id']}/tasks", {
        "task_type": "offer_review_task", "title": "Score the offer", "input_payload": {"offer": 881},
        "risk_level": "medium", "max_attempts": 2})

    assert response.status_code == 201
    body = response.json()
    task = Task.objects.get()
    assert body["task_id"] == str(task.pk) and body["request_id"] == routed["request_id"]
    assert (body["task_status"], body["assigned_brain"], body["priority"], body["max_attempts"]) == (
        "queued", "affiliate", "high", 2)
    assert affiliate.get(f"/requests/{routed['request_id']}").json()["related_task_ids"] == [body["task_id"]]


def test_no_task_before_routing(research, affiliate):
    request = created(research)

    response = affiliate.post(f"/requests/{request['request_id']}/tasks", {"task_type": "offer_review_task"})

    assert response.status_code == 409
    assert "routed" in response.json()["detail"]
    assert Task.objects.count() == 0


def test_the_origin_brain_may_not_create_tasks_for_the_destination(research, routed):
    response = research.post(f"/requests/{routed['request_id']}/tasks", {"task_type": "offer_review_task"})

    assert response.status_code == 403


def test_an_executor_creates_no_tasks(routed):
    response = api_as("affiliate", TokenRole.EXECUTOR).post(
        f"/requests/{routed['request_id']}/tasks", {"task_type": "offer_review_task"})

    assert response.status_code == 403


def test_an_integration_creates_no_tasks_even_under_its_own_request(integration, head_office):
    request = created(integration)
    moved(head_office, request["request_id"], to_status="routed", review_owner="headoffice")

    response = integration.post(f"/requests/{request['request_id']}/tasks", {"task_type": "offer_review_task"})

    assert response.status_code == 403
    assert Task.objects.count() == 0


def test_a_task_under_a_request_the_caller_cannot_see_is_404(content, routed):
    response = content.post(f"/requests/{routed['request_id']}/tasks", {"task_type": "offer_review_task"})

    assert response.status_code == 404


@pytest.mark.parametrize(("body", "field"), [
    ({"task_type": "offer_review_task", "assigned_brain": "finance"}, "assigned_brain"),
    ({"task_type": "  "}, "task_type"),
    ({"task_type": "offer_review_task", "max_attempts": 50}, "max_attempts"),
    ({"task_type": "offer_review_task", "risk_level": "extreme"}, "risk_level"),
    ({}, "task_type"),
])
def test_a_bad_task_field_is_422_naming_it(affiliate, routed, body, field):
    response = affiliate.post(f"/requests/{routed['request_id']}/tasks", body)

    assert response.status_code == 422
    assert field in response.json()["errors"]


# --- POST /tasks/claim -----------------------------------------------------------------------

def test_an_executor_claims_the_next_task_then_gets_204(executor, queued):
    first = executor.post("/tasks/claim")
    second = executor.post("/tasks/claim")

    assert first.status_code == 200
    assert (first.json()["task_id"], first.json()["task_status"], first.json()["attempts"]) == (
        queued["task_id"], "picked_up", 1)
    assert first.json()["input_payload"] == {"offer": 881}
    assert (second.status_code, second.content) == (204, b"")


def test_an_executor_claims_only_its_own_brains_tasks(queued, brains):
    other = api_as("finance", TokenRole.EXECUTOR)

    assert other.post("/tasks/claim").status_code == 204
    assert Task.objects.get().status == "queued"


def test_the_urgent_task_is_claimed_first(affiliate, executor, routed):
    make_task(affiliate, routed["request_id"], priority="low")
    urgent = make_task(affiliate, routed["request_id"], priority="urgent")

    assert executor.post("/tasks/claim").json()["task_id"] == urgent["task_id"]


def test_a_retried_claim_with_the_same_key_gets_the_same_task(affiliate, executor, routed):
    first = make_task(affiliate, routed["request_id"])
    make_task(affiliate, routed["request_id"])

    answers = [executor.post("/tasks/claim", key="claim-1").json()["task_id"] for _ in range(2)]

    assert answers == [first["task_id"], first["task_id"]]
    assert Task.objects.filter(status="picked_up").count() == 1


def test_a_claim_with_an_unusable_idempotency_key_is_422(executor, queued):
    assert executor.post("/tasks/claim", key="k" * 300).status_code == 422
    assert Task.objects.get().status == "queued"


def test_an_integration_claims_nothing(queued, integration, brains):
    integration_of_affiliate = api_as("affiliate", TokenRole.INTEGRATION)

    assert integration_of_affiliate.post("/tasks/claim").status_code == 403


# --- POST /tasks/{task_id}/transition ------------------------------------------------------------

def test_an_executor_claiming_another_brains_task_is_refused_and_the_attempt_recorded(queued, brains):
    intruder = api_as("finance", TokenRole.EXECUTOR, label="finance-executor")

    response = task_move(intruder, queued["task_id"], to_status="picked_up")

    assert response.status_code == 404  # as a task that does not exist (issue 17)
    assert Task.objects.get().status == "queued"
    violation = TaskEvent.objects.get(task_id=queued["task_id"], event_type="rule_violation")
    assert violation.actor == "token:finance-executor"


def test_an_executor_acting_on_another_brains_task_is_refused_whatever_its_status(running, brains):
    """Who may act comes before when: the intruder learns nothing of the status (nor that the task
    exists), and each move it attempted stays on the task's timeline."""
    intruder = api_as("finance", TokenRole.EXECUTOR, label="finance-executor")

    answers = [task_move(intruder, running["task_id"], to_status="picked_up"),
               task_move(intruder, running["task_id"], to_status="completed", result_summary="Scored it, 8/10."),
               intruder.post(f"/tasks/{running['task_id']}/events", {"summary": "Taking this over"})]

    assert [a.status_code for a in answers] == [404, 404, 404]
    assert all("running" not in a.json()["detail"] for a in answers)
    assert Task.objects.get().status == "running"
    assert TaskEvent.objects.filter(task_id=running["task_id"], event_type="rule_violation").count() == 3


def test_the_executor_loop_start_progress_artifact_complete(executor, running, affiliate):
    task_id = running["task_id"]
    assert running["task_status"] == "running"

    progress = executor.post(f"/tasks/{task_id}/events", {"summary": "Scored 4 of 6 criteria", "payload": {"n": 4}})
    warning = executor.post(f"/tasks/{task_id}/events", {"event_type": "warning",
                                                         "summary": "Supplier page is slow to load"})
    artifact = executor.post(f"/tasks/{task_id}/artifacts", {
        "artifact_type": "verdict", "artifact_summary": "Offer scorecard: 8/10", "content_json": {"score": 8}})
    completed = task_move(executor, task_id, to_status="completed", evidence_links=["https://example.com/sheet"])

    assert (progress.status_code, progress.json()["event_type"]) == (201, "progress")
    assert (warning.status_code, warning.json()["event_type"]) == (201, "warning")
    assert artifact.status_code == 201 and artifact.json()["content_hash"]
    assert completed.status_code == 200
    assert (completed.json()["task_status"], completed.json()["result_id"]) == (
        "completed", artifact.json()["artifact_id"])
    detail = affiliate.get(f"/tasks/{task_id}").json()
    assert [e["event_type"] for e in detail["events"]] == [
        "created", "picked_up", "started", "progress", "warning", "output_saved", "completed"]
    assert [a["artifact_id"] for a in detail["artifacts"]] == [artifact.json()["artifact_id"]]


def test_completing_without_an_artifact_needs_a_real_result_summary(executor, running):
    response = task_move(executor, running["task_id"], to_status="completed", result_summary="done")

    assert response.status_code == 422
    assert "result_summary" in response.json()["errors"]


def test_a_failure_needs_the_error_and_queues_the_task_again(executor, running):
    missing = task_move(executor, running["task_id"], to_status="failed")
    failed = task_move(executor, running["task_id"], to_status="failed", error="Supplier site returned HTTP 503")

    assert missing.status_code == 422 and "error" in missing.json()["errors"]
    assert failed.status_code == 200
    assert (failed.json()["task_status"], failed.json()["last_error"]) == ("queued", "Supplier site returned HTTP 503")


def test_a_move_from_the_wrong_status_is_409(executor, queued):
    response = task_move(executor, queued["task_id"], to_status="completed", result_summary="Scored it fully, 8/10.")

    assert response.status_code == 409


def test_the_working_brain_cancels_with_a_reason(affiliate, queued):
    response = task_move(affiliate, queued["task_id"], to_status="cancelled",
                         reason="The offer was withdrawn by the supplier.")

    assert (response.status_code, response.json()["task_status"]) == (200, "cancelled")


def test_an_executor_may_not_cancel(executor, queued):
    response = task_move(executor, queued["task_id"], to_status="cancelled",
                         reason="The offer was withdrawn by the supplier.")

    assert response.status_code == 403
    assert TaskEvent.objects.filter(task_id=queued["task_id"], event_type="rule_violation").count() == 1


def test_escalating_a_task_escalates_its_request_on_the_same_lineage(executor, running):
    response = task_move(executor, running["task_id"], to_status="escalated",
                         reason="The offer makes medical claims we cannot verify.")

    assert (response.status_code, response.json()["task_status"]) == (200, "escalated")
    request = BrainRequest.objects.get()
    assert (request.status, request.escalation_owner_id) == ("escalated", "headoffice")


def test_a_task_that_does_not_exist_is_404(executor, brains):
    assert task_move(executor, "3f1c1b7e-0000-4000-8000-000000000000", to_status="running").status_code == 404


def test_an_unknown_task_status_is_422(executor, queued):
    response = task_move(executor, queued["task_id"], to_status="done")

    assert response.status_code == 422
    assert "to_status" in response.json()["errors"]


# --- events and artifacts --------------------------------------------------------------------

def test_progress_on_a_task_not_running_is_409(executor, queued):
    response = executor.post(f"/tasks/{queued['task_id']}/events", {"summary": "Starting soon"})

    assert response.status_code == 409


def test_the_origin_brain_may_see_but_not_report_on_or_save_output_to_a_task(running, research):
    event = research.post(f"/tasks/{running['task_id']}/events", {"summary": "Looks fine to us"})
    artifact = research.post(f"/tasks/{running['task_id']}/artifacts", {"artifact_type": "note",
                                                                        "artifact_summary": "Our view"})

    assert (event.status_code, artifact.status_code) == (403, 403)
    assert TaskArtifact.objects.count() == 0


def test_a_task_the_caller_cannot_see_is_404_to_every_write_whatever_its_status(running, content):
    """Content takes no part in the request: its answers must not tell the task exists, nor its status."""
    task_id = running["task_id"]
    answers = [
        content.post(f"/tasks/{task_id}/transition", {"to_status": "picked_up"}),
        content.post(f"/tasks/{task_id}/transition", {"to_status": "completed",
                                                     "result_summary": "Scored it fully, 8/10."}),
        content.post(f"/tasks/{task_id}/events", {"summary": "Looks fine to us"}),
        content.post(f"/tasks/{task_id}/artifacts", {"artifact_type": "note", "artifact_summary": "Our view"}),
    ]

    assert [a.status_code for a in answers] == [404] * 4
    assert {a.json()["detail"] for a in answers} == {"No task with that id that you can see."}
    assert TaskArtifact.objects.count() == 0 and TaskEvent.objects.filter(task_id=task_id).count() == 3
    assert Task.objects.get().status == "running"


def test_task_json_nested_too_deep_is_422_naming_the_field(affiliate, executor, running, routed):
    deep: dict = {}
    for _ in range(40):
        deep = {"a": deep}

    answers = {
        "input_payload": affiliate.post(f"/requests/{routed['request_id']}/tasks",
                                        {"task_type": "offer_review_task", "input_payload": deep}),
        "event_payload": executor.post(f"/tasks/{running['task_id']}/events",
                                       {"event_summary": "Scored", "event_payload": deep}),
        "content_json": executor.post(f"/tasks/{running['task_id']}/artifacts", {
            "artifact_type": "verdict", "artifact_summary": "Offer scorecard: 8/10", "content_json": deep}),
    }

    assert {field: (r.status_code, list(r.json()["errors"])) for field, r in answers.items()} == {
        field: (422, [field]) for field in answers}
    assert (Task.objects.count(), TaskArtifact.objects.count()) == (1, 0)
    assert affiliate.get(f"/tasks/{running['task_id']}").status_code == 200


def test_a_completed_tasks_result_stays_and_a_closed_requests_tasks_take_no_output(executor, running, head_office,
                                                                                     routed):
    task_id = running["task_id"]
    first = executor.post(f"/tasks/{task_id}/artifacts", {"artifact_type": "verdict",
                                                         "artifact_summary": "Offer scorecard: 8/10"}).json()
    assert task_move(executor, task_id, to_status="completed").status_code == 200
    artifact = {"artifact_type": "verdict", "artifact_summary": "A better scorecard: 9/10"}

    replacing = executor.post(f"/tasks/{task_id}/artifacts", {**artifact, "as_result": True})
    beside = executor.post(f"/tasks/{task_id}/artifacts", artifact)
    assert head_office.post(f"/requests/{routed['request_id']}/transition",
                            {"to_status": "closed", **OUTCOME}).status_code == 200
    after_closing = executor.post(f"/tasks/{task_id}/artifacts", {**artifact, "artifact_summary": "Late notes"})

    assert (replacing.status_code, list(replacing.json()["errors"])) == (409, ["as_result"])
    assert beside.status_code == 201
    assert after_closing.status_code == 409 and "closed" in after_closing.json()["detail"]
    assert str(Task.objects.get().result_id) == first["artifact_id"]
    assert TaskArtifact.objects.count() == 2


def test_an_event_needs_its_summary_and_a_known_type(executor, running):
    missing = executor.post(f"/tasks/{running['task_id']}/events", {"payload": {"n": 1}})
    unknown = executor.post(f"/tasks/{running['task_id']}/events", {"event_type": "error", "summary": "Broke"})

    # Named by the canon's spelling, the one the OpenAPI document shows (summary is its alias).
    assert (missing.status_code, list(missing.json()["errors"])) == (422, ["event_summary"])
    assert (unknown.status_code, list(unknown.json()["errors"])) == (422, ["event_type"])


def test_an_artifact_needs_its_type_and_summary(executor, running):
    response = executor.post(f"/tasks/{running['task_id']}/artifacts", {"artifact_type": "verdict"})

    assert response.status_code == 422
    assert "artifact_summary" in response.json()["errors"]


# --- GET /tasks/{task_id} ------------------------------------------------------------------------

def test_a_task_is_visible_to_its_brain_the_request_and_headoffice_only(queued, executor, research, head_office,
                                                                         content, brains):
    url = f"/tasks/{queued['task_id']}"

    assert [api.get(url).status_code for api in (executor, research, head_office)] == [200, 200, 200]
    assert content.get(url).status_code == 404
    assert api_as("finance", TokenRole.EXECUTOR).get(url).status_code == 404
    assert executor.get(url).json()["moves_open"][0]["move"] == "claim"


def test_there_is_no_update_or_delete_of_tasks_or_their_events(queued, head_office):
    auth = {"Authorization": f"Bearer {head_office.secret}"}
    for method in ("put", "patch", "delete"):
        assert getattr(head_office.client, method)(f"/api/v1/tasks/{queued['task_id']}", headers=auth
                                                   ).status_code == 405
        assert getattr(head_office.client, method)(f"/api/v1/tasks/{queued['task_id']}/events", headers=auth
                                                   ).status_code == 405
