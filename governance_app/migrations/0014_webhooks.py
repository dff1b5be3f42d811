"""Webhooks (issue 14): a tenant's subscriptions and the log of what was delivered to each.

Both are lineage tables (switched off, never deleted) with row-level security like every table with a
tenant_id; a delivery's subscription, and the delivery a "send again" repeats, are in its own tenant.
"""

import django.db.models.deletion
import django.db.models.functions.comparison
import django.db.models.functions.text
import django.db.models.lookups
import governance_app.kernel.clock
import governance_app.kernel.db
import uuid
from django.db import migrations, models

from governance_app.kernel.db import TenantMatched


class Migration(migrations.Migration):

    dependencies = [
        ('governance_app', '0013_refusal_window_limits'),
    ]

    operations = [
        migrations.CreateModel(
            name='WebhookSubscription',
            fields=[
                ('id', models.UUIDField(db_default=governance_app.kernel.db.GenRandomUUID(), default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('name', models.TextField(help_text='Who receives it, e.g. “WordPress plugin” or “Brain Room”.', max_length=200)),
                ('url', models.TextField(help_text='Where deliveries are POSTed: an http:// or https:// address.', max_length=2000)),
                ('secret', models.TextField(help_text='The HMAC key of the X-MWMS-Signature header; the receiver keeps a copy.', max_length=200)),
                ('event_types', models.JSONField(blank=True, db_default=models.Value([], output_field=models.JSONField()), default=list, help_text='The events delivered: request.created, request.moved, request.closed, task.queued, task.completed, task.failed, decision.recorded.')),
                ('is_active', models.BooleanField(db_default=True, default=True)),
                ('created_by', models.TextField(max_length=300)),
                ('created_at', models.DateTimeField(db_default=governance_app.kernel.db.DbNow(), db_index=True, default=governance_app.kernel.clock.now, editable=False)),
                ('tenant', models.ForeignKey(db_default=uuid.UUID('00000000-0000-0000-0000-000000000001'), default=uuid.UUID('00000000-0000-0000-0000-000000000001'), on_delete=django.db.models.deletion.PROTECT, related_name='+', to='governance_app.tenant')),
            ],
            options={
                'verbose_name': 'webhook subscription',
                'db_table': 'mwms_webhook_subscriptions',
                'ordering': ['name'],
            },
        ),
        migrations.CreateModel(
            name='WebhookDelivery',
            fields=[
                ('id', models.UUIDField(db_default=governance_app.kernel.db.GenRandomUUID(), default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('event_type', models.TextField(choices=[('request.created', 'Request created'), ('request.moved', 'Request moved (any change of status)'), ('request.closed', 'Request closed or rejected'), ('task.queued', 'Task queued'), ('task.completed', 'Task completed'), ('task.failed', 'Task failed'), ('decision.recorded', 'Decision recorded')])),
                ('payload', models.JSONField(blank=True, db_default=models.Value({}, output_field=models.JSONField()), default=dict)),
                ('status', models.TextField(choices=[('pending', 'Pending'), ('sending', 'Sending'), ('retrying', 'Retrying'), ('delivered', 'Delivered'), ('failed', 'Failed')], db_default='pending', default='pending')),
                ('attempts', models.IntegerField(db_default=0, default=0)),
                ('next_attempt_at', models.DateTimeField(blank=True, null=True)),
                ('last_attempt_at', models.DateTimeField(blank=True, null=True)),
                ('last_status_code', models.IntegerField(blank=True, help_text='The HTTP status of the last answer; empty when none came.', null=True)),
                ('last_answer', models.TextField(blank=True, db_default='', default='', help_text="The start of the last answer's body, or why no answer came.", max_length=20000)),
                ('delivered_at', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField(db_default=governance_app.kernel.db.DbNow(), db_index=True, default=governance_app.kernel.clock.now, editable=False)),
                ('resent_from', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='governance_app.webhookdelivery')),
                ('tenant', models.ForeignKey(db_default=uuid.UUID('00000000-0000-0000-0000-000000000001'), default=uuid.UUID('00000000-0000-0000-0000-000000000001'), on_delete=django.db.models.deletion.PROTECT, related_name='+', to='governance_app.tenant')),
                ('subscription', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='deliveries', to='governance_app.webhooksubscription')),
            ],
            options={
                'verbose_name': 'webhook delivery',
                'verbose_name_plural': 'webhook deliveries',
                'db_table': 'mwms_webhook_deliveries',
                'ordering': ['-created_at'],
            },
        ),
        migrations.AddConstraint(
            model_name='webhooksubscription',
            constraint=models.UniqueConstraint(fields=('tenant', 'id'), name='mwms_webhook_subscriptions_tenant_key'),
        ),
        migrations.AddConstraint(
            model_name='webhooksubscription',
            constraint=models.CheckConstraint(condition=models.Q(('url__startswith', 'http://'), ('url__startswith', 'https://'), _connector='OR'), name='mwms_webhook_subscriptions_url_http'),
        ),
        migrations.AddConstraint(
            model_name='webhooksubscription',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('name'), 200), name='mwms_webhook_subscriptions_name_length', violation_error_message='name: at most 200 characters.'),
        ),
        migrations.AddConstraint(
            model_name='webhooksubscription',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('url'), 2000), name='mwms_webhook_subscriptions_url_length', violation_error_message='url: at most 2,000 characters.'),
        ),
        migrations.AddConstraint(
            model_name='webhooksubscription',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('secret'), 200), name='mwms_webhook_subscriptions_secret_length', violation_error_message='secret: at most 200 characters.'),
        ),
        migrations.AddConstraint(
            model_name='webhooksubscription',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('created_by'), 300), name='mwms_webhook_subscriptions_created_by_length', violation_error_message='created_by: at most 300 characters.'),
        ),
        migrations.AddConstraint(
            model_name='webhooksubscription',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length(django.db.models.functions.comparison.Cast('event_types', models.TextField())), 100000), name='mwms_webhook_subscriptions_event_types_size', violation_error_message='event_types: at most 100,000 characters as JSON.'),
        ),
        migrations.AddIndex(
            model_name='webhookdelivery',
            index=models.Index(fields=['status', 'next_attempt_at'], name='mwms_webhook_deliveries_due'),
        ),
        migrations.AddIndex(
            model_name='webhookdelivery',
            index=models.Index(fields=['tenant', '-created_at'], name='mwms_webhook_deliveries_log'),
        ),
        migrations.AddConstraint(
            model_name='webhookdelivery',
            constraint=models.UniqueConstraint(fields=('tenant', 'id'), name='mwms_webhook_deliveries_tenant_key'),
        ),
        migrations.AddConstraint(
            model_name='webhookdelivery',
            constraint=models.CheckConstraint(condition=models.Q(('event_type__in', ['request.created', 'request.moved', 'request.closed', 'task.queued', 'task.completed', 'task.failed', 'decision.recorded'])), name='mwms_webhook_deliveries_event_type_valid'),
        ),
        migrations.AddConstraint(
            model_name='webhookdelivery',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['pending', 'sending', 'retrying', 'delivered', 'failed'])), name='mwms_webhook_deliveries_status_valid'),
        ),
        migrations.AddConstraint(
            model_name='webhookdelivery',
            constraint=models.CheckConstraint(condition=models.Q(('attempts__gte', 0)), name='mwms_webhook_deliveries_attempts'),
        ),
        migrations.AddConstraint(
            model_name='webhookdelivery',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('last_answer'), 20000), name='mwms_webhook_deliveries_last_answer_length', violation_error_message='last_answer: at most 20,000 characters.'),
        ),
        migrations.AddConstraint(
            model_name='webhookdelivery',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length(django.db.models.functions.comparison.Cast('payload', models.TextField())), 100000), name='mwms_webhook_deliveries_payload_size', violation_error_message='payload: at most 100,000 characters as JSON.'),
        ),
        TenantMatched("mwms_webhook_deliveries", "subscription_id", "mwms_webhook_subscriptions"),
        TenantMatched("mwms_webhook_deliveries", "resent_from_id", "mwms_webhook_deliveries"),
    ]
