"""Brain Requests, their append-only history, and the signals that trigger them.

The database keeps the canon's column names (requesting_brain, target_brain, status); the API and
the UI speak the protocol's (origin_brain, destination_brain, request_status) — see PROTOCOL_FIELDS.
"""

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models.functions import Length, Trim, Upper
from django.db.models.lookups import GreaterThan

from governance_app.kernel import clock, limits
from governance_app.kernel.db import (
    AppendOnlyModel,
    DbNow,
    append_only_trigger,
    brain_column,
    brain_of,
    chain_columns,
    chain_head_columns,
    chain_link_trigger,
    choices_check,
    created_at,
    json_list,
    json_object,
    length_checks,
    tenant_fk,
    tenant_key,
    text,
    updated_at,
    uuid_pk,
)
from governance_app.models import Classification

TABLE = "mwms_brain_requests"
CAP = limits.columns(TABLE)
EVENT_CAP = limits.columns("mwms_request_events")
SIGNAL_CAP = limits.columns("mwms_signals")


class RequestStatus(models.TextChoices):
    """Protocol rule 5: the minimum statuses, then the optional ones."""

    NEW = "new", "New"
    UNDER_REVIEW = "under_review", "Under review"
    ROUTED = "routed", "Routed"
    IN_PROGRESS = "in_progress", "In progress"
    RESPONDED = "responded", "Responded"
    ESCALATED = "escalated", "Escalated"
    BLOCKED = "blocked", "Blocked"
    CLOSED = "closed", "Closed"
    PARKED = "parked", "Parked"
    REJECTED = "rejected", "Rejected"
    AWAITING_EVIDENCE = "awaiting_evidence", "Awaiting evidence"
    AWAITING_HEAD_OFFICE_REVIEW = "awaiting_head_office_review", "Awaiting HeadOffice review"
    AWAITING_MCR_DECISION = "awaiting_mcr_decision", "Awaiting MCR decision"
    RETURNED_FOR_REVISION = "returned_for_revision", "Returned for revision"


FINAL_STATUSES = frozenset({RequestStatus.CLOSED, RequestStatus.REJECTED})

# The schema standard's recommended request status for a finished request. The protocol names it
# `closed` (docs/README.md: the protocol wins for statuses), so a direct writer's `completed` is
# stored as `closed`: a BEFORE trigger rewrites it on PostgreSQL, before any CHECK looks at the row;
# on SQLite, whose triggers cannot rewrite the row being written, the status CHECK lets the word
# through, holds it to a closed request's rules, and an AFTER trigger (requests_app migration 0008)
# turns it into `closed` in the same statement. The app itself never writes it.
CANON_COMPLETED = "completed"


class RequestType(models.TextChoices):
    """The protocol's standard request types."""

    RESEARCH_REQUEST = "research_request", "Research request"
    OFFER_REVIEW_REQUEST = "offer_review_request", "Offer review request"
    EXPERIMENTATION_REQUEST = "experimentation_request", "Experimentation request"
    FINANCE_REVIEW_REQUEST = "finance_review_request", "Finance review request"
    ADS_SIGNAL_REQUEST = "ads_signal_request", "Ads signal request"
    COMPLIANCE_REVIEW_REQUEST = "compliance_review_request", "Compliance review request"
    RISK_REVIEW_REQUEST = "risk_review_request", "Risk review request"
    SIT_INTEGRITY_REQUEST = "sit_integrity_request", "SIT integrity request"
    CONTENT_SUPPORT_REQUEST = "content_support_request", "Content support request"
    DATA_VALIDATION_REQUEST = "data_validation_request", "Data validation request"
    DASHBOARD_UPDATE_REQUEST = "dashboard_update_request", "Dashboard update request"
    PLUGIN_UI_BUILD_REQUEST = "plugin_ui_build_request", "Plugin/UI build request"
    BRAIN_ROOM_REQUEST = "brain_room_request", "Brain Room request"
    HEAD_OFFICE_REVIEW_REQUEST = "head_office_review_request", "HeadOffice review request"
    MCR_UPDATE_SUGGESTION = "mcr_update_suggestion", "MCR update suggestion"
    ESCALATION_REQUEST = "escalation_request", "Escalation request"


FEEDBACK_REQUEST_TYPES = frozenset({RequestType.HEAD_OFFICE_REVIEW_REQUEST, RequestType.MCR_UPDATE_SUGGESTION})
# A Brain's inbox (requests_app.selectors.workspace_inbox): the statuses in which the next move is
# the destination's (accept, respond) and the origin's (submit, close, resubmit, provide evidence).
DESTINATION_MOVES = (RequestStatus.ROUTED, RequestStatus.IN_PROGRESS)
ORIGIN_MOVES = (RequestStatus.NEW, RequestStatus.RESPONDED, RequestStatus.RETURNED_FOR_REVISION,
                RequestStatus.AWAITING_EVIDENCE)
