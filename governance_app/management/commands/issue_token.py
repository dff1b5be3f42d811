"""`manage.py issue_token [--tenant <slug>] --brain <slug> --role <role> --label <text>`: a new API token.

The token belongs to a Brain of the tenant (`--tenant`, the demo tenant `mwms` unless told). The
secret is printed once, as the last line of the output, so a script can take it with `tail -n 1`;
only its SHA-256 is stored.
"""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance_app.kernel import claims
from governance_app.kernel.errors import DomainError
from governance_app.kernel.tenancy import DEFAULT_TENANT_SLUG, tenant_for_slug
from governance_app.kernel.tokens import api_token_issue
from governance_app.models import TokenRole


class Command(BaseCommand):
    help = "Issue an API token bound to one Brain of a tenant. The token is printed once, as the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", default=DEFAULT_TENANT_SLUG,
                            help=f"The tenant's slug (default {DEFAULT_TENANT_SLUG}, the demo tenant).")
        parser.add_argument("--brain", required=True, help="The Brain's slug, e.g. research.")
        parser.add_argument("--role", required=True, help=f"One of: {', '.join(TokenRole.values)}.")
        parser.add_argument("--label", required=True, help="Who or what uses the token, e.g. 'wordpress-plugin'.")

    def handle(self, *args, tenant: str, brain: str, role: str, label: str, **options) -> None:
        try:
            found = tenant_for_slug(tenant)
            with claims.tenant_claim(found.id):  # acting for the tenant (row-level security)
                token, secret = api_token_issue(tenant_id=found.id, brain=brain, role=role, label=label)
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Issued a {token.get_role_display()} token for {token.brain_id} of {found.slug}, "
                          f"labelled {token.label!r} (prefix {token.prefix}).")
        self.stdout.write("Store it now: it is shown only this once.")
        self.stdout.write(secret)
