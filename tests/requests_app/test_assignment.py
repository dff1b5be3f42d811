"""Personal assignment (issue 14 item 6): a HeadOffice reviewer of the request's own tenant is
assigned, recorded as an `assigned` event on the request's chain; everyone and everything else is
refused with the row unchanged."""

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction

from governance_app import services as gs
from governance_app.kernel.errors import DomainError, Refusal
from governance_app.models import MembershipRole
from requests_app import services as rs
from requests_app.integrity import request_findings
from requests_app.models import BrainRequest, RequestEvent, RequestEventType
from tests.conftest import PASSWORD, _member
from tests.engine import OUTCOME, actor, new_request, token_actor

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_reviewer(brains):
    user = _member("dana", brains["headoffice"], MembershipRole.HEAD_OFFICE_REVIEWER)
    user.first_name, user.last_name = "Dana", "Reyes"
    user.save(update_fields=["first_name", "last_name"])
    return user


def state(request: BrainRequest) -> dict:
    return {"row": BrainRequest.objects.filter(pk=request.pk).values().get(),
            "events": RequestEvent.objects.filter(request_id=request.pk).count()}


def test_a_reviewer_assigns_a_headoffice_member_and_the_event_says_who(reviewer, owner, second_reviewer):
    request = new_request(actor(owner))
    version = request.lock_version
    assigned = rs.request_assign(request=request, actor=actor(reviewer), assignee=second_reviewer.pk)
    stored = BrainRequest.objects.get(pk=request.pk)
    assert stored.assignee_id == second_reviewer.pk and stored.lock_version == version + 1
    assert assigned.assignee == second_reviewer
    event = RequestEvent.objects.filter(request=request).latest("chain_seq")
    assert (event.event_type, event.actor, event.event_summary) == ("assigned", "reviewer", "Assigned to Dana Reyes")
    assert event.changed_fields == {"assignee": [None, "dana"]}
    assert (event.from_status, event.to_status) == (None, None)  # no move: the status is untouched
    # The event is the next link of the request's chain, and the lineage check finds nothing broken.
    assert (event.chain_seq, stored.chain_seq, stored.chain_head) == (2, 2, event.row_hash)
    assert request_findings(request=stored) == []


def test_assign_by_username_then_unassign(reviewer, owner, second_reviewer):
    request = new_request(actor(owner))
    rs.request_assign(request=request, actor=actor(reviewer), assignee="dana")
    rs.request_assign(request=request, actor=actor(reviewer), assignee=None)
    assert BrainRequest.objects.get(pk=request.pk).assignee_id is None
    events = list(RequestEvent.objects.filter(request=request, event_type=RequestEventType.ASSIGNED)
                  .order_by("chain_seq").values_list("event_summary", "changed_fields"))
    assert events == [("Assigned to Dana Reyes", {"assignee": [None, "dana"]}),
                      ("Unassigned from Dana Reyes", {"assignee": ["dana", None]})]


def test_a_reviewer_assigns_themself(reviewer, owner):
    request = new_request(actor(owner))
    rs.request_assign(request=request, actor=actor(reviewer), assignee=reviewer)
    assert BrainRequest.objects.get(pk=request.pk).assignee == reviewer


def refused(request, *, by, assignee, kind=None, says: str):
    before = state(request)
    with pytest.raises(DomainError) as caught:
        rs.request_assign(request=request, actor=by, assignee=assignee)
    assert says in caught.value.message
    if kind is not None:
        assert caught.value.kind == kind
    assert state(request) == before
    return caught.value


def test_a_brain_owner_may_not_assign(owner, reviewer):
    request = new_request(actor(owner))
    refused(request, by=actor(owner), assignee=reviewer.pk, kind=Refusal.FORBIDDEN,
            says="Only HeadOffice assigns requests")


def test_an_outsider_may_not_assign(owner, outsider, reviewer):
    request = new_request(actor(owner))
    refused(request, by=actor(outsider), assignee=reviewer.pk, kind=Refusal.FORBIDDEN,
            says="Only HeadOffice assigns requests")