# Feedback (protocol rule 13) waits for HeadOffice in the statuses the classify move starts from.
FEEDBACK_WAITING = (RequestStatus.NEW, RequestStatus.UNDER_REVIEW, RequestStatus.AWAITING_HEAD_OFFICE_REVIEW)


class Priority(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class OutcomeType(models.TextChoices):
    """Protocol rule 7's outcome types, with the connector's result types."""

    RECOMMENDATION_DELIVERED = "recommendation_delivered", "Recommendation delivered"
    DECISION_RECORDED = "decision_recorded", "Decision recorded"
    ROUTED_ONWARD = "routed_onward", "Routed onward"
    BLOCKED = "blocked", "Blocked"
    ESCALATED = "escalated", "Escalated"
    CLOSED_WITHOUT_ACTION = "closed_without_action", "Closed without action"
    REJECTED = "rejected", "Rejected"
    PARKED_FOR_LATER = "parked_for_later", "Parked for later"
    AWAITING_FURTHER_EVIDENCE = "awaiting_further_evidence", "Awaiting further evidence"
    HEAD_OFFICE_REVIEW_REQUIRED = "head_office_review_required", "HeadOffice review required"
    MCR_UPDATE_SUGGESTED = "mcr_update_suggested", "MCR update suggested"
    APPROVED_FOR_NEXT_STAGE = "approved_for_next_stage", "Approved for next stage"
    MONITORING_ONLY = "monitoring_only", "Monitoring only"
    FAILED_EXECUTION = "failed_execution", "Failed execution"
    INTEGRITY_BREACH_DETECTED = "integrity_breach_detected", "Integrity breach detected"


class McrUpdateStatus(models.TextChoices):
    NONE = "none", "None"
    SUGGESTED = "suggested", "Suggested"
    PROPOSED = "proposed", "Proposed to MCR"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    PARKED = "parked", "Parked"


class OperatingLayer(models.TextChoices):
    OPERATIONAL = "operational", "Operational"
    GOVERNANCE = "governance", "Governance"
    OVERSIGHT = "oversight", "Oversight"


# Protocol / API name → model field. Everything not listed has the same name in both.
PROTOCOL_FIELDS = {
    "request_id": "id",
    "origin_brain": "requesting_brain",
    "destination_brain": "target_brain",
    "request_status": "status",
}


class BrainRequest(models.Model):
    """The structured intake object that initiates cross-Brain work (table mwms_brain_requests)."""

    # The canon's required columns.
    id = uuid_pk()
    requesting_authority = models.TextField(max_length=CAP["requesting_authority"],
                                            help_text="Who the request is made on behalf of.")
    requesting_brain_id = brain_column("requesting_brain", null=True)
    requesting_brain = brain_of("requesting_brain_id", null=True, related_name="requests_sent")
    target_brain_id = brain_column("target_brain")
    target_brain = brain_of("target_brain_id", related_name="requests_received")
    operating_layer = text(choices=OperatingLayer.choices, default=OperatingLayer.OPERATIONAL)
    request_summary = models.TextField(max_length=CAP["request_summary"])
    required_output = models.TextField(max_length=CAP["required_output"])
    priority = text(choices=Priority.choices, default=Priority.MEDIUM)
    status = text(choices=RequestStatus.choices, default=RequestStatus.NEW, db_default=RequestStatus.NEW)
    meta_json = json_object()
    created_at = created_at()
    updated_at = updated_at()

    # The protocol's minimum request format and the connector's minimum fields.
    tenant = tenant_fk()
    request_type = text(choices=RequestType.choices)
    request_title = models.TextField(max_length=CAP["request_title"])
    intake_id = text(blank=True, max_length=CAP["intake_id"])
    offer_id = text(blank=True, max_length=CAP["offer_id"])
    experiment_id = text(blank=True, max_length=CAP["experiment_id"])
    parent_request = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    originating_task = models.ForeignKey(
        "tasks_app.Task", on_delete=models.PROTECT, null=True, blank=True, related_name="spawned_requests"
    )
    source_origin = text(blank=True, max_length=CAP["source_origin"])
    source_page = text(blank=True, max_length=CAP["source_page"])
    source_system = text(blank=True, max_length=CAP["source_system"])
    routing_notes = text(blank=True, max_length=CAP["routing_notes"])
    response_summary = text(blank=True, max_length=CAP["response_summary"])
    outcome_type = models.TextField(choices=OutcomeType.choices, null=True, blank=True)
    head_office_visible = models.BooleanField(default=True, db_default=True)
    escalation_flag = models.BooleanField(default=False, db_default=False)
    escalation_reason = text(blank=True, max_length=CAP["escalation_reason"])
    closure_reason = text(blank=True, max_length=CAP["closure_reason"])
    review_owner_id = brain_column("review_owner", null=True)
    review_owner = brain_of("review_owner_id", null=True, related_name="requests_reviewed")
    escalation_owner_id = brain_column("escalation_owner", null=True)
    escalation_owner = brain_of("escalation_owner_id", null=True, related_name="requests_escalated_to")
    primary_brain_id = brain_column("primary_brain", null=True)
    primary_brain = brain_of("primary_brain_id", null=True, related_name="requests_led")
    supporting_brains = json_list(help_text="Slugs of the Brains supporting the primary Brain.")
    created_by = text(blank=True, max_length=CAP["created_by"])
    feedback_required = models.BooleanField(default=False, db_default=False)
    mcr_update_suggested = models.BooleanField(default=False, db_default=False)
    mcr_update_status = text(choices=McrUpdateStatus.choices, default=McrUpdateStatus.NONE,
                             db_default=McrUpdateStatus.NONE)
    feedback_classification = models.TextField(choices=Classification.choices, null=True, blank=True)

    # The complete outcome (protocol rule 7; connector "result handoff").
    result_summary = text(blank=True, max_length=CAP["result_summary"], help_text="What was completed or found.")
    outcome_decision = text(blank=True, max_length=CAP["outcome_decision"], help_text="The decision made.")
    outcome_evidence = json_list(help_text="Ids of this lineage's artifacts, events or decisions, or external evidence.")
    next_step = text(blank=True, max_length=CAP["next_step"])
    next_step_owner = text(blank=True, max_length=CAP["next_step_owner"])
    head_office_review_required = models.BooleanField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # The status a hold (blocked, parked, awaiting evidence, escalated) returns to when it lifts.
    held_from_status = models.TextField(choices=RequestStatus.choices, null=True, blank=True)

    # The HeadOffice reviewer personally looking after the request (issue 14): a person of the same
    # tenant (a composite key to mwms_tenant_users, requests_app migration 0013), a HeadOffice
    # member (the assign service checks it); every change is an `assigned` event.
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="requests_assigned", db_index=False,
                                 help_text="The HeadOffice reviewer personally looking after it.")

    # Optimistic concurrency: every change bumps it; a form that saw an older version is refused.
    lock_version = models.IntegerField(default=0, db_default=0)
    # The head of the request's chain: its events and decisions (kernel.digests).
    chain_seq, chain_head = chain_head_columns()

    # SLA clocks (requests_app.sla): when the request entered its current status (the time of the
    # event that moved it there, written in the same transaction), and the deadlines the tenant's
    # policy gives it from there, so the "due soon" and "breached" queues are index range scans.
    status_entered_at = models.DateTimeField(default=clock.now, db_default=DbNow())
    sla_warn_at = models.DateTimeField(null=True, blank=True)
    sla_due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = TABLE
        ordering = ["-created_at"]
        triggers = [
            pgtrigger.Trigger(
                name=f"{TABLE}_completed_is_closed", when=pgtrigger.Before,
                operation=pgtrigger.Insert | pgtrigger.UpdateOf("status"),
                condition=pgtrigger.Q(new__status=CANON_COMPLETED),
                func=f"NEW.status := '{RequestStatus.CLOSED}'; RETURN NEW;",
            ),
        ]
        constraints = [
            choices_check("status", [*RequestStatus.values, CANON_COMPLETED], table=TABLE),
            choices_check("priority", Priority, table=TABLE),
            choices_check("request_type", RequestType, table=TABLE),
            choices_check("operating_layer", OperatingLayer, table=TABLE),
            choices_check("outcome_type", OutcomeType, table=TABLE, nullable=True),
            choices_check("mcr_update_status", McrUpdateStatus, table=TABLE),
            choices_check("feedback_classification", Classification, table=TABLE, nullable=True),
            choices_check("held_from_status", RequestStatus, table=TABLE, nullable=True),
            models.CheckConstraint(condition=~models.Q(request_title=""), name=f"{TABLE}_title_not_empty"),
            models.CheckConstraint(condition=~models.Q(request_summary=""), name=f"{TABLE}_summary_not_empty"),
            # Escalation names its reason and owner (connector escalation rules).
            models.CheckConstraint(
                condition=~models.Q(status=RequestStatus.ESCALATED)
                | (models.Q(escalation_owner_id__isnull=False) & ~models.Q(escalation_reason="")),
                name=f"{TABLE}_escalation_has_owner_and_reason",
            ),
            # Only a decision can approve an MCR update; the row must at least say it was proposed.
            models.CheckConstraint(
                condition=~models.Q(mcr_update_status=McrUpdateStatus.APPROVED)
                | models.Q(mcr_update_suggested=True),
                name=f"{TABLE}_mcr_approved_was_suggested",
            ),
            # A response carries its summary; a final state carries the complete outcome (protocol
            # rule 7). Services also refuse placeholder text; the database refuses the empty kind.
            models.CheckConstraint(
                condition=~models.Q(status=RequestStatus.RESPONDED) | ~models.Q(response_summary=""),
                name=f"{TABLE}_responded_has_summary",
            ),
            models.CheckConstraint(
                condition=~models.Q(status__in=FINAL_STATUSES | {CANON_COMPLETED})
                | (
                    models.Q(outcome_type__isnull=False, head_office_review_required__isnull=False,
                             closed_at__isnull=False)
                    & ~models.Q(result_summary="")
                    & ~models.Q(outcome_decision="")
                    & ~models.Q(next_step="")
                    & ~models.Q(next_step_owner="")
                ),
                name=f"{TABLE}_final_has_complete_outcome",
            ),
            models.CheckConstraint(
                condition=~models.Q(status__in=[RequestStatus.ROUTED, RequestStatus.IN_PROGRESS])
                | models.Q(review_owner_id__isnull=False),
                name=f"{TABLE}_routed_has_review_owner",
            ),
            models.CheckConstraint(condition=models.Q(lock_version__gte=0), name=f"{TABLE}_lock_version_positive"),
            # A deadline comes with its warning, and the warning is not after it.
            models.CheckConstraint(
                condition=models.Q(sla_due_at__isnull=True, sla_warn_at__isnull=True)
                | models.Q(sla_due_at__isnull=False, sla_warn_at__isnull=False, sla_warn_at__lte=models.F("sla_due_at")),
                name=f"{TABLE}_sla_warn_before_due",
            ),
            tenant_key(TABLE),
            *length_checks(TABLE),
        ]
        # Every sort of the request list and every HeadOffice queue has an index that returns its
        # rows in order, led by tenant_id (what the row-level security policy filters on), so a
        # page reads its 25 rows instead of sorting the table. A sort on a column with ties is
        # broken by updated_at (requests_app.filters.RequestOrdering), hence (column, updated_at).
        # Under row-level security PostgreSQL uses an index only for leakproof comparisons (=, <,
        # IN on plain columns), so the list's filters compare plain columns; UPPER(...) LIKE,
        # JSON containment and a date cast cannot use an index here, whatever index exists.
        indexes = [
            # The id and created_at ride along so that a page's keys can be found by an index-only
            # walk (kernel.pages.RowPaginator, keys first): "created in a month", newest updated
            # first, skips tens of thousands of entries of this index, not of the table (issue 16).
            # created_at is a key column, not an included one, so the month's range is tested by
            # the index scan itself (an index condition) instead of on each entry handed back.
            models.Index(fields=["tenant", "updated_at", "created_at"], include=["id"], name="mwms_req_updated_keys"),
            models.Index(fields=["tenant", "updated_at"], condition=~models.Q(status__in=sorted(FINAL_STATUSES)),
                         name="mwms_req_open_updated"),
            models.Index(fields=["tenant", "status", "updated_at"], name="mwms_req_status_updated"),
            # With the priority, destination + priority is counted from the index alone.
            models.Index(fields=["tenant", "target_brain_id", "updated_at"], include=["id", "priority"],
                         name="mwms_req_destination_keys"),
            models.Index(fields=["tenant", "requesting_brain_id", "updated_at"], name="mwms_req_origin_updated"),
            models.Index(fields=["tenant", "priority", "updated_at"], name="mwms_req_priority_updated"),
            models.Index(fields=["tenant", "request_title"], name="mwms_req_title"),
            models.Index(fields=["tenant", "updated_at"], condition=models.Q(escalation_flag=True),
                         name="mwms_req_flagged_updated"),
            models.Index(fields=["tenant", "updated_at"], condition=models.Q(head_office_visible=False),
                         name="mwms_req_hidden_updated"),
            models.Index(fields=["tenant", "created_at"], name="mwms_req_created"),
            models.Index(fields=["tenant", "request_type", "status"], name="mwms_req_type"),
            models.Index(fields=["tenant", "closed_at"], condition=models.Q(closed_at__isnull=False),
                         name="mwms_req_closed"),
            # A Brain owner's view (selectors.requests_visible_to) is an OR of the Brain's roles on
            # the request; each branch has its index, so PostgreSQL can OR them in a bitmap.
            models.Index(fields=["tenant", "primary_brain_id"], condition=models.Q(primary_brain_id__isnull=False),
                         name="mwms_req_primary"),
            models.Index(fields=["tenant", "escalation_owner_id"],
                         condition=models.Q(escalation_owner_id__isnull=False), name="mwms_req_escalation_owner"),
            models.Index(fields=["tenant", "review_owner_id"], condition=models.Q(review_owner_id__isnull=False),
                         name="mwms_req_review_owner"),
            # "Assigned to me" and the list's assignee filter.
            models.Index(fields=["tenant", "assignee", "updated_at"], condition=models.Q(assignee__isnull=False),
                         name="mwms_req_assignee_updated"),
            # The list's free text finds a request by its offer, intake or experiment id in any case
            # (the mwms_request_text_ids function, requests_app 0017); most requests have none.
            *(models.Index(Upper(column), condition=~models.Q(**{column: ""}), name=f"mwms_req_{column}_ci")
              for column in ("offer_id", "intake_id", "experiment_id")),
            # The SLA queues and the list's sort by due time (requests_app.sla). "Due soon" is read
            # from here as the clocks still running (sla_due_at after now: the work in hand, not the
            # history), their warning time tested by the scan (a key column) and the id and status
            # read from the index, so the page's keys come from the index alone (requests_app 0025).
            models.Index(fields=["tenant", "sla_due_at", "updated_at", "sla_warn_at"], include=["id", "status"],
                         name="mwms_req_sla_due_keys"),
            models.Index(fields=["tenant", "sla_warn_at"], condition=models.Q(sla_warn_at__isnull=False),
                         name="mwms_req_sla_warn"),
            # "Responded without outcome" (requests_app.queues; rule 7): rows written straight into
            # the database. Nearly always empty, so it costs a write almost nothing, and the queue
            # reads its page in order instead of every responded request (27,000 at a million).
            models.Index(fields=["tenant", "updated_at"], name="mwms_req_responded_no_outcome",
                         condition=models.Q(status=RequestStatus.RESPONDED)
                         & (models.Q(outcome_type__isnull=True) | models.Q(outcome_type="")
                            | models.Q(response_summary=""))),
            # The escalation and MCR queues, longest in their status first (governance_app.selectors).
            models.Index(fields=["tenant", "status", "status_entered_at", "id"], name="mwms_req_status_entered"),
            # Feedback waiting for HeadOffice's classification (requests_app.queues.feedback_q and
            # FEEDBACK_WAITING, protocol rule 13), oldest first: the feedback page's queue.
            models.Index(fields=["tenant", "created_at", "id"], name="mwms_req_feedback_waiting",
                         condition=(models.Q(request_type__in=sorted(FEEDBACK_REQUEST_TYPES))
                                    | models.Q(feedback_required=True) | models.Q(mcr_update_suggested=True))
                         & models.Q(status__in=sorted(FEEDBACK_WAITING))),
            # A Brain's inbox, "to act on": its requests as destination and as origin in the
            # statuses where the next move is its own, newest change first.
            models.Index(fields=["tenant", "target_brain_id", "updated_at"], name="mwms_req_inbox_destination",
                         condition=models.Q(status__in=sorted(DESTINATION_MOVES))),
            models.Index(fields=["tenant", "requesting_brain_id", "updated_at"], name="mwms_req_inbox_origin",
                         condition=models.Q(status__in=sorted(ORIGIN_MOVES))),
            # ... and "waiting on others": the open requests a Brain takes part in (as origin,
            # destination, primary or supporting Brain) whose next move is another's. Which Brain
            # takes part is an OR with a JSON containment no index can serve under row-level
            # security, so the index carries every column the condition reads and the inbox's
            # rows and count are read from it alone (an index-only scan), not from the table.
            models.Index(fields=["tenant", "updated_at"], name="mwms_req_open_roles",
                         include=["id", "status", "requesting_brain_id", "target_brain_id", "primary_brain_id",
                                  "review_owner_id", "escalation_owner_id", "supporting_brains"],
                         condition=~models.Q(status__in=sorted(FINAL_STATUSES))),
        ]

    def __str__(self) -> str:
        return self.request_title

    @property
    def origin_brain_id(self) -> str | None:
        return self.requesting_brain_id

    @property
    def destination_brain_id(self) -> str:
        return self.target_brain_id

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def is_feedback(self) -> bool:
        return (
            self.request_type in FEEDBACK_REQUEST_TYPES or self.feedback_required or self.mcr_update_suggested
        )


