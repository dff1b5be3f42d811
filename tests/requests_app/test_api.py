"""The requests API: /api/v1/requests, their transitions, signals and Brain Room messages, the
bearer-token check every call goes through, and idempotent POSTs."""

import json
from datetime import timedelta
from typing import Any

import pytest

from governance_app.kernel.actors import SYSTEM
from governance_app.models import ApiToken, Brain
from governance_app.services import api_token_revoke
from requests_app.models import BrainRequest, RequestEvent, Signal
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
    new_request_body,
    research,
    routed,
)

pytestmark = pytest.mark.django_db


# --- the bearer token ------------------------------------------------------------------------

def test_a_call_without_a_token_is_401_with_a_json_reason(brains):
    response = Api(None).get("/requests")

    assert response.status_code == 401
    assert "Authorization: Bearer" in response.json()["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer mwms_not-a-token", "Basic cmVzZWFyY2g6cGFzcw==", "Bearer "])
def test_an_unknown_token_or_another_scheme_is_401(brains, client, header):
    response = client.get("/api/v1/requests", headers={"Authorization": header})

    assert response.status_code == 401
    assert response.json()["detail"]


def test_a_revoked_token_is_401(research):
    assert research.get("/requests").status_code == 200
    api_token_revoke(tokens=ApiToken.objects.filter(label="research-brain"), actor=SYSTEM)

    response = research.get("/requests")

    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_the_tokens_of_a_retired_brain_open_nothing(research, executor):
    brain = Brain.objects.get(slug="research")
    brain.is_active = False
    brain.save()   # as the admin does: the registry hears of it at once

    response = research.get("/requests")

    assert response.status_code == 401
    assert "no longer active" in response.json()["detail"]
    assert executor.post("/tasks/claim").status_code == 204   # Affiliate's executor is unaffected


def test_last_used_at_is_written_at_most_once_a_minute(research):
    research.get("/requests")
    token = ApiToken.objects.get(label="research-brain")
    first_use = token.last_used_at
    research.get("/requests")
    token.refresh_from_db()
    assert first_use is not None and token.last_used_at == first_use

    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first_use - timedelta(minutes=2))
    research.get("/requests")
    token.refresh_from_db()
    assert token.last_used_at > first_use - timedelta(minutes=1)


# --- POST /requests --------------------------------------------------------------------------

def test_create_answers_201_with_the_request_in_the_protocols_names(research):
    response = research.post("/requests", new_request_body())

    assert response.status_code == 201
    body = response.json()
    stored = BrainRequest.objects.get()
    assert body["request_id"] == str(stored.pk)
    assert (body["origin_brain"], body["destination_brain"], body["request_status"]) == ("research", "affiliate", "new")
    assert (body["request_type"], body["priority"], body["source_origin"]) == (
        "offer_review_request", "high", "research_signal")
    assert body["related_task_ids"] == []
    assert "submit_for_review" in [m["move"] for m in body["moves_open"]]
    assert RequestEvent.objects.get(request=stored).event_type == "created"


def test_create_keeps_every_lineage_field(research):
    parent = created(research)
    body = created(research, intake_id="intake-42", offer_id="offer-881", experiment_id="exp-7",
                   parent_request_id=parent["request_id"], source_page="/offers/881", source_system="wordpress",
                   feedback_required=True, meta_json={"campaign": 7})

    stored = BrainRequest.objects.get(pk=body["request_id"])
    assert (stored.intake_id, stored.offer_id, stored.experiment_id) == ("intake-42", "offer-881", "exp-7")
    assert str(stored.parent_request_id) == parent["request_id"] == body["parent_request_id"]
    assert (stored.source_page, stored.source_system, stored.feedback_required) == ("/offers/881", "wordpress", True)
    assert body["meta_json"] == {"campaign": 7}


def test_malformed_json_is_400(research):
    response = research.post("/requests", raw='{"destination_brain": ')

    assert response.status_code == 400
    assert response.json()["detail"].startswith("The body is not valid JSON")
    assert BrainRequest.objects.count() == 0


@pytest.mark.parametrize("raw", ["NaN", '{"meta_json": {"x": Infinity}}', '{"meta_json": {"x": 1e999}}'])
def test_numbers_json_does_not_have_are_400(research, raw):
    assert research.post("/requests", raw=raw).status_code == 400


