"""`manage.py lineage_verify` after assignment (issue 14 item 6): an `assigned` event, written one at
a time or in bulk, is a link of its request's chain like any other, so the history verifies; an
assignment edited past the triggers is named (tests/test_lineage_verify.py's way)."""

import pytest

from requests_app import services as rs
from requests_app.bulk import requests_bulk
from requests_app.models import BrainRequest, RequestEvent
from tests.engine import actor, new_request
from tests.test_lineage_verify import ON_POSTGRES, as_owner_past_the_triggers, db_id, verify

pytestmark = pytest.mark.django_db(transaction=ON_POSTGRES, serialized_rollback=ON_POSTGRES)


@pytest.fixture
def assigned(reviewer, owner):
    """Three requests: one assigned and then unassigned on its page, two assigned and noted in bulk."""
    head_office = actor(reviewer)
    one, two, three = (new_request(actor(owner), request_title=t) for t in ("One", "Two", "Three"))
    rs.request_assign(request=one, actor=head_office, assignee=reviewer.pk)
    rs.request_assign(request=one, actor=head_office, assignee=None)
    requests_bulk(actor=head_office, action="assign", request_ids=[two.pk, three.pk], fields={"assignee": reviewer.pk})
    requests_bulk(actor=head_office, action="route", request_ids=[two.pk, three.pk],
                  fields={"review_owner": "headoffice"}, note="Routed in bulk.")
    return [BrainRequest.objects.get(pk=r.pk) for r in (one, two, three)]


def test_assignment_events_extend_their_chains_and_verify(assigned):
    for request in assigned:
        links = list(RequestEvent.objects.filter(request=request).order_by("chain_seq"))
        assert [e.chain_seq for e in links] == list(range(1, len(links) + 1))
        assert [e.prev_hash for e in links] == ["", *(e.row_hash for e in links[:-1])]
        assert (request.chain_seq, request.chain_head) == (len(links), links[-1].row_hash)
    assert RequestEvent.objects.filter(event_type="assigned").count() == 4

    assert verify() == (0, [])
    assert verify("--request", str(assigned[1].pk), "--json") == (0, [])


def test_an_assignment_rewritten_past_the_triggers_is_named(assigned):
    event = RequestEvent.objects.filter(request=assigned[1], event_type="assigned").get()
    as_owner_past_the_triggers("mwms_request_events",
                               "UPDATE mwms_request_events SET event_summary = %s WHERE id = %s",
                               ["Assigned to somebody else", db_id(event.pk)])

    status, lines = verify()

    assert status == 1
    assert lines == [f"mwms_request_events {event.pk} (request {event.request_id}): its digest does not match its "
                     f"row: its content changed (a column other than its chain columns) [digest_mismatch]"]
