"""created_at / updated_at take their Python default from governance_app.kernel.clock, so a
replayed history (seed_demo) is stamped with its own dates. Only the model state changes: the
database default stays now(), and on SQLite no table is rebuilt (a rebuild would drop the
append-only triggers)."""

import governance_app.kernel.clock
import governance_app.kernel.db
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('governance_app', '0005_idempotency_keys'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name='apitoken',
                    name='created_at',
                    field=models.DateTimeField(db_default=governance_app.kernel.db.DbNow(), db_index=True, default=governance_app.kernel.clock.now, editable=False),
                ),
                migrations.AlterField(
                    model_name='brain',
                    name='created_at',
                    field=models.DateTimeField(db_default=governance_app.kernel.db.DbNow(), db_index=True, default=governance_app.kernel.clock.now, editable=False),
                ),
                migrations.AlterField(
                    model_name='canonamendment',
                    name='created_at',
                    field=models.DateTimeField(db_default=governance_app.kernel.db.DbNow(), db_index=True, default=governance_app.kernel.clock.now, editable=False),
                ),
                migrations.AlterField(
                    model_name='canondocument',
                    name='created_at',
                    field=models.DateTimeField(db_default=governance_app.kernel.db.DbNow(), db_index=True, default=governance_app.kernel.clock.now, editable=False),
                ),
                migrations.AlterField(
                    model_name='canondocument',
                    name='updated_at',
                    field=models.DateTimeField(db_default=governance_app.kernel.db.DbNow(), db_index=True, default=governance_app.kernel.clock.now),
                ),
                migrations.AlterField(
                    model_name='decisionrecord',
                    name='created_at',
                    field=models.DateTimeField(db_default=governance_app.kernel.db.DbNow(), db_index=True, default=governance_app.kernel.clock.now, editable=False),
                ),
                migrations.AlterField(
                    model_name='idempotencyrecord',
                    name='created_at',
                    field=models.DateTimeField(db_default=governance_app.kernel.db.DbNow(), db_index=True, default=governance_app.kernel.clock.now, editable=False),
                ),
                migrations.AlterField(
                    model_name='lessonlearned',
                    name='created_at',
                    field=models.DateTimeField(db_default=governance_app.kernel.db.DbNow(), db_index=True, default=governance_app.kernel.clock.now, editable=False),
                ),
                migrations.AlterField(
                    model_name='membership',
                    name='created_at',
                    field=models.DateTimeField(db_default=governance_app.kernel.db.DbNow(), db_index=True, default=governance_app.kernel.clock.now, editable=False),
                ),
                migrations.AlterField(
                    model_name='tenant',
                    name='created_at',
                    field=models.DateTimeField(db_default=governance_app.kernel.db.DbNow(), db_index=True, default=governance_app.kernel.clock.now, editable=False),
                ),
            ],
        ),
    ]