def test_a_body_that_is_not_an_object_is_422(research):
    response = research.post("/requests", [1, 2])

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["body"]


def test_each_missing_field_is_named(research):
    response = research.post("/requests", {"destination_brain": "affiliate"})

    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"request_type", "request_title", "request_summary"}
    assert "request_title: is required" in response.json()["detail"]


def test_a_placeholder_summary_is_422_naming_the_field_and_why(research):
    response = research.post("/requests", new_request_body(request_summary="done"))

    assert response.status_code == 422
    assert "placeholder" in response.json()["errors"]["request_summary"]
    assert BrainRequest.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [("request_type", "gossip"), ("priority", "asap"), ("destination_brain", "nowhere"),
     ("request_title", "Bad \x00 title"), ("parent_request_id", "not-a-uuid")],
)
def test_an_invalid_field_is_422_naming_it(research, field, value):
    response = research.post("/requests", new_request_body(**{field: value}))

    assert response.status_code == 422
    assert field in response.json()["errors"]


def nested(levels: int) -> dict:
    """An object `levels` containers deep, objects and arrays in turn."""
    value: Any = {}
    for level in range(levels - 1, 0, -1):   # the last wrap (level 1) is an object
        value = {"a": value} if level % 2 else [value]
    return value


def test_json_nested_too_deep_is_422_naming_the_field_and_a_deep_enough_one_is_kept(research, integration):
    too_deep = [
        research.post("/requests", new_request_body(meta_json=nested(300))),
        research.post("/requests", new_request_body(meta_json={"a": "[" * 5000})),     # deep-looking text is text
        integration.post("/signals", {"signal_type": "anomaly_detection", "destination_brain": "sit",
                                      "summary": "Conversion tracking dropped to zero overnight.",
                                      "payload": nested(33)}),
        integration.post("/brain-room/messages", {
            "requested_brain": "content", "urgency": "urgent", "task_type": "copywriting",
            "expected_output": "Three headline options under 60 characters.", "source_context": nested(40),
            "user_instruction": "Draft three headlines for the collagen gummies test page."}),
    ]

    assert [r.status_code for r in too_deep] == [422, 201, 422, 422]
    assert [list(r.json()["errors"]) for r in too_deep if r.status_code == 422] == [
        ["meta_json"], ["payload"], ["source_context"]]
    assert "32 levels" in too_deep[0].json()["errors"]["meta_json"]
    kept = research.post("/requests", new_request_body(meta_json=nested(32)))
    assert kept.status_code == 201
    assert research.get(f"/requests/{kept.json()['request_id']}").json()["meta_json"] == nested(32)
    assert BrainRequest.objects.count() == 2


def test_a_field_the_request_does_not_have_is_refused_not_ignored(research):
    response = research.post("/requests", new_request_body(request_status="closed"))

    assert response.status_code == 422
    assert response.json()["errors"] == {"request_status": "is not a field of this call"}


def test_a_parent_the_caller_cannot_see_is_refused(research, content):
    hidden = created(content, destination_brain="headoffice", request_type="head_office_review_request")

    response = research.post("/requests", new_request_body(parent_request_id=hidden["request_id"]))

    assert response.status_code == 422
    assert "parent_request_id" in response.json()["errors"]


def test_an_executor_cannot_create_a_request(executor):
    response = executor.post("/requests", new_request_body())

    assert response.status_code == 403
    assert BrainRequest.objects.count() == 0


def test_a_brain_cannot_create_a_request_from_another_brain(research):
    response = research.post("/requests", new_request_body(origin_brain="affiliate"))

    assert response.status_code == 403


def test_an_integration_creates_with_its_brain_as_origin_and_reads_it_back(integration):
    body = created(integration)

    assert body["origin_brain"] == "research"
    assert integration.get(f"/requests/{body['request_id']}").status_code == 200


def test_create_takes_no_other_method(research):
    assert research.client.put("/api/v1/requests", headers={"Authorization": f"Bearer {research.secret}"}
                               ).status_code == 405


# --- GET /requests ---------------------------------------------------------------------------

