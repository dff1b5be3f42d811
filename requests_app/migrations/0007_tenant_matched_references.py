"""Every reference of requests, their events and signals stays inside the row's tenant: the Brain
columns name a Brain of the same tenant, and parent request, originating task and request point at
rows of the same tenant (composite keys on PostgreSQL, triggers on SQLite)."""

from django.db import migrations

from governance_app.kernel.db import TenantMatched


class Migration(migrations.Migration):
    dependencies = [
        ("requests_app", "0006_brain_columns_per_tenant"),
        ("tasks_app", "0005_brain_column_per_tenant"),
        ("governance_app", "0007_tenants_for_real"),
    ]

    operations = [
        *(TenantMatched("mwms_brain_requests", column, "mwms_brains", "slug")
          for column in ("requesting_brain", "target_brain", "review_owner", "escalation_owner", "primary_brain")),
        TenantMatched("mwms_brain_requests", "parent_request_id", "mwms_brain_requests"),
        TenantMatched("mwms_brain_requests", "originating_task_id", "mwms_tasks"),
        TenantMatched("mwms_request_events", "request_id", "mwms_brain_requests"),
        TenantMatched("mwms_signals", "source_brain", "mwms_brains", "slug"),
        TenantMatched("mwms_signals", "request_id", "mwms_brain_requests"),
    ]
