"""The admin of requests_app: Brain Requests (governed edits only), request events and signals.

An edit made in the admin writes a fields_changed request event saying who changed which fields from
what to what; status, lineage, routing, escalation and outcome fields cannot be edited there.
"""

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib import admin
from django.db import connection
from django.db.models import Model
from django.test.client import RequestFactory

from governance_app.kernel.actors import SYSTEM
from requests_app.models import (
    BrainRequest,
    ListPreference,
    Notification,
    NotificationPreference,
    RequestEvent,
    RequestEventType,
    Priority,
    RequestType,
    SavedView,
    Signal,
    SlaClock,
    SlaPolicy,
    SlaTarget,
    Watch,
)
from requests_app.services import request_event_write
from tasks_app.models import Task
from tests.admin_pages import admin_url, assert_changelist_query_count_is_flat, assert_pages_answer, change_form_data
from tests.db_roles import AppQueries
from tests.db_roles import acting_for
from tests.factories import (
    make_list_preference,
    make_notification,
    make_notification_preference,
    make_saved_view,
    make_sla_policy,
    make_sla_target,
    make_tenant,
)

_seq = itertools.count(1)


# --- private builders ---------------------------------------------------------------------------


def _request(**fields: Any) -> BrainRequest:
    values = {
        "requesting_authority": "Research Brain", "requesting_brain_id": "research", "target_brain_id": "finance",
        "request_type": "finance_review_request", "request_title": f"Budget check {next(_seq)}",
        "request_summary": "Is the test budget within limits?", "required_output": "A yes or no with limits",
        "priority": "medium",
    }
    return BrainRequest.objects.create(**(values | fields))


def _event(request: BrainRequest | None = None) -> RequestEvent:
    return request_event_write(request=request or _request(), actor=SYSTEM, event_type=RequestEventType.NOTE,
                               summary=f"Reviewer note {next(_seq)}", note="Checked the limits.")


def _task(request: BrainRequest) -> Task:
    return Task.objects.create(request=request, task_type="budget_check", assigned_brain_id="finance",
                               title=f"Check the budget {next(_seq)}")


def _signal() -> Signal:
    return Signal.objects.create(source_brain_id="ads", signal_type="campaign_deterioration",
                                 summary=f"CPA up 40% {next(_seq)}", request=_request())


