"""Bulk actions (issue 14 item 5): each request goes through its one-row service in its own
transaction; every row is either moved whole, with its event, or left exactly as it was, and the
result says which, with the service's own sentence for each refusal."""

import uuid

import pytest

from governance_app import services as gs
from governance_app.kernel.errors import DomainError, Refusal
from requests_app import services as rs
from requests_app.bulk import requests_bulk
from requests_app.models import BrainRequest, RequestEvent, RequestStatus
from tests.conftest import PASSWORD
from tests.db_roles import acting_for
from tests.engine import OUTCOME, actor, new_request, token_actor
from tests.factories import make_request

pytestmark = pytest.mark.django_db
PARK_NEEDS_A_NOTE = "Park needs a note that says why; it is required."


def state(pk) -> dict:
    """All a request is: its row and its history."""
    return {"row": BrainRequest.objects.filter(pk=pk).values().get(),
            "events": list(RequestEvent.objects.filter(request_id=pk).order_by("chain_seq").values_list("pk", flat=True))}


def test_a_mix_of_allowed_and_refused_rows_moves_each_whole_or_not_at_all(reviewer, owner, brains):
    movable = [new_request(actor(owner), request_title=f"Offer {n}") for n in range(3)]
    final = new_request(actor(owner), request_title="Already rejected")
    rs.request_reject(request=final, actor=actor(reviewer), **OUTCOME)
    # Routed to Finance, which does not accept offer reviews: refused by the route rule itself.
    wrong_type = new_request(actor(owner), request_title="Wrong type for finance")
    hidden = uuid.uuid4()  # no request of this tenant has it
    untouched = {r.pk: state(r.pk) for r in (final, wrong_type)}

    ids = [r.pk for r in movable] + [final.pk, hidden]
    result = requests_bulk(actor=actor(reviewer), action="route", request_ids=ids,
                           fields={"review_owner": "headoffice"}, note="Routed in bulk.")
    finance = requests_bulk(actor=actor(reviewer), action="route", request_ids=[wrong_type.pk],
                            fields={"review_owner": "headoffice", "destination_brain": "finance"})

    assert [row.request_id for row in result.done] == [r.pk for r in movable]
    assert all(row.status == RequestStatus.ROUTED and row.message == "Now routed." for row in result.done)
    for request in movable:
        stored = BrainRequest.objects.get(pk=request.pk)
        event = RequestEvent.objects.filter(request=request).latest("chain_seq")
        assert (stored.status, stored.review_owner_id, stored.lock_version) == ("routed", "headoffice",
                                                                               request.lock_version + 1)
        assert (event.to_status, event.note, stored.chain_head) == ("routed", "Routed in bulk.", event.row_hash)
    refusals = {row.request_id: row.message for row in result.refused}
    assert refusals == {final.pk: "This request is rejected; it is final and cannot change.",
                        hidden: "No such request that you can see."}
    assert [row.message for row in finance.refused] == [
        f"{brains['finance']} does not accept offer review requests; it accepts: " + ", ".join(
            brains["finance"].accepted_request_types) + "."]
    assert {pk: state(pk) for pk in untouched} == untouched


def test_another_tenants_request_is_not_seen_and_not_touched(reviewer, owner, brains):
    tenant = gs.tenant_create(slug="zeta", name="Zeta Corp", reviewer_username="zeta_reviewer",
                              reviewer_password=PASSWORD)
    with acting_for(tenant):
        theirs = make_request(tenant_id=tenant.id, request_title="Zeta's own")
        before = state(theirs.pk)
    result = requests_bulk(actor=actor(reviewer), action="note", request_ids=[theirs.pk], note="Peek")
    assert [(row.done, row.title, row.message) for row in result.rows] == [
        (False, "", "No such request that you can see.")]
    with acting_for(tenant):
        assert state(theirs.pk) == before


def test_park_without_a_note_is_refused_for_every_row_with_the_services_sentence(reviewer, owner):
    requests = [new_request(actor(owner)) for _ in range(2)]
    before = {r.pk: state(r.pk) for r in requests}
    result = requests_bulk(actor=actor(reviewer), action="park", request_ids=[r.pk for r in requests])
    assert not result.done
    assert [row.message for row in result.refused] == [PARK_NEEDS_A_NOTE] * 2
    assert {r.pk: state(r.pk) for r in requests} == before


