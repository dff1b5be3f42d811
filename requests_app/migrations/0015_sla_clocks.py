"""SLA clocks (issue 14): each tenant's SLA policy and targets, and on every request the time it
entered its current status with the deadlines the policy gives it (requests_app.sla).

The request's new columns are added in place, not by Django's SQLite table rebuild, which would
drop the triggers the earlier migrations put on mwms_brain_requests. `status_entered_at` is filled
from the history: the time of the latest event that moved the request into the status it is in
(its creation when no event says). On SQLite the column stays nullable in the database (SQLite
cannot add a NOT NULL column with a computed default); the app always writes it. The deadlines
start empty: no tenant has a policy yet, and the policy service fills them when one is saved.
"""

import django.db.models.deletion
import django.db.models.functions.text
import django.db.models.lookups
import governance_app.kernel.clock
import governance_app.kernel.db
import uuid
from django.db import migrations, models


BACKFILL = """
    UPDATE mwms_brain_requests SET status_entered_at = COALESCE(
        (SELECT MAX(e.created_at) FROM mwms_request_events e
         WHERE e.request_id = mwms_brain_requests.id AND e.to_status = mwms_brain_requests.status),
        mwms_brain_requests.created_at)
"""
CHECK = ("(sla_due_at IS NULL AND sla_warn_at IS NULL) OR "
         "(sla_due_at IS NOT NULL AND sla_warn_at IS NOT NULL AND sla_warn_at <= sla_due_at)")


def sla_columns_add(apps, schema_editor):
    run = schema_editor.execute
    if schema_editor.connection.vendor == "postgresql":
        run("ALTER TABLE mwms_brain_requests ADD COLUMN status_entered_at timestamp with time zone NULL, "
            "ADD COLUMN sla_warn_at timestamp with time zone NULL, ADD COLUMN sla_due_at timestamp with time zone NULL")
        run(BACKFILL)
        run("ALTER TABLE mwms_brain_requests ALTER COLUMN status_entered_at SET DEFAULT now(), "
            "ALTER COLUMN status_entered_at SET NOT NULL, "
            f"ADD CONSTRAINT mwms_brain_requests_sla_warn_before_due CHECK ({CHECK})")
        return
    run("ALTER TABLE mwms_brain_requests ADD COLUMN status_entered_at datetime NULL")
    run(BACKFILL)
    run("ALTER TABLE mwms_brain_requests ADD COLUMN sla_warn_at datetime NULL")
    run("ALTER TABLE mwms_brain_requests ADD COLUMN sla_due_at datetime NULL "
        f"CONSTRAINT mwms_brain_requests_sla_warn_before_due CHECK ({CHECK})")


def sla_columns_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE mwms_brain_requests DROP CONSTRAINT mwms_brain_requests_sla_warn_before_due")
    for column in ("sla_due_at", "sla_warn_at", "status_entered_at"):
        schema_editor.execute(f"ALTER TABLE mwms_brain_requests DROP COLUMN {column}")


