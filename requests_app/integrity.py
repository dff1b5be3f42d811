"""The lineage check (issue 13): what a request's lineage must hold, and what is broken in it.

Being built on branch i13-lineage; until it lands, only the hash chain's own findings are reported.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime

from governance_app.kernel import chain
from governance_app.kernel.findings import Finding
from requests_app.models import BrainRequest


def request_findings(*, request: BrainRequest) -> list[Finding]:
    """Everything broken in one request's lineage and its history's chains (the drill-down's panel,
    the integrity endpoint and the closing guard read this)."""
    return chain.request_chain_findings(tenant_id=request.tenant_id, request_id=request.pk)


def lineage_findings(*, tenant_id: uuid.UUID, request_ids: Iterable[uuid.UUID] | None = None,
                     since: datetime | None = None) -> Iterator[Finding]:
    """Every lineage finding of a tenant (or of these requests, or of requests changed since), streamed
    so lineage_verify walks 100,000 requests in constant memory."""
    yield from ()