def test_the_list_shows_only_what_the_caller_may_see(research, affiliate, content, head_office):
    mine = created(research)
    created(content, destination_brain="headoffice", request_type="head_office_review_request")

    assert [r["request_id"] for r in research.get("/requests").json()["items"]] == [mine["request_id"]]
    assert [r["request_id"] for r in affiliate.get("/requests").json()["items"]] == [mine["request_id"]]
    assert content.get("/requests", {"destination_brain": "affiliate"}).json()["count"] == 0
    assert head_office.get("/requests").json()["count"] == 2


def test_the_list_filters_by_status_brains_type_and_priority(research, head_office):
    first = created(research, priority="urgent")
    created(research, destination_brain="experimentation", request_type="experimentation_request")
    moved(head_office, first["request_id"], to_status="under_review")

    def ids(**params) -> list[str]:
        return [r["request_id"] for r in head_office.get("/requests", params).json()["items"]]

    assert ids(request_status="under_review") == [first["request_id"]]
    assert ids(destination_brain="affiliate", origin_brain="research") == [first["request_id"]]
    assert ids(request_type="offer_review_request", priority="urgent") == [first["request_id"]]
    assert ids(origin_brain="finance") == []


def test_a_filter_the_database_could_not_compare_is_422_naming_it_and_the_next_call_works(research):
    created(research)

    origin = research.get("/requests", {"origin_brain": "research\x00"})
    destination = research.get("/requests", {"destination_brain": "\x00"})

    assert (origin.status_code, list(origin.json()["errors"])) == (422, ["origin_brain"])
    assert (destination.status_code, list(destination.json()["errors"])) == (422, ["destination_brain"])
    assert "NUL" in origin.json()["errors"]["origin_brain"]
    assert research.get("/requests").json()["count"] == 1   # nothing was left broken behind it


def test_the_list_pages_with_limit_offset_and_a_count(research):
    made = [created(research, request_title=f"Request {n}")["request_id"] for n in range(5)]

    page = research.get("/requests", {"limit": 2, "offset": 2}).json()

    assert (page["count"], page["limit"], page["offset"]) == (5, 2, 2)
    assert [r["request_id"] for r in page["items"]] == list(reversed(made))[2:4]


def test_the_lists_count_above_the_cap_is_marked_as_an_estimate(research, monkeypatch):
    # Counting every one of a million requests for each page cost more than the page; above the
    # cap (1,000; 2 here) the count is the planner's estimate (SQLite: counted), and says so.
    for n in range(5):
        created(research, request_title=f"Request {n}")
    page = research.get("/requests", {"limit": 2}).json()
    assert (page["count"], page["count_estimated"]) == (5, False)

    monkeypatch.setattr("governance_app.kernel.pages.EXACT_COUNT_UP_TO", 2)
    page = research.get("/requests", {"limit": 2}).json()
    assert page["count_estimated"] is True and page["count"] >= 3 and len(page["items"]) == 2


def test_the_lists_query_count_does_not_grow_with_its_rows(research, head_office, affiliate,
                                                           django_assert_num_queries):
    def one_with_a_task():
        request = created(research)
        moved(head_office, request["request_id"], to_status="routed", review_owner="headoffice")
        affiliate.post(f"/requests/{request['request_id']}/tasks", {"task_type": "offer_review_task"})

    one_with_a_task()
    with django_assert_num_queries(4):  # the token, the count, the page, the page's task ids
        research.get("/requests")
    for _ in range(4):
        one_with_a_task()
    with django_assert_num_queries(4):
        page = research.get("/requests").json()
    assert page["count"] == 5 and all(len(r["related_task_ids"]) == 1 for r in page["items"])


@pytest.mark.parametrize("params", [{"request_status": "finished"}, {"limit": 0}, {"limit": 1000},
                                    {"offset": -1}, {"priority": "asap"}])
def test_a_bad_filter_is_422(research, params):
    response = research.get("/requests", params)

    assert response.status_code == 422
    assert set(response.json()["errors"]) == set(params)


