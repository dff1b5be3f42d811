"""Issue 15, item 2: the evidence an MCR update suggestion cites (mwms_suggestion_evidence,
append-only, one row per request, decision or lesson cited, each a tenant-matched foreign key) and
its reason (mwms_canon_proposals.reason, added in place so the proposals keep their triggers).

The suggestions drafted from lessons before this named them in meta_json `lesson_ids`; each of
those becomes evidence rows here, the one place evidence is kept from now on."""

import django.db.models.deletion
import django.db.models.functions.text
import django.db.models.lookups
import governance_app.kernel.clock
import governance_app.kernel.db
import pgtrigger.compiler
import pgtrigger.migrations
import uuid
from django.db import migrations, models

from governance_app.kernel.db import ColumnsAdded, SQLiteAppendOnlyTriggers, TenantMatched

# Each lesson a drafted suggestion named in meta_json, as its evidence (same tenant, lessons that exist).
BACKFILL_SQL = {
    "postgresql": """
        INSERT INTO mwms_suggestion_evidence (id, tenant_id, request_id, kind, cited_lesson_id, position, added_by,
                                              created_at)
        SELECT gen_random_uuid(), r.tenant_id, r.id, 'lesson', l.id, (e.position - 1)::integer, r.created_by,
               r.created_at
        FROM mwms_brain_requests r
        CROSS JOIN LATERAL jsonb_array_elements_text(r.meta_json -> 'lesson_ids') WITH ORDINALITY AS e(lesson_id, position)
        JOIN mwms_lessons_learned l ON l.tenant_id = r.tenant_id AND l.id::text = e.lesson_id
        WHERE r.request_type = 'mcr_update_suggestion' AND jsonb_typeof(r.meta_json -> 'lesson_ids') = 'array'
        ON CONFLICT DO NOTHING""",
    "sqlite": """
        INSERT OR IGNORE INTO mwms_suggestion_evidence (id, tenant_id, request_id, kind, cited_lesson_id, position,
                                                        added_by, created_at)
        SELECT lower(hex(randomblob(16))), r.tenant_id, r.id, 'lesson', l.id, CAST(e.key AS integer), r.created_by,
               r.created_at
        FROM mwms_brain_requests r, json_each(r.meta_json, '$.lesson_ids') e
        JOIN mwms_lessons_learned l ON l.tenant_id = r.tenant_id
             AND replace(lower(l.id), '-', '') = replace(lower(e.value), '-', '')
        WHERE r.request_type = 'mcr_update_suggestion' AND json_type(r.meta_json, '$.lesson_ids') = 'array'""",
}


def lessons_tenant_key(apps, schema_editor):
    # In place: PostgreSQL adds the UNIQUE constraint the composite foreign key points at; SQLite
    # (whose tenant match is a trigger) a unique index, without rebuilding the lessons' table.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE mwms_lessons_learned ADD CONSTRAINT mwms_lessons_learned_tenant_key "
                              "UNIQUE (tenant_id, id)")
    else:
        schema_editor.execute("CREATE UNIQUE INDEX mwms_lessons_learned_tenant_key ON mwms_lessons_learned "
                              "(tenant_id, id)")


def lessons_tenant_key_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE mwms_lessons_learned DROP CONSTRAINT mwms_lessons_learned_tenant_key")
    else:
        schema_editor.execute("DROP INDEX mwms_lessons_learned_tenant_key")