class RequestEventType(models.TextChoices):
    CREATED = "created", "Created"
    STATUS_CHANGED = "status_changed", "Status changed"
    FIELDS_CHANGED = "fields_changed", "Fields changed"
    NOTE = "note", "Note"
    TASK_CREATED = "task_created", "Task created"
    DECISION_RECORDED = "decision_recorded", "Decision recorded"
    LESSON_RECORDED = "lesson_recorded", "Lesson recorded"
    RULE_VIOLATION = "rule_violation", "Rule violation"
    ASSIGNED = "assigned", "Assigned"   # a HeadOffice reviewer assigned or unassigned (issue 14)


class RequestEvent(AppendOnlyModel):
    """One change to a Brain Request: who, when, from, to, note and the fields it changed."""

    id = uuid_pk()
    tenant = tenant_fk()
    request = models.ForeignKey(BrainRequest, on_delete=models.PROTECT, related_name="events")
    event_type = text(choices=RequestEventType.choices)
    event_summary = text(blank=True, max_length=EVENT_CAP["event_summary"])
    actor = models.TextField(max_length=EVENT_CAP["actor"], help_text="The person or token that made the change.")
    from_status = models.TextField(choices=RequestStatus.choices, null=True, blank=True)
    to_status = models.TextField(choices=RequestStatus.choices, null=True, blank=True)
    note = text(blank=True, max_length=EVENT_CAP["note"])
    changed_fields = json_object(help_text="{field: [before, after]} for every field the change touched.")
    event_payload = json_object()
    created_at = created_at()
    chain_seq, prev_hash, row_hash = chain_columns()

    CHAIN_OWNER = "request"

    class Meta:
        db_table = "mwms_request_events"
        ordering = ["created_at"]
        triggers = [append_only_trigger("mwms_request_events"),
                    chain_link_trigger("mwms_request_events", owner="mwms_brain_requests", column="request_id",
                                       born_with_head=True)]
        constraints = [
            choices_check("event_type", RequestEventType, table="mwms_request_events"),
            choices_check("from_status", RequestStatus, table="mwms_request_events", nullable=True),
            choices_check("to_status", RequestStatus, table="mwms_request_events", nullable=True),
            *length_checks("mwms_request_events"),
        ]
        indexes = [
            models.Index(fields=["request", "created_at"], name="mwms_req_events_request"),
            # The changes of destination Brain, for the ping-pong check and queue (requests_app.integrity).
            models.Index(fields=["tenant", "request", "created_at"], name="mwms_req_events_reroutes",
                         condition=models.Q(changed_fields__has_key="target_brain")),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} by {self.actor}"


