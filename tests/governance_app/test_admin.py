"""The admin of governance_app (and the registry as a whole): tenants, Brains, memberships, tokens,
decisions, lessons, canon documents and amendments.

Decisions and amendments are append-only: no add, change or delete, for superusers too (ARCHITECTURE.md,
"Append-only, enforced by the database"). Canon text changes only through an approved amendment.
"""

import itertools
import uuid
from collections.abc import Callable

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.db.models import Model
from django.http import HttpRequest
from django.test.client import RequestFactory

from governance_app.kernel.db import DEFAULT_TENANT_ID
from governance_app.models import (
    ApiToken,
    Brain,
    CanonAmendment,
    CanonDocument,
    CanonProposal,
    ChainCheckpoint,
    ChainCheckpointHead,
    DecisionRecord,
    IdempotencyRecord,
    LessonLearned,
    Membership,
    RefusalWindow,
    SuggestionEvidence,
    WebhookDelivery,
    WebhookSubscription,
    Tenant,
    TenantUser,
)
from requests_app.models import BrainRequest
from tests.admin_pages import (
    admin_url,
    assert_changelist_query_count_is_flat,
    assert_pages_answer,
)
from tests.factories import (
    make_suggestion_evidence,
    make_chain_checkpoint,
    make_chain_checkpoint_head,
    make_refusal_window,
    make_tenant,
    make_webhook_delivery,
    make_webhook_subscription,
)

_seq = itertools.count(1)


# --- private builders: one saved row of each model -------------------------------------------


def _request() -> BrainRequest:
    n = next(_seq)
    return BrainRequest.objects.create(
        requesting_authority="Research Brain", requesting_brain_id="research", target_brain_id="finance",
        request_type="finance_review_request", request_title=f"Budget check {n}",
        request_summary="Is the test budget within limits?", required_output="A yes or no with limits",
    )


def _decision(request: BrainRequest | None = None) -> DecisionRecord:
    return DecisionRecord.objects.create(
        authority_id="headoffice", related_request=request, decision_summary=f"Approve budget {next(_seq)}",
        reasoning="Within the quarterly limit.", recorded_by="reviewer",
    )


def _document() -> CanonDocument:
    n = next(_seq)
    return CanonDocument.objects.create(slug=f"protocol-{n}", title=f"Request protocol {n}", body="Original text.")


def _amendment() -> CanonAmendment:
    request = _request()
    return CanonAmendment.objects.create(
        document=_document(), request=request, decision=_decision(request), version_before="v1.0",
        version_after="v1.1", body_before="Original text.", body_after="Amended text.", approved_by="reviewer",
    )


def _proposal() -> CanonProposal:
    request = _request()
    return CanonProposal.objects.create(request=request, document=_document(), base_version="v1.0",
                                        proposed_text="Proposed text.", proposed_by="research_owner")


def _token() -> ApiToken:
    n = next(_seq)
    return ApiToken.objects.create(
        brain_id="research", role="executor", label=f"executor {n}", prefix=f"mwms_{n:04d}",
        token_hash=uuid.uuid4().hex + uuid.uuid4().hex,
    )


def _membership() -> Membership:
    user = User.objects.create_user(username=f"member{next(_seq)}")
    TenantUser.objects.create(user=user, tenant_id=DEFAULT_TENANT_ID)
    return Membership.objects.create(user=user, brain_id="research", role="member")


def _lesson() -> LessonLearned:
    return LessonLearned.objects.create(
        originating_brain_id="research", event_or_experiment="Landing page test", result="No lift",
        insight=f"Headlines alone do not move conversion {next(_seq)}", recommended_improvement="Test offers",
    )


def _idempotency_record() -> IdempotencyRecord:
    return IdempotencyRecord.objects.create(token=_token(), key=f"key-{next(_seq)}", fingerprint="f" * 64,
                                            response_status=201, response_body={"request_id": "x"})


BUILDERS: dict[type[Model], Callable[[], Model]] = {
    IdempotencyRecord: _idempotency_record,
    Tenant: lambda: make_tenant(name="Second organisation"),
    Brain: lambda: Brain.objects.create(slug=f"brain-{next(_seq)}", name="Pricing Brain",
                                        accepted_request_types=["research_request"]),
    Membership: _membership,
    TenantUser: lambda: TenantUser.objects.create(user=User.objects.create_user(username=f"linked{next(_seq)}"),
                                                  tenant_id=DEFAULT_TENANT_ID),
    ApiToken: _token,
    DecisionRecord: _decision,
    LessonLearned: _lesson,
    CanonDocument: _document,
    CanonAmendment: _amendment,
    CanonProposal: _proposal,
    SuggestionEvidence: make_suggestion_evidence,
    RefusalWindow: make_refusal_window,
    WebhookSubscription: make_webhook_subscription,
    WebhookDelivery: make_webhook_delivery,
    ChainCheckpoint: make_chain_checkpoint,
    ChainCheckpointHead: make_chain_checkpoint_head,
    User: lambda: User.objects.create_user(username=f"person{next(_seq)}"),
    Group: lambda: Group.objects.create(name=f"group {next(_seq)}"),
}

