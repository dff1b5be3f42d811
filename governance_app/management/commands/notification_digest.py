"""`manage.py notification_digest [--tenant <slug>]`: email each person who chose the daily digest
what they were told since the last one (run it daily from cron; README "Watching and notifications")."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance_app.kernel.errors import DomainError
from governance_app.kernel.tenancy import DEFAULT_TENANT_SLUG, tenant_for_slug
from requests_app import notifications


class Command(BaseCommand):
    help = "Send the daily digest of notifications to everyone who chose it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", default=DEFAULT_TENANT_SLUG,
                            help=f"The tenant's slug (default {DEFAULT_TENANT_SLUG}, the demo tenant).")

    def handle(self, *args, tenant: str, **options) -> None:
        try:
            found = tenant_for_slug(tenant)
        except DomainError as error:
            raise CommandError(error.message) from None
        sent = notifications.digest(tenant_id=found.id)
        self.stdout.write(f"Sent {sent} digest email(s) for {found.slug}.")