class SignalType(models.TextChoices):
    """Connector "signal sources"."""

    DASHBOARD_KPI_MOVEMENT = "dashboard_kpi_movement", "Dashboard KPI movement"
    EXPERIMENT_OUTCOME = "experiment_outcome", "Experiment outcome"
    FINANCIAL_THRESHOLD = "financial_threshold", "Financial threshold"
    ANOMALY_DETECTION = "anomaly_detection", "Anomaly detection"
    EVIDENCE_UPDATE = "evidence_update", "Evidence update"
    COMPLIANCE_VIOLATION = "compliance_violation", "Compliance violation"
    STAGE_PROGRESSION_ATTEMPT = "stage_progression_attempt", "Stage progression attempt"
    MANUAL_EXECUTIVE_REVIEW = "manual_executive_review", "Manual executive review"
    RESEARCH_DENSITY_SHIFT = "research_density_shift", "Research density shift"
    CAMPAIGN_DETERIORATION = "campaign_deterioration", "Campaign deterioration"
    TASK_FAILURE_CLUSTER = "task_failure_cluster", "Task failure cluster"
    UNRESOLVED_BLOCKER = "unresolved_blocker", "Unresolved blocker"


class SignalDirection(models.TextChoices):
    UPWARD = "upward", "Upward"
    DOWNWARD = "downward", "Downward"
    LATERAL = "lateral", "Lateral"


