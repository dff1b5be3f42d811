"""`manage.py lineage_verify` names what someone with the database owner's rights broke in history.

Issue 13's tests: as the owner, past the triggers (PostgreSQL: ALTER TABLE … DISABLE TRIGGER USER,
which only the table's owner may; SQLite: the triggers dropped for the statement), edit one field of
one event, delete the newest event of a chain, delete a request's whole history, insert a forged
event between two others, change an artifact's content, re-point a lesson; each is named with its
row's id and the command exits non-zero. On PostgreSQL the history must be committed for the
owner's own connection to see it, hence a transactional test there (the migrated rows put back).
"""

import io
import json

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, IntegrityError, ProgrammingError, connection, transaction

from governance_app import services as gs
from governance_app.kernel.claims import set_session_claim
from governance_app.kernel.chain import request_chain_findings
from governance_app.kernel.db import DEFAULT_TENANT_ID
from governance_app.kernel.db_roles import connected_as_owner
from governance_app.kernel.digests import artifact_content_hash
from governance_app.kernel.errors import DomainError
from governance_app.models import DecisionRecord, TokenRole
from requests_app import services as rs
from requests_app.models import BrainRequest, RequestEvent
from tasks_app import services as ts
from tasks_app.models import Task, TaskArtifact, TaskEvent
from tests.db_roles import as_runtime_role
from tests.direct_writer import history_insert, history_values
from tests.engine import actor, in_progress_request, new_request, token_actor

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
pytestmark = pytest.mark.django_db(transaction=ON_POSTGRES, serialized_rollback=ON_POSTGRES)


