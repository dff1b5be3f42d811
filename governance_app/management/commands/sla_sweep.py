"""`manage.py sla_sweep [--tenant <slug>]`: tell people of the requests that crossed their SLA
warning time or deadline since they were last told (run it from cron every few minutes; README
"Watching and notifications"). Each crossing is told once per status stint, so running it more
often costs nothing but the sweep."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance_app.kernel import claims
from governance_app.kernel.db import DEFAULT_TENANT_ID
from governance_app.kernel.errors import DomainError
from governance_app.kernel.tenancy import tenant_for_slug
from governance_app.models import Tenant
from requests_app import notifications


class Command(BaseCommand):
    help = "Notify the watchers and assignees of requests that are due soon or past their SLA deadline."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", default=None, help="Only this tenant (default: every active tenant).")

    def handle(self, *args, tenant: str | None, **options) -> None:
        try:
            tenants = [tenant_for_slug(tenant)] if tenant else None
        except DomainError as error:
            raise CommandError(error.message) from None
        if tenants is None:
            with claims.tenant_claim(DEFAULT_TENANT_ID, **claims.EVERY_TENANT):
                tenants = list(Tenant.objects.filter(is_active=True).order_by("slug"))
        for found in tenants:
            written = notifications.sla_sweep(tenant_id=found.id)
            self.stdout.write(f"{found.slug}: {written} SLA notification(s).")