class Signal(models.Model):
    """An input that may trigger a request. Signals trigger requests; they never replace them."""

    id = uuid_pk()
    tenant = tenant_fk()
    source_brain_id = brain_column("source_brain")
    source_brain = brain_of("source_brain_id", related_name="signals")
    signal_type = text(choices=SignalType.choices)
    direction = text(choices=SignalDirection.choices, default=SignalDirection.UPWARD, db_default=SignalDirection.UPWARD)
    summary = models.TextField(max_length=SIGNAL_CAP["summary"])
    payload = json_object()
    request = models.ForeignKey(
        BrainRequest, on_delete=models.PROTECT, null=True, blank=True, related_name="signals"
    )
    created_by = text(blank=True, max_length=SIGNAL_CAP["created_by"])
    created_at = created_at()

    class Meta:
        db_table = "mwms_signals"
        ordering = ["-created_at"]
        constraints = [
            choices_check("signal_type", SignalType, table="mwms_signals"),
            choices_check("direction", SignalDirection, table="mwms_signals"),
            *length_checks("mwms_signals"),
        ]

    def __str__(self) -> str:
        return self.summary[:80]


# --- watching and notifications -------------------------------------------------------------------

class Watch(models.Model):
    """A person's own choice about one request: to hear of its changes (`watching`), or not to hear
    of them although they would by default (the owners of its origin, destination, review and
    escalation Brains watch every request of theirs unless they stop)."""

    id = uuid_pk()
    tenant = tenant_fk()
    request = models.ForeignKey(BrainRequest, on_delete=models.PROTECT, related_name="watches")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watches")
    watching = models.BooleanField(default=True, db_default=True)
    created_at = created_at()

    class Meta:
        db_table = "mwms_watches"
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["request", "user"], name="mwms_watches_one_per_person")]

    def __str__(self) -> str:
        return f"{self.user} {'watches' if self.watching else 'ignores'} {self.request_id}"


