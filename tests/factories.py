"""Valid rows for tests, one small function per model.

Every `make_*` function saves a row that passes every CHECK constraint and foreign key, and takes
keyword overrides for any field. Brain fields take a registry slug or a Brain:
`make_request(target_brain="finance")` and `make_request(target_brain=brains["finance"])` both work.
The Brains come from the registry the migrations create (research, affiliate, ads, experimentation,
finance, sit, aibs, content, headoffice).

`make_request(status=...)` and `make_task(status=...)` fill in what the database requires of that
status (a review owner once routed, an escalation owner and reason, the complete outcome of a
closed request, the error of a failed task); an explicit override always wins, so a test can
remove exactly one of those fields. `request_fields_for(status)` returns those fields on their own,
for a queryset's update().
"""

import itertools
import uuid
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.db import models
from django.utils import timezone

from governance_app.kernel import claims
from governance_app.kernel.admin import brain_relations
from governance_app.kernel.db import DEFAULT_TENANT_ID
from governance_app.kernel.tenancy import tenant_user_link
from governance_app.models import (
    ApiToken,
    Brain,
    CanonAmendment,
    CanonDocument,
    CanonProposal,
    ChainCheckpoint,
    ChainCheckpointHead,
    Classification,
    DecisionKind,
    DecisionRecord,
    DeliveryStatus,
    IdempotencyRecord,
    LessonLearned,
    McrDecision,
    Membership,
    MembershipRole,
    RefusalSubject,
    RefusalWindow,
    SuggestionEvidence,
    Tenant,
    TokenRole,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from requests_app.models import (
    BrainRequest,
    ListPreference,
    McrUpdateStatus,
    Notification,
    NotificationKind,
    NotificationPreference,
    OutcomeType,
    RequestEvent,
    RequestEventType,
    RequestStatus,
    RequestType,
    SavedView,
    Signal,
    SignalType,
    SlaPolicy,
    SlaTarget,
    Watch,
)
from tasks_app.models import Task, TaskArtifact, TaskEvent, TaskEventType, TaskStatus

M = TypeVar("M", bound=models.Model)

_sequence = itertools.count(1)


def _n() -> int:
    return next(_sequence)


def _create(model: type[M], defaults: dict[str, Any], overrides: dict[str, Any]) -> M:
    """Create `model` from defaults and overrides; a foreign key may be overridden by name or attname,
    with an instance or with its key value (a Brain slug, a uuid)."""
    fields = dict(defaults)
    brain_columns = {relation.name: column for column, relation in brain_relations(model).items()}
    for key, value in overrides.items():
        if key in brain_columns or key in brain_columns.values():  # target_brain / target_brain_id
            column = brain_columns.get(key, key)
            fields.pop(column, None)
            fields.pop(column.removesuffix("_id"), None)
            fields[column] = value.slug if isinstance(value, Brain) else value
            continue
        field = next(
            (f for f in model._meta.concrete_fields if f.is_relation and key in (f.name, f.attname)), None
        )
        if field is not None:
            fields.pop(field.name, None)
            fields.pop(field.attname, None)
            if key == field.name and value is not None and not isinstance(value, models.Model):
                key = field.attname
        fields[key] = value
    return model.objects.create(**fields)


def make_user(**overrides: Any):
    n = _n()
    defaults = {"username": f"user{n}", "email": f"user{n}@example.com"}
    return get_user_model().objects.create_user(**{**defaults, **overrides})


def make_tenant(**overrides: Any) -> Tenant:
    """A tenant beyond the demo one, with no Brains (tenant_create gives a tenant its nine). It is
    written acting for itself (row-level security on PostgreSQL), so the demo tenant's tests do not
    see it: read it back inside `tests.db_roles.acting_for(tenant)`."""
    n = _n()
    tenant_id = overrides.pop("id", None) or uuid.uuid4()
    with claims.tenant_claim(tenant_id):
        return _create(Tenant, {"id": tenant_id, "slug": f"tenant-{n}", "name": f"Tenant {n}"}, overrides)


def make_brain(**overrides: Any) -> Brain:
    """A Brain beyond the nine of the registry."""
    n = _n()
    defaults = {
        "slug": f"test-brain-{n}",
        "name": f"Test Brain {n}",
        "authority": "operational",
        "accepted_request_types": [RequestType.RESEARCH_REQUEST],
    }
    return _create(Brain, defaults, overrides)


def make_membership(*, user=None, **overrides: Any) -> Membership:
    user = user or make_user()
    # A HeadOffice reviewer is a member of the headoffice Brain (the database insists).
    reviewer = overrides.get("role") == MembershipRole.HEAD_OFFICE_REVIEWER
    defaults = {"user": user, "brain_id": "headoffice" if reviewer else "research", "role": MembershipRole.MEMBER}
    # A person belongs to one tenant before they join its Brains.
    tenant_user_link(user=user, tenant_id=overrides.get("tenant_id", DEFAULT_TENANT_ID))
    return _create(Membership, defaults, overrides)


def make_api_token(**overrides: Any) -> ApiToken:
    n = _n()
    defaults = {
        # A headoffice token belongs to the headoffice Brain (the database insists).
        "brain_id": "headoffice" if overrides.get("role") == TokenRole.HEADOFFICE else "research",
        "role": TokenRole.EXECUTOR,
        "label": f"Research executor {n}",
        "prefix": f"mwms_{n:04d}",
        "token_hash": f"{n:064x}",
    }
    return _create(ApiToken, defaults, overrides)


def make_refusal_window(**overrides: Any) -> RefusalWindow:
    """A window of refused calls by an executor on a task (the subject need not exist: it is a counter)."""
    now = timezone.now()
    defaults = {"actor_key": f"token:{uuid.uuid4()}", "actor": "token:ads-executor", "subject_kind": RefusalSubject.TASK,
                "subject_id": uuid.uuid4(), "rule": "claim", "window_start": now.replace(second=0, microsecond=0),
                "refusal_count": 1, "last_refused_at": now}
    return _create(RefusalWindow, defaults, overrides)


def make_webhook_subscription(**overrides: Any) -> WebhookSubscription:
    """An integration subscribed to every event, at an address nothing listens on."""
    n = _n()
    defaults = {"name": f"Integration {n}", "url": f"https://hooks-{n}.example.org/mwms", "secret": f"secret-{n:016d}",
                "event_types": list(WebhookEvent.values), "created_by": "reviewer"}
    return _create(WebhookSubscription, defaults, overrides)


def make_webhook_delivery(subscription: WebhookSubscription | None = None, **overrides: Any) -> WebhookDelivery:
    """A delivery that failed once and waits for its next attempt."""
    subscription = subscription or make_webhook_subscription()
    defaults = {"subscription": subscription, "tenant_id": subscription.tenant_id, "event_type": "request.created",
                "payload": {"event": "request.created"}, "status": DeliveryStatus.RETRYING, "attempts": 1,
                "last_status_code": 500, "last_answer": "down", "next_attempt_at": timezone.now()}
    return _create(WebhookDelivery, defaults, overrides)


def make_notification(request: BrainRequest | None = None, **overrides: Any) -> Notification:
    """A person told of a request's change (the person is made when not given)."""
    request = request or make_request(**({"tenant_id": overrides["tenant_id"]} if "tenant_id" in overrides else {}))
    user = overrides.pop("user", None)
    if user is None:
        user = make_user()
        tenant_user_link(user=user, tenant_id=request.tenant_id)
    defaults = {"user": user, "request": request, "tenant_id": request.tenant_id,
                "kind": NotificationKind.STATUS_CHANGED, "summary": f"“{request.request_title}”: new → routed",
                "event_id": uuid.uuid4()}
    return _create(Notification, defaults, overrides)


def make_watch(**overrides: Any) -> Watch:
    """A person's choice to watch a request (a person of the request's tenant, made when not given)."""
    request = overrides.pop("request", None) or make_request(
        **({"tenant_id": overrides["tenant_id"]} if "tenant_id" in overrides else {}))
    user = overrides.pop("user", None)
    if user is None:
        user = make_user()
        tenant_user_link(user=user, tenant_id=request.tenant_id)
    return _create(Watch, {"request": request, "user": user, "tenant_id": request.tenant_id, "watching": True},
                   overrides)


def make_sla_policy(**overrides: Any) -> SlaPolicy:
    """A tenant's SLA policy (the demo tenant's unless told): due soon at 80%."""
    return _create(SlaPolicy, {"tenant_id": DEFAULT_TENANT_ID, "warn_percent": 80, "updated_by": "reviewer"},
                   overrides)


def make_sla_target(**overrides: Any) -> SlaTarget:
    """One SLA target: a high-priority request moves on from new within four hours."""
    return _create(SlaTarget, {"tenant_id": DEFAULT_TENANT_ID, "priority": "high", "clock": "new", "minutes": 240},
                   overrides)


def make_notification_preference(**overrides: Any) -> NotificationPreference:
    """A person's choice of notification email (a person of the demo tenant, made when not given)."""
    tenant_id = overrides.get("tenant_id", DEFAULT_TENANT_ID)
    user = overrides.pop("user", None)
    if user is None:
        user = make_user()
        tenant_user_link(user=user, tenant_id=tenant_id)
    return _create(NotificationPreference, {"user": user, "tenant_id": tenant_id, "email_mode": "digest"}, overrides)


def _person_of(tenant_id: Any, user: Any = None):
    if user is None:
        user = make_user()
        tenant_user_link(user=user, tenant_id=tenant_id)
    return user


def make_saved_view(**overrides: Any) -> SavedView:
    """A person's saved view of the request list (a person of the demo tenant, made when not given)."""
    tenant_id = overrides.get("tenant_id", DEFAULT_TENANT_ID)
    owner = _person_of(tenant_id, overrides.pop("owner", None))
    return _create(SavedView, {"owner": owner, "tenant_id": tenant_id, "name": f"View {_n()}",
                               "visibility": "private", "query": "status=new"}, overrides)


def make_list_preference(**overrides: Any) -> ListPreference:
    """A person's columns of the request list."""
    tenant_id = overrides.get("tenant_id", DEFAULT_TENANT_ID)
    user = _person_of(tenant_id, overrides.pop("user", None))
    return _create(ListPreference, {"user": user, "tenant_id": tenant_id, "list_name": "requests",
                                    "columns": ["request", "status"]}, overrides)


def make_idempotency_record(**overrides: Any) -> IdempotencyRecord:
    """The stored first answer of a POST sent with an Idempotency-Key (by a token of its own)."""
    n = _n()
    token = overrides.pop("token", None) or make_api_token()
    defaults = {"token": token, "tenant_id": token.tenant_id, "key": f"retry-{n}", "fingerprint": f"{n:064x}",
                "response_status": 201, "response_body": {"request_id": str(uuid.uuid4())}}
    return _create(IdempotencyRecord, defaults, overrides)


def request_fields_for(status: str) -> dict[str, Any]:
    """What the database requires of a request in `status` (see BrainRequest.Meta.constraints), as
    field values to pass to make_request or to a queryset's update()."""
    fields: dict[str, Any] = {}
    if status != RequestStatus.NEW:
        fields["review_owner_id"] = "headoffice"
    if status == RequestStatus.ESCALATED:
        fields.update(
            escalation_flag=True,
            escalation_owner_id="finance",
            escalation_reason="Spend above the approved test budget.",
        )
    if status == RequestStatus.RESPONDED:
        fields.update(
            response_summary="Demand is rising in two of the three markets checked.",
            outcome_type=OutcomeType.RECOMMENDATION_DELIVERED,
        )
    if status in (RequestStatus.CLOSED, RequestStatus.REJECTED):
        fields.update(
            outcome_type=(
                OutcomeType.REJECTED if status == RequestStatus.REJECTED else OutcomeType.RECOMMENDATION_DELIVERED
            ),
            result_summary="Validated demand in DE and FR; UK flat over 90 days.",
            outcome_decision="Proceed to an offer review for DE and FR only.",
            outcome_evidence=["SV-2026-03 in Search Console exports"],
            next_step="Open an offer review request for DE and FR.",
            next_step_owner="affiliate",
            head_office_review_required=False,
            closure_reason="Research question answered.",
            closed_at=timezone.now(),
        )
    return fields


def make_request(**overrides: Any) -> BrainRequest:
    """A Brain Request from Affiliate to Research; status `new` unless overridden."""
    n = _n()
    status = overrides.get("status", RequestStatus.NEW)
    defaults: dict[str, Any] = {
        "requesting_authority": "Affiliate Brain owner",
        "requesting_brain_id": "affiliate",
        "target_brain_id": "research",
        "operating_layer": "operational",
        "request_type": RequestType.RESEARCH_REQUEST,
        "request_title": f"Validate demand for offer {n}",
        "request_summary": "Check whether search demand supports testing this offer.",
        "required_output": "A short demand report with sources.",
        "priority": "medium",
        "status": status,
        **request_fields_for(status),
    }
    if overrides.get("mcr_update_status", McrUpdateStatus.NONE) != McrUpdateStatus.NONE:
        # Only a request that suggested an MCR update has an MCR update status.
        defaults["mcr_update_suggested"] = True
    if overrides.get("mcr_update_status") == McrUpdateStatus.APPROVED:
        # Approved only with HeadOffice's MCR decision on record, which PostgreSQL checks.
        request = _create(BrainRequest, defaults, {**overrides, "mcr_update_status": McrUpdateStatus.PROPOSED})
        mcr_approval_record(request)
        return request
    return _create(BrainRequest, defaults, overrides)


def mcr_approval_record(request: BrainRequest) -> DecisionRecord:
    """HeadOffice's MCR decision approving `request`, then its approved status (the order PostgreSQL
    insists on: mwms_mcr_approval_requires_decision)."""
    decision = make_decision_record(request=request, decision_kind=DecisionKind.MCR_DECISION,
                                    mcr_decision=McrDecision.APPROVED)
    BrainRequest.objects.filter(pk=request.pk).update(mcr_update_status=McrUpdateStatus.APPROVED)
    request.mcr_update_status = McrUpdateStatus.APPROVED
    return decision


def make_request_event(request: BrainRequest | None = None, **overrides: Any) -> RequestEvent:
    request = request or make_request()
    defaults = {
        "request": request,
        "tenant_id": request.tenant_id,
        "event_type": RequestEventType.NOTE,
        "event_summary": "Reviewer note",
        "actor": "reviewer",
        "note": "Looks complete.",
    }
    return _create(RequestEvent, defaults, overrides)


def make_signal(**overrides: Any) -> Signal:
    defaults = {
        "source_brain_id": "ads",
        "signal_type": SignalType.CAMPAIGN_DETERIORATION,
        "direction": "upward",
        "summary": "CPA up 40% week on week on campaign 12.",
        "payload": {"campaign": 12, "cpa_change": 0.4},
    }
    return _create(Signal, defaults, overrides)


def make_task(request: BrainRequest | None = None, **overrides: Any) -> Task:
    """A queued task under a routed request, assigned to the request's destination Brain."""
    request = request or make_request(status=RequestStatus.ROUTED)
    status = overrides.get("status", TaskStatus.QUEUED)
    defaults: dict[str, Any] = {
        "request": request,
        "tenant_id": request.tenant_id,
        "task_type": "demand_scan",
        "title": "Scan search demand",
        "assigned_brain_id": request.target_brain_id,
        "input_payload": {"markets": ["DE", "FR", "UK"]},
        "output_mode": "artifact",
        "risk_level": "low",
        "status": status,
    }
    if status == TaskStatus.FAILED:
        defaults.update(attempts=1, last_error="Search API timed out.")
    return _create(Task, defaults, overrides)


def make_task_event(task: Task | None = None, **overrides: Any) -> TaskEvent:
    task = task or make_task()
    defaults = {
        "task": task,
        "tenant_id": task.tenant_id,
        "event_type": TaskEventType.PROGRESS,
        "event_summary": "Scanned two of three markets.",
        "event_payload": {"done": 2, "of": 3},
        "actor": "executor",
    }
    return _create(TaskEvent, defaults, overrides)


def make_task_artifact(task: Task | None = None, **overrides: Any) -> TaskArtifact:
    task = task or make_task()
    defaults = {
        "task": task,
        "tenant_id": task.tenant_id,
        "artifact_type": "report",
        "artifact_summary": "Demand report for DE, FR and UK.",
        "content_json": {"markets": {"DE": "up", "FR": "up", "UK": "flat"}},
    }
    return _create(TaskArtifact, defaults, overrides)


def make_decision_record(request: BrainRequest | None = None, task: Task | None = None,
                         **overrides: Any) -> DecisionRecord:
    """A HeadOffice decision on a request (a new request unless one is given)."""
    request = request or (task.request if task else make_request())
    defaults = {
        "authority_id": "headoffice",
        "tenant_id": request.tenant_id,
        "related_request": request,
        "related_task": task,
        "affected_brains": ["research", "affiliate"],
        "decision_summary": "Proceed with DE and FR only.",
        "reasoning": "UK demand is flat; DE and FR show sustained growth.",
        "decision_kind": DecisionKind.DECISION,
        "recorded_by": "reviewer",
    }
    # A classification or an MCR decision names its outcome.
    kind = overrides.get("decision_kind", DecisionKind.DECISION)
    if kind == DecisionKind.FEEDBACK_CLASSIFICATION:
        defaults["classification"] = Classification.INVESTIGATE
    if kind == DecisionKind.MCR_DECISION:
        defaults["mcr_decision"] = McrDecision.PARKED
    return _create(DecisionRecord, defaults, overrides)


def make_lesson(**overrides: Any) -> LessonLearned:
    defaults = {
        "originating_brain_id": "research",
        "event_or_experiment": "Demand scan for offer 12",
        "result": "Two of three markets validated.",
        "insight": "Flat search volume predicted the UK test failure.",
        "recommended_improvement": "Scan demand before any offer review.",
    }
    return _create(LessonLearned, defaults, overrides)


def make_canon_document(**overrides: Any) -> CanonDocument:
    n = _n()
    defaults = {
        "slug": f"canon-document-{n}",
        "title": f"Canon document {n}",
        "document_type": "Canon",
        "version": "v1.0",
        "body": "The original text.",
    }
    return _create(CanonDocument, defaults, overrides)


_MADE = object()  # "make one": a factory argument whose None means none


def make_canon_amendment(document: CanonDocument | None = None, request: BrainRequest | None | object = _MADE,
                         decision: DecisionRecord | None = None, **overrides: Any) -> CanonAmendment:
    """An amendment approved by a HeadOffice MCR decision on an MCR update suggestion (recorded
    first: on PostgreSQL the request's status becomes approved only with that decision on record).
    `request=None`: an amendment no request proposed (its decision still decides one)."""
    document = document or make_canon_document()

    def suggestion() -> BrainRequest:
        return make_request(request_type=RequestType.MCR_UPDATE_SUGGESTION, target_brain="headoffice",
                            mcr_update_suggested=True, mcr_update_status=McrUpdateStatus.PROPOSED)

    request = suggestion() if request is _MADE else request
    decision = decision or mcr_approval_record(request or suggestion())
    defaults = {
        "document": document,
        "request": request,
        "decision": decision,
        "tenant_id": document.tenant_id,
        "version_before": document.version,
        "version_after": "v1.1",
        "body_before": document.body,
        "body_after": "The amended text.",
        "diff": "-The original text.\n+The amended text.",
        "evidence": {"request": str(request.pk)} if request else {},
        "approved_by": "reviewer",
    }
    return _create(CanonAmendment, defaults, overrides)


def make_canon_proposal(**overrides: Any) -> CanonProposal:
    """The change an MCR update suggestion proposes to a canon document (both made when not given)."""
    document = overrides.pop("document", None) or make_canon_document(
        **({"tenant_id": overrides["tenant_id"]} if "tenant_id" in overrides else {}))
    request = overrides.pop("request", None) or make_request(
        tenant_id=document.tenant_id, request_type=RequestType.MCR_UPDATE_SUGGESTION, target_brain="headoffice",
        mcr_update_suggested=True, mcr_update_status=McrUpdateStatus.PROPOSED)
    defaults = {"tenant_id": document.tenant_id, "request": request, "document": document,
                "base_version": document.version, "proposed_text": "The proposed text.", "proposed_by": "research_owner"}
    return _create(CanonProposal, defaults, overrides)


def make_suggestion_evidence(**overrides: Any) -> SuggestionEvidence:
    """A request an MCR update suggestion cites as its evidence (both made when not given)."""
    tenant = overrides.get("tenant_id", DEFAULT_TENANT_ID)
    request = overrides.pop("request", None) or make_request(
        tenant_id=tenant, request_type=RequestType.MCR_UPDATE_SUGGESTION, target_brain="headoffice",
        mcr_update_suggested=True, mcr_update_status=McrUpdateStatus.SUGGESTED)
    if overrides.get("cited_request") == "itself":   # what the database refuses: a suggestion citing itself
        overrides["cited_request"] = request
    defaults: dict[str, Any] = {"tenant_id": request.tenant_id, "request": request, "kind": "request",
                                "added_by": "research_owner"}
    if not {"cited_request", "cited_decision", "cited_lesson"} & set(overrides):
        defaults["cited_request"] = make_request(tenant_id=request.tenant_id)
    return _create(SuggestionEvidence, defaults, overrides)


def make_chain_checkpoint(**overrides: Any) -> ChainCheckpoint:
    """A checkpoint of no chain heads, the next link of the demo tenant's chain of checkpoints."""
    defaults = {"tenant_id": DEFAULT_TENANT_ID, "chains": 0, "heads_digest": "0" * 64}
    return _create(ChainCheckpoint, defaults, overrides)


def make_chain_checkpoint_head(checkpoint: ChainCheckpoint | None = None, **overrides: Any) -> ChainCheckpointHead:
    checkpoint = checkpoint or make_chain_checkpoint()
    defaults = {"tenant_id": checkpoint.tenant_id, "checkpoint": checkpoint, "chain": "request",
                "owner_id": uuid.uuid4(), "chain_seq": 1, "chain_head": "0" * 64}
    return _create(ChainCheckpointHead, defaults, overrides)
