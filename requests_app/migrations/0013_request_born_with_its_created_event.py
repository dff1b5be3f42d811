"""A request may be inserted already naming its `created` event as its chain's head, so the event's
INSERT trigger has no head to move (kernel.db.chain_link_trigger's born_with_head), on PostgreSQL
and on SQLite."""

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations

from governance_app.kernel.db import SQLiteChainTriggers


class Migration(migrations.Migration):

    dependencies = [
        ('requests_app', '0012_list_and_queue_indexes'),
        ('governance_app', '0017_chain_triggers_on_sqlite'),
    ]

    operations = [
        pgtrigger.migrations.RemoveTrigger(
            model_name='requestevent',
            name='mwms_request_events_chain_link',
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='requestevent',
            trigger=pgtrigger.compiler.Trigger(name='mwms_request_events_chain_link', sql=pgtrigger.compiler.UpsertTriggerSql(func="\n    DECLARE head_seq integer; head_hash text;\n    BEGIN\n        IF length(NEW.prev_hash) > 64 OR length(NEW.row_hash) > 64 THEN\n            RETURN NEW;\n        END IF;\n        IF NEW.request_id IS NULL THEN\n            IF NEW.chain_seq <> 0 OR NEW.prev_hash <> '' OR length(NEW.row_hash) <> 64 THEN\n                RAISE EXCEPTION 'mwms: mwms_request_events row does not extend its chain: a row of no chain has chain_seq 0, an empty prev_hash and a row_hash'\n                    USING ERRCODE = 'integrity_constraint_violation';\n            END IF;\n            RETURN NEW;\n        END IF;\n        SELECT chain_seq, chain_head INTO head_seq, head_hash FROM mwms_brain_requests WHERE id = NEW.request_id FOR UPDATE;\n        IF NOT FOUND THEN\n            RETURN NEW;  -- the foreign key refuses it\n        END IF;\n        IF NEW.chain_seq = 1 AND NEW.prev_hash = '' AND head_seq = 1 AND head_hash = NEW.row_hash AND NOT EXISTS (SELECT 1 FROM mwms_request_events WHERE request_id = NEW.request_id) THEN\n            RETURN NEW;  -- its owner was inserted with it as its head: nothing to move\n        END IF;\n        IF NEW.chain_seq IS DISTINCT FROM head_seq + 1 OR NEW.prev_hash IS DISTINCT FROM head_hash\n                OR length(NEW.row_hash) <> 64 THEN\n            RAISE EXCEPTION 'mwms: mwms_request_events row does not extend its chain: expected chain_seq % and prev_hash %, got % and %',\n                head_seq + 1, quote_literal(head_hash), NEW.chain_seq, quote_literal(NEW.prev_hash)\n                USING ERRCODE = 'integrity_constraint_violation';\n        END IF;\n        UPDATE mwms_brain_requests SET chain_seq = NEW.chain_seq, chain_head = NEW.row_hash WHERE id = NEW.request_id;\n        RETURN NEW;\n    END;", hash='538230b5e8c7f8c281e58e0e6274534cabd1243f', operation='INSERT', pgid='pgtrigger_mwms_request_events_chain_link_df62a', table='mwms_request_events', when='BEFORE')),
        ),
        SQLiteChainTriggers("mwms_request_events", "mwms_brain_requests", "request_id", born_with_head=True),
    ]
