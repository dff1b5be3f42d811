"""POST /api/v1/requests/{request_id}/assign (issue 14 item 6) and the request object's `assignee`."""

import pytest

from requests_app.models import BrainRequest, RequestEvent
from tests.api_client import affiliate, content, created, head_office, research  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def test_headoffice_assigns_by_username_and_unassigns(head_office, research, reviewer):
    request = created(research)
    assert request["assignee"] is None
    answer = head_office.post(f"/requests/{request['request_id']}/assign", {"user": "reviewer", "note": "Mine now."})
    assert answer.status_code == 200 and answer.json()["assignee"] == "reviewer"
    event = RequestEvent.objects.filter(request_id=request["request_id"]).latest("chain_seq")
    assert (event.event_type, event.note, event.changed_fields) == ("assigned", "Mine now.",
                                                                   {"assignee": [None, "reviewer"]})
    listed = head_office.get("/requests").json()["items"][0]
    assert listed["assignee"] == "reviewer"
    answer = head_office.post(f"/requests/{request['request_id']}/assign", {"user": None})
    assert answer.status_code == 200 and answer.json()["assignee"] is None


def test_a_brain_token_is_403_and_nothing_changes(research, reviewer):
    request = created(research)
    answer = research.post(f"/requests/{request['request_id']}/assign", {"user": reviewer.pk})
    assert answer.status_code == 403 and answer.json()["detail"] == "Only HeadOffice assigns requests to a reviewer."
    assert BrainRequest.objects.get(pk=request["request_id"]).assignee_id is None


def test_a_person_who_is_not_headoffice_is_422_naming_the_field(head_office, research, owner):
    request = created(research)
    answer = head_office.post(f"/requests/{request['request_id']}/assign", {"user": "research_owner"})
    assert answer.status_code == 422 and "not a HeadOffice member" in answer.json()["errors"]["assignee"]
    assert BrainRequest.objects.get(pk=request["request_id"]).assignee_id is None


def test_user_must_be_sent_and_a_stale_version_is_409(head_office, research, reviewer):
    request = created(research)
    assert head_office.post(f"/requests/{request['request_id']}/assign", {}).status_code == 422
    stale = head_office.post(f"/requests/{request['request_id']}/assign",
                             {"user": "reviewer", "expected_version": request["lock_version"] + 5})
    assert stale.status_code == 409 and BrainRequest.objects.get(pk=request["request_id"]).assignee_id is None


def test_a_request_the_caller_cannot_see_is_404(content, research, reviewer):
    request = created(research)
    assert content.post(f"/requests/{request['request_id']}/assign", {"user": "reviewer"}).status_code == 404
