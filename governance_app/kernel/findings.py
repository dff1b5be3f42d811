"""What an integrity check reports: one broken thing, named by its table and row.

The lineage checks (what the chain should contain: a created event per request, no closed request
with open children, evidence that resolves, ...) and the hash-chain checks (digests, links,
checkpoints) both yield Findings; `manage.py lineage_verify`, the drill-down's integrity panel,
`GET /api/v1/requests/{id}/integrity` and the closing guard all read them.

    Finding(code="digest_mismatch", table="mwms_request_events", row_id="…", request_id="…",
            message="its digest does not match its row (note changed)", blocking=True)

A `blocking` finding refuses closing or rejecting the request it belongs to.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class Finding:
    code: str                 # a stable slug: digest_mismatch, missing_created_event, open_child_request, ...
    table: str                # the table of the row at fault, e.g. mwms_task_events
    row_id: str               # that row's id (a chain's key for a missing row)
    message: str              # one line a person can act on: what is wrong with it
    request_id: str | None = None   # the request whose lineage holds the row, where there is one
    blocking: bool = False          # refuses closing or rejecting that request

    def line(self) -> str:
        """The one line `lineage_verify` prints for it."""
        where = f" (request {self.request_id})" if self.request_id and self.request_id != self.row_id else ""
        return f"{self.table} {self.row_id}{where}: {self.message} [{self.code}]"

    def as_json(self) -> dict[str, object]:
        return asdict(self)
