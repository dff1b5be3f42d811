"""Brain slugs become unique per tenant (governance_app 0007), so the Brain columns of requests and
signals stop being foreign keys to an installation-unique slug: each keeps its text column and gains
a (tenant, slug) relation; requests_app 0007 adds the composite keys. Constraints and indexes that
name these columns change in the model state only: their SQL is the same."""

from django.db import migrations, models

from governance_app.kernel.db import brain_fk_to_brain_column, tenant_key

ESCALATION_CHECK = "mwms_brain_requests_escalation_has_owner_and_reason"
ROUTED_CHECK = "mwms_brain_requests_routed_has_review_owner"

CONVERSIONS = [
    brain_fk_to_brain_column("brainrequest", "requesting_brain", null=True, related_name="requests_sent"),
    brain_fk_to_brain_column("brainrequest", "target_brain", related_name="requests_received"),
    brain_fk_to_brain_column("brainrequest", "review_owner", null=True, related_name="requests_reviewed"),
    brain_fk_to_brain_column("brainrequest", "escalation_owner", null=True, related_name="requests_escalated_to"),
    brain_fk_to_brain_column("brainrequest", "primary_brain", null=True, related_name="requests_led"),
    brain_fk_to_brain_column("signal", "source_brain", related_name="signals"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("requests_app", "0005_timestamps_default_to_the_kernel_clock"),
        ("governance_app", "0006_timestamps_default_to_the_kernel_clock"),
    ]

    operations = [
        *(database for database, _state in CONVERSIONS),
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.RemoveConstraint("brainrequest", ESCALATION_CHECK),
            migrations.RemoveConstraint("brainrequest", ROUTED_CHECK),
            migrations.RemoveIndex("brainrequest", "mwms_req_destination"),
            migrations.RemoveIndex("brainrequest", "mwms_req_origin"),
            *(operation for _database, state in CONVERSIONS for operation in state),
            migrations.AddConstraint("brainrequest", models.CheckConstraint(
                condition=~models.Q(status="escalated")
                | (models.Q(escalation_owner_id__isnull=False) & ~models.Q(escalation_reason="")),
                name=ESCALATION_CHECK,
            )),
            migrations.AddConstraint("brainrequest", models.CheckConstraint(
                condition=~models.Q(status__in=["routed", "in_progress"]) | models.Q(review_owner_id__isnull=False),
                name=ROUTED_CHECK,
            )),
            migrations.AddIndex("brainrequest", models.Index(fields=["tenant", "target_brain_id", "status"],
                                                             name="mwms_req_destination")),
            migrations.AddIndex("brainrequest", models.Index(fields=["tenant", "requesting_brain_id", "status"],
                                                             name="mwms_req_origin")),
        ]),
        migrations.AddConstraint("brainrequest", tenant_key("mwms_brain_requests")),
    ]