def evidence_from_meta_json(apps, schema_editor):
    statement = BACKFILL_SQL.get(schema_editor.connection.vendor)
    if statement is None:
        return
    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "postgresql":
            # Row-level security is forced on the owner too: read every tenant's rows, in this transaction.
            cursor.execute("SELECT set_config('request.jwt.claims', "
                           "'{\"tenant_id\": \"00000000-0000-0000-0000-000000000001\", "
                           "\"mwms_scope\": \"installation\"}', true)")
        cursor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ('governance_app', '0020_search_ids'),
        ('requests_app', '0018_saved_views_and_list_columns'),
    ]

    operations = [
        migrations.CreateModel(
            name='SuggestionEvidence',
            fields=[
                ('id', models.UUIDField(db_default=governance_app.kernel.db.GenRandomUUID(), default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('kind', models.TextField(choices=[('request', 'Request'), ('decision', 'Decision'), ('lesson', 'Lesson learned')])),
                ('position', models.IntegerField(db_default=0, default=0, help_text='The order the suggestion listed it in.')),
                ('added_by', models.TextField(max_length=300)),
                ('created_at', models.DateTimeField(db_default=governance_app.kernel.db.DbNow(), db_index=True, default=governance_app.kernel.clock.now, editable=False)),
            ],
            options={
                'verbose_name_plural': 'suggestion evidence',
                'db_table': 'mwms_suggestion_evidence',
                'ordering': ['request', 'position'],
            },
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name='canonproposal',
                    name='reason',
                    field=models.TextField(blank=True, db_default='', default='', help_text="Why the document should change so: the suggestion's reason, carried into each revision and the amendment's evidence.", max_length=20000),
                ),
                migrations.AddConstraint(
                    model_name='canonproposal',
                    constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('reason'), 20000), name='mwms_canon_proposals_reason_length', violation_error_message='reason: at most 20,000 characters.'),
                ),
            ],
            database_operations=[
                ColumnsAdded('mwms_canon_proposals', [['reason', "text NOT NULL DEFAULT ''", 'mwms_canon_proposals_reason_length', 20000]]),
            ],
        ),
        migrations.AddField(
            model_name='suggestionevidence',
            name='cited_decision',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='governance_app.decisionrecord'),
        ),
        migrations.AddField(
            model_name='suggestionevidence',
            name='cited_lesson',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='governance_app.lessonlearned'),
        ),
        migrations.AddField(
            model_name='suggestionevidence',
            name='cited_request',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='requests_app.brainrequest'),
        ),
        migrations.AddField(
            model_name='suggestionevidence',
            name='request',
            field=models.ForeignKey(help_text='The suggestion that cites it.', on_delete=django.db.models.deletion.PROTECT, related_name='evidence_items', to='requests_app.brainrequest'),
        ),
        migrations.AddField(
            model_name='suggestionevidence',
            name='tenant',
            field=models.ForeignKey(db_default=uuid.UUID('00000000-0000-0000-0000-000000000001'), default=uuid.UUID('00000000-0000-0000-0000-000000000001'), on_delete=django.db.models.deletion.PROTECT, related_name='+', to='governance_app.tenant'),
        ),
        migrations.AddConstraint(
            model_name='suggestionevidence',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['request', 'decision', 'lesson'])), name='mwms_suggestion_evidence_kind_valid'),
        ),
        migrations.AddConstraint(
            model_name='suggestionevidence',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('cited_decision__isnull', True), ('cited_lesson__isnull', True), ('cited_request__isnull', False), ('kind', 'request')), models.Q(('cited_decision__isnull', False), ('cited_lesson__isnull', True), ('cited_request__isnull', True), ('kind', 'decision')), models.Q(('cited_decision__isnull', True), ('cited_lesson__isnull', False), ('cited_request__isnull', True), ('kind', 'lesson')), _connector='OR'), name='mwms_suggestion_evidence_one_record_of_its_kind'),
        ),
        migrations.AddConstraint(
            model_name='suggestionevidence',
            constraint=models.CheckConstraint(condition=models.Q(('cited_request', models.F('request')), _negated=True), name='mwms_suggestion_evidence_not_itself'),
        ),
        migrations.AddConstraint(
            model_name='suggestionevidence',
            constraint=models.UniqueConstraint(fields=('request', 'cited_request'), name='mwms_suggestion_evidence_request_once'),
        ),
        migrations.AddConstraint(
            model_name='suggestionevidence',
            constraint=models.UniqueConstraint(fields=('request', 'cited_decision'), name='mwms_suggestion_evidence_decision_once'),
        ),
        migrations.AddConstraint(
            model_name='suggestionevidence',
            constraint=models.UniqueConstraint(fields=('request', 'cited_lesson'), name='mwms_suggestion_evidence_lesson_once'),
        ),
        migrations.AddConstraint(
            model_name='suggestionevidence',
            constraint=models.UniqueConstraint(fields=('tenant', 'id'), name='mwms_suggestion_evidence_tenant_key'),
        ),
        migrations.AddConstraint(
            model_name='suggestionevidence',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('added_by'), 300), name='mwms_suggestion_evidence_added_by_length', violation_error_message='added_by: at most 300 characters.'),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='suggestionevidence',
            trigger=pgtrigger.compiler.Trigger(name='mwms_suggestion_evidence_append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;", hash='7f2220ecf830bbac41d82d9f943c14a30c02ede0', operation='UPDATE OR DELETE', pgid='pgtrigger_mwms_suggestion_evidence_append_only_e9c0c', table='mwms_suggestion_evidence', when='BEFORE')),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddConstraint(
                model_name='lessonlearned',
                constraint=models.UniqueConstraint(fields=('tenant', 'id'), name='mwms_lessons_learned_tenant_key'),
            )],
            database_operations=[migrations.RunPython(lessons_tenant_key, lessons_tenant_key_drop, elidable=False)],
        ),
        SQLiteAppendOnlyTriggers('mwms_suggestion_evidence'),
        TenantMatched('mwms_suggestion_evidence', 'request_id', 'mwms_brain_requests'),
        TenantMatched('mwms_suggestion_evidence', 'cited_request_id', 'mwms_brain_requests'),
        TenantMatched('mwms_suggestion_evidence', 'cited_decision_id', 'mwms_decision_records'),
        TenantMatched('mwms_suggestion_evidence', 'cited_lesson_id', 'mwms_lessons_learned'),
        migrations.RunPython(evidence_from_meta_json, migrations.RunPython.noop, elidable=False),
    ]