class NotificationKind(models.TextChoices):
    REQUEST_CREATED = "request_created", "New request"
    ASSIGNED = "assigned", "Assigned to your Brain"
    ASSIGNED_TO_YOU = "assigned_to_you", "Assigned to you"
    STATUS_CHANGED = "status_changed", "Status changed"
    ESCALATED = "escalated", "Escalated"
    TASK_CREATED = "task_created", "New task"
    TASK_COMPLETED = "task_completed", "Task completed"
    TASK_FAILED = "task_failed", "Task failed"
    DECISION_RECORDED = "decision_recorded", "Decision recorded"
    SLA_DUE_SOON = "sla_due_soon", "SLA due soon"
    SLA_BREACHED = "sla_breached", "SLA breached"


class Notification(models.Model):
    """One change told to one person: in the header's inbox until read, and by email as they chose."""

    id = uuid_pk()
    tenant = tenant_fk()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    request = models.ForeignKey(BrainRequest, on_delete=models.PROTECT, related_name="+")
    kind = text(choices=NotificationKind.choices)
    summary = models.TextField(max_length=limits.columns("mwms_notifications")["summary"])
    event_id = models.UUIDField(help_text="The request or task event that caused it (for an SLA notice, the "
                                          "event that began the status stint whose deadline was crossed).")
    created_at = created_at()
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "mwms_notifications"
        ordering = ["-created_at"]
        constraints = [
            choices_check("kind", NotificationKind, table="mwms_notifications"),
            models.UniqueConstraint(fields=["user", "event_id", "kind"], name="mwms_notifications_once_per_event"),
            *length_checks("mwms_notifications"),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="mwms_notifications_inbox"),
            models.Index(fields=["user"], condition=models.Q(read_at__isnull=True), name="mwms_notifications_unread"),
        ]

    def __str__(self) -> str:
        return self.summary[:80]


