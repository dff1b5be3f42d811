"""Watching requests and notifications (issue 14): who hears of a request's changes, the inbox of
what they were told, and how each person wants it by email. Mutable tables of the security layer,
with row-level security; the person of each row belongs to the row's tenant."""

import django.db.models.deletion
import django.db.models.functions.text
import django.db.models.lookups
import governance_app.kernel.clock
import governance_app.kernel.db
import uuid
from django.conf import settings
from django.db import migrations, models

from governance_app.kernel.db import TenantMatched


class Migration(migrations.Migration):

    dependencies = [
        ('governance_app', '0014_webhooks'),
        ('requests_app', '0008_text_limits_and_completed'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Notification',
            fields=[
                ('id', models.UUIDField(db_default=governance_app.kernel.db.GenRandomUUID(), default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('kind', models.TextField(choices=[('request_created', 'New request'), ('assigned', 'Assigned to your Brain'), ('status_changed', 'Status changed'), ('escalated', 'Escalated'), ('task_created', 'New task'), ('task_completed', 'Task completed'), ('task_failed', 'Task failed'), ('decision_recorded', 'Decision recorded')])),
                ('summary', models.TextField(max_length=20000)),
                ('event_id', models.UUIDField(help_text='The request or task event that caused it.')),
                ('created_at', models.DateTimeField(db_default=governance_app.kernel.db.DbNow(), db_index=True, default=governance_app.kernel.clock.now, editable=False)),
                ('read_at', models.DateTimeField(blank=True, null=True)),
                ('emailed_at', models.DateTimeField(blank=True, null=True)),
                ('request', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='requests_app.brainrequest')),
                ('tenant', models.ForeignKey(db_default=uuid.UUID('00000000-0000-0000-0000-000000000001'), default=uuid.UUID('00000000-0000-0000-0000-000000000001'), on_delete=django.db.models.deletion.PROTECT, related_name='+', to='governance_app.tenant')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='notifications', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'db_table': 'mwms_notifications',
                'ordering': ['-created_at'],
                'indexes': [models.Index(fields=['user', '-created_at'], name='mwms_notifications_inbox'), models.Index(condition=models.Q(('read_at__isnull', True)), fields=['user'], name='mwms_notifications_unread')],
                'constraints': [models.CheckConstraint(condition=models.Q(('kind__in', ['request_created', 'assigned', 'status_changed', 'escalated', 'task_created', 'task_completed', 'task_failed', 'decision_recorded'])), name='mwms_notifications_kind_valid'), models.UniqueConstraint(fields=('user', 'event_id', 'kind'), name='mwms_notifications_once_per_event'), models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('summary'), 20000), name='mwms_notifications_summary_length', violation_error_message='summary: at most 20,000 characters.')],
            },
        ),
        migrations.CreateModel(
            name='NotificationPreference',
            fields=[
                ('id', models.UUIDField(db_default=governance_app.kernel.db.GenRandomUUID(), default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('email_mode', models.TextField(choices=[('immediate', 'At once, one email per notification'), ('digest', 'A daily digest'), ('none', 'No email')], db_default='digest', default='digest')),
                ('last_digest_at', models.DateTimeField(blank=True, null=True)),
                ('tenant', models.ForeignKey(db_default=uuid.UUID('00000000-0000-0000-0000-000000000001'), default=uuid.UUID('00000000-0000-0000-0000-000000000001'), on_delete=django.db.models.deletion.PROTECT, related_name='+', to='governance_app.tenant')),
                ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='notification_preference', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'db_table': 'mwms_notification_preferences',
                'constraints': [models.CheckConstraint(condition=models.Q(('email_mode__in', ['immediate', 'digest', 'none'])), name='mwms_notification_preferences_email_mode_valid')],
            },
        ),
        migrations.CreateModel(
            name='Watch',
            fields=[
                ('id', models.UUIDField(db_default=governance_app.kernel.db.GenRandomUUID(), default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('watching', models.BooleanField(db_default=True, default=True)),
                ('created_at', models.DateTimeField(db_default=governance_app.kernel.db.DbNow(), db_index=True, default=governance_app.kernel.clock.now, editable=False)),
                ('request', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='watches', to='requests_app.brainrequest')),
                ('tenant', models.ForeignKey(db_default=uuid.UUID('00000000-0000-0000-0000-000000000001'), default=uuid.UUID('00000000-0000-0000-0000-000000000001'), on_delete=django.db.models.deletion.PROTECT, related_name='+', to='governance_app.tenant')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='watches', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'db_table': 'mwms_watches',
                'ordering': ['-created_at'],
                'constraints': [models.UniqueConstraint(fields=('request', 'user'), name='mwms_watches_one_per_person')],
            },
        ),
        TenantMatched("mwms_watches", "user_id", "mwms_tenant_users", "user_id"),
        TenantMatched("mwms_watches", "request_id", "mwms_brain_requests"),
        TenantMatched("mwms_notifications", "user_id", "mwms_tenant_users", "user_id"),
        TenantMatched("mwms_notifications", "request_id", "mwms_brain_requests"),
        TenantMatched("mwms_notification_preferences", "user_id", "mwms_tenant_users", "user_id"),
    ]