def test_the_list_takes_the_list_pages_filter_names_and_the_apis_alike(research, head_office):
    first = created(research, priority="urgent")
    created(research, destination_brain="experimentation", request_type="experimentation_request")
    moved(head_office, first["request_id"], to_status="under_review")

    def ids(**params) -> list[str]:
        response = head_office.get("/requests", params)
        assert response.status_code == 200, response.json()
        return [r["request_id"] for r in response.json()["items"]]

    assert ids(status="under_review") == ids(request_status="under_review") == [first["request_id"]]
    assert ids(origin="research", destination="affiliate") == [first["request_id"]]
    assert ids(origin_brain="research", destination="affiliate") == [first["request_id"]]
    assert ids(status="under_review", request_status="under_review") == [first["request_id"]]


def test_the_list_searches_queues_and_sorts_as_the_list_page_does(research, head_office):
    older = created(research, request_title="Voltcamp 900 offer", priority="low")
    newer = created(research, request_title="Solar kit bundle", priority="urgent")
    moved(head_office, older["request_id"], to_status="escalated", escalation_owner="finance",
          escalation_reason="The offer's margin is below the Brain's floor.")

    def ids(**params) -> list[str]:
        response = head_office.get("/requests", params)
        assert response.status_code == 200, response.json()
        return [r["request_id"] for r in response.json()["items"]]

    assert ids() == [newer["request_id"], older["request_id"]]           # newest first by default
    assert ids(q="voltcamp offer") == [older["request_id"]]
    assert ids(escalation_flag="true") == [older["request_id"]]
    assert ids(sort="created") == [older["request_id"], newer["request_id"]]
    assert ids(sort="-priority", queue="open") == ids(sort="-priority")
    assert set(ids(queue="open")) == {older["request_id"], newer["request_id"]}


@pytest.mark.parametrize(("params", "field"), [
    ({"status": "new", "request_status": "routed"}, "request_status"),
    ({"origin": "research", "origin_brain": "affiliate"}, "origin_brain"),
    ({"origin_brain": "no-such-brain"}, "origin_brain"),
    ({"destination": "no-such-brain"}, "destination"),
    ({"queue": "no-such-queue"}, "queue"),
    ({"sort": "sideways"}, "sort"),
])
def test_a_filter_the_list_page_would_refuse_is_422_naming_the_parameter_sent(research, params, field):
    created(research)

    response = research.get("/requests", params)

    assert response.status_code == 422
    assert list(response.json()["errors"]) == [field]
    assert response.json()["detail"].startswith(field)


# --- GET /requests/{request_id} ----------------------------------------------------------------

def test_the_detail_carries_the_lineage_and_the_moves_open(research, head_office, affiliate, routed):
    request_id = routed["request_id"]
    child = created(affiliate, destination_brain="research", request_type="research_request",
                    parent_request_id=request_id)
    grandchild = created(affiliate, destination_brain="research", request_type="research_request",
                         parent_request_id=child["request_id"])
    task = affiliate.post(f"/requests/{request_id}/tasks", {"task_type": "offer_review_task"}).json()
    head_office.post(f"/requests/{request_id}/decisions", {
        "decision_summary": "Proceed with a capped test budget of 500 EUR.",
        "reasoning": "The demand signal is strong but unproven in our markets."})

    detail = affiliate.get(f"/requests/{request_id}").json()

    assert detail["parent"] is None and detail["ancestors"] == []
    assert [c["request_id"] for c in detail["children"]] == [child["request_id"]]
    assert [g["request_id"] for g in detail["children"][0]["children"]] == [grandchild["request_id"]]
    assert detail["children"][0]["children"][0]["parent_request_id"] == child["request_id"]
    assert detail["related_task_ids"] == [task["task_id"]] == [t["task_id"] for t in detail["tasks"]]
    assert [e["event_type"] for e in detail["events"]] == ["created", "status_changed", "task_created",
                                                           "decision_recorded"]
    assert detail["decisions"][0]["decision_summary"].startswith("Proceed with a capped")
    assert [m["move"] for m in detail["moves_open"]][:1] == ["accept"]
    child_detail = research.get(f"/requests/{grandchild['request_id']}").json()
    assert [a["request_id"] for a in child_detail["ancestors"]] == [child["request_id"], request_id]
    assert child_detail["parent"]["request_id"] == child["request_id"]