TESTED_HERE = sorted(
    (m for m in admin.site._registry if m._meta.app_label in {"governance_app", "auth"}),
    key=lambda m: m._meta.label,
)
APPEND_ONLY = [DecisionRecord, CanonAmendment, CanonProposal, SuggestionEvidence, IdempotencyRecord, ChainCheckpoint, ChainCheckpointHead]


def _admin_request(user) -> HttpRequest:
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


# --- the registry -------------------------------------------------------------------------------


def test_every_model_of_the_project_is_in_the_admin():
    project_models = {
        model for label in ("governance_app", "requests_app", "tasks_app")
        for model in apps.get_app_config(label).get_models()
    }
    assert project_models - set(admin.site._registry) == set()


def test_every_model_tested_here_has_a_builder():
    assert set(TESTED_HERE) == set(BUILDERS)


@pytest.mark.parametrize("model", TESTED_HERE, ids=lambda m: m._meta.label)
def test_changelist_and_change_page_answer_200(admin_client, brains, model):
    assert_pages_answer(admin_client, model, BUILDERS[model])


@pytest.mark.parametrize("model", TESTED_HERE, ids=lambda m: m._meta.label)
def test_changelist_query_count_does_not_grow_with_rows(admin_client, brains, model, django_assert_max_num_queries):
    assert_changelist_query_count_is_flat(admin_client, model, BUILDERS[model], django_assert_max_num_queries)


# --- append-only: decisions and amendments ----------------------------------------------------


@pytest.mark.parametrize("model", APPEND_ONLY, ids=lambda m: m._meta.label)
def test_append_only_records_grant_no_add_change_or_delete_even_to_a_superuser(admin_user, brains, model):
    obj = BUILDERS[model]()
    request = _admin_request(admin_user)
    model_admin = admin.site._registry[model]

    assert model_admin.has_view_permission(request, obj)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, obj)
    assert not model_admin.has_delete_permission(request, obj)


@pytest.mark.parametrize("model", APPEND_ONLY, ids=lambda m: m._meta.label)
def test_append_only_add_page_is_forbidden(admin_client, brains, model):
    assert admin_client.get(admin_url(model, "add")).status_code == 403


@pytest.mark.parametrize("model", APPEND_ONLY, ids=lambda m: m._meta.label)
def test_append_only_change_page_is_read_only_and_refuses_a_post(admin_client, brains, model):
    obj = BUILDERS[model]()
    url = admin_url(model, "change", obj.pk)

    page = admin_client.get(url)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert b'name="_continue"' not in page.content

    response = admin_client.post(url, {"approved_by": "intruder", "decision_summary": "Rewritten", "_save": "Save"})
    assert response.status_code == 403
    fresh = model.objects.get(pk=obj.pk)
    assert (getattr(fresh, "approved_by", None), getattr(fresh, "decision_summary", None)) == (
        getattr(obj, "approved_by", None), getattr(obj, "decision_summary", None))


