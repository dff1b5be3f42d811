from django.db import migrations

from governance_app.kernel.db import SQLiteAppendOnlyTriggers


class Migration(migrations.Migration):
    dependencies = [("requests_app", "0002_initial")]

    operations = [SQLiteAppendOnlyTriggers("mwms_request_events")]
