"""After migrate, the default tenant and the nine Brains of the protocol exist."""

from django.db import migrations

from governance_app.kernel.db import DEFAULT_TENANT_ID
from governance_app.registry import BRAINS


def create_default_tenant_and_registry(apps, schema_editor):
    Tenant = apps.get_model("governance_app", "Tenant")
    Brain = apps.get_model("governance_app", "Brain")
    tenant, _ = Tenant.objects.get_or_create(id=DEFAULT_TENANT_ID, defaults={"slug": "mwms", "name": "MWMS"})
    for spec in BRAINS:
        Brain.objects.get_or_create(slug=spec["slug"], defaults={**spec, "tenant": tenant})


class Migration(migrations.Migration):
    dependencies = [("governance_app", "0002_initial")]

    operations = [migrations.RunPython(create_default_tenant_and_registry, migrations.RunPython.noop)]
