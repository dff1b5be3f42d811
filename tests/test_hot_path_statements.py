"""The hot-path statements of governance_app.kernel.fastpath (insert_row, versioned_update, load_row) store and
load exactly what the ORM calls they stand for would, on SQLite and on PostgreSQL alike."""

import uuid

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.signals import post_save, pre_save
from django.utils import timezone

from governance_app.kernel.fastpath import insert_row, load_row, versioned_update
from requests_app.models import BrainRequest, RequestEvent
from tasks_app.models import Task, TaskEvent
from tests.factories import make_request, make_task, make_task_artifact

pytestmark = pytest.mark.django_db


def _values(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


def _event(request: BrainRequest, **overrides) -> RequestEvent:
    fields = {"tenant_id": request.tenant_id, "request": request, "event_type": "note", "event_summary": "A note",
              "actor": "tester", "from_status": None, "to_status": "new", "note": "Ünïcode and 'quotes'",
              "changed_fields": {"status": ["new", "routed"]}, "event_payload": {"n": [1, 2.5, None, True]}}
    return RequestEvent(**{**fields, **overrides})


def test_insert_row_stores_what_save_would(brains):
    request = make_request()
    by_save, by_insert_row = _event(request), _event(request)
    by_save.save(force_insert=True)
    assert insert_row(by_insert_row) is by_insert_row
    assert not by_insert_row._state.adding and by_insert_row._state.db == "default"

    saved, inserted = (RequestEvent.objects.get(pk=e.pk) for e in (by_save, by_insert_row))
    chain = {name: getattr(inserted, name) for name in ("chain_seq", "prev_hash", "row_hash")}
    assert _values(inserted) == {**_values(saved), "id": by_insert_row.pk, "created_at": inserted.created_at, **chain}
    assert (inserted.chain_seq, inserted.prev_hash) == (saved.chain_seq + 1, saved.row_hash)  # the next link
    assert _values(inserted) == _values(by_insert_row)  # the instance matches its row exactly


def test_insert_row_of_a_request_with_its_lineage_and_null_keys(brains):
    parent = make_request()
    child = BrainRequest(tenant_id=parent.tenant_id, requesting_brain=brains["affiliate"],
                         requesting_authority="affiliate", target_brain=brains["finance"], request_type="finance_review_request",
                         request_title="Check the margin", request_summary="Check the margin of the offer.",
                         parent_request=parent, meta_json={"source": {"kpi": "epc", "delta": -0.2}},
                         supporting_brains=["ads", "sit"])
    insert_row(child)
    stored = BrainRequest.objects.get(pk=child.pk)
    assert _values(stored) == _values(child)
    assert stored.parent_request_id == parent.pk and stored.review_owner_id is None


def test_insert_row_refuses_a_stored_row_and_changes_nothing(brains):
    event = insert_row(_event(make_request()))
    event.event_summary = "Rewritten"
    with pytest.raises(ValueError, match="already stored"):
        insert_row(event)
    assert RequestEvent.objects.get(pk=event.pk).event_summary == "A note"


def test_insert_row_sends_the_signals_save_sends(brains):
    heard = []

    def before(sender, instance, raw, using, update_fields, **kwargs):
        heard.append(("pre_save", sender, instance._state.adding, raw, using, update_fields))
        instance.event_summary = "Changed before the insert"  # as a receiver may: the row has it

    def after(sender, instance, created, raw, using, update_fields, **kwargs):
        heard.append(("post_save", sender, instance._state.adding, created, raw, using, update_fields))

    pre_save.connect(before, sender=RequestEvent, dispatch_uid="test-insert-row-before")
    post_save.connect(after, sender=RequestEvent, dispatch_uid="test-insert-row-after")
    try:
        by_save, by_insert_row = _event(make_request()), _event(make_request())
        by_save.save(force_insert=True)
        by_save_heard, heard[:] = heard[:], []
        insert_row(by_insert_row)
    finally:
        pre_save.disconnect(dispatch_uid="test-insert-row-before", sender=RequestEvent)
        post_save.disconnect(dispatch_uid="test-insert-row-after", sender=RequestEvent)
    assert heard == by_save_heard == [("pre_save", RequestEvent, True, False, "default", None),
                                      ("post_save", RequestEvent, False, True, False, "default", None)]
    assert RequestEvent.objects.get(pk=by_insert_row.pk).event_summary == "Changed before the insert"


def test_a_queued_task_row_is_the_one_the_backend_writes(brains, settings):
    """kernel.transactions queues a task of the database queue through insert_row
    (`_enqueue_row`): the same row as django-tasks-db's own `task.enqueue()`, its pre_save receiver
    (run_after) included, and the same task_enqueued signal."""
    from django_tasks.signals import task_enqueued
    from django_tasks_db.models import DBTaskResult

    from governance_app.kernel.transactions import _enqueue_row
    from requests_app.notifications import notify

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    sent = []

    def enqueued(sender, task_result, **kwargs):
        sent.append((sender, task_result.task.module_path, task_result.args, task_result.kwargs, task_result.status))

    task_enqueued.connect(enqueued, dispatch_uid="test-enqueue-row")
    try:
        with transaction.atomic():
            theirs = notify.enqueue("tenant", "request", "event")
            _enqueue_row(notify.get_backend(), notify, ("tenant", "request", "event"))
    finally:
        task_enqueued.disconnect(dispatch_uid="test-enqueue-row")
    stored = {row.pk: row for row in DBTaskResult.objects.all()}
    assert len(stored) == 2 and sent[0] == sent[1]
    by_backend = stored.pop(uuid.UUID(str(theirs.id)))
    (ours,) = stored.values()
    differ = {"id", "enqueued_at"}
    assert {k: v for k, v in _values(ours).items() if k not in differ} == {
        k: v for k, v in _values(by_backend).items() if k not in differ}
    assert ours.run_after == by_backend.run_after and ours.args_kwargs == {"args": ["tenant", "request", "event"],
                                                                           "kwargs": {}}


def test_insert_row_falls_back_to_save_when_the_model_overrides_save(brains, monkeypatch):
    saved = []

    def save(self, *args, **kwargs):  # an override with a rule of its own, as a later model might have
        saved.append(kwargs.get("force_insert"))
        self.event_summary = self.event_summary.upper()
        super(RequestEvent, self).save(*args, **kwargs)

    monkeypatch.setattr(RequestEvent, "save", save)
    event = insert_row(_event(make_request()))

    assert saved == [True]
    assert RequestEvent.objects.get(pk=event.pk).event_summary == "A NOTE"


def test_insert_row_writes_a_row_itself_when_save_declares_a_plain_insert(brains, monkeypatch):
    assert RequestEvent.save.plain_insert and TaskEvent.save.plain_insert  # AppendOnlyModel's override
    calls = []
    original = RequestEvent.save

    def save(self, *args, **kwargs):
        calls.append(self.pk)
        original(self, *args, **kwargs)

    save.plain_insert = True
    monkeypatch.setattr(RequestEvent, "save", save)
    event = insert_row(_event(make_request()))

    assert calls == [] and RequestEvent.objects.filter(pk=event.pk).exists()


def test_a_failed_insert_row_raises_and_leaves_no_row(brains):
    event = _event(make_request(), event_type="not_an_event_type")  # the CHECK constraint refuses it
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_row(event)
    assert not RequestEvent.objects.filter(pk=event.pk).exists()


def test_versioned_update_writes_like_the_orm_update(brains):
    ours, theirs = make_task(), make_task()
    artifact_ours, artifact_theirs = make_task_artifact(ours), make_task_artifact(theirs)
    now = timezone.now()
    values = {"status": "picked_up", "attempts": 1, "assigned_employee": "executor-1", "updated_at": now,
              "evidence_links": ["https://example.com/a", "note: b"]}
    assert versioned_update(ours, {**values, "result": artifact_ours}) is True
    assert Task.objects.filter(pk=theirs.pk, lock_version=theirs.lock_version).update(
        **values, result=artifact_theirs, lock_version=F("lock_version") + 1) == 1

    ours_row, theirs_row = Task.objects.get(pk=ours.pk), Task.objects.get(pk=theirs.pk)
    skip = {"id", "request_id", "title", "created_at", "result_id"}
    assert {k: v for k, v in _values(ours_row).items() if k not in skip} == \
        {k: v for k, v in _values(theirs_row).items() if k not in skip}
    assert ours_row.lock_version == ours.lock_version + 1
    assert ours_row.result_id == artifact_ours.pk and ours_row.updated_at == now


def test_versioned_update_with_a_stale_version_writes_nothing(brains):
    task = make_task()
    stale = Task.objects.get(pk=task.pk)
    assert versioned_update(task, {"status": "picked_up", "attempts": 1}) is True
    assert versioned_update(stale, {"status": "cancelled", "assigned_employee": "late"}) is False
    row = Task.objects.get(pk=task.pk)
    assert (row.status, row.assigned_employee, row.lock_version) == ("picked_up", None, task.lock_version + 1)


def test_versioned_update_writes_null(brains):
    task = make_task(assigned_employee="someone")
    assert versioned_update(task, {"assigned_employee": None})
    assert Task.objects.get(pk=task.pk).assigned_employee is None


def test_versioned_update_refuses_an_instance_for_a_plain_column(brains):
    task = make_task()
    with pytest.raises(TypeError):
        versioned_update(task, {"title": make_request()})


@pytest.mark.parametrize("model", [Task, TaskEvent, BrainRequest])
def test_load_row_makes_the_instance_the_orm_would(brains, model):
    task = make_task(input_payload={"offer": {"id": "o-1", "epc": 1.25}}, evidence_links=["x"])
    make_task_artifact(task)
    TaskEvent.objects.create(task=task, tenant_id=task.tenant_id, event_type="progress", event_summary="Half",
                             actor="x", event_payload={"done": 0.5})
    meta = model._meta
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(quote(f.column) for f in meta.concrete_fields)} FROM {quote(meta.db_table)}")
        rows = cursor.fetchall()
    assert rows
    for row in rows:
        loaded = load_row(model, row, connection)
        expected = model.objects.get(pk=loaded.pk)
        assert _values(loaded) == _values(expected)
        assert not loaded._state.adding and loaded._state.db == "default"


