"""Saved views and list columns (issue 14): a person's named filter and sort of the request list,
private or shared with the tenant, and the columns each person chose for the list. Mutable tables
of the security layer, with row-level security; the owner of each row belongs to its tenant."""

import django.db.models.deletion
import django.db.models.functions.comparison
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
        ('governance_app', '0019_search_indexes'),
        ('requests_app', '0017_free_text_lookups'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ListPreference',
            fields=[
                ('id', models.UUIDField(db_default=governance_app.kernel.db.GenRandomUUID(), default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('list_name', models.TextField(choices=[('requests', 'Request list')], db_default='requests', default='requests')),
                ('columns', models.JSONField(blank=True, db_default=models.Value([], output_field=models.JSONField()), default=list)),
                ('updated_at', models.DateTimeField(db_default=governance_app.kernel.db.DbNow(), db_index=True, default=governance_app.kernel.clock.now)),
                ('tenant', models.ForeignKey(db_default=uuid.UUID('00000000-0000-0000-0000-000000000001'), default=uuid.UUID('00000000-0000-0000-0000-000000000001'), on_delete=django.db.models.deletion.PROTECT, related_name='+', to='governance_app.tenant')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='list_preferences', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'db_table': 'mwms_list_preferences',
                'constraints': [models.CheckConstraint(condition=models.Q(('list_name__in', ['requests'])), name='mwms_list_preferences_list_name_valid'), models.UniqueConstraint(fields=('tenant', 'user', 'list_name'), name='mwms_list_preferences_one_per_list'), models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length(django.db.models.functions.comparison.Cast('columns', models.TextField())), 2000), name='mwms_list_preferences_columns_size', violation_error_message='columns: at most 2,000 characters as JSON.')],
            },
        ),
        migrations.CreateModel(
            name='SavedView',
            fields=[
                ('id', models.UUIDField(db_default=governance_app.kernel.db.GenRandomUUID(), default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('name', models.TextField(max_length=200)),
                ('visibility', models.TextField(choices=[('private', 'Only me'), ('shared', 'Everyone in the organisation')], db_default='private', default='private')),
                ('query', models.TextField(blank=True, db_default='', default='', help_text="The request list's query string: filters and sort, no page.", max_length=2000)),
                ('created_at', models.DateTimeField(db_default=governance_app.kernel.db.DbNow(), db_index=True, default=governance_app.kernel.clock.now, editable=False)),
                ('updated_at', models.DateTimeField(db_default=governance_app.kernel.db.DbNow(), db_index=True, default=governance_app.kernel.clock.now)),
                ('owner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='saved_views', to=settings.AUTH_USER_MODEL)),
                ('tenant', models.ForeignKey(db_default=uuid.UUID('00000000-0000-0000-0000-000000000001'), default=uuid.UUID('00000000-0000-0000-0000-000000000001'), on_delete=django.db.models.deletion.PROTECT, related_name='+', to='governance_app.tenant')),
            ],
            options={
                'db_table': 'mwms_saved_views',
                'ordering': ['name'],
                'indexes': [models.Index(fields=['tenant', 'visibility', 'name'], name='mwms_saved_views_shared')],
                'constraints': [models.CheckConstraint(condition=models.Q(('visibility__in', ['private', 'shared'])), name='mwms_saved_views_visibility_valid'), models.CheckConstraint(condition=django.db.models.lookups.GreaterThan(django.db.models.functions.text.Length(django.db.models.functions.text.Trim('name')), 0), name='mwms_saved_views_name_not_blank', violation_error_message='A saved view needs a name.'), models.UniqueConstraint(fields=('tenant', 'owner', 'name'), name='mwms_saved_views_one_name_per_owner'), models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('name'), 200), name='mwms_saved_views_name_length', violation_error_message='name: at most 200 characters.'), models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('query'), 2000), name='mwms_saved_views_query_length', violation_error_message='query: at most 2,000 characters.')],
            },
        ),
        TenantMatched("mwms_saved_views", "owner_id", "mwms_tenant_users", "user_id"),
        TenantMatched("mwms_list_preferences", "user_id", "mwms_tenant_users", "user_id"),
    ]
