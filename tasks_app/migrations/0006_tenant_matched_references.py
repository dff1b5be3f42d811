"""Every reference of tasks, their events and artifacts stays inside the row's tenant (composite
keys on PostgreSQL, triggers on SQLite)."""

from django.db import migrations

from governance_app.kernel.db import TenantMatched


class Migration(migrations.Migration):
    dependencies = [
        ("tasks_app", "0005_brain_column_per_tenant"),
        ("governance_app", "0007_tenants_for_real"),
    ]

    operations = [
        TenantMatched("mwms_tasks", "assigned_brain", "mwms_brains", "slug"),
        TenantMatched("mwms_tasks", "request_id", "mwms_brain_requests"),
        TenantMatched("mwms_tasks", "result_id", "mwms_task_artifacts"),
        TenantMatched("mwms_task_events", "task_id", "mwms_tasks"),
        TenantMatched("mwms_task_artifacts", "task_id", "mwms_tasks"),
    ]