def test_an_executor_token_may_not_assign(owner, reviewer):
    request = new_request(actor(owner))
    refused(request, by=token_actor("affiliate"), assignee=reviewer.pk, kind=Refusal.FORBIDDEN,
            says="Only HeadOffice assigns requests")


def test_a_brain_owner_cannot_be_assigned(owner, reviewer, other_owner):
    request = new_request(actor(owner))
    error = refused(request, by=actor(reviewer), assignee=other_owner.pk,
                    says="affiliate_owner is not a HeadOffice member")
    assert error.field == "assignee"


def test_a_person_of_another_tenant_cannot_be_assigned_and_is_not_named(owner, reviewer, brains):
    gs.tenant_create(slug="zeta", name="Zeta Corp", reviewer_username="zeta_reviewer", reviewer_password=PASSWORD)
    stranger = get_user_model().objects.get(username="zeta_reviewer")
    request = new_request(actor(owner))
    for key in (stranger.pk, "zeta_reviewer"):
        error = refused(request, by=actor(reviewer), assignee=key, says="there is no person called")
        assert error.field == "assignee"


def test_a_person_with_no_tenant_cannot_be_assigned(owner, reviewer):
    loner = get_user_model().objects.create_user(username="loner", password=PASSWORD)
    request = new_request(actor(owner))
    refused(request, by=actor(reviewer), assignee=loner.pk, says="there is no person called")


def test_a_switched_off_account_cannot_be_assigned(owner, reviewer, second_reviewer):
    second_reviewer.is_active = False
    second_reviewer.save(update_fields=["is_active"])
    request = new_request(actor(owner))
    refused(request, by=actor(reviewer), assignee=second_reviewer.pk, says="account is switched off")


def test_assigning_the_same_person_again_is_refused(owner, reviewer):
    request = new_request(actor(owner))
    rs.request_assign(request=request, actor=actor(reviewer), assignee=reviewer.pk)
    refused(request, by=actor(reviewer), assignee=reviewer.pk, kind=Refusal.CONFLICT,
            says="already assigned to reviewer")


def test_a_final_request_cannot_be_assigned(owner, reviewer):
    request = new_request(actor(owner))
    rs.request_reject(request=request, actor=actor(reviewer), **OUTCOME)
    refused(request, by=actor(reviewer), assignee=reviewer.pk, kind=Refusal.CONFLICT, says="it is final")


def test_a_stale_version_is_refused(owner, reviewer):
    request = new_request(actor(owner))
    before = state(request)
    with pytest.raises(DomainError) as caught:
        rs.request_assign(request=request, actor=actor(reviewer), assignee=reviewer.pk,
                          expected_version=request.lock_version - 1)
    assert caught.value.kind == Refusal.CONFLICT and state(request) == before


def test_the_database_refuses_an_assignee_of_another_tenant(owner, reviewer, brains):
    """Raw SQL: the composite key (tenant_id, assignee_id) → mwms_tenant_users holds without the service."""
    gs.tenant_create(slug="zeta", name="Zeta Corp", reviewer_username="zeta_reviewer", reviewer_password=PASSWORD)
    stranger = get_user_model().objects.get(username="zeta_reviewer")
    request = new_request(actor(owner))
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE mwms_brain_requests SET assignee_id = %s WHERE id = %s",
                       [stranger.pk, BrainRequest._meta.pk.get_db_prep_value(request.pk, connection)])
    assert BrainRequest.objects.get(pk=request.pk).assignee_id is None
    with connection.cursor() as cursor:  # a person of the request's own tenant is taken
        cursor.execute("UPDATE mwms_brain_requests SET assignee_id = %s WHERE id = %s",
                       [reviewer.pk, BrainRequest._meta.pk.get_db_prep_value(request.pk, connection)])
    assert BrainRequest.objects.get(pk=request.pk).assignee_id == reviewer.pk
