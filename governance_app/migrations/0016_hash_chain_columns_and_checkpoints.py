"""The hash chain's columns (issue 13): chain_seq, prev_hash and row_hash on history rows, chain_seq
and chain_head on the rows that own a chain, with their triggers (kernel.db, kernel.digests)."""

import django.db.models.deletion
import django.db.models.functions.text
import django.db.models.lookups
import governance_app.kernel.clock
import governance_app.kernel.db
import pgtrigger.compiler
import pgtrigger.migrations
import uuid
from django.db import migrations, models

from governance_app.kernel.db import added_in_place


class Migration(migrations.Migration):

    dependencies = [
        ('governance_app', '0015_canon_scope'),
        ('requests_app', '0010_request_events_reroute_index'),
        ('tasks_app', '0007_text_limits_and_output_mode'),
    ]

    operations = [
        migrations.CreateModel(
            name='ChainCheckpoint',
            fields=[
                ('id', models.UUIDField(db_default=governance_app.kernel.db.GenRandomUUID(), default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('created_at', models.DateTimeField(db_default=governance_app.kernel.db.DbNow(), db_index=True, default=governance_app.kernel.clock.now, editable=False)),
                ('chains', models.IntegerField(default=0, help_text='How many chain heads it records (those that moved).')),
                ('heads_digest', models.TextField(help_text="SHA-256 over its heads' lines (kernel.chain.heads_digest).", max_length=64)),
                ('chain_seq', governance_app.kernel.db.ChainSeqField(default=0, editable=False, help_text="The row's position in its chain (1 is the first).")),
                ('prev_hash', models.TextField(blank=True, default='', editable=False, help_text='The digest of the row before it in its chain (empty for the first).', max_length=64)),
                ('row_hash', models.TextField(blank=True, default='', editable=False, help_text='The digest of this row (kernel.digests).', max_length=64)),
            ],
            options={
                'db_table': 'mwms_chain_checkpoints',
                'ordering': ['-chain_seq'],
            },
        ),
        migrations.CreateModel(
            name='ChainCheckpointHead',
            fields=[
                ('id', models.UUIDField(db_default=governance_app.kernel.db.GenRandomUUID(), default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('chain', models.TextField(max_length=200)),
                ('owner_id', models.UUIDField(help_text='The request, task or canon document whose chain it is.')),
                ('chain_seq', models.IntegerField()),
                ('chain_head', models.TextField(max_length=64)),
                ('created_at', models.DateTimeField(db_default=governance_app.kernel.db.DbNow(), db_index=True, default=governance_app.kernel.clock.now, editable=False)),
            ],
            options={
                'db_table': 'mwms_chain_checkpoint_heads',
                'ordering': ['chain', 'owner_id', '-chain_seq'],
            },
        ),
        migrations.AddField(
            model_name='canonamendment',
            name='chain_seq',
            field=governance_app.kernel.db.ChainSeqField(default=0, editable=False, help_text="The row's position in its chain (1 is the first)."),
        ),
        migrations.AddField(
            model_name='canonamendment',
            name='prev_hash',
            field=models.TextField(blank=True, default='', editable=False, help_text='The digest of the row before it in its chain (empty for the first).', max_length=64),
        ),
        migrations.AddField(
            model_name='canonamendment',
            name='row_hash',
            field=models.TextField(blank=True, default='', editable=False, help_text='The digest of this row (kernel.digests).', max_length=64),
        ),
        migrations.AddField(
            model_name='canondocument',
            name='chain_head',
            field=models.TextField(blank=True, default='', editable=False, help_text="The digest of its chain's newest row.", max_length=64),
        ),
        migrations.AddField(
            model_name='canondocument',
            name='chain_seq',
            field=models.IntegerField(default=0, editable=False, help_text="The position of its chain's newest row."),
        ),
        migrations.AddField(
            model_name='decisionrecord',
            name='chain_seq',
            field=governance_app.kernel.db.ChainSeqField(default=0, editable=False, help_text="The row's position in its chain (1 is the first)."),
        ),
        migrations.AddField(
            model_name='decisionrecord',
            name='prev_hash',
            field=models.TextField(blank=True, default='', editable=False, help_text='The digest of the row before it in its chain (empty for the first).', max_length=64),
        ),
        migrations.AddField(
            model_name='decisionrecord',
            name='row_hash',
            field=models.TextField(blank=True, default='', editable=False, help_text='The digest of this row (kernel.digests).', max_length=64),
        ),
        migrations.AddField(
            model_name='lessonlearned',
            name='row_hash',
            field=governance_app.kernel.db.RowDigestField(blank=True, default='', editable=False, help_text="The digest of this lesson's columns (kernel.digests).", max_length=64),
        ),
        migrations.AddField(
            model_name='tenant',
            name='chain_head',
            field=models.TextField(blank=True, default='', editable=False, help_text="The digest of its chain's newest row.", max_length=64),
        ),
        migrations.AddField(
            model_name='tenant',
            name='chain_seq',
            field=models.IntegerField(default=0, editable=False, help_text="The position of its chain's newest row."),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='canonamendment',
            trigger=pgtrigger.compiler.Trigger(name='mwms_canon_amendments_chain_link', sql=pgtrigger.compiler.UpsertTriggerSql(func="\n    DECLARE head_seq integer; head_hash text;\n    BEGIN\n        IF length(NEW.prev_hash) > 64 OR length(NEW.row_hash) > 64 THEN\n            RETURN NEW;\n        END IF;\n        IF NEW.document_id IS NULL THEN\n            IF NEW.chain_seq <> 0 OR NEW.prev_hash <> '' OR length(NEW.row_hash) <> 64 THEN\n                RAISE EXCEPTION 'mwms: mwms_canon_amendments row does not extend its chain: a row of no chain has chain_seq 0, an empty prev_hash and a row_hash'\n                    USING ERRCODE = 'integrity_constraint_violation';\n            END IF;\n            RETURN NEW;\n        END IF;\n        SELECT chain_seq, chain_head INTO head_seq, head_hash FROM mwms_canon_documents WHERE id = NEW.document_id FOR UPDATE;\n        IF NOT FOUND THEN\n            RETURN NEW;  -- the foreign key refuses it\n        END IF;\n        IF NEW.chain_seq IS DISTINCT FROM head_seq + 1 OR NEW.prev_hash IS DISTINCT FROM head_hash\n                OR length(NEW.row_hash) <> 64 THEN\n            RAISE EXCEPTION 'mwms: mwms_canon_amendments row does not extend its chain: expected chain_seq % and prev_hash %, got % and %',\n                head_seq + 1, quote_literal(head_hash), NEW.chain_seq, quote_literal(NEW.prev_hash)\n                USING ERRCODE = 'integrity_constraint_violation';\n        END IF;\n        UPDATE mwms_canon_documents SET chain_seq = NEW.chain_seq, chain_head = NEW.row_hash WHERE id = NEW.document_id;\n        RETURN NEW;\n    END;", hash='a3087f5ec3ad09313381379f1c9c42c6def5ae34', operation='INSERT', pgid='pgtrigger_mwms_canon_amendments_chain_link_23e0a', table='mwms_canon_amendments', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='decisionrecord',
            trigger=pgtrigger.compiler.Trigger(name='mwms_decision_records_chain_link', sql=pgtrigger.compiler.UpsertTriggerSql(func="\n    DECLARE head_seq integer; head_hash text;\n    BEGIN\n        IF length(NEW.prev_hash) > 64 OR length(NEW.row_hash) > 64 THEN\n            RETURN NEW;\n        END IF;\n        IF NEW.related_request_id IS NULL THEN\n            IF NEW.chain_seq <> 0 OR NEW.prev_hash <> '' OR length(NEW.row_hash) <> 64 THEN\n                RAISE EXCEPTION 'mwms: mwms_decision_records row does not extend its chain: a row of no chain has chain_seq 0, an empty prev_hash and a row_hash'\n                    USING ERRCODE = 'integrity_constraint_violation';\n            END IF;\n            RETURN NEW;\n        END IF;\n        SELECT chain_seq, chain_head INTO head_seq, head_hash FROM mwms_brain_requests WHERE id = NEW.related_request_id FOR UPDATE;\n        IF NOT FOUND THEN\n            RETURN NEW;  -- the foreign key refuses it\n        END IF;\n        IF NEW.chain_seq IS DISTINCT FROM head_seq + 1 OR NEW.prev_hash IS DISTINCT FROM head_hash\n                OR length(NEW.row_hash) <> 64 THEN\n            RAISE EXCEPTION 'mwms: mwms_decision_records row does not extend its chain: expected chain_seq % and prev_hash %, got % and %',\n                head_seq + 1, quote_literal(head_hash), NEW.chain_seq, quote_literal(NEW.prev_hash)\n                USING ERRCODE = 'integrity_constraint_violation';\n        END IF;\n        UPDATE mwms_brain_requests SET chain_seq = NEW.chain_seq, chain_head = NEW.row_hash WHERE id = NEW.related_request_id;\n        RETURN NEW;\n    END;", hash='dc242a7ad96ae4c276010794281373fa09bd1bdb', operation='INSERT', pgid='pgtrigger_mwms_decision_records_chain_link_a0336', table='mwms_decision_records', when='BEFORE')),
        ),
        migrations.AddConstraint(
            model_name='canonamendment',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('prev_hash'), 64), name='mwms_canon_amendments_prev_hash_length', violation_error_message='prev_hash: at most 64 characters.'),
        ),
        migrations.AddConstraint(
            model_name='canonamendment',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('row_hash'), 64), name='mwms_canon_amendments_row_hash_length', violation_error_message='row_hash: at most 64 characters.'),
        ),
        migrations.AddConstraint(
            model_name='canondocument',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('chain_head'), 64), name='mwms_canon_documents_chain_head_length', violation_error_message='chain_head: at most 64 characters.'),
        ),
        migrations.AddConstraint(
            model_name='decisionrecord',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('prev_hash'), 64), name='mwms_decision_records_prev_hash_length', violation_error_message='prev_hash: at most 64 characters.'),
        ),
        migrations.AddConstraint(
            model_name='decisionrecord',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('row_hash'), 64), name='mwms_decision_records_row_hash_length', violation_error_message='row_hash: at most 64 characters.'),
        ),
        migrations.AddConstraint(
            model_name='lessonlearned',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('row_hash'), 64), name='mwms_lessons_learned_row_hash_length', violation_error_message='row_hash: at most 64 characters.'),
        ),
        migrations.AddConstraint(
            model_name='tenant',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('chain_head'), 64), name='mwms_tenants_chain_head_length', violation_error_message='chain_head: at most 64 characters.'),
        ),
        migrations.AddField(
            model_name='chaincheckpoint',
            name='tenant',
            field=models.ForeignKey(db_default=uuid.UUID('00000000-0000-0000-0000-000000000001'), default=uuid.UUID('00000000-0000-0000-0000-000000000001'), on_delete=django.db.models.deletion.PROTECT, related_name='+', to='governance_app.tenant'),
        ),
        migrations.AddField(
            model_name='chaincheckpointhead',
            name='checkpoint',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='heads', to='governance_app.chaincheckpoint'),
        ),
        migrations.AddField(
            model_name='chaincheckpointhead',
            name='tenant',
            field=models.ForeignKey(db_default=uuid.UUID('00000000-0000-0000-0000-000000000001'), default=uuid.UUID('00000000-0000-0000-0000-000000000001'), on_delete=django.db.models.deletion.PROTECT, related_name='+', to='governance_app.tenant'),
        ),
        migrations.AddConstraint(
            model_name='chaincheckpoint',
            constraint=models.UniqueConstraint(fields=('tenant', 'chain_seq'), name='mwms_chain_checkpoints_one_per_seq'),
        ),
        migrations.AddConstraint(
            model_name='chaincheckpoint',
            constraint=models.CheckConstraint(condition=models.Q(('chains__gte', 0)), name='mwms_chain_checkpoints_chains_positive'),
        ),
        migrations.AddConstraint(
            model_name='chaincheckpoint',
            constraint=models.UniqueConstraint(fields=('tenant', 'id'), name='mwms_chain_checkpoints_tenant_key'),
        ),
        migrations.AddConstraint(
            model_name='chaincheckpoint',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('prev_hash'), 64), name='mwms_chain_checkpoints_prev_hash_length', violation_error_message='prev_hash: at most 64 characters.'),
        ),
        migrations.AddConstraint(
            model_name='chaincheckpoint',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('row_hash'), 64), name='mwms_chain_checkpoints_row_hash_length', violation_error_message='row_hash: at most 64 characters.'),
        ),
        migrations.AddConstraint(
            model_name='chaincheckpoint',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('heads_digest'), 64), name='mwms_chain_checkpoints_heads_digest_length', violation_error_message='heads_digest: at most 64 characters.'),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='chaincheckpoint',
            trigger=pgtrigger.compiler.Trigger(name='mwms_chain_checkpoints_append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;", hash='d95a20564fb97f4c36429cd6b3cd7dce5578d4fe', operation='UPDATE OR DELETE', pgid='pgtrigger_mwms_chain_checkpoints_append_only_f9869', table='mwms_chain_checkpoints', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='chaincheckpoint',
            trigger=pgtrigger.compiler.Trigger(name='mwms_chain_checkpoints_chain_link', sql=pgtrigger.compiler.UpsertTriggerSql(func="\n    DECLARE head_seq integer; head_hash text;\n    BEGIN\n        IF length(NEW.prev_hash) > 64 OR length(NEW.row_hash) > 64 THEN\n            RETURN NEW;\n        END IF;\n        IF NEW.tenant_id IS NULL THEN\n            IF NEW.chain_seq <> 0 OR NEW.prev_hash <> '' OR length(NEW.row_hash) <> 64 THEN\n                RAISE EXCEPTION 'mwms: mwms_chain_checkpoints row does not extend its chain: a row of no chain has chain_seq 0, an empty prev_hash and a row_hash'\n                    USING ERRCODE = 'integrity_constraint_violation';\n            END IF;\n            RETURN NEW;\n        END IF;\n        SELECT chain_seq, chain_head INTO head_seq, head_hash FROM mwms_tenants WHERE id = NEW.tenant_id FOR UPDATE;\n        IF NOT FOUND THEN\n            RETURN NEW;  -- the foreign key refuses it\n        END IF;\n        IF NEW.chain_seq IS DISTINCT FROM head_seq + 1 OR NEW.prev_hash IS DISTINCT FROM head_hash\n                OR length(NEW.row_hash) <> 64 THEN\n            RAISE EXCEPTION 'mwms: mwms_chain_checkpoints row does not extend its chain: expected chain_seq % and prev_hash %, got % and %',\n                head_seq + 1, quote_literal(head_hash), NEW.chain_seq, quote_literal(NEW.prev_hash)\n                USING ERRCODE = 'integrity_constraint_violation';\n        END IF;\n        UPDATE mwms_tenants SET chain_seq = NEW.chain_seq, chain_head = NEW.row_hash WHERE id = NEW.tenant_id;\n        RETURN NEW;\n    END;", hash='91ed90ecf163dbd3c6106f1f3394306b0eda0e34', operation='INSERT', pgid='pgtrigger_mwms_chain_checkpoints_chain_link_e1ccb', table='mwms_chain_checkpoints', when='BEFORE')),
        ),
        migrations.AddIndex(
            model_name='chaincheckpointhead',
            index=models.Index(fields=['tenant', 'chain', 'owner_id', 'chain_seq'], name='mwms_chain_heads_owner'),
        ),
        migrations.AddIndex(
            model_name='chaincheckpointhead',
            index=models.Index(fields=['checkpoint'], name='mwms_chain_heads_checkpoint'),
        ),
        migrations.AddConstraint(
            model_name='chaincheckpointhead',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('chain'), 200), name='mwms_chain_checkpoint_heads_chain_length', violation_error_message='chain: at most 200 characters.'),
        ),
        migrations.AddConstraint(
            model_name='chaincheckpointhead',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('chain_head'), 64), name='mwms_chain_checkpoint_heads_chain_head_length', violation_error_message='chain_head: at most 64 characters.'),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='chaincheckpointhead',
            trigger=pgtrigger.compiler.Trigger(name='mwms_chain_checkpoint_heads_append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;", hash='9c6564338c5cd182c6450d4154dcd231de1e769f', operation='UPDATE OR DELETE', pgid='pgtrigger_mwms_chain_checkpoint_heads_append_only_8c327', table='mwms_chain_checkpoint_heads', when='BEFORE')),
        ),
    ]
    operations = added_in_place(operations, {'canonamendment': 'mwms_canon_amendments', 'canondocument': 'mwms_canon_documents', 'decisionrecord': 'mwms_decision_records', 'lessonlearned': 'mwms_lessons_learned', 'tenant': 'mwms_tenants'})