class EmailMode(models.TextChoices):
    IMMEDIATE = "immediate", "At once, one email per notification"
    DIGEST = "digest", "A daily digest"
    NONE = "none", "No email"


class NotificationPreference(models.Model):
    """How a person wants their notifications by email (the default, with no row: a daily digest)."""

    id = uuid_pk()
    tenant = tenant_fk()
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="notification_preference")
    email_mode = text(choices=EmailMode.choices, default=EmailMode.DIGEST, db_default=EmailMode.DIGEST)
    last_digest_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "mwms_notification_preferences"
        constraints = [choices_check("email_mode", EmailMode, table="mwms_notification_preferences")]

    def __str__(self) -> str:
        return f"{self.user}: {self.email_mode}"


# --- SLA policy (issue 14) ---------------------------------------------------------------------

# The statuses a request can wait in: each may have a target for the time spent in it.
SLA_STATUSES = tuple(s for s in RequestStatus if s not in FINAL_STATUSES)


class SlaClock(models.TextChoices):
    """What a target bounds: the time in one open status, or the whole life of the request."""

    NEW = "new", "New → moved on"
    UNDER_REVIEW = "under_review", "Under review → routed"
    ROUTED = "routed", "Routed → accepted"
    IN_PROGRESS = "in_progress", "In progress → responded"
    RESPONDED = "responded", "Responded → closed"
    ESCALATED = "escalated", "Escalated → resolved"
    BLOCKED = "blocked", "Blocked → unblocked"
    PARKED = "parked", "Parked → resumed"
    AWAITING_EVIDENCE = "awaiting_evidence", "Awaiting evidence"
    AWAITING_HEAD_OFFICE_REVIEW = "awaiting_head_office_review", "Awaiting HeadOffice review"
    AWAITING_MCR_DECISION = "awaiting_mcr_decision", "Awaiting MCR decision"
    RETURNED_FOR_REVISION = "returned_for_revision", "Returned for revision"
    TOTAL = "total", "Open → closed (whole request)"


SLA_TARGET_MAX_MINUTES = 366 * 24 * 60   # a year and a day: anything longer is not a service level


