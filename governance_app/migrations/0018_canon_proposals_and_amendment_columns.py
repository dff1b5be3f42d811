"""Issue 15: the proposal an MCR update suggestion carries (mwms_canon_proposals, append-only), and
the amendments' columns of seed 004 (amendment_type, approved_at) with rollback as a new row
naming the amendment it undoes (rolls_back, unique) and the proposal revision it applied.

The columns added to the chained amendments are digested only when they differ from the value
the rows before them hold (CanonAmendment.DIGEST_ADDED_LATER, kernel.digests), so those rows'
digests still hold."""

import django.db.models.deletion
import django.db.models.functions.comparison
import django.db.models.functions.text
import django.db.models.lookups
import governance_app.kernel.clock
import governance_app.kernel.db
import pgtrigger.compiler
import pgtrigger.migrations
import uuid
from django.db import migrations, models

from governance_app.kernel.db import SQLiteAppendOnlyTriggers, TenantMatched, TriggersSetAside


class Migration(migrations.Migration):

    dependencies = [
        ('governance_app', '0017_chain_triggers_on_sqlite'),
        ('requests_app', '0012_list_and_queue_indexes'),
    ]

    operations = [
        migrations.CreateModel(
            name='CanonProposal',
            fields=[
                ('id', models.UUIDField(db_default=governance_app.kernel.db.GenRandomUUID(), default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('revision', models.IntegerField(default=1, help_text="1 for the suggestion's own, then one per amendment of it.")),
                ('base_version', models.TextField(help_text="The document's version the proposal was written against.", max_length=200)),
                ('proposed_text', models.TextField(blank=True, db_default='', default='', max_length=100000)),
                ('sections', models.JSONField(blank=True, db_default=models.Value([], output_field=models.JSONField()), default=list, help_text='The headings of the sections the proposal changes (requests_app.canon).')),
                ('note', models.TextField(blank=True, db_default='', default='', help_text='Why the proposal was amended.', max_length=20000)),
                ('proposed_by', models.TextField(max_length=300)),
                ('created_at', models.DateTimeField(db_default=governance_app.kernel.db.DbNow(), db_index=True, default=governance_app.kernel.clock.now, editable=False)),
                ('document', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='proposals', to='governance_app.canondocument')),
                ('request', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='canon_proposals', to='requests_app.brainrequest')),
                ('tenant', models.ForeignKey(db_default=uuid.UUID('00000000-0000-0000-0000-000000000001'), default=uuid.UUID('00000000-0000-0000-0000-000000000001'), on_delete=django.db.models.deletion.PROTECT, related_name='+', to='governance_app.tenant')),
            ],
            options={
                'db_table': 'mwms_canon_proposals',
                'ordering': ['request', '-revision'],
            },
        ),
        migrations.AddConstraint(
            model_name='canonproposal',
            constraint=models.UniqueConstraint(fields=('request', 'revision'), name='mwms_canon_proposals_one_per_revision'),
        ),
        migrations.AddConstraint(
            model_name='canonproposal',
            constraint=models.CheckConstraint(condition=models.Q(('revision__gte', 1)), name='mwms_canon_proposals_revision_positive'),
        ),
        migrations.AddConstraint(
            model_name='canonproposal',
            constraint=models.UniqueConstraint(fields=('tenant', 'id'), name='mwms_canon_proposals_tenant_key'),
        ),
        migrations.AddConstraint(
            model_name='canonproposal',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('base_version'), 200), name='mwms_canon_proposals_base_version_length', violation_error_message='base_version: at most 200 characters.'),
        ),
        migrations.AddConstraint(
            model_name='canonproposal',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('proposed_text'), 100000), name='mwms_canon_proposals_proposed_text_length', violation_error_message='proposed_text: at most 100,000 characters.'),
        ),
        migrations.AddConstraint(
            model_name='canonproposal',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('note'), 20000), name='mwms_canon_proposals_note_length', violation_error_message='note: at most 20,000 characters.'),
        ),
        migrations.AddConstraint(
            model_name='canonproposal',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('proposed_by'), 300), name='mwms_canon_proposals_proposed_by_length', violation_error_message='proposed_by: at most 300 characters.'),
        ),
        migrations.AddConstraint(
            model_name='canonproposal',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length(django.db.models.functions.comparison.Cast('sections', models.TextField())), 100000), name='mwms_canon_proposals_sections_size', violation_error_message='sections: at most 100,000 characters as JSON.'),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='canonproposal',
            trigger=pgtrigger.compiler.Trigger(name='mwms_canon_proposals_append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;", hash='84a86a0647f4077eb85cdd04613e5da48ffadcb9', operation='UPDATE OR DELETE', pgid='pgtrigger_mwms_canon_proposals_append_only_2a886', table='mwms_canon_proposals', when='BEFORE')),
        ),
    
        # One rebuild of the amendments table on SQLite, its triggers (append-only, chain link,
        # tenant-matched references) set aside and made again as they were.
        TriggersSetAside(['mwms_canon_amendments'], [
            migrations.AddField(
                model_name='canonamendment',
                name='amendment_type',
                field=models.TextField(choices=[('manual_update', 'Manual update'), ('governance_tightening', 'Governance tightening'), ('capability_expansion', 'Capability expansion'), ('rollback', 'Rollback'), ('dream_promotion', 'Dream promotion (imported history)')], db_default='manual_update', default='manual_update'),
            ),
            migrations.AddField(
                model_name='canonamendment',
                name='approved_at',
                field=models.DateTimeField(blank=True, null=True),
            ),
            migrations.AddField(
                model_name='canonamendment',
                name='rolls_back',
                field=models.OneToOneField(blank=True, help_text='The amendment a rollback undoes.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='rolled_back_by', to='governance_app.canonamendment'),
            ),
            migrations.AlterField(
                model_name='canonamendment',
                name='decision',
                field=models.ForeignKey(help_text='The decision that approved it (for a rollback: that recorded why).', on_delete=django.db.models.deletion.PROTECT, related_name='amendments', to='governance_app.decisionrecord'),
            ),
            migrations.AlterField(
                model_name='canonamendment',
                name='request',
                field=models.ForeignKey(blank=True, help_text='The request that proposed it.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='amendments', to='requests_app.brainrequest'),
            ),
            migrations.AddField(
                model_name='canonamendment',
                name='proposal',
                field=models.ForeignKey(blank=True, help_text='The proposal revision it applied.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='amendments', to='governance_app.canonproposal'),
            ),
            migrations.AddConstraint(
                model_name='canonamendment',
                constraint=models.CheckConstraint(condition=models.Q(('amendment_type__in', ['manual_update', 'governance_tightening', 'capability_expansion', 'rollback', 'dream_promotion'])), name='mwms_canon_amendments_amendment_type_valid'),
            ),
            migrations.AddConstraint(
                model_name='canonamendment',
                constraint=models.CheckConstraint(condition=models.Q(models.Q(('amendment_type', 'rollback'), ('rolls_back__isnull', False)), models.Q(models.Q(('amendment_type', 'rollback'), _negated=True), ('rolls_back__isnull', True)), _connector='OR'), name='mwms_canon_amendments_rollback_names_its_amendment'),
            ),
            migrations.AddConstraint(
                model_name='canonamendment',
                constraint=models.CheckConstraint(condition=models.Q(('request__isnull', False), ('amendment_type__in', ['rollback', 'dream_promotion']), _connector='OR'), name='mwms_canon_amendments_proposed_by_a_request'),
            ),
            migrations.AddConstraint(
                model_name='canonamendment',
                constraint=models.UniqueConstraint(fields=('tenant', 'id'), name='mwms_canon_amendments_tenant_key'),
            ),
        ]),
        SQLiteAppendOnlyTriggers('mwms_canon_proposals'),
        TenantMatched('mwms_canon_proposals', 'request_id', 'mwms_brain_requests'),
        TenantMatched('mwms_canon_proposals', 'document_id', 'mwms_canon_documents'),
        TenantMatched('mwms_canon_amendments', 'rolls_back_id', 'mwms_canon_amendments'),
        TenantMatched('mwms_canon_amendments', 'proposal_id', 'mwms_canon_proposals'),
    ]
