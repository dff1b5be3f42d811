"""`manage.py webhook_add [--tenant <slug>] --name <text> --url <url> --events <a,b,…> [--secret <text>]`.

Subscribes an integration's endpoint to some of a tenant's events (README "Webhooks"). The signing
secret is generated unless given, and printed once, as the last line, for the receiver to keep.
"""

import dataclasses

from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance_app.kernel import claims, webhooks
from governance_app.kernel.actors import SYSTEM
from governance_app.kernel.errors import DomainError
from governance_app.kernel.tenancy import DEFAULT_TENANT_SLUG, tenant_for_slug
from governance_app.models import WebhookEvent


class Command(BaseCommand):
    help = "Subscribe a URL to some of a tenant's events. The signing secret is printed once, as the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", default=DEFAULT_TENANT_SLUG,
                            help=f"The tenant's slug (default {DEFAULT_TENANT_SLUG}, the demo tenant).")
        parser.add_argument("--name", required=True, help="Who receives it, e.g. 'Brain Room'.")
        parser.add_argument("--url", required=True, help="Where to POST: an http:// or https:// URL.")
        parser.add_argument("--events", required=True,
                            help=f"Comma-separated, from: {', '.join(WebhookEvent.values)}.")
        parser.add_argument("--secret", default=None, help="The HMAC key (16+ characters); generated if omitted.")

    def handle(self, *args, tenant: str, name: str, url: str, events: str, secret: str | None, **options) -> None:
        try:
            found = tenant_for_slug(tenant)
            actor = dataclasses.replace(SYSTEM, tenant_id=found.id, label="manage.py webhook_add")
            with claims.tenant_claim(found.id):  # acting for the tenant (row-level security)
                subscription, secret = webhooks.subscription_add(actor=actor, name=name, url=url,
                                                                 event_types=events, secret=secret)
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Subscribed {subscription.url} ({subscription.name}) of {found.slug} to "
                          f"{', '.join(subscription.event_types)}.")
        self.stdout.write("The signing secret, for the receiver to keep (shown only this once):")
        self.stdout.write(secret)