def test_an_executor_reads_only_its_own_brains_tasks_in_a_lineage(affiliate, routed):
    task = affiliate.post(f"/requests/{routed['request_id']}/tasks", {"task_type": "offer_review_task"}).json()
    research_executor = api_as("research", "executor", label="research-executor")

    detail = research_executor.get(f"/requests/{routed['request_id']}").json()

    assert detail["request_id"] == routed["request_id"]   # Research sent it, so its executor may read it
    assert detail["tasks"] == [] and detail["related_task_ids"] == []
    assert [e["event_type"] for e in detail["events"]].count("task_created") == 1
    assert affiliate.get(f"/requests/{routed['request_id']}").json()["related_task_ids"] == [task["task_id"]]


def test_the_detail_names_no_parent_the_caller_may_not_see(research, content):
    root = created(research, destination_brain="content", request_type="content_support_request")
    hidden = created(research, parent_request_id=root["request_id"])            # Research -> Affiliate
    leaf = created(research, destination_brain="content", request_type="content_support_request",
                   parent_request_id=hidden["request_id"])

    detail = content.get(f"/requests/{leaf['request_id']}").json()

    assert detail["parent_request_id"] == hidden["request_id"]
    assert detail["parent"] is None
    assert [a["request_id"] for a in detail["ancestors"]] == [root["request_id"]]
    assert detail["hidden_ancestors"] == 1
    assert research.get(f"/requests/{leaf['request_id']}").json()["hidden_ancestors"] == 0


def test_a_request_the_caller_cannot_see_is_404(research, content):
    request = created(research)

    response = content.get(f"/requests/{request['request_id']}")

    assert response.status_code == 404
    assert response.json()["detail"]


def test_a_request_that_does_not_exist_is_404_and_a_malformed_id_is_422(research):
    assert research.get("/requests/3f1c1b7e-0000-4000-8000-000000000000").status_code == 404
    assert research.get("/requests/not-an-id").status_code == 422


# --- POST /requests/{request_id}/transition -----------------------------------------------------

def test_a_move_answers_200_with_the_new_state_and_writes_its_event(research, head_office, affiliate):
    request = created(research)

    routed = moved(head_office, request["request_id"], to_status="routed", review_owner="headoffice",
                   routing_notes="Affiliate owns offer reviews.", note="Routine offer review.")
    accepted = moved(affiliate, request["request_id"], to_status="in_progress")

    assert (routed["request_status"], routed["review_owner"], routed["routing_notes"]) == (
        "routed", "headoffice", "Affiliate owns offer reviews.")
    assert accepted["request_status"] == "in_progress" and accepted["lock_version"] == 2
    events = RequestEvent.objects.filter(request_id=request["request_id"], event_type="status_changed")
    assert [(e.from_status, e.to_status, e.actor) for e in events.order_by("created_at")] == [
        ("new", "routed", "token:headoffice-headoffice"), ("routed", "in_progress", "token:affiliate-brain")]


def test_a_move_not_possible_from_the_current_status_is_409(research, affiliate):
    request = created(research)

    response = affiliate.post(f"/requests/{request['request_id']}/transition", {"to_status": "in_progress"})

    assert response.status_code == 409
    assert "cannot move from new to in_progress" in response.json()["detail"]
    assert BrainRequest.objects.get().status == "new"


def test_a_stale_expected_version_is_409(research, head_office):
    request = created(research)
    moved(research, request["request_id"], to_status="under_review")

    response = head_office.post(f"/requests/{request['request_id']}/transition", {
        "to_status": "routed", "review_owner": "headoffice", "expected_version": request["lock_version"]})

    assert response.status_code == 409
    assert "Someone else changed" in response.json()["detail"]


def test_a_role_that_may_not_make_the_move_is_403_and_the_tokens_attempt_is_recorded(research, affiliate):
    request = created(research)

    response = affiliate.post(f"/requests/{request['request_id']}/transition",
                              {"to_status": "routed", "review_owner": "affiliate"})

    assert response.status_code == 403
    violation = RequestEvent.objects.get(request_id=request["request_id"], event_type="rule_violation")
    assert violation.actor == "token:affiliate-brain"


def test_an_integration_cannot_move_even_its_own_request(integration):
    request = created(integration)

    response = integration.post(f"/requests/{request['request_id']}/transition", {"to_status": "under_review"})

    assert response.status_code == 403


