"""The bulk path of `seed_demo --scale` builds its rows without Model.__init__ (`new_row`) and
writes them for COPY without each field's get_db_prep_save (`_copy_values`): what it builds and
writes must be what Django would, field for field."""

import uuid
from datetime import UTC, datetime

import pytest
from django.db import connection

from governance_app.demo_scale import _copy_values, new_row
from governance_app.kernel.db import DEFAULT_TENANT_ID
from governance_app.kernel.digests import row_digest
from requests_app.models import BrainRequest, RequestEvent, RequestEventType, RequestStatus
from tasks_app.models import Task, TaskEvent, TaskEventType, TaskStatus

AT = datetime(2026, 11, 2, 9, 30, 12, 345678, tzinfo=UTC)


def request_values() -> dict:
    return dict(id=uuid.uuid4(), tenant_id=DEFAULT_TENANT_ID, request_type="research_request",
                requesting_brain_id="ads", target_brain_id="research", request_title="Sizing: pet insurance",
                status=RequestStatus.NEW, priority="high", created_at=AT, updated_at=AT,
                meta_json={"scale": True, "scale_run": "ab12cd34"})


def concrete(row) -> dict:
    return {f.attname: getattr(row, f.attname) for f in type(row)._meta.concrete_fields}


def test_new_row_builds_what_model_init_builds_defaults_keys_and_cached_parents():
    request = new_row(BrainRequest, **request_values())
    values = dict(id=uuid.uuid4(), tenant_id=DEFAULT_TENANT_ID, request=request,
                  event_type=RequestEventType.STATUS_CHANGED, event_summary="Submitted", actor="reviewer",
                  from_status="new", to_status="under_review", event_payload={"move": "submit_for_review"},
                  changed_fields={"status": ["new", "under_review"]}, created_at=AT)
    fast, slow = new_row(RequestEvent, **values), RequestEvent(**values)
    assert concrete(fast) == concrete(slow)
    assert fast.request is request and fast.request_id == request.id  # the parent cached, as __init__ does
    assert fast._state.adding and fast._state.db is None
    assert row_digest(fast) == row_digest(slow)
    assert concrete(new_row(BrainRequest, **request_values())).keys() == concrete(BrainRequest()).keys()


def test_new_row_falls_back_to_model_init_for_a_value_that_is_no_field():
    values = {**request_values(), "not_a_field": 1}
    with pytest.raises(TypeError):
        new_row(BrainRequest, **values)


@pytest.mark.postgres  # COPY is PostgreSQL's
@pytest.mark.django_db
def test_copy_values_are_what_django_prepares_for_postgresql():
    request = new_row(BrainRequest, **request_values())
    task = new_row(Task, id=uuid.uuid4(), tenant_id=DEFAULT_TENANT_ID, request_id=request.id,
                   task_type="market_research", assigned_brain_id="research", title="Market research: pets",
                   input_payload={"niche": "pets"}, risk_level="low", priority="high", status=TaskStatus.QUEUED,
                   created_at=AT, updated_at=AT)
    event = new_row(TaskEvent, id=uuid.uuid4(), tenant_id=DEFAULT_TENANT_ID, task=task,
                    event_type=TaskEventType.CREATED, event_summary="Task created", actor="research_owner",
                    to_status=TaskStatus.QUEUED, created_at=AT, chain_seq=1, prev_hash="", row_hash="f" * 64)
    for row in (request, task, event):
        fields = type(row)._meta.concrete_fields
        prepared = [f.get_db_prep_save(f.pre_save(row, True), connection) for f in fields]
        written = _copy_values(type(row))(row)
        for f, django, ours in zip(fields, prepared, written, strict=True):
            if hasattr(django, "obj"):  # jsonb: the same value, wrapped
                assert (f.name, ours.obj) == (f.name, django.obj)
            else:
                assert (f.name, str(ours)) == (f.name, str(django))
