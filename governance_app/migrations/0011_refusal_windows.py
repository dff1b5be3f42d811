"""Refusal windows (issue 17, refusal floods): a refused call by a token is a rule_violation event
once per actor, record and move in each window of MWMS_REFUSAL_WINDOW_MINUTES; this counter
table holds how many refusals each window saw. A mutable table of the security layer
(MWMS_DB_TABLE_KINDS), with row-level security like every table with a tenant_id."""

import django.db.models.deletion
import governance_app.kernel.clock
import governance_app.kernel.db
import uuid
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('governance_app', '0010_four_eyes_rule'),
    ]

    operations = [
        migrations.CreateModel(
            name='RefusalWindow',
            fields=[
                ('id', models.UUIDField(db_default=governance_app.kernel.db.GenRandomUUID(), default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('actor_key', models.TextField(help_text="Who was refused: token:<id>, user:<id>, or the actor's name.")),
                ('actor', models.TextField(help_text='The actor as the history names it.')),
                ('subject_kind', models.TextField(choices=[('request', 'Request'), ('task', 'Task')])),
                ('subject_id', models.UUIDField(help_text='The request or task the refused call was about.')),
                ('rule', models.TextField(help_text='The move that was refused.')),
                ('window_start', models.DateTimeField()),
                ('refusal_count', models.IntegerField(db_default=1, default=1)),
                ('event_id', models.UUIDField(blank=True, help_text="The rule_violation event that recorded the window's first refusal.", null=True)),
                ('last_refused_at', models.DateTimeField()),
                ('created_at', models.DateTimeField(db_default=governance_app.kernel.db.DbNow(), db_index=True, default=governance_app.kernel.clock.now, editable=False)),
                ('tenant', models.ForeignKey(db_default=uuid.UUID('00000000-0000-0000-0000-000000000001'), default=uuid.UUID('00000000-0000-0000-0000-000000000001'), on_delete=django.db.models.deletion.PROTECT, related_name='+', to='governance_app.tenant')),
            ],
            options={
                'verbose_name': 'refusal window',
                'db_table': 'mwms_refusal_windows',
                'ordering': ['-last_refused_at'],
                'indexes': [models.Index(fields=['event_id'], name='mwms_refusal_windows_event')],
                'constraints': [models.CheckConstraint(condition=models.Q(('subject_kind__in', ['request', 'task'])), name='mwms_refusal_windows_subject_kind_valid'), models.CheckConstraint(condition=models.Q(('refusal_count__gte', 1)), name='mwms_refusal_windows_count_positive'), models.UniqueConstraint(fields=('tenant', 'actor_key', 'subject_kind', 'subject_id', 'rule', 'window_start'), name='mwms_refusal_windows_one_per_window')],
            },
        ),
    ]