def test_an_outsider_gets_404_not_a_hint(research, content):
    request = created(research)

    assert content.post(f"/requests/{request['request_id']}/transition",
                        {"to_status": "under_review"}).status_code == 404


def test_a_missing_field_is_422_naming_it(research, head_office):
    request = created(research)

    response = head_office.post(f"/requests/{request['request_id']}/transition", {"to_status": "routed"})

    assert response.status_code == 422
    assert "review_owner" in response.json()["errors"]


def test_closing_with_a_placeholder_outcome_is_422_naming_the_fields(routed, head_office):
    response = head_office.post(f"/requests/{routed['request_id']}/transition", {
        "to_status": "closed", **OUTCOME, "result_summary": "done", "next_step": "ok"})

    assert response.status_code == 422
    errors = response.json()["errors"]
    assert set(errors) == {"result_summary", "next_step"}
    assert "placeholder" in errors["result_summary"]
    assert BrainRequest.objects.get().status == "routed"


def test_a_field_the_move_does_not_take_is_refused_not_ignored(routed, affiliate):
    response = affiliate.post(f"/requests/{routed['request_id']}/transition",
                              {"to_status": "in_progress", "review_owner": "finance"})

    assert response.status_code == 422
    assert response.json()["errors"] == {"review_owner": "is not used by the accept move."}


def test_lineage_fields_cannot_be_rewritten(routed, head_office):
    url = f"/requests/{routed['request_id']}"
    response = head_office.post(f"{url}/transition", {"to_status": "in_progress", "parent_request_id": None,
                                                      "intake_id": "intake-other"})

    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"parent_request_id", "intake_id"}
    auth = {"Authorization": f"Bearer {head_office.secret}"}
    for method in ("put", "patch", "delete"):
        assert getattr(head_office.client, method)(f"/api/v1{url}", headers=auth).status_code == 405


def test_a_hold_is_lifted_by_naming_the_status_it_returns_to_or_the_move(routed, affiliate):
    request_id = routed["request_id"]
    blocked = moved(affiliate, request_id, to_status="blocked", note="Waiting for the supplier's price sheet.")
    assert (blocked["held_from_status"], [m["to_status"] for m in blocked["moves_open"] if m["move"] == "unblock"]) \
        == ("routed", ["routed"])

    assert moved(affiliate, request_id, to_status="routed", note="The price sheet arrived today.")[
        "request_status"] == "routed"
    moved(affiliate, request_id, to_status="blocked", note="Waiting for the supplier's price sheet.")
    assert moved(affiliate, request_id, move="unblock", note="The price sheet arrived today.")[
        "request_status"] == "routed"


def test_a_status_only_a_decision_reaches_points_to_its_endpoint(routed, affiliate):
    moved(affiliate, routed["request_id"], to_status="in_progress")
    moved(affiliate, routed["request_id"], to_status="escalated", escalation_owner="headoffice",
          escalation_reason="The offer's claims may breach advertising rules.")

    response = affiliate.post(f"/requests/{routed['request_id']}/transition", {"to_status": "in_progress"})

    assert response.status_code == 409


def test_a_decision_endpoint_is_named_for_who_may_use_it(routed, head_office, affiliate):
    moved(affiliate, routed["request_id"], to_status="in_progress")
    moved(affiliate, routed["request_id"], to_status="escalated", escalation_owner="headoffice",
          escalation_reason="The offer's claims may breach advertising rules.")

    response = head_office.post(f"/requests/{routed['request_id']}/transition", {"to_status": "in_progress"})

    assert response.status_code == 409
    assert "/decisions" in response.json()["detail"]


def test_a_final_request_cannot_move(routed, head_office):
    moved(head_office, routed["request_id"], to_status="rejected", **{**OUTCOME, "outcome_type": "rejected"})

    response = head_office.post(f"/requests/{routed['request_id']}/transition", {"to_status": "routed",
                                                                                 "review_owner": "headoffice"})

    assert response.status_code == 409
    assert "final" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "to_status"), ({"move": "accept", "to_status": "closed"}, "to_status"), ({"move": "fly"}, "move"),
     ({"to_status": "nowhere"}, "to_status")],
)
def test_a_transition_that_names_no_move_or_a_contradiction_is_422(routed, affiliate, body, field):
    response = affiliate.post(f"/requests/{routed['request_id']}/transition", body)

    assert response.status_code == 422
    assert field in response.json()["errors"]


