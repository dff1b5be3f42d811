"""Input limits and the canon's `completed` (issue 17, items 6 and 7).

- Every free-text column of requests, request events and signals gets a maximum length, and every
  JSON column a maximum size, as CHECK constraints (`<table>_<column>_length` / `_size`: the limits
  of governance_app/kernel/limits.py as they were when this migration was written).
- A request status `completed` written by a direct writer is the canonical spelling of `closed`:
  the status CHECK lets it through and holds it to a closed request's complete outcome; on
  PostgreSQL a BEFORE trigger (pgtrigger) stores it as `closed` before any CHECK looks at the row,
  and on SQLite, whose triggers cannot change the row being written, AFTER triggers rewrite it in
  the same statement.
"""

import django.db.models.functions.comparison
import django.db.models.functions.text
import django.db.models.lookups
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models

from governance_app.kernel.db import ChecksChanged


SQLITE_COMPLETED_IS_CLOSED = [
    f"CREATE TRIGGER mwms_brain_requests_completed_is_closed_{op.split()[0].lower()} AFTER {op} "
    f"ON mwms_brain_requests FOR EACH ROW WHEN NEW.status = 'completed' "
    f"BEGIN UPDATE mwms_brain_requests SET status = 'closed' WHERE id = NEW.id; END"
    for op in ("INSERT", "UPDATE OF status")
]


