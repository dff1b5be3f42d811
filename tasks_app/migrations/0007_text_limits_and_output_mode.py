"""Input limits and the canon's free-text output_mode (issue 17, items 6 and 7).

- Every free-text column of tasks, task events and artifacts gets a maximum length, and every JSON
  column a maximum size, as CHECK constraints (`<table>_<column>_length` / `_size`: the limits of
  governance_app/kernel/limits.py as they were when this migration was written).
- `output_mode` is `text` in the canon with no list of values: any lowercase snake_case word of at
  most 64 characters (`mwms_tasks_output_mode_valid`, a pattern now instead of four words; the
  pattern is kernel.db.SNAKE_CASE_WORD, and changing it needs a migration of its own).
"""

import django.db.models.functions.comparison
import django.db.models.functions.text
import django.db.models.lookups
from django.db import migrations, models

import governance_app.kernel.db
from governance_app.kernel.db import ChecksChanged


class Migration(migrations.Migration):

    dependencies = [
        ("governance_app", "0008_database_rules"),
        ("requests_app", "0007_tenant_matched_references"),
        ("tasks_app", "0006_tenant_matched_references"),
    ]

    operations = [
        # A field whose choices or help text change too; no SQL (a CHECK below says what it holds).
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.AlterField(
                model_name='task',
                name='output_mode',
                field=models.TextField(default='artifact', help_text='A lowercase snake_case word: artifact, inline, external, none, or another.', max_length=64),
            ),
        ]),
        ChecksChanged(
            "task",
            max_lengths={
                "assigned_employee": 300, "execution_notes": 20000, "last_error": 20000, "task_type": 200,
                "title": 300,
            },
            removed=["mwms_tasks_output_mode_valid"],
            added=[
                models.CheckConstraint(condition=models.Q(governance_app.kernel.db.IsSnakeCaseWord('output_mode'), django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('output_mode'), 64)), name='mwms_tasks_output_mode_valid', violation_error_message='output_mode: a lowercase snake_case word (a-z, 0-9 and _, a letter first) of at most 64 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('task_type'), 200), name='mwms_tasks_task_type_length', violation_error_message='task_type: at most 200 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('assigned_employee'), 300), name='mwms_tasks_assigned_employee_length', violation_error_message='assigned_employee: at most 300 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('last_error'), 20000), name='mwms_tasks_last_error_length', violation_error_message='last_error: at most 20,000 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('title'), 300), name='mwms_tasks_title_length', violation_error_message='title: at most 300 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('execution_notes'), 20000), name='mwms_tasks_execution_notes_length', violation_error_message='execution_notes: at most 20,000 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length(django.db.models.functions.comparison.Cast('input_payload', models.TextField())), 100000), name='mwms_tasks_input_payload_size', violation_error_message='input_payload: at most 100,000 characters as JSON.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length(django.db.models.functions.comparison.Cast('evidence_links', models.TextField())), 100000), name='mwms_tasks_evidence_links_size', violation_error_message='evidence_links: at most 100,000 characters as JSON.'),
            ],
        ),
        ChecksChanged(
            "taskartifact",
            max_lengths={
                "artifact_summary": 20000, "artifact_type": 200, "content_hash": 200, "content_location": 2000,
                "created_by": 300,
            },
            added=[
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('artifact_type'), 200), name='mwms_task_artifacts_artifact_type_length', violation_error_message='artifact_type: at most 200 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('artifact_summary'), 20000), name='mwms_task_artifacts_artifact_summary_length', violation_error_message='artifact_summary: at most 20,000 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('content_location'), 2000), name='mwms_task_artifacts_content_location_length', violation_error_message='content_location: at most 2,000 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('content_hash'), 200), name='mwms_task_artifacts_content_hash_length', violation_error_message='content_hash: at most 200 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('created_by'), 300), name='mwms_task_artifacts_created_by_length', violation_error_message='created_by: at most 300 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length(django.db.models.functions.comparison.Cast('content_json', models.TextField())), 100000), name='mwms_task_artifacts_content_json_size', violation_error_message='content_json: at most 100,000 characters as JSON.'),
            ],
        ),
        ChecksChanged(
            "taskevent",
            max_lengths={
                "actor": 300, "event_summary": 20000,
            },
            added=[
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('event_summary'), 20000), name='mwms_task_events_event_summary_length', violation_error_message='event_summary: at most 20,000 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('actor'), 300), name='mwms_task_events_actor_length', violation_error_message='actor: at most 300 characters.'),
                models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length(django.db.models.functions.comparison.Cast('event_payload', models.TextField())), 1000000), name='mwms_task_events_event_payload_size', violation_error_message='event_payload: at most 1,000,000 characters as JSON.'),
            ],
        ),
    ]
