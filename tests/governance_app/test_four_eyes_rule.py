"""The four-eyes rule (issue 17, item 3): a tenant may require that the HeadOffice reviewer who
classified a suggestion as propose_mcr_update is not the one who approves the MCR update. Off by
default, on in the demo; the service says so for the pages, the API and the admin alike."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import reverse

from governance_app import services as gs
from governance_app.kernel.db import DEFAULT_TENANT_ID
from governance_app.kernel.errors import DomainError, Refusal
from governance_app.models import DecisionKind, DecisionRecord, MembershipRole, Tenant, TokenRole
from requests_app.models import BrainRequest, McrUpdateStatus, RequestEvent, RequestStatus
from tests.api_client import api_as, created
from tests.conftest import _member, said
from tests.engine import CANON_PROPOSED, actor, canon_document, new_request, suggestion

pytestmark = pytest.mark.django_db
WHY = "Three Brains reported the same friction on the intake screen this month."
RULE = ("Four-eyes rule: {who} classified this suggestion as propose_mcr_update, so another HeadOffice reviewer "
        "approves the MCR update (you may still reject or park it).")


@pytest.fixture
def four_eyes(brains) -> None:
    Tenant.objects.filter(pk=DEFAULT_TENANT_ID).update(four_eyes_rule=True)


@pytest.fixture
def second_reviewer(brains):
    return _member("second_reviewer", brains["headoffice"], MembershipRole.HEAD_OFFICE_REVIEWER)


@pytest.fixture
def proposed(owner, reviewer) -> BrainRequest:
    """Research's MCR update suggestion, classified as propose_mcr_update by `reviewer`."""
    request = suggestion(actor(owner), request_title="Add awaiting_data to the status model",
                         mcr_update_suggested=True)
    gs.feedback_classify(request=request, actor=actor(reviewer), classification="propose_mcr_update", note=WHY)
    return BrainRequest.objects.get(pk=request.pk)


def state(request: BrainRequest) -> dict:
    return {"request": BrainRequest.objects.filter(pk=request.pk).values().get(),
            "events": RequestEvent.objects.filter(request_id=request.pk).count(),
            "decisions": DecisionRecord.objects.filter(related_request_id=request.pk).count()}


def test_it_is_off_for_a_new_tenant():
    assert Tenant.objects.get(pk=DEFAULT_TENANT_ID).four_eyes_rule is False


# --- the service ------------------------------------------------------------------------------------

def test_the_proposer_may_not_approve_and_nothing_changes(four_eyes, reviewer, proposed):
    before = state(proposed)

    with pytest.raises(DomainError) as refused:
        gs.mcr_decide(request=proposed, actor=actor(reviewer), decision="approved", reasoning=WHY)

    assert refused.value.kind == Refusal.FORBIDDEN
    assert refused.value.message == RULE.format(who="reviewer")
    assert state(proposed) == before


def test_another_reviewer_approves(four_eyes, proposed, second_reviewer):
    record = gs.mcr_decide(request=proposed, actor=actor(second_reviewer), decision="approved", reasoning=WHY)

    proposed.refresh_from_db()
    assert (proposed.status, proposed.mcr_update_status) == (RequestStatus.CLOSED, McrUpdateStatus.APPROVED)
    assert (record.mcr_decision, record.recorded_by) == ("approved", "second_reviewer")


@pytest.mark.parametrize(("decision", "status"), [("rejected", RequestStatus.REJECTED),
                                                  ("parked", RequestStatus.PARKED)])
def test_the_proposer_may_still_reject_or_park(four_eyes, reviewer, proposed, decision, status):
    gs.mcr_decide(request=proposed, actor=actor(reviewer), decision=decision, reasoning=WHY)

    assert BrainRequest.objects.get(pk=proposed.pk).status == status


def test_with_the_rule_off_the_proposer_approves(reviewer, proposed):
    gs.mcr_decide(request=proposed, actor=actor(reviewer), decision="approved", reasoning=WHY)

    assert BrainRequest.objects.get(pk=proposed.pk).mcr_update_status == McrUpdateStatus.APPROVED


# --- the API --------------------------------------------------------------------------------------------

