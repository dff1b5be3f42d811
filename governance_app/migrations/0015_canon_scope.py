"""The Brains and request types each canon document governs (issue 15: the Canon page lists them,
and the drill-down's "canon as of" and the approval screen's impact read them). Empty is every one."""

import django.db.models.functions.comparison
import django.db.models.functions.text
import django.db.models.lookups
from django.db import migrations, models

from governance_app.kernel.db import TriggersSetAside


class Migration(migrations.Migration):

    dependencies = [
        ('governance_app', '0014_webhooks'),
    ]

    operations = [TriggersSetAside(["mwms_canon_documents"], [
        migrations.AddField(
            model_name='canondocument',
            name='governs',
            field=models.JSONField(blank=True, db_default=models.Value([], output_field=models.JSONField()), default=list, help_text='Slugs of the Brains this document governs; empty: every Brain of the tenant.'),
        ),
        migrations.AddField(
            model_name='canondocument',
            name='request_types',
            field=models.JSONField(blank=True, db_default=models.Value([], output_field=models.JSONField()), default=list, help_text='The request types it covers; empty: every type.'),
        ),
        migrations.AddConstraint(
            model_name='canondocument',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length(django.db.models.functions.comparison.Cast('governs', models.TextField())), 100000), name='mwms_canon_documents_governs_size', violation_error_message='governs: at most 100,000 characters as JSON.'),
        ),
        migrations.AddConstraint(
            model_name='canondocument',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length(django.db.models.functions.comparison.Cast('request_types', models.TextField())), 100000), name='mwms_canon_documents_request_types_size', violation_error_message='request_types: at most 100,000 characters as JSON.'),
        ),
    ])]
