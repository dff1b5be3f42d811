"""The hash chain's triggers on SQLite (PostgreSQL's are pgtrigger triggers of the models), the
write-once artifacts' triggers on SQLite, and the new references kept inside their tenant.

Rows written before the chain existed stay unchained (chain_seq 0): `lineage_verify` names them.
"""

from django.db import migrations

from governance_app.kernel.db import (
    SQLiteAppendOnlyTriggers,
    SQLiteChainTriggers,
    SQLiteWriteOnceTriggers,
    TenantMatched,
)


class Migration(migrations.Migration):

    dependencies = [
        ('governance_app', '0016_hash_chain_columns_and_checkpoints'),
        ('requests_app', '0011_hash_chain_columns'),
        ('tasks_app', '0008_hash_chain_columns_and_write_once_artifacts'),
    ]

    operations = [
        SQLiteChainTriggers("mwms_request_events", "mwms_brain_requests", "request_id"),
        SQLiteChainTriggers("mwms_decision_records", "mwms_brain_requests", "related_request_id"),
        SQLiteChainTriggers("mwms_task_events", "mwms_tasks", "task_id"),
        SQLiteChainTriggers("mwms_canon_amendments", "mwms_canon_documents", "document_id"),
        SQLiteChainTriggers("mwms_chain_checkpoints", "mwms_tenants", "tenant_id"),
        SQLiteAppendOnlyTriggers("mwms_chain_checkpoints"),
        SQLiteAppendOnlyTriggers("mwms_chain_checkpoint_heads"),
        SQLiteWriteOnceTriggers("mwms_task_artifacts"),
        TenantMatched("mwms_chain_checkpoint_heads", "checkpoint_id", "mwms_chain_checkpoints"),
        TenantMatched("mwms_task_artifacts", "replaces_id", "mwms_task_artifacts"),
    ]