class SlaPolicy(models.Model):
    """A tenant's SLA policy: when a clock counts as due soon (the share of its target elapsed)."""

    id = uuid_pk()
    tenant = tenant_fk()
    warn_percent = models.IntegerField(default=80, db_default=80,
                                       help_text="Due soon once this share of a target has elapsed (1–99).")
    updated_at = updated_at()
    updated_by = models.TextField(max_length=limits.columns("mwms_sla_policies")["updated_by"], blank=True)

    class Meta:
        db_table = "mwms_sla_policies"
        verbose_name_plural = "SLA policies"
        verbose_name = "SLA policy"
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="mwms_sla_policies_one_per_tenant"),
            models.CheckConstraint(condition=models.Q(warn_percent__gte=1, warn_percent__lte=99),
                                   name="mwms_sla_policies_warn_percent_range"),
            *length_checks("mwms_sla_policies"),
        ]

    def __str__(self) -> str:
        return f"SLA policy (due soon at {self.warn_percent}%)"


class SlaTarget(models.Model):
    """One target of a tenant's SLA policy: for a priority (and optionally one request type), the
    longest a request may spend in a status, or open in all (`total`). A type's target overrides
    the all-types one for the same priority and clock."""

    id = uuid_pk()
    tenant = tenant_fk()
    request_type = models.TextField(choices=RequestType.choices, null=True, blank=True,
                                    help_text="Empty: every request type without a target of its own.")
    priority = text(choices=Priority.choices)
    clock = text(choices=SlaClock.choices)
    minutes = models.IntegerField(help_text="The target, in minutes.")

    class Meta:
        db_table = "mwms_sla_targets"
        ordering = ["request_type", "priority", "clock"]
        verbose_name = "SLA target"
        constraints = [
            choices_check("request_type", RequestType, table="mwms_sla_targets", nullable=True),
            choices_check("priority", Priority, table="mwms_sla_targets"),
            choices_check("clock", SlaClock, table="mwms_sla_targets"),
            models.CheckConstraint(condition=models.Q(minutes__gte=1, minutes__lte=SLA_TARGET_MAX_MINUTES),
                                   name="mwms_sla_targets_minutes_range"),
            models.UniqueConstraint(fields=["tenant", "priority", "clock"], condition=models.Q(request_type__isnull=True),
                                    name="mwms_sla_targets_one_per_clock"),
            models.UniqueConstraint(fields=["tenant", "request_type", "priority", "clock"],
                                    condition=models.Q(request_type__isnull=False),
                                    name="mwms_sla_targets_one_per_type_clock"),
        ]

    def __str__(self) -> str:
        return f"{self.priority} {self.clock}: {self.minutes} min"


# --- saved views and list columns (issue 14) -----------------------------------------------------

class ViewVisibility(models.TextChoices):
    PRIVATE = "private", "Only me"
    SHARED = "shared", "Everyone in the organisation"


class SavedView(models.Model):
    """A person's named filter and sort of the request list: the list's query string, normalised
    (requests_app.saved_views). Private views are their owner's; shared ones are in the nav of
    everyone of the tenant, each of whom still sees only the requests they may see."""

    id = uuid_pk()
    tenant = tenant_fk()
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    name = models.TextField(max_length=limits.columns("mwms_saved_views")["name"])
    visibility = text(choices=ViewVisibility.choices, default=ViewVisibility.PRIVATE, db_default=ViewVisibility.PRIVATE)
    query = text(blank=True, max_length=limits.columns("mwms_saved_views")["query"],
                 help_text="The request list's query string: filters and sort, no page.")
    created_at = created_at()
    updated_at = updated_at()

    class Meta:
        db_table = "mwms_saved_views"
        ordering = ["name"]
        constraints = [
            choices_check("visibility", ViewVisibility, table="mwms_saved_views"),
            models.CheckConstraint(condition=GreaterThan(Length(Trim("name")), 0),
                                   name="mwms_saved_views_name_not_blank",
                                   violation_error_message="A saved view needs a name."),
            models.UniqueConstraint(fields=["tenant", "owner", "name"], name="mwms_saved_views_one_name_per_owner"),
            *length_checks("mwms_saved_views"),
        ]
        indexes = [models.Index(fields=["tenant", "visibility", "name"], name="mwms_saved_views_shared")]

    def __str__(self) -> str:
        return self.name


class ListName(models.TextChoices):
    REQUESTS = "requests", "Request list"


class ListPreference(models.Model):
    """The columns a person chose for a list, in their order (requests_app.saved_views.LIST_COLUMNS);
    no row: every column in the default order."""

    id = uuid_pk()
    tenant = tenant_fk()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="list_preferences")
    list_name = text(choices=ListName.choices, default=ListName.REQUESTS, db_default=ListName.REQUESTS)
    columns = json_list()
    updated_at = updated_at()

    class Meta:
        db_table = "mwms_list_preferences"
        constraints = [
            choices_check("list_name", ListName, table="mwms_list_preferences"),
            models.UniqueConstraint(fields=["tenant", "user", "list_name"], name="mwms_list_preferences_one_per_list"),
            *length_checks("mwms_list_preferences"),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.list_name} columns"