class Migration(migrations.Migration):

    dependencies = [
        ('governance_app', '0017_chain_triggers_on_sqlite'),
        ('requests_app', '0014_assignee_and_assigned_events'),
        ('tasks_app', '0008_hash_chain_columns_and_write_once_artifacts'),
    ]

    operations = [
        migrations.CreateModel(
            name='SlaPolicy',
            fields=[
                ('id', models.UUIDField(db_default=governance_app.kernel.db.GenRandomUUID(), default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('warn_percent', models.IntegerField(db_default=80, default=80, help_text='Due soon once this share of a target has elapsed (1–99).')),
                ('updated_at', models.DateTimeField(db_default=governance_app.kernel.db.DbNow(), db_index=True, default=governance_app.kernel.clock.now)),
                ('updated_by', models.TextField(blank=True, max_length=300)),
            ],
            options={
                'verbose_name': 'SLA policy',
                'verbose_name_plural': 'SLA policies',
                'db_table': 'mwms_sla_policies',
            },
        ),
        migrations.CreateModel(
            name='SlaTarget',
            fields=[
                ('id', models.UUIDField(db_default=governance_app.kernel.db.GenRandomUUID(), default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('request_type', models.TextField(blank=True, choices=[('research_request', 'Research request'), ('offer_review_request', 'Offer review request'), ('experimentation_request', 'Experimentation request'), ('finance_review_request', 'Finance review request'), ('ads_signal_request', 'Ads signal request'), ('compliance_review_request', 'Compliance review request'), ('risk_review_request', 'Risk review request'), ('sit_integrity_request', 'SIT integrity request'), ('content_support_request', 'Content support request'), ('data_validation_request', 'Data validation request'), ('dashboard_update_request', 'Dashboard update request'), ('plugin_ui_build_request', 'Plugin/UI build request'), ('brain_room_request', 'Brain Room request'), ('head_office_review_request', 'HeadOffice review request'), ('mcr_update_suggestion', 'MCR update suggestion'), ('escalation_request', 'Escalation request')], help_text='Empty: every request type without a target of its own.', null=True)),
                ('priority', models.TextField(choices=[('low', 'Low'), ('medium', 'Medium'), ('high', 'High'), ('urgent', 'Urgent')])),
                ('clock', models.TextField(choices=[('new', 'New → moved on'), ('under_review', 'Under review → routed'), ('routed', 'Routed → accepted'), ('in_progress', 'In progress → responded'), ('responded', 'Responded → closed'), ('escalated', 'Escalated → resolved'), ('blocked', 'Blocked → unblocked'), ('parked', 'Parked → resumed'), ('awaiting_evidence', 'Awaiting evidence'), ('awaiting_head_office_review', 'Awaiting HeadOffice review'), ('awaiting_mcr_decision', 'Awaiting MCR decision'), ('returned_for_revision', 'Returned for revision'), ('total', 'Open → closed (whole request)')])),
                ('minutes', models.IntegerField(help_text='The target, in minutes.')),
            ],
            options={
                'verbose_name': 'SLA target',
                'db_table': 'mwms_sla_targets',
                'ordering': ['request_type', 'priority', 'clock'],
            },
        ),
        # The three columns in place (a SQLite rebuild would drop the table's triggers), with the
        # time each request entered its status read from its events; see sla_columns_add.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name='brainrequest',
                    name='sla_due_at',
                    field=models.DateTimeField(blank=True, null=True),
                ),
                migrations.AddField(
                    model_name='brainrequest',
                    name='sla_warn_at',
                    field=models.DateTimeField(blank=True, null=True),
                ),
                migrations.AddField(
                    model_name='brainrequest',
                    name='status_entered_at',
                    field=models.DateTimeField(db_default=governance_app.kernel.db.DbNow(), default=governance_app.kernel.clock.now),
                ),
                migrations.AddConstraint(
                    model_name='brainrequest',
                    constraint=models.CheckConstraint(condition=models.Q(models.Q(('sla_due_at__isnull', True), ('sla_warn_at__isnull', True)), models.Q(('sla_due_at__isnull', False), ('sla_warn_at__isnull', False), ('sla_warn_at__lte', models.F('sla_due_at'))), _connector='OR'), name='mwms_brain_requests_sla_warn_before_due'),
                ),
            ],
            database_operations=[migrations.RunPython(sla_columns_add, sla_columns_drop, elidable=False)],
        ),
        migrations.AddIndex(
            model_name='brainrequest',
            index=models.Index(fields=['tenant', 'sla_due_at', 'updated_at'], name='mwms_req_sla_due'),
        ),
        migrations.AddIndex(
            model_name='brainrequest',
            index=models.Index(condition=models.Q(('sla_warn_at__isnull', False)), fields=['tenant', 'sla_warn_at'], name='mwms_req_sla_warn'),
        ),
        migrations.AddField(
            model_name='slapolicy',
            name='tenant',
            field=models.ForeignKey(db_default=uuid.UUID('00000000-0000-0000-0000-000000000001'), default=uuid.UUID('00000000-0000-0000-0000-000000000001'), on_delete=django.db.models.deletion.PROTECT, related_name='+', to='governance_app.tenant'),
        ),
        migrations.AddField(
            model_name='slatarget',
            name='tenant',
            field=models.ForeignKey(db_default=uuid.UUID('00000000-0000-0000-0000-000000000001'), default=uuid.UUID('00000000-0000-0000-0000-000000000001'), on_delete=django.db.models.deletion.PROTECT, related_name='+', to='governance_app.tenant'),
        ),
        migrations.AddConstraint(
            model_name='slapolicy',
            constraint=models.UniqueConstraint(fields=('tenant',), name='mwms_sla_policies_one_per_tenant'),
        ),
        migrations.AddConstraint(
            model_name='slapolicy',
            constraint=models.CheckConstraint(condition=models.Q(('warn_percent__gte', 1), ('warn_percent__lte', 99)), name='mwms_sla_policies_warn_percent_range'),
        ),
        migrations.AddConstraint(
            model_name='slapolicy',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('updated_by'), 300), name='mwms_sla_policies_updated_by_length', violation_error_message='updated_by: at most 300 characters.'),
        ),
        migrations.AddConstraint(
            model_name='slatarget',
            constraint=models.CheckConstraint(condition=models.Q(('request_type__in', ['research_request', 'offer_review_request', 'experimentation_request', 'finance_review_request', 'ads_signal_request', 'compliance_review_request', 'risk_review_request', 'sit_integrity_request', 'content_support_request', 'data_validation_request', 'dashboard_update_request', 'plugin_ui_build_request', 'brain_room_request', 'head_office_review_request', 'mcr_update_suggestion', 'escalation_request']), ('request_type__isnull', True), _connector='OR'), name='mwms_sla_targets_request_type_valid'),
        ),
        migrations.AddConstraint(
            model_name='slatarget',
            constraint=models.CheckConstraint(condition=models.Q(('priority__in', ['low', 'medium', 'high', 'urgent'])), name='mwms_sla_targets_priority_valid'),
        ),
        migrations.AddConstraint(
            model_name='slatarget',
            constraint=models.CheckConstraint(condition=models.Q(('clock__in', ['new', 'under_review', 'routed', 'in_progress', 'responded', 'escalated', 'blocked', 'parked', 'awaiting_evidence', 'awaiting_head_office_review', 'awaiting_mcr_decision', 'returned_for_revision', 'total'])), name='mwms_sla_targets_clock_valid'),
        ),
        migrations.AddConstraint(
            model_name='slatarget',
            constraint=models.CheckConstraint(condition=models.Q(('minutes__gte', 1), ('minutes__lte', 527040)), name='mwms_sla_targets_minutes_range'),
        ),
        migrations.AddConstraint(
            model_name='slatarget',
            constraint=models.UniqueConstraint(condition=models.Q(('request_type__isnull', True)), fields=('tenant', 'priority', 'clock'), name='mwms_sla_targets_one_per_clock'),
        ),
        migrations.AddConstraint(
            model_name='slatarget',
            constraint=models.UniqueConstraint(condition=models.Q(('request_type__isnull', False)), fields=('tenant', 'request_type', 'priority', 'clock'), name='mwms_sla_targets_one_per_type_clock'),
        ),
    ]
