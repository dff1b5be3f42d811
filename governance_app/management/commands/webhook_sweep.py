"""`manage.py webhook_sweep [--tenant <slug>]`: send every webhook delivery that is due now.

The worker sends deliveries as they are queued and retries them when due; the sweep is for what a
queue lost (a task that could not be enqueued, a worker that died mid-send). Run it from cron every
few minutes, or let `db_worker` run the `webhook_sweep` task on a schedule of yours.
"""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance_app.kernel import webhooks
from governance_app.kernel.errors import DomainError
from governance_app.kernel.tenancy import tenant_for_slug


class Command(BaseCommand):
    help = "Send every webhook delivery that is due (pending, or retrying past its time)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", default=None, help="Only this tenant's deliveries (default: every tenant).")

    def handle(self, *args, tenant: str | None, **options) -> None:
        try:
            tenant_id = tenant_for_slug(tenant).id if tenant else None
        except DomainError as error:
            raise CommandError(error.message) from None
        attempts = webhooks.sweep(tenant_id=tenant_id)
        self.stdout.write(f"{attempts} delivery attempt(s) made.")
