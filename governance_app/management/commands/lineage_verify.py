"""`manage.py lineage_verify [--tenant SLUG] [--request ID] [--since DATE] [--json]`: name every broken
thing in the history's hash chains and in the lineage, one line each; exit 0 only when nothing is.

It walks each tenant's chains (kernel.chain) and lineage (requests_app.integrity) straight from the
database, a chain at a time, so its memory does not grow with the history. Progress goes to stderr,
the findings to stdout: `Finding.line()`, or one JSON object a line with --json.
"""

import datetime as dt
import json
import sys
import time
import uuid
from datetime import datetime, time as day_start

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from governance_app.kernel import chain, claims
from governance_app.kernel.db import DEFAULT_TENANT_ID
from governance_app.kernel.errors import DomainError
from governance_app.kernel.tenancy import tenant_for_slug
from governance_app.models import Tenant
from requests_app import integrity


def since_argument(value: str) -> datetime:
    """A date (2026-12-01) or a timestamp (2026-12-01T06:00:00Z), as an aware datetime."""
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(f"--since: {value!r} is not a date (YYYY-MM-DD) or a timestamp (ISO 8601).")
        moment = datetime.combine(day, day_start.min)
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, dt.UTC)


def tenants_argument(slug: str | None) -> list[Tenant]:
    if slug is None:  # every tenant: an installation-wide read of the tenant list alone
        with claims.tenant_claim(DEFAULT_TENANT_ID, mwms_scope="installation"):
            return list(Tenant.objects.order_by("slug"))
    try:
        return [tenant_for_slug(slug)]
    except DomainError as error:
        raise CommandError(error.message) from None


class Command(BaseCommand):
    help = "Walk the hash chains and the lineage and name every broken thing; exit status 1 if anything is."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="Only this tenant (its slug); every tenant by default.")
        parser.add_argument("--request", action="append", default=[], metavar="ID",
                            help="Only this request's lineage and chains (its tasks' too); may be repeated.")
        parser.add_argument("--since", help="Only chains and requests changed since this date or timestamp.")
        parser.add_argument("--json", action="store_true", help="One JSON object per finding, a line each.")

    def handle(self, *args, tenant: str | None, request: list[str], since: str | None, json: bool,
               **options) -> None:
        try:
            request_ids = [uuid.UUID(value) for value in request] or None
        except ValueError:
            raise CommandError(f"--request: {', '.join(request)} is not a request id (a UUID).") from None
        moment = since_argument(since) if since else None
        started, found = time.monotonic(), 0
        for each in tenants_argument(tenant):
            self._progress(f"tenant {each.slug}: verifying")
            with claims.tenant_claim(each.id):
                for finding in self._findings(each.id, request_ids, moment):
                    found += 1
                    self.stdout.write(_dumps(finding.as_json()) if json else finding.line())
        self._progress(f"{found:,} broken thing(s) found in {time.monotonic() - started:.1f} s")
        if found:
            sys.exit(1)

    def _findings(self, tenant_id, request_ids, since):
        yield from chain.chain_findings(tenant_id=tenant_id, request_ids=request_ids, since=since,
                                        progress=self._progress)
        yield from integrity.lineage_findings(tenant_id=tenant_id, request_ids=request_ids, since=since)

    def _progress(self, message: str) -> None:
        self.stderr.write(f"lineage_verify: {message}")


def _dumps(value) -> str:
    return json.dumps(value, sort_keys=True)
