"""`manage.py tenant_create SLUG --name NAME --reviewer USERNAME --password PW`: a new tenant.

It gets the protocol's nine standard Brains (the demo's slugs: headoffice, research, affiliate,
ads, experimentation, finance, sit, aibs, content) and a HeadOffice reviewer who can sign in at
once. A refusal is one line and changes nothing. Then issue its tokens with
`issue_token --tenant SLUG ...`.
"""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance_app.kernel import claims
from governance_app.kernel.errors import DomainError
from governance_app.models import Brain, SubscriptionTier, Tenant
from governance_app.services import tenant_create


class Command(BaseCommand):
    help = "Create a tenant with the nine standard Brains and its first HeadOffice reviewer."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="Short name other systems address the tenant by, e.g. acme.")
        parser.add_argument("--name", required=True, help="The organisation's name, e.g. 'Acme Consulting'.")
        parser.add_argument("--reviewer", required=True, help="Username of its first HeadOffice reviewer (new).")
        parser.add_argument("--password", required=True, help="The reviewer's password.")
        parser.add_argument("--domain", default=None, help="The organisation's domain, e.g. acme.com (unique).")
        parser.add_argument("--tier", default=SubscriptionTier.STARTER, choices=SubscriptionTier.values,
                            help="Subscription tier (seed 004).")

    def handle(self, *args, slug: str, name: str, reviewer: str, password: str, domain: str | None, tier: str,
               **options) -> None:
        try:
            tenant = tenant_create(slug=slug, name=name, reviewer_username=reviewer, reviewer_password=password,
                                   domain=domain, subscription_tier=tier)
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Created tenant {tenant.slug} ({tenant.name}) with {tenant_brain_count(tenant)} Brains; "
                          f"{reviewer} reviews for its HeadOffice.")
        self.stdout.write(f"Next: manage.py issue_token --tenant {tenant.slug} --brain <slug> --role <role> --label <text>")


def tenant_brain_count(tenant: Tenant) -> int:
    with claims.tenant_claim(tenant.id):  # acting for the new tenant (row-level security)
        return Brain.objects.filter(tenant=tenant).count()