def test_through_the_api_the_proposing_token_is_refused_and_another_approves(four_eyes, brains):
    research = api_as("research")
    proposer = api_as("headoffice", TokenRole.HEADOFFICE, label="proposer")
    document = canon_document()
    suggestion = created(research, destination_brain="headoffice", request_type="mcr_update_suggestion",
                         mcr_update_suggested=True, request_title="Add an awaiting_data status",
                         canon_document=document.slug, proposed_text=CANON_PROPOSED)
    url = f"/requests/{suggestion['request_id']}"
    assert proposer.post(f"{url}/classification", {"classification": "propose_mcr_update",
                                                   "note": WHY}).status_code == 201
    request = BrainRequest.objects.get(pk=suggestion["request_id"])
    decisions = DecisionRecord.objects.filter(related_request=request, decision_kind=DecisionKind.MCR_DECISION)

    refused = proposer.post(f"{url}/mcr-decision", {"decision": "approved", "reasoning": WHY})

    assert refused.status_code == 403
    assert refused.json()["detail"] == RULE.format(who="token:proposer")
    assert BrainRequest.objects.get(pk=request.pk).status == RequestStatus.AWAITING_MCR_DECISION
    assert not decisions.exists()
    approved = api_as("headoffice", TokenRole.HEADOFFICE, label="second-pair").post(
        f"{url}/mcr-decision", {"decision": "approved", "reasoning": WHY})
    assert approved.status_code == 201
    assert approved.json()["request"]["mcr_update_status"] == "approved"


# --- the page -------------------------------------------------------------------------------------------

def test_on_the_page_the_proposer_reads_the_rule_next_to_the_form(client, four_eyes, reviewer, proposed,
                                                                  second_reviewer):
    url = reverse("governance:mcr_decide", args=[proposed.pk])
    before = state(proposed)
    client.force_login(reviewer)

    page = client.post(url, {"decision": "approved", "reasoning": WHY})

    assert page.status_code == 200
    form = page.context["decide_form"]
    assert form.errors == {"__all__": [RULE.format(who="reviewer")]}
    assert "Four-eyes rule: reviewer classified this suggestion" in page.text
    assert said(page) == ["The MCR decision was not saved: see the message next to the form."]
    assert state(proposed) == before
    client.force_login(second_reviewer)
    assert client.post(url, {"decision": "approved", "reasoning": WHY}).status_code == 302
    assert BrainRequest.objects.get(pk=proposed.pk).mcr_update_status == McrUpdateStatus.APPROVED


# --- the admin and the demo -----------------------------------------------------------------------------

def test_the_admin_shows_the_flag_and_a_superuser_sets_it(admin_client, brains):
    url = reverse("admin:governance_app_tenant_change", args=[DEFAULT_TENANT_ID])
    listed = admin_client.get(reverse("admin:governance_app_tenant_changelist"))
    assert "four-eyes rule" in listed.text.lower()
    assert 'name="four_eyes_rule"' in admin_client.get(url).text
    tenant = Tenant.objects.get(pk=DEFAULT_TENANT_ID)

    saved = admin_client.post(url, {"name": tenant.name, "domain": "", "subscription_tier": tenant.subscription_tier,
                                    "max_users": tenant.max_users, "max_monthly_budget": tenant.max_monthly_budget,
                                    "is_active": "on", "four_eyes_rule": "on"})

    assert saved.status_code == 302, saved.context["adminform"].form.errors
    assert Tenant.objects.get(pk=DEFAULT_TENANT_ID).four_eyes_rule is True


def test_a_tenants_staff_see_the_flag_but_do_not_change_it(client, brains):
    staff = _member("ho_staff", brains["headoffice"], MembershipRole.HEAD_OFFICE_REVIEWER)
    get_user_model().objects.filter(pk=staff.pk).update(is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(codename__in=["view_tenant", "change_tenant"]))
    client.force_login(staff)

    page = client.get(reverse("admin:governance_app_tenant_change", args=[DEFAULT_TENANT_ID]))

    assert page.status_code == 200 and "Four-eyes rule" in page.text
    assert 'name="four_eyes_rule"' not in page.text


def test_seed_demo_turns_the_rule_on_and_its_story_keeps_it():
    call_command("seed_demo", stdout=StringIO())

    assert Tenant.objects.get(pk=DEFAULT_TENANT_ID).four_eyes_rule is True
    approved = list(BrainRequest.objects.filter(mcr_update_status=McrUpdateStatus.APPROVED))
    assert approved  # the story's MCR gate, end to end
    for request in approved:
        proposer = request.decisions.get(classification="propose_mcr_update").recorded_by
        approver = request.decisions.get(decision_kind=DecisionKind.MCR_DECISION).recorded_by
        assert (proposer, approver) == ("reviewer", "admin")
    Tenant.objects.filter(pk=DEFAULT_TENANT_ID).update(four_eyes_rule=False)
    call_command("seed_demo", stdout=StringIO())
    assert Tenant.objects.get(pk=DEFAULT_TENANT_ID).four_eyes_rule is False  # a rerun leaves the choice alone
