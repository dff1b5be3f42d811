"""The hash chain over history (issue 13): canonical digests of history rows and their verification.

Being built on branch i13-chain; until it lands, no chain exists and nothing is reported.
"""

from __future__ import annotations

import uuid

from governance_app.kernel.findings import Finding


def request_chain_findings(*, tenant_id: uuid.UUID, request_id: uuid.UUID) -> list[Finding]:
    """What is broken in the chains of one request's history (its events, its tasks' events, its
    decisions): digests that do not match their rows, missing or reordered rows, a head behind its
    last checkpoint. Blocking findings refuse closing the request."""
    return []