def test_transition_takes_no_get(routed, affiliate):
    assert affiliate.get(f"/requests/{routed['request_id']}/transition").status_code == 405


# --- POST /signals ---------------------------------------------------------------------------

def test_a_signal_becomes_a_request_citing_it(integration):
    response = integration.post("/signals", {
        "signal_type": "financial_threshold", "destination_brain": "finance", "direction": "lateral",
        "summary": "Campaign 7 spend passed 80% of its monthly budget in ten days.",
        "payload": {"campaign": 7, "spent": 4012.5, "budget": 5000}})

    assert response.status_code == 201
    body = response.json()
    signal = Signal.objects.get()
    request = body["request"]
    assert body["signal_id"] == str(signal.pk) and str(signal.request_id) == request["request_id"]
    assert (signal.source_brain_id, signal.payload["spent"], signal.direction) == ("research", 4012.5, "lateral")
    assert (request["request_type"], request["destination_brain"], request["source_origin"]) == (
        "finance_review_request", "finance", "signal:financial_threshold")
    assert request["meta_json"]["signal"]["signal_id"] == body["signal_id"]
    assert request["request_title"].startswith("Financial threshold: Campaign 7 spend")


def test_a_signal_of_an_unknown_type_is_422(integration):
    response = integration.post("/signals", {"signal_type": "rumour", "destination_brain": "finance",
                                             "summary": "Somebody said the budget is nearly gone."})

    assert response.status_code == 422
    assert "signal_type" in response.json()["errors"]


def test_a_placeholder_signal_summary_is_422_naming_summary(integration):
    response = integration.post("/signals", {"signal_type": "anomaly_detection", "destination_brain": "sit",
                                             "summary": "ok"})

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["summary"]
    assert Signal.objects.count() == 0 and BrainRequest.objects.count() == 0


def test_an_executor_cannot_send_a_signal(executor):
    response = executor.post("/signals", {"signal_type": "anomaly_detection", "destination_brain": "sit",
                                          "summary": "Conversion tracking dropped to zero overnight."})

    assert response.status_code == 403
    assert Signal.objects.count() == 0


# --- POST /brain-room/messages ------------------------------------------------------------------

def test_a_brain_room_message_becomes_a_brain_room_request(integration):
    response = integration.post("/brain-room/messages", {
        "requested_brain": "content", "urgency": "urgent", "task_type": "copywriting",
        "expected_output": "Three headline options under 60 characters.",
        "source_context": {"room": "gummies-test", "message_id": "m-881"},
        "user_instruction": "Draft three headlines for the collagen gummies test page.\nKeep them factual."})

    assert response.status_code == 201
    body = response.json()
    assert (body["request_type"], body["destination_brain"], body["origin_brain"], body["priority"]) == (
        "brain_room_request", "content", "research", "urgent")
    assert (body["source_origin"], body["source_system"]) == ("brain_room", "brain_room")
    assert body["request_title"] == "Draft three headlines for the collagen gummies test page."
    assert body["required_output"] == "Three headline options under 60 characters."
    assert body["meta_json"]["brain_room"]["task_type"] == "copywriting"
    assert body["meta_json"]["brain_room"]["source_context"]["message_id"] == "m-881"


@pytest.mark.parametrize(("body", "field"), [
    ({"requested_brain": "content", "user_instruction": "ok"}, "user_instruction"),
    ({"requested_brain": "marketing", "user_instruction": "Draft three headlines for the test page."},
     "requested_brain"),
    ({"requested_brain": "content", "user_instruction": "Draft three headlines for the test page.",
      "urgency": "now"}, "urgency"),
])
def test_a_bad_brain_room_message_is_422_naming_its_own_field(integration, body, field):
    response = integration.post("/brain-room/messages", body)

    assert response.status_code == 422
    assert list(response.json()["errors"]) == [field]


def test_an_executor_cannot_relay_a_brain_room_message(executor):
    response = executor.post("/brain-room/messages", {
        "requested_brain": "content", "user_instruction": "Draft three headlines for the test page."})

    assert response.status_code == 403
    assert BrainRequest.objects.count() == 0


