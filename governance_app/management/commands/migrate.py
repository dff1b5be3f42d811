"""`migrate`, run as the database owner when DATABASE_OWNER is configured, then the security layer:
runtime grants, RLS on every table with a tenant_id column, TRUNCATE guards on history tables.

Without DATABASE_OWNER (SQLite, single-role setups) it is Django's migrate, unchanged.
"""

from django.core.management.base import CommandError
from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import connections

from governance_app.kernel.db_roles import apply_project_security, connected_as_owner, owner_settings


class Command(DjangoMigrate):
    help = DjangoMigrate.help + " Connects as DATABASE_OWNER when configured and then applies grants and RLS."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--skip-db-security", action="store_true",
                            help="Do not (re)apply runtime grants, row-level security and TRUNCATE guards.")

    def handle(self, *args, **options):
        alias = options["database"]
        if owner_settings(alias) is None:
            return super().handle(*args, **options)
        with connected_as_owner(alias):
            result = super().handle(*args, **options)  # --check may sys.exit(): the finally still restores
            if options["plan"] or options["skip_db_security"]:
                return result
            if connections[alias].vendor != "postgresql":
                return result
            try:
                applied = apply_project_security(alias)
            except (ValueError, RuntimeError) as exc:
                raise CommandError(f"database security not applied: {exc}") from exc
            if options["verbosity"] >= 1:
                self.stdout.write(self.style.MIGRATE_HEADING("Database security:"))
                self.stdout.write(f"  runtime grants on {len(applied['kinds'])} tables, RLS on "
                                  f"{len(applied['rls_tables'])}; policies (re)created on "
                                  f"{len(applied['policies_changed'])}")
                for table, policy in applied["foreign_policies"]:
                    self.stdout.write(self.style.WARNING(f"  policy {policy} on {table} is not ours: check it"))
            return result