def test_first_row_finds_what_the_orm_finds_and_nothing_else(brains):
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.models import Session
    from governance_app.kernel.fastpath import first_row
    from datetime import timedelta

    user = get_user_model().objects.create_user("ann", first_name="Ann", password="a-long-pass-1")
    assert _values(first_row(get_user_model(), pk=user.pk)) == _values(get_user_model().objects.get(pk=user.pk))
    assert _values(first_row(get_user_model(), pk=str(user.pk))) == _values(user)  # a session keeps the key as text
    assert first_row(get_user_model(), pk=user.pk + 1000) is None

    now = timezone.now()
    Session.objects.create(session_key="k" * 32, session_data="data", expire_date=now + timedelta(minutes=5))
    Session.objects.create(session_key="e" * 32, session_data="old", expire_date=now - timedelta(seconds=1))
    found = first_row(Session, session_key="k" * 32, expire_date__gt=now)
    assert (found.session_data, found.expire_date) == ("data", Session.objects.get(pk="k" * 32).expire_date)
    assert first_row(Session, session_key="e" * 32, expire_date__gt=now) is None  # expired
    assert first_row(Session, session_key="e" * 32, expire_date__gt=now - timedelta(minutes=1)).session_data == "old"
    with pytest.raises(TypeError):
        first_row(Session, session_data__contains="d")
