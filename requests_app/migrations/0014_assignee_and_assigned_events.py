"""Personal assignment (issue 14): a request's `assignee`, a HeadOffice reviewer of its own tenant
(the composite key (tenant_id, assignee_id) → mwms_tenant_users keeps the person in the request's
tenant), its index for "Assigned to me", and the `assigned` request event that records each change."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from governance_app.kernel.db import ChecksChanged, TenantMatched

EVENT_TYPES = ['created', 'status_changed', 'fields_changed', 'note', 'task_created', 'decision_recorded',
               'lesson_recorded', 'rule_violation', 'assigned']


class Migration(migrations.Migration):

    dependencies = [
        ('governance_app', '0017_chain_triggers_on_sqlite'),
        ('requests_app', '0013_request_born_with_its_created_event'),
        ('tasks_app', '0008_hash_chain_columns_and_write_once_artifacts'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # A nullable column: SQLite adds it in place (no rebuild, the table's triggers stay).
        migrations.AddField(
            model_name='brainrequest',
            name='assignee',
            field=models.ForeignKey(blank=True, db_index=False, help_text='The HeadOffice reviewer personally looking after it.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='requests_assigned', to=settings.AUTH_USER_MODEL),
        ),
        TenantMatched("mwms_brain_requests", "assignee_id", "mwms_tenant_users", "user_id"),
        migrations.AlterField(
            model_name='requestevent',
            name='event_type',
            field=models.TextField(choices=[('created', 'Created'), ('status_changed', 'Status changed'), ('fields_changed', 'Fields changed'), ('note', 'Note'), ('task_created', 'Task created'), ('decision_recorded', 'Decision recorded'), ('lesson_recorded', 'Lesson recorded'), ('rule_violation', 'Rule violation'), ('assigned', 'Assigned')]),
        ),
        migrations.AddIndex(
            model_name='brainrequest',
            index=models.Index(condition=models.Q(('assignee__isnull', False)), fields=['tenant', 'assignee', 'updated_at'], name='mwms_req_assignee_updated'),
        ),
        # One rebuild of the history table on SQLite, its append-only and chain triggers set aside.
        ChecksChanged(
            "requestevent",
            removed=["mwms_request_events_event_type_valid"],
            added=[models.CheckConstraint(condition=models.Q(('event_type__in', EVENT_TYPES)),
                                          name='mwms_request_events_event_type_valid')],
        ),
    ]
