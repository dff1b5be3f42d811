"""The queues HeadOffice works, as conditions on BrainRequest, shared by the dashboard's tiles and
the request list's `queue` filter (so a tile and the list it opens always agree)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q

from governance_app.kernel import clock
from requests_app.models import FEEDBACK_REQUEST_TYPES, FEEDBACK_WAITING, FINAL_STATUSES, RequestStatus
from requests_app.sla import Moment, SlaState, sla_conditions

S = RequestStatus


def feedback_q() -> Q:
    """A feedback request: a HeadOffice review request, an MCR update suggestion, or flagged as feedback."""
    return Q(request_type__in=FEEDBACK_REQUEST_TYPES) | Q(feedback_required=True) | Q(mcr_update_suggested=True)


@dataclass(frozen=True)
class QueueSpec:
    key: str
    label: str
    hint: str
    # Whether a non-empty queue is a problem to look at now (drawn in the attention colour).
    urgent: bool = False
    # Which of its requests the tile names: the one unchanged longest, or the one due first.
    first_by: str = "updated_at"


QUEUE_SPECS: tuple[QueueSpec, ...] = (
    QueueSpec("breached", "Breached", "Past an SLA target: the longest overdue first.", urgent=True,
              first_by="sla_due_at"),
    QueueSpec("due_soon", "Due soon", "Most of an SLA target has elapsed: act before it passes.",
              first_by="sla_due_at"),
    QueueSpec("needs_review", "Needs review", "New or under review: route, return or reject."),
    QueueSpec("escalated", "Escalated", "Waiting for the escalation owner's decision.", urgent=True),
    QueueSpec("blocked", "Blocked", "Held until a blocker is lifted.", urgent=True),
    QueueSpec("awaiting_head_office_review", "Awaiting HeadOffice review", "A Brain asked for HeadOffice's opinion."),
    QueueSpec("feedback_to_classify", "Feedback to classify", "Brain feedback waiting for one of the ten "
                                                              "classifications (rule 13)."),
    QueueSpec("awaiting_mcr_decision", "Awaiting MCR decision", "Proposed MCR updates: only HeadOffice decides."),
    QueueSpec("stale", "Stale", "Open, not parked, and unchanged for {days} days.", urgent=True),
    QueueSpec("responded_without_outcome", "Responded without outcome",
              "Responded with no outcome type or summary (rule 7).", urgent=True),
)


# The queues that hold only open requests (neither closed nor rejected): the dashboard counts
# them in one pass over the open requests, which an index finds without reading the rest. A queue
# not listed here is counted over every request.
OPEN_QUEUES = frozenset({"open", "breached", "due_soon", "needs_review", "escalated", "blocked", "awaiting_head_office_review",
                         "feedback_to_classify", "awaiting_mcr_decision", "stale", "responded_without_outcome"})


def stale_after_days() -> int:
    return int(getattr(settings, "MWMS_STALE_AFTER_DAYS", 7))


def queue_conditions(*, now: datetime | None = None) -> dict[str, Q]:
    """Each HeadOffice queue as a condition on BrainRequest (the queues may overlap)."""
    now = now or clock.now()
    sla = sla_conditions(now)
    return {
        "open": ~Q(status__in=FINAL_STATUSES),
        "breached": sla[SlaState.BREACHED],
        "due_soon": sla[SlaState.DUE_SOON],
        "needs_review": Q(status__in=[S.NEW, S.UNDER_REVIEW]),
        "escalated": Q(status=S.ESCALATED),
        "blocked": Q(status=S.BLOCKED),
        "awaiting_head_office_review": Q(status=S.AWAITING_HEAD_OFFICE_REVIEW),
        "feedback_to_classify": feedback_q() & Q(status__in=FEEDBACK_WAITING),
        "awaiting_mcr_decision": Q(status=S.AWAITING_MCR_DECISION),
        # Parked is a deliberate hold ("parked for later"), not neglect.
        "stale": ~Q(status__in=[*FINAL_STATUSES, S.PARKED])
                 & Q(updated_at__lt=Moment(now - timedelta(days=stale_after_days()))),
        # Rows written straight into the database can skip what the respond move demands.
        "responded_without_outcome": Q(status=S.RESPONDED)
                                     & (Q(outcome_type__isnull=True) | Q(outcome_type="") | Q(response_summary="")),
    }


