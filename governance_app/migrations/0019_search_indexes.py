"""Full-text search (issue 14, item 9): a GIN index on each searched table's document, the expression
governance_app.search writes (its title weighted A, its body B, the 'english' configuration). Expression
indexes, not generated tsvector columns: history tables are append-only behind triggers, and an index
changes no column and no row. PostgreSQL only; SQLite searches with icontains."""

from django.db import migrations

from governance_app.migrations._postgres import postgres_only

# (index, the CREATE INDEX statement) — governance_app.search.Kind.index_sql() wrote them; a test
# (tests/governance_app/test_search.py) checks that the queries still use them.
INDEXES = [
    ("mwms_search_request",
     "CREATE INDEX IF NOT EXISTS mwms_search_request ON mwms_brain_requests USING gin ((setweight(to_tsvector('english'::regconfig, COALESCE(request_title, '')), 'A') || setweight(to_tsvector('english'::regconfig, COALESCE(request_summary, '') || ' ' || COALESCE(response_summary, '') || ' ' || COALESCE(result_summary, '')), 'B')))"),
    ("mwms_search_task",
     "CREATE INDEX IF NOT EXISTS mwms_search_task ON mwms_tasks USING gin ((setweight(to_tsvector('english'::regconfig, COALESCE(title, '')), 'A') || setweight(to_tsvector('english'::regconfig, COALESCE(task_type, '') || ' ' || COALESCE(execution_notes, '') || ' ' || COALESCE(last_error, '')), 'B')))"),
    ("mwms_search_artifact",
     "CREATE INDEX IF NOT EXISTS mwms_search_artifact ON mwms_task_artifacts USING gin ((setweight(to_tsvector('english'::regconfig, COALESCE(artifact_type, '')), 'A') || setweight(to_tsvector('english'::regconfig, COALESCE(artifact_summary, '')), 'B')))"),
    ("mwms_search_decision",
     "CREATE INDEX IF NOT EXISTS mwms_search_decision ON mwms_decision_records USING gin ((setweight(to_tsvector('english'::regconfig, COALESCE(decision_summary, '')), 'A') || setweight(to_tsvector('english'::regconfig, COALESCE(reasoning, '') || ' ' || COALESCE(evidence_used, '') || ' ' || COALESCE(expected_outcome, '')), 'B')))"),
    ("mwms_search_lesson",
     "CREATE INDEX IF NOT EXISTS mwms_search_lesson ON mwms_lessons_learned USING gin ((setweight(to_tsvector('english'::regconfig, COALESCE(insight, '')), 'A') || setweight(to_tsvector('english'::regconfig, COALESCE(event_or_experiment, '') || ' ' || COALESCE(result, '') || ' ' || COALESCE(recommended_improvement, '')), 'B')))"),
]


class Migration(migrations.Migration):

    dependencies = [
        ("governance_app", "0018_canon_proposals_and_amendment_columns"),
        ("requests_app", "0012_list_and_queue_indexes"),
        ("tasks_app", "0008_hash_chain_columns_and_write_once_artifacts"),
    ]

    operations = [postgres_only(sql, f"DROP INDEX IF EXISTS {name}") for name, sql in INDEXES]