def _sla_target() -> SlaTarget:
    # A different (request type, priority, clock) each time: a tenant has one target of each.
    n = next(_seq)
    types = [None, *RequestType.values]
    return make_sla_target(priority=Priority.values[n % 4], clock=SlaClock.values[(n // 4) % 13],
                           request_type=types[(n // 52) % len(types)])


def _policy_of_a_new_tenant() -> SlaPolicy:
    """An SLA policy of a tenant of its own (one per tenant), written acting for it (row-level security)."""
    tenant = make_tenant()
    with acting_for(tenant):
        return make_sla_policy(tenant_id=tenant.id)


BUILDERS: dict[type[Model], Callable[[], Model]] = {
    SlaPolicy: lambda: _policy_of_a_new_tenant(),   # one per tenant
    SlaTarget: _sla_target,
    BrainRequest: _request,
    RequestEvent: _event,
    Signal: _signal,
    Watch: lambda: Watch.objects.create(request=_request(), user=make_notification_preference().user, watching=False),
    Notification: lambda: make_notification(_request()),
    NotificationPreference: make_notification_preference,
    SavedView: make_saved_view,
    ListPreference: make_list_preference,
}
TESTED_HERE = sorted((m for m in admin.site._registry if m._meta.app_label == "requests_app"),
                     key=lambda m: m._meta.label)
READ_ONLY = [RequestEvent, Signal, Watch, Notification, NotificationPreference, SavedView, ListPreference]


# --- every page answers -------------------------------------------------------------------------


def test_every_model_tested_here_has_a_builder():
    assert set(TESTED_HERE) == set(BUILDERS)


@pytest.mark.parametrize("model", TESTED_HERE, ids=lambda m: m._meta.label)
def test_changelist_and_change_page_answer_200(admin_client, brains, model):
    assert_pages_answer(admin_client, model, BUILDERS[model])


@pytest.mark.parametrize("model", TESTED_HERE, ids=lambda m: m._meta.label)
def test_changelist_query_count_does_not_grow_with_rows(admin_client, brains, model, django_assert_max_num_queries):
    assert_changelist_query_count_is_flat(admin_client, model, BUILDERS[model], django_assert_max_num_queries)


def test_request_change_page_query_count_does_not_grow_with_events_and_tasks(
        admin_client, brains, django_assert_max_num_queries):
    request = _request(status="routed", review_owner_id="headoffice")
    url = admin_url(BrainRequest, "change", request.pk)
    for _ in range(3):
        _event(request), _task(request)
    admin_client.get(url)
    with AppQueries(connection) as with_three:
        admin_client.get(url)

    for _ in range(27):
        _event(request), _task(request)
    with django_assert_max_num_queries(len(with_three)):
        assert admin_client.get(url).status_code == 200


# --- the changelist speaks the protocol's names -------------------------------------------------


def test_request_changelist_heads_columns_with_the_protocol_names(admin_client, brains):
    request = _request()

    content = admin_client.get(admin_url(BrainRequest, "changelist")).content.decode()

    for heading in ("Origin brain", "Destination brain", "Request status"):
        assert heading in content
    assert request.request_title in content
    assert "Finance Brain" in content


def test_request_changelist_filters_by_request_status(admin_client, brains):
    routed = _request(status="routed", review_owner_id="headoffice")
    fresh = _request()

    response = admin_client.get(admin_url(BrainRequest, "changelist"), {"status__exact": "routed"})

    shown = {obj.pk for obj in response.context["cl"].result_list}
    assert shown == {routed.pk}
    assert fresh.pk not in shown
    assert b"By request status" in response.content


def test_request_changelist_searches_titles(admin_client, brains):
    wanted = _request(request_title="Refund spike on offer 12")
    _request()

    response = admin_client.get(admin_url(BrainRequest, "changelist"), {"q": "refund spike"})

    assert [obj.pk for obj in response.context["cl"].result_list] == [wanted.pk]


# --- a governed edit writes a request event -----------------------------------------------------


def test_editing_title_and_priority_writes_one_fields_changed_event(admin_client, admin_user, brains):
    request = _request(request_title="Budget check", priority="medium")
    url = admin_url(BrainRequest, "change", request.pk)
    data = change_form_data(admin_client.get(url))

    response = admin_client.post(url, data | {"request_title": "Budget check for Q3", "priority": "high"})

    assert response.status_code == 302
    request.refresh_from_db()
    assert (request.request_title, request.priority, request.lock_version) == ("Budget check for Q3", "high", 1)
    event = RequestEvent.objects.get(request=request)
    assert event.event_type == RequestEventType.FIELDS_CHANGED
    assert event.actor == admin_user.username
    assert event.changed_fields == {"priority": ["medium", "high"],
                                    "request_title": ["Budget check", "Budget check for Q3"]}


def test_editing_json_and_boolean_fields_records_their_values(admin_client, brains):
    request = _request()
    url = admin_url(BrainRequest, "change", request.pk)
    data = change_form_data(admin_client.get(url))
    data.pop("head_office_visible")

    admin_client.post(url, data | {"meta_json": '{"campaign": "q3"}'})

    event = RequestEvent.objects.get(request=request)
    assert event.changed_fields == {"head_office_visible": [True, False], "meta_json": [{}, {"campaign": "q3"}]}


def test_status_and_lineage_cannot_be_changed_in_the_admin(admin_client, brains):
    request = _request()
    url = admin_url(BrainRequest, "change", request.pk)
    data = change_form_data(admin_client.get(url))

    admin_client.post(url, data | {
        "status": "closed", "target_brain": "sit", "requesting_brain": "ads", "mcr_update_status": "approved",
        "escalation_flag": "on", "lock_version": "7", "created_by": "intruder",
    })

    request.refresh_from_db()
    assert (request.status, request.target_brain_id, request.requesting_brain_id) == ("new", "finance", "research")
    assert (request.mcr_update_status, request.escalation_flag, request.created_by) == ("none", False, "")
    assert not RequestEvent.objects.filter(request=request).exists()


def test_saving_without_a_change_writes_nothing(admin_client, brains):
    request = _request()
    url = admin_url(BrainRequest, "change", request.pk)

    response = admin_client.post(url, change_form_data(admin_client.get(url)))

    assert response.status_code == 302
    assert not RequestEvent.objects.filter(request=request).exists()
    request.refresh_from_db()
    assert request.lock_version == 0


def test_an_edit_on_a_stale_page_is_refused(admin_client, brains):
    request = _request(request_title="Budget check")
    url = admin_url(BrainRequest, "change", request.pk)
    data = change_form_data(admin_client.get(url))
    # Someone else changes the request after the page was opened.
    BrainRequest.objects.filter(pk=request.pk).update(request_title="Budget check (theirs)", lock_version=1)

    response = admin_client.post(url, data | {"priority": "urgent"})

    assert response.status_code == 200
    assert b"Someone changed this record after you opened it" in response.content
    request.refresh_from_db()
    assert (request.request_title, request.priority) == ("Budget check (theirs)", "medium")
    assert not RequestEvent.objects.filter(request=request).exists()


def test_status_fields_are_shown_read_only(admin_client, brains):
    request = _request()

    form = admin_client.get(admin_url(BrainRequest, "change", request.pk)).context["adminform"].form

    assert set(form.fields) == {"request_title", "request_summary", "required_output", "priority",
                                "operating_layer", "routing_notes", "head_office_visible", "meta_json",
                                "seen_lock_version"}


def test_request_page_shows_its_events_and_tasks_read_only(admin_client, brains):
    request = _request(status="routed", review_owner_id="headoffice")
    event, task = _event(request), _task(request)

    response = admin_client.get(admin_url(BrainRequest, "change", request.pk))

    assert event.event_summary.encode() in response.content
    assert task.title.encode() in response.content
    assert b'name="events-0-event_summary"' not in response.content
    assert b'name="tasks-0-title"' not in response.content


# --- no add, no delete; events and signals read-only --------------------------------------------


def test_requests_cannot_be_added_or_deleted_in_the_admin(admin_client, brains):
    request = _request()

    assert admin_client.get(admin_url(BrainRequest, "add")).status_code == 403
    assert admin_client.post(admin_url(BrainRequest, "delete", request.pk), {"post": "yes"}).status_code == 403
    assert BrainRequest.objects.filter(pk=request.pk).exists()


@pytest.mark.parametrize("model", READ_ONLY, ids=lambda m: m._meta.label)
def test_read_only_models_grant_no_add_change_or_delete_even_to_a_superuser(admin_user, brains, model):
    obj = BUILDERS[model]()
    http_request = RequestFactory().get("/admin/")
    http_request.user = admin_user
    model_admin = admin.site._registry[model]

    assert model_admin.has_view_permission(http_request, obj)
    assert not model_admin.has_add_permission(http_request)
    assert not model_admin.has_change_permission(http_request, obj)
    assert not model_admin.has_delete_permission(http_request, obj)


@pytest.mark.parametrize("model", READ_ONLY, ids=lambda m: m._meta.label)
def test_read_only_models_refuse_add_change_and_delete(admin_client, brains, model):
    obj = BUILDERS[model]()
    change_url = admin_url(model, "change", obj.pk)

    assert admin_client.get(admin_url(model, "add")).status_code == 403
    page = admin_client.get(change_url)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert admin_client.post(change_url, {"summary": "Rewritten", "event_summary": "Rewritten"}).status_code == 403
    assert admin_client.post(admin_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    fresh = model.objects.get(pk=obj.pk)
    assert getattr(fresh, "summary", None) == getattr(obj, "summary", None)
    assert getattr(fresh, "event_summary", None) == getattr(obj, "event_summary", None)
