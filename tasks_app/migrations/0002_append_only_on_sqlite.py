from django.db import migrations

from governance_app.kernel.db import SQLiteAppendOnlyTriggers


class Migration(migrations.Migration):
    dependencies = [("tasks_app", "0001_initial")]

    operations = [SQLiteAppendOnlyTriggers("mwms_task_events")]
