"""`manage.py lineage_checkpoint [--tenant SLUG]`: record every chain's head as it is now.

A checkpoint (mwms_chain_checkpoints) holds the heads of the chains that moved since the checkpoint
before it (mwms_chain_checkpoint_heads) and the digest over them, and is itself the next link of
the tenant's chain of checkpoints. `lineage_verify` then finds a chain that is behind its last
checkpointed head (its newest rows deleted) or gone altogether. Run it nightly before
lineage_verify, and copy the line it prints somewhere the database's owner cannot write (README
"How tampering is detected").
"""

from django.core.management.base import BaseCommand, CommandParser
from django.db.models import F, OuterRef, Q, Subquery

from governance_app.kernel import chain, claims
from governance_app.kernel.digests import mark_fresh
from governance_app.management.commands.lineage_verify import tenants_argument
from governance_app.models import ChainCheckpoint, ChainCheckpointHead, Tenant


def checkpoint_write(*, tenant_id) -> ChainCheckpoint:
    """Record the heads of the tenant's chains that moved since its last checkpoint."""
    tenant = mark_fresh(Tenant.objects.select_for_update().get(pk=tenant_id))  # one checkpoint at a time
    moved = []
    for each in chain.CHAINS:
        last = ChainCheckpointHead.objects.filter(tenant_id=tenant_id, chain=each.name, owner_id=OuterRef("pk")) \
            .order_by("-chain_seq").values("chain_head")[:1]
        owners = each.owner._base_manager.filter(tenant_id=tenant_id, chain_seq__gt=0).annotate(last=Subquery(last))
        owners = owners.filter(Q(last__isnull=True) | ~Q(last=F("chain_head")))
        moved += [(each.name, pk, seq, head) for pk, seq, head in
                  owners.order_by("pk").values_list("pk", "chain_seq", "chain_head").iterator(chunk_size=5000)]
    checkpoint = ChainCheckpoint(tenant=tenant, chains=len(moved), heads_digest=chain.heads_digest(moved))
    checkpoint.save()
    ChainCheckpointHead.objects.bulk_create(
        [ChainCheckpointHead(tenant_id=tenant_id, checkpoint=checkpoint, chain=name, owner_id=pk, chain_seq=seq,
                             chain_head=head) for name, pk, seq, head in moved], batch_size=2000)
    return checkpoint


class Command(BaseCommand):
    help = "Record every chain's head (those that moved since the last checkpoint) as a chained checkpoint."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="Only this tenant (its slug); every tenant by default.")

    def handle(self, *args, tenant: str | None, **options) -> None:
        for each in tenants_argument(tenant):
            with claims.tenant_claim(each.id):
                checkpoint = checkpoint_write(tenant_id=each.id)
            self.stdout.write(f"{each.slug} checkpoint {checkpoint.chain_seq} {checkpoint.row_hash} "
                              f"({checkpoint.chains:,} chain heads moved) at {checkpoint.created_at.isoformat()}")
