"""The hash chain's columns (issue 13): chain_seq, prev_hash and row_hash on history rows, chain_seq
and chain_head on the rows that own a chain, with their triggers (kernel.db, kernel.digests)."""

import django.db.models.deletion
import django.db.models.functions.text
import django.db.models.lookups
import governance_app.kernel.db
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models

from governance_app.kernel.db import added_in_place


class Migration(migrations.Migration):

    dependencies = [
        ('governance_app', '0016_hash_chain_columns_and_checkpoints'),
        ('requests_app', '0011_hash_chain_columns'),
        ('tasks_app', '0007_text_limits_and_output_mode'),
    ]

    operations = [
        migrations.AddField(
            model_name='task',
            name='chain_head',
            field=models.TextField(blank=True, default='', editable=False, help_text="The digest of its chain's newest row.", max_length=64),
        ),
        migrations.AddField(
            model_name='task',
            name='chain_seq',
            field=models.IntegerField(default=0, editable=False, help_text="The position of its chain's newest row."),
        ),
        migrations.AddField(
            model_name='taskartifact',
            name='replaces',
            field=models.ForeignKey(blank=True, help_text='The artifact this one corrects (artifacts are write-once).', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='replaced_by', to='tasks_app.taskartifact'),
        ),
        migrations.AddField(
            model_name='taskevent',
            name='chain_seq',
            field=governance_app.kernel.db.ChainSeqField(default=0, editable=False, help_text="The row's position in its chain (1 is the first)."),
        ),
        migrations.AddField(
            model_name='taskevent',
            name='prev_hash',
            field=models.TextField(blank=True, default='', editable=False, help_text='The digest of the row before it in its chain (empty for the first).', max_length=64),
        ),
        migrations.AddField(
            model_name='taskevent',
            name='row_hash',
            field=models.TextField(blank=True, default='', editable=False, help_text='The digest of this row (kernel.digests).', max_length=64),
        ),
        migrations.AlterField(
            model_name='taskartifact',
            name='content_hash',
            field=models.TextField(blank=True, db_default='', default='', help_text='SHA-256 of the location and content (kernel.digests.artifact_content_hash).', max_length=200),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='taskartifact',
            trigger=pgtrigger.compiler.Trigger(name='mwms_task_artifacts_write_once', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;", hash='b486d48f48210bbf2ce87b5c602cdce3a9969350', operation='UPDATE OR DELETE', pgid='pgtrigger_mwms_task_artifacts_write_once_4bb34', table='mwms_task_artifacts', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='taskevent',
            trigger=pgtrigger.compiler.Trigger(name='mwms_task_events_chain_link', sql=pgtrigger.compiler.UpsertTriggerSql(func="\n    DECLARE head_seq integer; head_hash text;\n    BEGIN\n        IF length(NEW.prev_hash) > 64 OR length(NEW.row_hash) > 64 THEN\n            RETURN NEW;\n        END IF;\n        IF NEW.task_id IS NULL THEN\n            IF NEW.chain_seq <> 0 OR NEW.prev_hash <> '' OR length(NEW.row_hash) <> 64 THEN\n                RAISE EXCEPTION 'mwms: mwms_task_events row does not extend its chain: a row of no chain has chain_seq 0, an empty prev_hash and a row_hash'\n                    USING ERRCODE = 'integrity_constraint_violation';\n            END IF;\n            RETURN NEW;\n        END IF;\n        SELECT chain_seq, chain_head INTO head_seq, head_hash FROM mwms_tasks WHERE id = NEW.task_id FOR UPDATE;\n        IF NOT FOUND THEN\n            RETURN NEW;  -- the foreign key refuses it\n        END IF;\n        IF NEW.chain_seq IS DISTINCT FROM head_seq + 1 OR NEW.prev_hash IS DISTINCT FROM head_hash\n                OR length(NEW.row_hash) <> 64 THEN\n            RAISE EXCEPTION 'mwms: mwms_task_events row does not extend its chain: expected chain_seq % and prev_hash %, got % and %',\n                head_seq + 1, quote_literal(head_hash), NEW.chain_seq, quote_literal(NEW.prev_hash)\n                USING ERRCODE = 'integrity_constraint_violation';\n        END IF;\n        UPDATE mwms_tasks SET chain_seq = NEW.chain_seq, chain_head = NEW.row_hash WHERE id = NEW.task_id;\n        RETURN NEW;\n    END;", hash='196a69f76d563f2550aa0eb774f77abecc7517f9', operation='INSERT', pgid='pgtrigger_mwms_task_events_chain_link_1ead6', table='mwms_task_events', when='BEFORE')),
        ),
        migrations.AddConstraint(
            model_name='task',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('chain_head'), 64), name='mwms_tasks_chain_head_length', violation_error_message='chain_head: at most 64 characters.'),
        ),
        migrations.AddConstraint(
            model_name='taskevent',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('prev_hash'), 64), name='mwms_task_events_prev_hash_length', violation_error_message='prev_hash: at most 64 characters.'),
        ),
        migrations.AddConstraint(
            model_name='taskevent',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('row_hash'), 64), name='mwms_task_events_row_hash_length', violation_error_message='row_hash: at most 64 characters.'),
        ),
    ]
    operations = added_in_place(operations, {'task': 'mwms_tasks', 'taskevent': 'mwms_task_events'})