# --- Idempotency-Key -------------------------------------------------------------------------

def test_the_same_post_three_times_creates_one_request(research):
    answers = [research.post("/requests", new_request_body(), key="plugin-intake-881") for _ in range(3)]

    assert [a.status_code for a in answers] == [201, 201, 201]
    assert answers[0].json() == answers[1].json() == answers[2].json()
    assert [a.get("Idempotent-Replayed") for a in answers] == [None, "true", "true"]
    assert BrainRequest.objects.count() == 1
    assert RequestEvent.objects.count() == 1


def test_the_same_key_with_a_different_body_is_422_and_creates_nothing(research):
    research.post("/requests", new_request_body(), key="k-1")

    response = research.post("/requests", new_request_body(priority="low"), key="k-1")

    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["errors"]
    assert BrainRequest.objects.count() == 1


def test_the_same_body_serialised_again_is_a_replay_not_a_422(research):
    # A client that rebuilds its JSON for the retry (another key order, other spacing) sends the
    # same request: the fingerprint compares the parsed JSON, not the bytes.
    body = new_request_body(meta_json={"campaign": {"id": 12, "markets": ["DE", "FR"]}})
    first = research.post("/requests", raw=json.dumps(body), key="plugin-intake-882")
    again = json.dumps(dict(reversed(list(body.items()))), indent=2, separators=(",", " :  "))

    retry = research.post("/requests", raw=again, key="plugin-intake-882")

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.get("Idempotent-Replayed") == "true" and retry.json() == first.json()
    assert BrainRequest.objects.count() == 1


def test_a_record_stored_before_the_json_fingerprint_still_replays(research):
    # Records written before issue 17 hold the fingerprint of the body's bytes; their retries
    # (the same bytes) are still replays.
    import hashlib

    from governance_app.models import IdempotencyRecord

    raw = json.dumps(new_request_body())
    first = research.post("/requests", raw=raw, key="plugin-intake-883")
    digest = hashlib.sha256()
    for part in (b"POST", b"/api/v1/requests", raw.encode()):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    IdempotencyRecord.objects.filter(key="plugin-intake-883").update(fingerprint=digest.hexdigest())

    retry = research.post("/requests", raw=raw, key="plugin-intake-883")

    assert retry.get("Idempotent-Replayed") == "true" and retry.json() == first.json()
    assert BrainRequest.objects.count() == 1


def test_a_key_belongs_to_one_token(research, brains):
    other = api_as("research", label="second-research-token")

    research.post("/requests", new_request_body(), key="shared")
    other.post("/requests", new_request_body(), key="shared")

    assert BrainRequest.objects.count() == 2


def test_a_refused_call_is_not_stored_so_its_retry_runs_again(research, head_office, affiliate):
    request = created(research)
    accept = f"/requests/{request['request_id']}/transition"

    assert affiliate.post(accept, {"to_status": "in_progress"}, key="accept-1").status_code == 409
    moved(head_office, request["request_id"], to_status="routed", review_owner="headoffice")

    assert affiliate.post(accept, {"to_status": "in_progress"}, key="accept-1").status_code == 200
    assert affiliate.post(accept, {"to_status": "in_progress"}, key="accept-1").get("Idempotent-Replayed") == "true"


def test_a_retry_that_loses_the_race_for_its_key_rolls_back_and_returns_the_first_answer(research, monkeypatch):
    from mwms_site import api_kit

    first = research.post("/requests", new_request_body(), key="race-1")
    real, looks = api_kit._stored, []

    def stored(actor, key):
        looks.append(key)  # the retry's first look finds nothing, as if the first call had not committed
        return None if len(looks) == 1 else real(actor, key)

    monkeypatch.setattr(api_kit, "_stored", stored)

    retry = research.post("/requests", new_request_body(), key="race-1")

    assert len(looks) == 2  # it did the work, hit the unique key, and looked again
    assert (retry.status_code, retry.json()) == (201, first.json())
    assert BrainRequest.objects.count() == 1 and RequestEvent.objects.count() == 1


def test_an_overlong_key_is_422(research):
    response = research.post("/requests", new_request_body(), key="k" * 256)

    assert response.status_code == 422
    assert BrainRequest.objects.count() == 0
