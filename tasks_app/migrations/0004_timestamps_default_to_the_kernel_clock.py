"""created_at / updated_at take their Python default from governance_app.kernel.clock, so a
replayed history (seed_demo) is stamped with its own dates. Only the model state changes: the
database default stays now(), and on SQLite no table is rebuilt (a rebuild would drop the
append-only triggers)."""

import governance_app.kernel.clock
import governance_app.kernel.db
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tasks_app', '0003_claim_order_index'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name='task',
                    name='created_at',
                    field=models.DateTimeField(db_default=governance_app.kernel.db.DbNow(), db_index=True, default=governance_app.kernel.clock.now, editable=False),
                ),
                migrations.AlterField(
                    model_name='task',
                    name='updated_at',
                    field=models.DateTimeField(db_default=governance_app.kernel.db.DbNow(), db_index=True, default=governance_app.kernel.clock.now),
                ),
                migrations.AlterField(
                    model_name='taskartifact',
                    name='created_at',
                    field=models.DateTimeField(db_default=governance_app.kernel.db.DbNow(), db_index=True, default=governance_app.kernel.clock.now, editable=False),
                ),
                migrations.AlterField(
                    model_name='taskevent',
                    name='created_at',
                    field=models.DateTimeField(db_default=governance_app.kernel.db.DbNow(), db_index=True, default=governance_app.kernel.clock.now, editable=False),
                ),
            ],
        ),
    ]
