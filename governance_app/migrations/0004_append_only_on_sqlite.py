from django.db import migrations

from governance_app.kernel.db import SQLiteAppendOnlyTriggers


class Migration(migrations.Migration):
    dependencies = [("governance_app", "0003_default_tenant_and_registry")]

    operations = [
        SQLiteAppendOnlyTriggers("mwms_decision_records"),
        SQLiteAppendOnlyTriggers("mwms_canon_amendments"),
    ]