@pytest.mark.parametrize("model", APPEND_ONLY, ids=lambda m: m._meta.label)
def test_append_only_rows_cannot_be_deleted_in_the_admin(admin_client, brains, model):
    obj = BUILDERS[model]()

    assert admin_client.post(admin_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    response = admin_client.post(admin_url(model, "changelist"), {"action": "delete_selected",
                                                             "_selected_action": [str(obj.pk)], "post": "yes"})
    assert response.status_code in (200, 302)
    assert model.objects.filter(pk=obj.pk).exists()


# --- lineage is never deleted -------------------------------------------------------------------


def test_a_lesson_cannot_be_deleted_in_the_admin(admin_client, admin_user, brains):
    lesson = _lesson()

    assert admin_client.post(admin_url(LessonLearned, "delete", lesson.pk), {"post": "yes"}).status_code == 403
    assert "delete_selected" not in admin.site._registry[LessonLearned].get_actions(_admin_request(admin_user))
    assert LessonLearned.objects.filter(pk=lesson.pk).exists()


def test_a_lesson_added_in_the_admin_records_who_recorded_it(admin_client, admin_user, brains):
    response = admin_client.post(admin_url(LessonLearned, "add"), {
        "tenant": str(DEFAULT_TENANT_ID), "originating_brain_id": "research", "event_or_experiment": "Offer test", "result": "Lift of 4%",
        "insight": "Bundles beat discounts", "recommended_improvement": "Bundle by default", "_save": "Save",
    })

    assert response.status_code == 302
    lesson = LessonLearned.objects.get(insight="Bundles beat discounts")
    assert lesson.recorded_by == admin_user.username


# --- canon: text and version only through an approved amendment -----------------------------


@pytest.mark.parametrize("model", [CanonDocument, CanonAmendment, CanonProposal], ids=lambda m: m.__name__)
def test_the_canon_is_read_only_in_the_admin_for_a_superuser_too(admin_client, admin_user, brains, model):
    row = BUILDERS[model]()
    model_admin = admin.site._registry[model]
    request = _admin_request(admin_user)
    assert admin_user.is_superuser
    assert not model_admin.has_add_permission(request) and not model_admin.has_change_permission(request, row)
    assert not model_admin.has_delete_permission(request, row) and not model_admin.get_actions(request)
    assert admin_client.get(admin_url(model, "add")).status_code == 403


def test_canon_body_and_version_cannot_be_changed_in_the_admin(admin_client, brains):
    document = _document()
    before = CanonDocument.objects.filter(pk=document.pk).values().get()

    response = admin_client.post(admin_url(CanonDocument, "change", document.pk), {
        "title": "Request protocol (renamed)", "document_type": "protocol", "body": "Rewritten canon",
        "version": "v9.9", "slug": "hijacked", "amendments-TOTAL_FORMS": "0", "amendments-INITIAL_FORMS": "0",
        "_save": "Save",
    })

    assert response.status_code == 403
    assert CanonDocument.objects.filter(pk=document.pk).values().get() == before
    page = admin_client.get(admin_url(CanonDocument, "change", document.pk)).content.decode()
    assert 'name="body"' not in page and 'name="version"' not in page and 'name="_save"' not in page


def test_canon_document_page_lists_its_amendments(admin_client, brains):
    amendment = _amendment()

    response = admin_client.get(admin_url(CanonDocument, "change", amendment.document_id))

    assert b"v1.1" in response.content
    assert b'name="amendments-0-version_after"' not in response.content


# --- the Brain registry ---------------------------------------------------------------------


def test_a_brain_can_be_edited_but_its_slug_is_fixed(admin_client, brains):
    research = brains["research"]

    response = admin_client.post(admin_url(Brain, "change", research.pk), {
        "slug": "renamed", "name": "Research & Insight Brain", "authority": "operational",
        "charter": "Finds signals.", "accepted_request_types": ["research_request", "brain_room_request"],
        "is_active": "on", "_save": "Save",
    })

    assert response.status_code == 302
    research.refresh_from_db()
    assert research.slug == "research"
    assert research.name == "Research & Insight Brain"
    assert research.accepted_request_types == ["research_request", "brain_room_request"]
    assert research.may_record_decisions is False


def test_a_brain_cannot_be_deleted_in_the_admin(admin_client, brains):
    assert admin_client.post(admin_url(Brain, "delete", brains["ads"].pk), {"post": "yes"}).status_code == 403
    assert Brain.objects.filter(slug="ads").exists()


# --- API tokens: listed and revoked, never added, hash never shown ---------------------------


def test_tokens_cannot_be_added_in_the_admin(admin_client, brains):
    assert admin_client.get(admin_url(ApiToken, "add")).status_code == 403


def test_revoking_selected_tokens_sets_revoked_at(admin_client, brains):
    revoked, other = _token(), _token()

    response = admin_client.post(admin_url(ApiToken, "changelist"), {
        "action": "revoke_tokens", "_selected_action": [str(revoked.pk)],
    }, follow=True)

    assert response.status_code == 200
    assert b"Revoked 1 token(s)." in response.content
    revoked.refresh_from_db()
    other.refresh_from_db()
    assert revoked.revoked_at is not None
    assert other.revoked_at is None


def test_revoking_an_already_revoked_token_keeps_its_first_revocation_time(admin_client, brains):
    token = _token()
    admin_client.post(admin_url(ApiToken, "changelist"), {"action": "revoke_tokens", "_selected_action": [str(token.pk)]})
    token.refresh_from_db()
    first = token.revoked_at

    admin_client.post(admin_url(ApiToken, "changelist"), {"action": "revoke_tokens", "_selected_action": [str(token.pk)]})

    token.refresh_from_db()
    assert token.revoked_at == first


def test_the_token_hash_is_never_shown_in_full(admin_client, brains):
    token = _token()

    listing = admin_client.get(admin_url(ApiToken, "changelist"))
    page = admin_client.get(admin_url(ApiToken, "change", token.pk))

    assert token.prefix.encode() in listing.content
    assert token.token_hash.encode() not in listing.content
    assert token.token_hash.encode() not in page.content
    assert token.token_hash[:8].encode() in page.content
    assert "token_hash" not in page.context["adminform"].form.fields


def test_a_token_edit_cannot_rebind_or_unrevoke_it(admin_client, brains):
    token = _token()

    response = admin_client.post(admin_url(ApiToken, "change", token.pk), {
        "label": "renamed executor", "brain": "finance", "role": "headoffice", "token_hash": "x", "_save": "Save",
    })

    assert response.status_code == 302
    token.refresh_from_db()
    assert (token.label, token.brain_id, token.role) == ("renamed executor", "research", "executor")