def test_park_reject_assign_and_note_use_their_services(reviewer, owner):
    a, b, c, d = (new_request(actor(owner), request_title=t) for t in "ABCD")
    parked = requests_bulk(actor=actor(reviewer), action="park", request_ids=[a.pk], note="Waiting for Q1 budget.")
    rejected = requests_bulk(actor=actor(reviewer), action="reject", request_ids=[b.pk], fields=OUTCOME)
    assigned = requests_bulk(actor=actor(reviewer), action="assign", request_ids=[c.pk, d.pk],
                             fields={"assignee": reviewer.pk})
    again = requests_bulk(actor=actor(reviewer), action="assign", request_ids=[c.pk], fields={"assignee": reviewer.pk})
    noted = requests_bulk(actor=actor(reviewer), action="note", request_ids=[c.pk], note="Looked at it.")
    assert BrainRequest.objects.get(pk=a.pk).status == "parked" and parked.done[0].message == "Now parked."
    assert BrainRequest.objects.get(pk=b.pk).status == "rejected" and rejected.done[0].message == "Now rejected."
    assert [row.message for row in assigned.done] == ["Assigned to reviewer."] * 2
    assert [row.message for row in again.refused] == ["It is already assigned to reviewer."]
    assert noted.done[0].message == "Note added."
    assert RequestEvent.objects.filter(request=c, event_type="note", note="Looked at it.").exists()


def test_a_brain_owner_has_no_bulk_actions(owner):
    request = new_request(actor(owner))
    before = state(request.pk)
    with pytest.raises(DomainError) as refused:
        requests_bulk(actor=actor(owner), action="note", request_ids=[request.pk], note="Mine")
    assert refused.value.kind == Refusal.FORBIDDEN and "HeadOffice" in refused.value.message
    assert state(request.pk) == before


def test_an_executor_token_has_no_bulk_actions(owner):
    request = new_request(actor(owner))
    with pytest.raises(DomainError) as refused:
        requests_bulk(actor=token_actor("affiliate"), action="note", request_ids=[request.pk], note="x")
    assert refused.value.kind == Refusal.FORBIDDEN


def test_more_than_the_limit_is_refused_whole(reviewer, owner, settings):
    settings.MWMS_BULK_LIMIT = 2
    requests = [new_request(actor(owner)) for _ in range(3)]
    before = {r.pk: state(r.pk) for r in requests}
    with pytest.raises(DomainError) as refused:
        requests_bulk(actor=actor(reviewer), action="note", request_ids=[r.pk for r in requests], note="x")
    assert refused.value.message == ("3 requests are selected; a bulk action takes at most 2. "
                                     "Narrow the filter and try again.")
    assert {r.pk: state(r.pk) for r in requests} == before


@pytest.mark.parametrize("ids, says", [([], "Select at least one request."),
                                       (["not-an-id"], "'not-an-id' is not a request id.")])
def test_no_selection_or_a_bad_id_is_refused(reviewer, ids, says):
    with pytest.raises(DomainError) as refused:
        requests_bulk(actor=actor(reviewer), action="note", request_ids=ids, note="x")
    assert refused.value.message == says


def test_an_unknown_action_is_refused(reviewer, owner):
    request = new_request(actor(owner))
    with pytest.raises(DomainError) as refused:
        requests_bulk(actor=actor(reviewer), action="close", request_ids=[request.pk])
    assert refused.value.message == "There is no bulk action called 'close'."


def test_a_bulk_reject_lets_each_request_cite_its_own_latest_event(reviewer, owner):
    """Rows span lineages, so no one record is evidence for all: each cites its own latest event."""
    requests = [new_request(actor(owner), request_title=f"Duplicate {n}") for n in range(2)]
    latest = {r.pk: RequestEvent.objects.filter(request=r).latest("chain_seq").pk for r in requests}
    final = new_request(actor(owner), request_title="Already rejected")
    rs.request_reject(request=final, actor=actor(reviewer), **OUTCOME)
    before = state(final.pk)
    outcome = {**OUTCOME, "outcome_type": "rejected", "outcome_evidence": [], "cite_latest_event": True}
    result = requests_bulk(actor=actor(reviewer), action="reject", request_ids=[*(r.pk for r in requests), final.pk],
                           fields=outcome)
    assert [row.request_id for row in result.done] == [r.pk for r in requests]
    for request in requests:
        assert BrainRequest.objects.get(pk=request.pk).outcome_evidence == [
            {"kind": "request_event", "id": str(latest[request.pk])}]
    assert [row.message for row in result.refused] == ["This request is rejected; it is final and cannot change."]
    assert state(final.pk) == before


def test_a_bulk_reject_with_no_evidence_at_all_is_refused_per_row_with_the_reason(reviewer, owner):
    requests = [new_request(actor(owner)) for _ in range(2)]
    before = {r.pk: state(r.pk) for r in requests}
    result = requests_bulk(actor=actor(reviewer), action="reject", request_ids=[r.pk for r in requests],
                           fields={**OUTCOME, "outcome_evidence": [], "cite_latest_event": False})
    assert not result.done
    assert [row.message[:71] for row in result.refused] == [
        "Reject needs a complete outcome: Name the evidence: ids of this request"] * 2
    assert {r.pk: state(r.pk) for r in requests} == before