def verify(*args: str) -> tuple[int, list[str]]:
    """lineage_verify's exit status and its stdout lines."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("lineage_verify", "--tenant", "mwms", *args, stdout=out, stderr=err)
        status = 0
    except SystemExit as exit_:
        status = exit_.code
    return status, out.getvalue().splitlines()


def as_owner_past_the_triggers(table: str, sql: str, params: list | None = None) -> None:
    """Run `sql` as the database's owner with `table`'s triggers out of the way, as a DBA would."""
    if connection.vendor == "postgresql":
        with connected_as_owner() as swapped, transaction.atomic(), connection.cursor() as cursor:
            assert swapped or not as_runtime_role()
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            cursor.execute(sql, params or [])
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the keys' checks run now, not at the ALTER
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        set_session_claim(DEFAULT_TENANT_ID)  # the runtime role's connection is a new one
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [table])
        triggers = cursor.fetchall()
        for name, _ in triggers:
            cursor.execute(f'DROP TRIGGER "{name}"')
        cursor.execute(sql, params or [])
        for _, definition in triggers:
            cursor.execute(definition)


def db_id(value) -> str:
    """An id as the database holds it (SQLite: 32 hex digits)."""
    return str(value) if connection.vendor == "postgresql" else value.hex


@pytest.fixture
def history(reviewer, owner, other_owner):
    """A request with events, a note, a decision, a task worked to completion with an artifact, and a lesson."""
    head_office, research, affiliate = actor(reviewer), actor(owner), actor(other_owner)
    request = in_progress_request(research, head_office, affiliate)
    rs.request_note_add(request=request, actor=head_office, note="Checked the demand signal myself.")
    decision = gs.decision_record(actor=head_office, request=request, decision_summary="Proceed with DE and FR only.",
                                  reasoning="UK demand is flat; DE and FR show sustained growth.")
    task = ts.task_create(request=request, actor=affiliate, task_type="offer_review_task", title="Review the offer")
    executor = token_actor("affiliate", TokenRole.EXECUTOR)
    ts.task_claim(task=task, actor=executor)
    ts.task_start(task=task, actor=executor)
    artifact = ts.task_artifact_save(task=task, actor=executor, artifact_type="scorecard",
                                     artifact_summary="Offer scorecard", content_json={"score": 71})
    ts.task_complete(task=task, actor=executor)
    lesson = gs.lesson_record(actor=head_office, request=request, event_or_experiment="Offer review",
                              result="DE and FR validated.", insight="Flat search volume predicts a failed test.",
                              recommended_improvement="Scan demand before any offer review.", task_id=task.pk)
    events = list(RequestEvent.objects.filter(request=request).order_by("chain_seq"))
    return {"request": BrainRequest.objects.get(pk=request.pk), "events": events, "decision": decision,
            "task": Task.objects.get(pk=task.pk), "artifact": artifact, "lesson": lesson,
            "task_events": list(TaskEvent.objects.filter(task=task).order_by("chain_seq"))}


def test_an_untouched_history_verifies(history):
    # The request's chain: its events and its decision, one position each, the head on the request.
    decision = DecisionRecord.objects.get(pk=history["decision"].pk)
    links = sorted([*history["events"], decision], key=lambda row: row.chain_seq)
    assert [row.chain_seq for row in links] == list(range(1, len(links) + 1))
    assert [row.prev_hash for row in links] == ["", *(row.row_hash for row in links[:-1])]
    assert (history["request"].chain_seq, history["request"].chain_head) == (len(links), links[-1].row_hash)

    assert verify() == (0, [])
    assert verify("--request", str(history["request"].pk), "--json") == (0, [])


def test_an_untouched_seed_demo_database_verifies(db):
    call_command("seed_demo", "--password", "demo-password-42", "--scale", "30", stdout=io.StringIO())
    call_command("lineage_checkpoint", "--tenant", "mwms", stdout=io.StringIO())

    assert verify() == (0, [])


def test_one_field_of_one_event_edited_is_named(history):
    note = next(e for e in history["events"] if e.event_type == "note")
    as_owner_past_the_triggers("mwms_request_events", "UPDATE mwms_request_events SET note = %s WHERE id = %s",
                               ["Never checked anything.", db_id(note.pk)])

    status, lines = verify()

    assert status == 1
    assert lines == [f"mwms_request_events {note.pk} (request {note.request_id}): its digest does not match its row: "
                     f"its content changed (a column other than its chain columns) [digest_mismatch]"]


def test_a_status_edited_on_a_task_event_is_named_with_what_it_was(history):
    started = next(e for e in history["task_events"] if e.event_type == "started")
    as_owner_past_the_triggers("mwms_task_events", "UPDATE mwms_task_events SET from_status = 'queued' WHERE id = %s",
                               [db_id(started.pk)])

    status, lines = verify("--json")

    assert status == 1
    (finding,) = [json.loads(line) for line in lines]
    assert finding["row_id"] == str(started.pk) and finding["code"] == "digest_mismatch" and finding["blocking"]
    assert "from_status changed (it was 'picked_up', it is 'queued')" in finding["message"]


def test_the_newest_event_of_a_chain_deleted_is_named(history):
    task, newest = history["task"], history["task_events"][-1]
    as_owner_past_the_triggers("mwms_task_events", "DELETE FROM mwms_task_events WHERE id = %s", [db_id(newest.pk)])

    status, lines = verify()

    assert status == 1
    assert lines == [f"mwms_tasks {task.pk} (request {task.request_id}): its chain's head says {newest.chain_seq} "
                     f"rows, but it ends at {newest.chain_seq - 1}: its newest rows were deleted [head_ahead]"]


def test_the_newest_event_deleted_and_the_head_put_back_is_named_by_the_checkpoint(history):
    request, newest = history["request"], history["events"][-1]
    call_command("lineage_checkpoint", "--tenant", "mwms", stdout=io.StringIO())
    as_owner_past_the_triggers("mwms_request_events", "DELETE FROM mwms_request_events WHERE id = %s",
                               [db_id(newest.pk)])
    previous = history["events"][-2]
    as_owner_past_the_triggers("mwms_brain_requests", "UPDATE mwms_brain_requests SET chain_seq = %s, chain_head = %s "
                               "WHERE id = %s", [previous.chain_seq, previous.row_hash, db_id(request.pk)])

    status, lines = verify()

    assert status == 1
    assert lines == [f"mwms_brain_requests {request.pk}: its chain ends at {newest.chain_seq - 1}, but the last "
                     f"checkpoint saw it at {newest.chain_seq}: rows were deleted [behind_checkpoint]"]


def test_a_request_s_whole_history_deleted_is_named(history):
    request = history["request"]
    as_owner_past_the_triggers("mwms_request_events", "DELETE FROM mwms_request_events WHERE request_id = %s",
                               [db_id(request.pk)])
    as_owner_past_the_triggers("mwms_decision_records", "DELETE FROM mwms_decision_records WHERE related_request_id = %s",
                               [db_id(request.pk)])

    status, lines = verify()

    assert status == 1
    assert f"mwms_brain_requests {request.pk}: its chain's head says {request.chain_seq} rows, but all its rows " \
           f"were deleted [chain_missing]" in lines


def test_a_forged_event_between_two_others_is_named(history):
    first, second = history["events"][:2]
    # A row a digest-aware forger computed to follow the first, put in past the trigger (which refuses it).
    values = history_values(RequestEvent, {"request_id": first.request_id, "event_type": "note", "actor": "reviewer",
                                           "note": "Approved by phone."}, head=(first.chain_seq, first.row_hash))
    as_owner_past_the_triggers("mwms_request_events", f"INSERT INTO mwms_request_events ({', '.join(values)}) "
                               f"VALUES ({', '.join(['%s'] * len(values))})", list(values.values()))
    forged = RequestEvent.objects.exclude(pk__in=[e.pk for e in history["events"]]).get(note="Approved by phone.")

    status, lines = verify()

    assert status == 1
    assert lines == [f"mwms_request_events {forged.pk} (request {first.request_id}): a second row at position "
                     f"{second.chain_seq} of its chain, beside mwms_request_events {second.pk}, that the chain does "
                     f"not link to: inserted behind the trigger's back [forged_row]"]


def test_an_artifact_s_content_changed_is_named(history):
    artifact = history["artifact"]
    as_owner_past_the_triggers("mwms_task_artifacts", "UPDATE mwms_task_artifacts SET content_json = %s WHERE id = %s",
                               ['{"score": 97}', db_id(artifact.pk)])

    status, lines = verify()

    assert status == 1
    assert lines == [f"mwms_task_artifacts {artifact.pk} (request {history['request'].pk}): its content or location "
                     f"no longer matches its content_hash [artifact_content_mismatch]"]


def test_a_lesson_re_pointed_is_named(history):
    lesson = history["lesson"]
    as_owner_past_the_triggers("mwms_lessons_learned", "UPDATE mwms_lessons_learned SET related_task_id = NULL "
                               "WHERE id = %s", [db_id(lesson.pk)])

    status, lines = verify()

    assert status == 1
    assert [line.split(":")[0] for line in lines] == [f"mwms_lessons_learned {lesson.pk} (request {lesson.related_request_id})"]
    assert lines[0].endswith("[lesson_digest_mismatch]")


def test_a_broken_chain_is_a_blocking_finding_of_its_request(history):
    note = next(e for e in history["events"] if e.event_type == "note")
    as_owner_past_the_triggers("mwms_request_events", "UPDATE mwms_request_events SET actor = 'someone' WHERE id = %s",
                               [db_id(note.pk)])

    (finding,) = request_chain_findings(tenant_id=DEFAULT_TENANT_ID, request_id=history["request"].pk)

    assert (finding.code, finding.row_id, finding.blocking) == ("digest_mismatch", str(note.pk), True)


# --- the database refuses what does not extend a chain ---------------------------------------------

def test_the_insert_trigger_refuses_an_event_with_a_wrong_prev_hash(history):
    request = history["request"]
    count = RequestEvent.objects.count()

    with pytest.raises(DatabaseError) as refused, transaction.atomic():
        history_insert(RequestEvent, {"request_id": request.pk, "event_type": "note", "actor": "wordpress-plugin"},
                       head=(request.chain_seq, "0" * 64))

    assert type(refused.value) is IntegrityError
    assert "mwms: mwms_request_events row does not extend its chain" in str(refused.value)
    assert RequestEvent.objects.count() == count


def test_a_direct_writer_that_extends_the_chain_is_accepted_and_verifies(history):
    request = history["request"]

    row_id = history_insert(RequestEvent, {"request_id": request.pk, "event_type": "note", "actor": "wordpress-plugin"})

    assert BrainRequest.objects.get(pk=request.pk).chain_seq == request.chain_seq + 1
    assert RequestEvent.objects.get(pk=row_id).chain_seq == request.chain_seq + 1
    assert verify() == (0, [])


def test_a_new_request_is_stored_naming_its_created_event_as_its_head(owner):
    request = new_request(actor(owner))

    created = RequestEvent.objects.get(request=request)
    stored = BrainRequest.objects.get(pk=request.pk)
    assert (created.event_type, created.chain_seq, created.prev_hash) == ("created", 1, "")
    assert (stored.chain_seq, stored.chain_head) == (1, created.row_hash)
    assert verify("--request", str(request.pk)) == (0, [])


def test_a_second_first_row_claiming_the_born_head_is_refused(owner):
    # The trigger takes a first row its owner already names only while the chain has no row.
    request = BrainRequest.objects.get(pk=new_request(actor(owner)).pk)
    columns = history_values(RequestEvent, {"request_id": request.pk, "event_type": "note", "actor": "forger"},
                             head=(0, ""))
    columns["row_hash"] = request.chain_head

    with pytest.raises(DatabaseError) as refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO mwms_request_events ({', '.join(columns)}) "
                       f"VALUES ({', '.join(['%s'] * len(columns))})", list(columns.values()))

    assert "mwms: mwms_request_events row does not extend its chain" in str(refused.value)
    assert RequestEvent.objects.filter(request=request).count() == 1


# --- artifacts are write-once ----------------------------------------------------------------------

@pytest.mark.parametrize("sql", ["UPDATE mwms_task_artifacts SET content_json = '{}' WHERE id = %s",
                                 "UPDATE mwms_task_artifacts SET content_location = 'x' WHERE id = %s",
                                 "UPDATE mwms_task_artifacts SET content_hash = 'x' WHERE id = %s",
                                 "DELETE FROM mwms_task_artifacts WHERE id = %s"])
def test_an_artifact_cannot_be_changed_or_deleted_by_raw_sql(history, sql):
    artifact = history["artifact"]

    with pytest.raises(DatabaseError) as refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [db_id(artifact.pk)])

    if as_runtime_role() and sql.startswith("DELETE"):  # lineage is never deleted: no grant, then the trigger
        assert str(refused.value).startswith("permission denied for table mwms_task_artifacts")
    elif connection.vendor == "postgresql":
        assert type(refused.value) is ProgrammingError
        assert "pgtrigger: Cannot update or delete rows from mwms_task_artifacts table" in str(refused.value)
    else:
        assert "mwms_task_artifacts is write-once" in str(refused.value)
    stored = TaskArtifact.objects.get(pk=artifact.pk)
    assert (stored.content_json, stored.content_hash) == ({"score": 71}, artifact.content_hash)


def test_every_writer_hashes_an_artifact_one_way(history):
    artifact = history["artifact"]

    assert artifact.content_hash == artifact_content_hash(location="", content={"score": 71})


def test_a_corrected_output_is_a_new_artifact_naming_the_one_it_replaces(reviewer, owner, other_owner):
    head_office, research, affiliate = actor(reviewer), actor(owner), actor(other_owner)
    request = in_progress_request(research, head_office, affiliate)
    task = ts.task_create(request=request, actor=affiliate, task_type="offer_review_task")
    first = ts.task_artifact_save(task=task, actor=affiliate, artifact_type="scorecard", artifact_summary="Scorecard",
                                  content_json={"score": 17})

    corrected = ts.task_artifact_save(task=task, actor=affiliate, artifact_type="scorecard",
                                      artifact_summary="Scorecard, corrected", content_json={"score": 71},
                                      replaces_id=str(first.pk))

    assert TaskArtifact.objects.get(pk=corrected.pk).replaces_id == first.pk
    assert TaskArtifact.objects.get(pk=first.pk).content_json == {"score": 17}
    with pytest.raises(DomainError) as refused:
        ts.task_artifact_save(task=task, actor=affiliate, artifact_type="scorecard", artifact_summary="Again",
                              replaces_id=str(task.pk))
    assert refused.value.message == f"replaces_id: {task.pk} is not an artifact of this task."


# --- the command's arguments -----------------------------------------------------------------------

@pytest.mark.parametrize(("args", "message"), [
    (["--tenant", "nobody"], "Unknown tenant 'nobody'"),
    (["--request", "12"], "--request: 12 is not a request id (a UUID)."),
    (["--since", "last tuesday"], "--since: 'last tuesday' is not a date (YYYY-MM-DD) or a timestamp (ISO 8601)."),
])
def test_a_bad_argument_is_a_clear_error(db, args, message):
    with pytest.raises(CommandError) as refused:
        call_command("lineage_verify", *args, stdout=io.StringIO(), stderr=io.StringIO())

    assert message in str(refused.value)


def test_since_and_request_narrow_the_walk(history):
    note = next(e for e in history["events"] if e.event_type == "note")
    as_owner_past_the_triggers("mwms_request_events", "UPDATE mwms_request_events SET note = 'x' WHERE id = %s",
                               [db_id(note.pk)])

    assert verify("--since", "2999-01-01")[0] == 0
    assert verify("--request", str(history["task"].pk))[0] == 0  # no request has that id
    assert verify("--request", str(history["request"].pk))[0] == 1


# --- the canon's chain: amendments, rollbacks, and the columns added to them later (issue 15) -------

def test_a_canon_chain_with_a_rollback_verifies_and_a_changed_amendment_type_is_named(reviewer, owner):
    from governance_app.models import CanonAmendment
    from tests.engine import CANON_PROPOSED, canon_document, suggestion

    document = canon_document()
    request = suggestion(actor(owner))
    gs.feedback_classify(request=request, actor=actor(reviewer), classification="propose_mcr_update",
                         note="A real gap seen in three workspaces.")
    gs.mcr_decide(request=BrainRequest.objects.get(pk=request.pk), actor=actor(reviewer), decision="approved",
                  reasoning="The evidence is consistent across three Brains.")
    amendment = CanonAmendment.objects.get()
    rollback = gs.canon_rollback(actor=actor(reviewer), document_slug=document.slug, amendment_id=amendment.pk,
                                 reason="The new status confused two Brains' reports.")
    assert [a.chain_seq for a in CanonAmendment.objects.order_by("chain_seq")] == [1, 2]
    assert rollback.prev_hash == amendment.row_hash and rollback.body_after != CANON_PROPOSED

    assert verify() == (0, [])

    as_owner_past_the_triggers("mwms_canon_amendments",
                               "UPDATE mwms_canon_amendments SET amendment_type = %s WHERE id = %s",
                               ["governance_tightening", db_id(amendment.pk)])
    status, lines = verify()
    assert status == 1 and any(str(amendment.pk) in line and "digest_mismatch" in line for line in lines)
