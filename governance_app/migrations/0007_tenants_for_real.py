"""Tenants for real (issue 12): the tenant gets seed 004's fields; each tenant has its own Brain
registry (slugs unique per tenant, the Brain columns text checked by composite keys); a person
belongs to exactly one tenant (mwms_tenant_users); HeadOffice is granted only by the tenant's own
HeadOffice Brain; and every reference of these tables stays inside its row's tenant.

requests_app 0006 and tasks_app 0005 drop their foreign keys to Brain.slug first, so its
installation-wide unique constraint can go."""

from collections import Counter
from decimal import Decimal

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import governance_app.kernel.clock
import governance_app.kernel.db
from governance_app.kernel.db import (
    SQLiteAppendOnlyTriggers,
    TenantMatched,
    brain_fk_to_brain_column,
    choices_check,
    tenant_key,
)

CONVERSIONS = [
    brain_fk_to_brain_column("membership", "brain", related_name="memberships"),
    brain_fk_to_brain_column("apitoken", "brain", related_name="api_tokens"),
    brain_fk_to_brain_column("decisionrecord", "authority", related_name="decisions"),
    brain_fk_to_brain_column("lessonlearned", "originating_brain", related_name="lessons"),
]
TIERS = ["starter", "pro", "enterprise"]


def link_people_to_their_tenant(apps, schema_editor):
    """Each person with memberships belongs to the tenant most of them are in; a membership of
    another tenant would break the new rule, so it goes (there are none in a single-tenant install)."""
    Membership = apps.get_model("governance_app", "Membership")
    TenantUser = apps.get_model("governance_app", "TenantUser")
    tenants_of: dict[int, Counter] = {}
    for user_id, tenant_id in Membership.objects.values_list("user_id", "tenant_id"):
        tenants_of.setdefault(user_id, Counter())[tenant_id] += 1
    for user_id, counts in tenants_of.items():
        tenant_id = counts.most_common(1)[0][0]
        TenantUser.objects.get_or_create(user_id=user_id, defaults={"tenant_id": tenant_id})
        Membership.objects.filter(user_id=user_id).exclude(tenant_id=tenant_id).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("governance_app", "0006_timestamps_default_to_the_kernel_clock"),
        ("requests_app", "0006_brain_columns_per_tenant"),
        ("tasks_app", "0005_brain_column_per_tenant"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The tenant (seed 004: tenants).
        migrations.AddField("tenant", "domain", models.TextField(blank=True, null=True, unique=True,
                                                                 help_text="e.g. oms.com")),
        migrations.AddField("tenant", "subscription_tier", models.TextField(
            choices=[(t, t.title()) for t in TIERS], default="starter", db_default="starter")),
        migrations.AddField("tenant", "max_users", models.IntegerField(default=10, db_default=10)),
        migrations.AddField("tenant", "max_monthly_budget", models.DecimalField(
            max_digits=14, decimal_places=2, default=Decimal("1000.00"), db_default=Decimal("1000.00"))),
        migrations.AddField("tenant", "is_active", models.BooleanField(default=True, db_default=True)),
        migrations.AddConstraint("tenant", choices_check("subscription_tier", TIERS, table="mwms_tenants")),
        migrations.AddConstraint("tenant", models.CheckConstraint(condition=~models.Q(slug=""),
                                                                  name="mwms_tenants_slug_not_empty")),
        migrations.AddConstraint("tenant", models.CheckConstraint(condition=~models.Q(name=""),
                                                                  name="mwms_tenants_name_not_empty")),
        migrations.AddConstraint("tenant", models.CheckConstraint(condition=models.Q(max_users__gte=1),
                                                                  name="mwms_tenants_max_users_positive")),
        migrations.AddConstraint("tenant", models.CheckConstraint(condition=models.Q(max_monthly_budget__gte=0),
                                                                  name="mwms_tenants_budget_not_negative")),
        # One tenant per person.
        migrations.CreateModel(
            name="TenantUser",
            fields=[
                ("user", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True,
                                              related_name="tenant_link", serialize=False,
                                              to=settings.AUTH_USER_MODEL)),
                ("tenant", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                             to="governance_app.tenant")),
                ("created_at", models.DateTimeField(db_default=governance_app.kernel.db.DbNow(), db_index=True,
                                                    default=governance_app.kernel.clock.now, editable=False)),
            ],
            options={"db_table": "mwms_tenant_users", "ordering": ["tenant", "user"],
                     "verbose_name": "tenant user"},
        ),
        migrations.AddConstraint("tenantuser", models.UniqueConstraint(fields=["tenant", "user"],
                                                                       name="mwms_tenant_users_tenant_key")),
        migrations.RunPython(link_people_to_their_tenant, migrations.RunPython.noop),
        # The Brain columns of this app's tables become text checked per tenant.
        *(database for database, _state in CONVERSIONS),
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.RemoveConstraint("membership", "mwms_memberships_one_per_brain"),
            *(operation for _database, state in CONVERSIONS for operation in state),
            migrations.AlterModelOptions("membership", {"ordering": ["brain_id", "user"]}),
            migrations.AddConstraint("membership", models.UniqueConstraint(
                fields=["user", "brain_id"], name="mwms_memberships_one_per_brain")),
        ]),
        # The registry per tenant.
        migrations.AlterField("brain", "slug", models.TextField()),
        migrations.AddConstraint("brain", models.UniqueConstraint(fields=["tenant", "slug"],
                                                                  name="mwms_brains_tenant_slug")),
        migrations.AddConstraint("membership", models.CheckConstraint(
            condition=~models.Q(role="head_office_reviewer") | models.Q(brain_id="headoffice"),
            name="mwms_memberships_reviewer_of_headoffice")),
        migrations.AddConstraint("apitoken", models.CheckConstraint(
            condition=~models.Q(role="headoffice") | models.Q(brain_id="headoffice"),
            name="mwms_api_tokens_headoffice_of_headoffice")),
        migrations.AddConstraint("apitoken", tenant_key("mwms_api_tokens")),
        migrations.AddConstraint("decisionrecord", tenant_key("mwms_decision_records")),
        migrations.AddConstraint("canondocument", tenant_key("mwms_canon_documents")),
        # The SQLite rebuilds above dropped the decision records' append-only triggers.
        SQLiteAppendOnlyTriggers("mwms_decision_records"),
        # Every reference of these tables stays in its row's tenant.
        TenantMatched("mwms_memberships", "brain", "mwms_brains", "slug"),
        TenantMatched("mwms_memberships", "user_id", "mwms_tenant_users", "user_id"),
        TenantMatched("mwms_api_tokens", "brain", "mwms_brains", "slug"),
        TenantMatched("mwms_decision_records", "authority", "mwms_brains", "slug"),
        TenantMatched("mwms_decision_records", "related_request_id", "mwms_brain_requests"),
        TenantMatched("mwms_decision_records", "related_task_id", "mwms_tasks"),
        TenantMatched("mwms_decision_records", "supersedes_id", "mwms_decision_records"),
        TenantMatched("mwms_lessons_learned", "originating_brain", "mwms_brains", "slug"),
        TenantMatched("mwms_lessons_learned", "related_decision_id", "mwms_decision_records"),
        TenantMatched("mwms_lessons_learned", "related_task_id", "mwms_tasks"),
        TenantMatched("mwms_lessons_learned", "related_request_id", "mwms_brain_requests"),
        TenantMatched("mwms_canon_amendments", "document_id", "mwms_canon_documents"),
        TenantMatched("mwms_canon_amendments", "request_id", "mwms_brain_requests"),
        TenantMatched("mwms_canon_amendments", "decision_id", "mwms_decision_records"),
        TenantMatched("mwms_idempotency_keys", "token_id", "mwms_api_tokens"),
    ]
