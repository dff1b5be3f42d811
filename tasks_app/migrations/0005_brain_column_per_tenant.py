"""A task's assigned_brain names a Brain of the task's tenant (slugs are unique per tenant from
governance_app 0007 on): the column stays text, the single-column foreign key goes, and tasks_app
0006 adds the composite key. The queue index names the same column, so it changes in state only."""

from django.db import migrations, models

from governance_app.kernel.db import brain_fk_to_brain_column, tenant_key
from tasks_app.models import PriorityRank

ASSIGNED_BRAIN, SWAP = brain_fk_to_brain_column("task", "assigned_brain", related_name="tasks")


class Migration(migrations.Migration):
    dependencies = [
        ("tasks_app", "0004_timestamps_default_to_the_kernel_clock"),
        ("governance_app", "0006_timestamps_default_to_the_kernel_clock"),
    ]

    operations = [
        ASSIGNED_BRAIN,
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.RemoveIndex("task", "mwms_tasks_queue"),
            *SWAP,
            migrations.AddIndex("task", models.Index(
                models.F("assigned_brain_id"), models.F("status"), PriorityRank("priority"), models.F("created_at"),
                name="mwms_tasks_queue",
            )),
        ]),
        migrations.AddConstraint("task", tenant_key("mwms_tasks")),
        migrations.AddConstraint("taskartifact", tenant_key("mwms_task_artifacts")),
    ]
