"""What `migrate` leaves behind: the default tenant and the nine Brains of the protocol."""

from governance_app.kernel.db import DEFAULT_TENANT_ID
from governance_app.models import Brain, Tenant

NINE = {"research", "affiliate", "ads", "experimentation", "finance", "sit", "aibs", "content", "headoffice"}


def test_the_default_tenant_exists_after_migrate(db):
    assert Tenant.objects.filter(id=DEFAULT_TENANT_ID).exists()


def test_the_registry_holds_the_nine_brains_of_the_protocol(db):
    assert set(Brain.objects.values_list("slug", flat=True)) == NINE


def test_only_governance_and_authority_brains_may_record_decisions(db):
    deciders = set(Brain.objects.filter(may_record_decisions=True).values_list("slug", flat=True))
    assert deciders == {"headoffice", "finance", "sit"}


def test_every_brain_accepts_at_least_one_request_type(db):
    for brain in Brain.objects.all():
        assert brain.accepted_request_types, brain.slug