def sqlite_completed_is_closed(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_COMPLETED_IS_CLOSED:
            schema_editor.execute(statement, params=None)


def sqlite_completed_is_closed_undone(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for op in ("insert", "update"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS mwms_brain_requests_completed_is_closed_{op}")


class Migration(migrations.Migration):

    dependencies = [
        ("governance_app", "0008_database_rules"),
        ("requests_app", "0007_tenant_matched_references"),
        ("tasks_app", "0006_tenant_matched_references"),
    ]

    operations = [
        ChecksChanged(
            "brainrequest",
            max_lengths={
                "closure_reason": 20000, "created_by": 300, "escalation_reason": 20000, "experiment_id": 200,
                "intake_id": 200, "next_step": 20000, "next_step_owner": 200, "offer_id": 200,
                "outcome_decision": 20000, "request_summary": 20000, "request_title": 300,
                "requesting_authority": 200, "required_output": 20000, "response_summary": 20000,
                "result_summary": 20000, "routing_notes": 20000, "source_origin": 200, "source_page": 2000,
                "source_system": 200,
            },
            removed=["mwms_brain_requests_status_valid", "mwms_brain_requests_final_has_complete_outcome"],
            added=[
                models.CheckConstraint(condition=models.Q(('status__in', ['new', 'under_review', 'routed', 'in_progress', 'responded', 'escalated', 'blocked', 'closed', 'parked', 'rejected', 'awaiting_evidence', 'awaiting_head_office_review', 'awaiting_mcr_decision', 'returned_for_revision', 'completed'])), name='mwms_brain_requests_status_valid'),
                models.CheckConstraint(condition=models.Q(models.Q(('status__in', frozenset(['completed', 'closed', 'rejected'])), _negated=True), models.Q(('closed_at__isnull', False), ('head_office_review_required__isnull', False), ('outcome_type__isnull', False), models.Q(('result_summary', ''), _negated=True), models.Q(('outcome_decision', ''), _negated=True), models.Q(('next_step', ''), _negated=True), models.Q(('next_step_owner', ''), _negated=True)), _connector='OR'), name='mwms_brain_requests_final_has_complete_outcome'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('requesting_authority'), 200), name='mwms_brain_requests_requesting_authority_length', violation_error_message='requesting_authority: at most 200 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('request_title'), 300), name='mwms_brain_requests_request_title_length', violation_error_message='request_title: at most 300 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('request_summary'), 20000), name='mwms_brain_requests_request_summary_length', violation_error_message='request_summary: at most 20,000 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('required_output'), 20000), name='mwms_brain_requests_required_output_length', violation_error_message='required_output: at most 20,000 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('intake_id'), 200), name='mwms_brain_requests_intake_id_length', violation_error_message='intake_id: at most 200 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('offer_id'), 200), name='mwms_brain_requests_offer_id_length', violation_error_message='offer_id: at most 200 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('experiment_id'), 200), name='mwms_brain_requests_experiment_id_length', violation_error_message='experiment_id: at most 200 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('source_origin'), 200), name='mwms_brain_requests_source_origin_length', violation_error_message='source_origin: at most 200 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('source_page'), 2000), name='mwms_brain_requests_source_page_length', violation_error_message='source_page: at most 2,000 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('source_system'), 200), name='mwms_brain_requests_source_system_length', violation_error_message='source_system: at most 200 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('routing_notes'), 20000), name='mwms_brain_requests_routing_notes_length', violation_error_message='routing_notes: at most 20,000 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('response_summary'), 20000), name='mwms_brain_requests_response_summary_length', violation_error_message='response_summary: at most 20,000 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('escalation_reason'), 20000), name='mwms_brain_requests_escalation_reason_length', violation_error_message='escalation_reason: at most 20,000 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('closure_reason'), 20000), name='mwms_brain_requests_closure_reason_length', violation_error_message='closure_reason: at most 20,000 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('created_by'), 300), name='mwms_brain_requests_created_by_length', violation_error_message='created_by: at most 300 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('result_summary'), 20000), name='mwms_brain_requests_result_summary_length', violation_error_message='result_summary: at most 20,000 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('outcome_decision'), 20000), name='mwms_brain_requests_outcome_decision_length', violation_error_message='outcome_decision: at most 20,000 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('next_step'), 20000), name='mwms_brain_requests_next_step_length', violation_error_message='next_step: at most 20,000 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('next_step_owner'), 200), name='mwms_brain_requests_next_step_owner_length', violation_error_message='next_step_owner: at most 200 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length(django.db.models.functions.comparison.Cast('meta_json', models.TextField())), 100000), name='mwms_brain_requests_meta_json_size', violation_error_message='meta_json: at most 100,000 characters as JSON.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length(django.db.models.functions.comparison.Cast('supporting_brains', models.TextField())), 100000), name='mwms_brain_requests_supporting_brains_size', violation_error_message='supporting_brains: at most 100,000 characters as JSON.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length(django.db.models.functions.comparison.Cast('outcome_evidence', models.TextField())), 100000), name='mwms_brain_requests_outcome_evidence_size', violation_error_message='outcome_evidence: at most 100,000 characters as JSON.'),
            ],
        ),
        ChecksChanged(
            "requestevent",
            max_lengths={
                "actor": 300, "event_summary": 20000, "note": 20000,
            },
            added=[
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('event_summary'), 20000), name='mwms_request_events_event_summary_length', violation_error_message='event_summary: at most 20,000 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('actor'), 300), name='mwms_request_events_actor_length', violation_error_message='actor: at most 300 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('note'), 20000), name='mwms_request_events_note_length', violation_error_message='note: at most 20,000 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length(django.db.models.functions.comparison.Cast('changed_fields', models.TextField())), 1000000), name='mwms_request_events_changed_fields_size', violation_error_message='changed_fields: at most 1,000,000 characters as JSON.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length(django.db.models.functions.comparison.Cast('event_payload', models.TextField())), 100000), name='mwms_request_events_event_payload_size', violation_error_message='event_payload: at most 100,000 characters as JSON.'),
            ],
        ),
        ChecksChanged(
            "signal",
            max_lengths={
                "created_by": 300, "summary": 20000,
            },
            added=[
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('summary'), 20000), name='mwms_signals_summary_length', violation_error_message='summary: at most 20,000 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('created_by'), 300), name='mwms_signals_created_by_length', violation_error_message='created_by: at most 300 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length(django.db.models.functions.comparison.Cast('payload', models.TextField())), 100000), name='mwms_signals_payload_size', violation_error_message='payload: at most 100,000 characters as JSON.'),
            ],
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='brainrequest',
            trigger=pgtrigger.compiler.Trigger(name='mwms_brain_requests_completed_is_closed', sql=pgtrigger.compiler.UpsertTriggerSql(condition='WHEN (NEW."status" = \'completed\')', func="NEW.status := 'closed'; RETURN NEW;", hash='51d851b32b8ce6b9b9a4022bddf67a1fa42dbea6', operation='INSERT OR UPDATE OF "status"', pgid='pgtrigger_mwms_brain_requests_completed_is_closed_4da14', table='mwms_brain_requests', when='BEFORE')),
        ),
        migrations.RunPython(sqlite_completed_is_closed, sqlite_completed_is_closed_undone, elidable=False),
    ]
