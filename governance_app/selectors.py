"""Governance reads the UI shares: the HeadOffice dashboard's queues and health, the escalation and
feedback queues, decisions and lessons — each already scoped to what the actor may see.

Every function runs a fixed number of queries however many rows there are: counts come from one
aggregate with conditional Counts, groupings from one values().annotate(), and the oldest item of
each queue from one row of scalar subqueries.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from governance_app.kernel.actors import Actor
from governance_app.kernel.brains import active_brains
from governance_app.kernel.pages import CountedUpToPaginator, RowPaginator
from governance_app.models import (
    CanonDocument,
    CanonProposal,
    DecisionKind,
    DecisionRecord,
    DeliveryStatus,
    LessonLearned,
    Tenant,
    WebhookDelivery,
    WebhookSubscription,
)
from requests_app import canon
from requests_app.models import (
    FINAL_STATUSES,
    BrainRequest,
    RequestStatus,
)
from requests_app.queues import (
    FEEDBACK_WAITING,
    OPEN_QUEUES,
    QUEUE_SPECS,
    QueueSpec,
    feedback_q,
    queue_conditions,
    stale_after_days,
)
from requests_app.selectors import (  # noqa: F401 (decisions_ and lessons_visible_to: read here too)
    REQUEST_RELATED,
    decisions_visible_to,
    lessons_visible_to,
    requests_visible_to,
)

S = RequestStatus

@dataclass
class QueueCount:
    spec: QueueSpec
    count: int
    oldest: BrainRequest | None   # the item that has gone longest without a change

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def hint(self) -> str:
        return self.spec.hint.format(days=stale_after_days())

    @property
    def attention(self) -> bool:
        return self.spec.urgent and self.count > 0


def _queue_counts(visible: QuerySet[BrainRequest], conditions: dict[str, Q]) -> dict[str, int]:
    """Every queue's count in one pass over the open requests (the partial index on open
    statuses finds them; closed and rejected requests, most of the table, are never read). A
    queue that may hold final requests is counted over all of them, in a second pass."""
    open_keys = [key for key in conditions if key in OPEN_QUEUES]
    counts = visible.filter(conditions["open"]).aggregate(
        **{key: Count("pk", filter=conditions[key]) for key in open_keys})
    others = [key for key in conditions if key not in OPEN_QUEUES]
    if others:
        counts.update(visible.aggregate(**{key: Count("pk", filter=conditions[key]) for key in others}))
    return counts


def _view_key(actor: Actor) -> str:
    """Who sees the same figures: the tenant, and the whole tenant or this set of Brains (or this
    integration's label)."""
    if actor.is_head_office:
        scope = "headoffice"
    elif actor.is_integration:
        scope = f"integration:{','.join(sorted(actor.brains))}:{actor.label}"
    else:
        scope = f"brains:{','.join(sorted(actor.brains))}"
    return f"mwms:dashboard:{actor.tenant_id}:{scope}"


def _figures(actor: Actor, part: str, compute: Callable[[], Any]) -> Any:
    """The dashboard's aggregate figures, reused for MWMS_DASHBOARD_FIGURES_SECONDS.

    Counting the open requests and the recent closures reads every one of them: at 100,000
    requests about 200 ms, however good the index (each pass aggregates some 20,000 rows). The
    figures are a summary that a few seconds cannot make wrong, so each view of the tenant shares
    them for a short while; the page says when they were counted. 0 counts them on every view."""
    seconds = getattr(settings, "MWMS_DASHBOARD_FIGURES_SECONDS", 0)
    if not seconds:
        return compute()
    key = f"{_view_key(actor)}:{part}"
    found = cache.get(key)
    if found is None:
        found = compute()
        cache.set(key, found, seconds)
    return found


def dashboard_queues(*, actor: Actor) -> list[QueueCount]:
    """The queues HeadOffice works, each with its count and its oldest item (three queries; one
    when the figures are reused, see _figures)."""
    visible = requests_visible_to(actor)
    conditions = queue_conditions()
    first_by = {spec.key: spec.first_by for spec in QUEUE_SPECS}

    def figures() -> tuple[dict[str, int], dict[str, Any]]:
        counts = _queue_counts(visible, conditions)
        oldest_ids = (
            Tenant.objects.filter(pk=actor.tenant_id)
            .annotate(**{key: Subquery(visible.filter(q).order_by(first_by.get(key, "updated_at"), "pk")
                                       .values("pk")[:1])
                         for key, q in conditions.items()})
            .values(*conditions).first()
        ) or {}
        return counts, oldest_ids

    counts, oldest_ids = _figures(actor, "queues", figures)
    wanted = [pk for pk in oldest_ids.values() if pk is not None]
    oldest = {r.pk: r for r in visible.filter(pk__in=wanted)} if wanted else {}
    return [QueueCount(spec=spec, count=counts[spec.key] or 0, oldest=oldest.get(oldest_ids.get(spec.key)))
            for spec in QUEUE_SPECS]


ASSIGNED_TO_ME = QueueSpec("assigned_to_me", "Assigned to me", "Open requests you look after personally.")


def assigned_queue(*, actor: Actor) -> QueueCount | None:
    """A HeadOffice person's own queue: the open requests assigned to them, with the one unchanged
    longest (two queries, never reused: it is one person's, not the tenant's figures)."""
    if not actor.is_head_office or actor.user_id is None:
        return None
    mine = requests_visible_to(actor).filter(queue_conditions()["open"], assignee_id=actor.user_id)
    return QueueCount(spec=ASSIGNED_TO_ME, count=mine.count(), oldest=mine.order_by("updated_at", "pk").first())


# --- request health -----------------------------------------------------------------------------

AGING_BUCKETS: tuple[tuple[str, str, int, int | None], ...] = (
    # key, label, from (days ago, inclusive), to (days ago, exclusive; None = no limit)
    ("lt_1d", "Under 1 day", 0, 1),
    ("d1_3", "1–3 days", 1, 3),
    ("d3_7", "3–7 days", 3, 7),
    ("d7_30", "7–30 days", 7, 30),
    ("gt_30d", "Over 30 days", 30, None),
)
WEEKS = 8


@dataclass
class Bar:
    key: str
    label: str
    count: int


@dataclass
class WeekBar:
    starts: date
    closed: int
    rejected: int

    @property
    def total(self) -> int:
        return self.closed + self.rejected


@dataclass
class Health:
    counted_at: datetime
    open_total: int
    by_status: list[Bar]
    by_destination: list[Bar]
    aging: list[Bar]            # open requests by time since their last change
    closures: list[WeekBar]     # the last eight weeks, oldest first, the current week last

    @property
    def status_peak(self) -> int:
        return max((b.count for b in self.by_status), default=0)

    @property
    def destination_peak(self) -> int:
        return max((b.count for b in self.by_destination), default=0)

    @property
    def aging_peak(self) -> int:
        return max((b.count for b in self.aging), default=0)

    @property
    def closures_peak(self) -> int:
        return max((w.total for w in self.closures), default=0)

    @property
    def closures_total(self) -> int:
        return sum(w.total for w in self.closures)


def _week_starts(today: date) -> list[date]:
    """The Mondays of the last WEEKS weeks, oldest first; the current week comes last."""
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(weeks=WEEKS - 1 - i) for i in range(WEEKS)]


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def dashboard_health(*, actor: Actor) -> Health:
    """Request health at a glance: open requests by status and destination, aging, closures per week
    (three queries, or none when the figures are reused, see _figures)."""
    return _figures(actor, "health", lambda: _health(actor))


def _health(actor: Actor) -> Health:
    now = timezone.now()
    visible = requests_visible_to(actor)
    open_requests = visible.exclude(status__in=FINAL_STATUSES)

    # Open requests by status, with their aging, in one pass over the open requests only.
    aging: dict[str, Any] = {}
    for key, _label, start, end in AGING_BUCKETS:
        # The first bucket has no lower bound, so a change dated slightly ahead (clock skew) still counts.
        condition = Q(updated_at__lte=now - timedelta(days=start)) if start else Q()
        if end is not None:
            condition &= Q(updated_at__gt=now - timedelta(days=end))
        aging[key] = Count("pk", filter=condition)
    statuses = list(open_requests.order_by().values("status").annotate(n=Count("pk"), **aging))
    by_status = {row["status"]: row["n"] for row in statuses}
    destinations = (open_requests.order_by().values("target_brain_id", "target_brain__name")
                    .annotate(n=Count("pk")).order_by("-n", "target_brain__name"))

    # Closures of the last eight weeks, from the closed_at index: older closures are never read.
    starts = _week_starts(timezone.localdate(now))
    weeks: dict[str, Any] = {}
    for i, monday in enumerate(starts):
        week = Q(closed_at__gte=_local_midnight(monday), closed_at__lt=_local_midnight(monday + timedelta(weeks=1)))
        weeks[f"closed_{i}"] = Count("pk", filter=week & Q(status=S.CLOSED))
        weeks[f"rejected_{i}"] = Count("pk", filter=week & Q(status=S.REJECTED))
    closures = visible.filter(closed_at__gte=_local_midnight(starts[0]), closed_at__isnull=False).aggregate(**weeks)

    return Health(
        counted_at=now,
        open_total=sum(by_status.values()),
        by_status=[Bar(s.value, s.label, by_status[s.value]) for s in S if by_status.get(s.value)],
        by_destination=[Bar(row["target_brain_id"], row["target_brain__name"], row["n"]) for row in destinations],
        aging=[Bar(key, label, sum(row[key] for row in statuses)) for key, label, _s, _e in AGING_BUCKETS],
        closures=[WeekBar(monday, closures[f"closed_{i}"] or 0, closures[f"rejected_{i}"] or 0)
                  for i, monday in enumerate(starts)],
    )


# --- escalation review and the feedback queues ------------------------------------------------------

def escalations_for(*, actor: Actor) -> QuerySet[BrainRequest]:
    """Escalated requests the actor can see, longest-waiting first, each with `escalated_at`.

    `status_entered_at` is the time of the event that moved the request into its status (written
    with it, requests_app.sla), so the page reads its rows in order from an index
    (mwms_req_status_entered) instead of looking up every escalated request's history."""
    return (requests_visible_to(actor).filter(status=S.ESCALATED)
            .select_related("requesting_brain", "target_brain", "escalation_owner")  # the Brains a row names
            .annotate(escalated_at=F("status_entered_at")).order_by("status_entered_at", "pk"))


# What a feedback or MCR queue row shows (governance_app.templatetags.queue_rows.feedback_head) and
# what deciding its moves reads (requests_app.transitions.moves_open: its status, its type and
# feedback flags, the Brains it names): issue 16, the 60-odd columns of 25 requests and their
# Brains' rows, each converted and set on a model, were a fifth of the page's CPU.
QUEUE_ROW_FIELDS = (
    "id", "tenant_id", "request_title", "request_summary", "request_type", "status", "feedback_required",
    "mcr_update_suggested", "source_origin", "created_at", "lock_version", "status_entered_at",
    "requesting_brain_id", "requesting_brain__name", "target_brain_id", "primary_brain_id", "review_owner_id",
    "escalation_owner_id",
)


def feedback_to_classify(*, actor: Actor) -> QuerySet[BrainRequest]:
    """Feedback requests waiting for HeadOffice's classification (protocol rule 13), oldest first
    (the index mwms_req_feedback_waiting holds exactly these rows, in this order)."""
    return (requests_visible_to(actor).filter(feedback_q(), status__in=FEEDBACK_WAITING)
            .select_related("requesting_brain").only(*QUEUE_ROW_FIELDS)   # the Brain a row names
            .order_by("created_at", "pk"))


def mcr_decision_queue(*, actor: Actor) -> QuerySet[BrainRequest]:
    """Requests awaiting an MCR decision, longest-waiting first (as escalations_for), each with
    `proposed_at` and the classification that proposed it (`proposals`)."""
    proposals = (DecisionRecord.objects.filter(decision_kind=DecisionKind.FEEDBACK_CLASSIFICATION)
                 .only("id", "tenant_id", "related_request_id", "recorded_by", "reasoning", "created_at")
                 .order_by("-created_at"))  # what the row says of it (templates/governance_app/feedback.html)
    return (requests_visible_to(actor).filter(status=S.AWAITING_MCR_DECISION).select_related("requesting_brain")
            .only(*QUEUE_ROW_FIELDS).annotate(proposed_at=F("status_entered_at"))
            .prefetch_related(Prefetch("decisions", queryset=proposals, to_attr="proposals"))
            .order_by("status_entered_at", "pk"))


@dataclass
class McrReview:
    """What HeadOffice reads before deciding a suggestion: the proposal (newest revision) and its
    earlier revisions, the document as it stands, a side-by-side diff and the change's impact."""

    request: BrainRequest
    proposal: CanonProposal | None
    revisions: list[tuple[CanonProposal, list[str]]]   # oldest first, each with what it changed
    document: CanonDocument | None
    diff: list[tuple[str, str, str]]
    impact: canon.Impact | None
    stale: bool                                        # written against an older version


def mcr_review(*, actor: Actor, request: BrainRequest) -> McrReview:
    """The approval screen's reads: four queries (revisions with their document, the document's
    amendments, and the impact's two counts), the tenant's Brains being kept (kernel.brains)."""
    revisions = list(CanonProposal.objects.filter(request=request).select_related("document").order_by("revision"))
    proposal = revisions[-1] if revisions else None
    if proposal is None:
        return McrReview(request, None, [], None, [], None, False)
    document = proposal.document
    amendments = canon.amendments_of(document)
    changed, before = [], document.body
    for revision in revisions:
        base = before if revision.revision > 1 else document.body
        changed.append((revision, revision.sections if revision.revision == 1
                        else canon.changed_sections(base, revision.proposed_text)))
        before = revision.proposed_text
    names = {slug: brain.name for slug, brain in active_brains(actor.tenant_id).items()}
    impact = canon.impact(requests=requests_visible_to(actor), document=document, sections_changed=proposal.sections,
                          amendments=amendments, brain_names=names)
    return McrReview(request, proposal, changed, document, canon.side_by_side(document.body, proposal.proposed_text),
                     impact, proposal.base_version != document.version)


def canon_documents_for(*, actor: Actor) -> QuerySet[CanonDocument]:
    """The tenant's MCR canon documents, for the MCR decision form."""
    return CanonDocument.objects.filter(tenant_id=actor.tenant_id).order_by("title")


# --- decisions and lessons ----------------------------------------------------------------------

# Of the rows a decision or a lesson joins, what the pages show (templates/governance_app/
# decisions.html, lessons.html): a request's title, not its 70 columns; a decision's summary.
_DECISION_FIELDS = tuple(field.name for field in DecisionRecord._meta.concrete_fields)
DECISION_ROW_FIELDS = (*_DECISION_FIELDS, "authority__name", "related_request__tenant_id",
                       "related_request__request_title", "supersedes__tenant_id", "supersedes__decision_summary")
LESSON_ROW_FIELDS = (*(field.name for field in LessonLearned._meta.concrete_fields), "originating_brain__name",
                     "related_request__tenant_id", "related_request__request_title",
                     "related_decision__tenant_id", "related_decision__decision_summary",
                     *(f"related_task__{name}" for name in ("tenant_id", "title", "task_type", "status")))


def decisions_for_list(*, actor: Actor) -> QuerySet[DecisionRecord]:
    """The decisions page's rows, newest first, with what each row shows joined."""
    return (decisions_visible_to(actor).select_related("authority", "related_request", "supersedes")
            .only(*DECISION_ROW_FIELDS).order_by("-created_at", "pk"))


def lessons_for_list(*, actor: Actor) -> QuerySet[LessonLearned]:
    """The lessons page's rows, newest first, with their Brain, request, decision and task joined."""
    return (lessons_visible_to(actor)
            .select_related("originating_brain", "related_request", "related_decision", "related_task")
            .only(*LESSON_ROW_FIELDS).order_by("-created_at", "pk"))


# A Brain's decisions and lessons are counted up to this many, then "more than" it (issue 16).
VISIBLE_THROUGH_REQUEST_COUNT_UP_TO = 100


def decisions_or_lessons_paginator(*, actor: Actor, rows: QuerySet, per_page: int) -> RowPaginator:
    """The decisions' or the lessons' pages for this actor. HeadOffice's rows are the tenant's, which
    an index counts and the planner estimates well: RowPaginator. A Brain sees a decision or lesson
    of its own, or on a request it can see, and that condition is tested row by row (each row's
    request looked up: `_on_a_visible_request`), so its count stops at
    VISIBLE_THROUGH_REQUEST_COUNT_UP_TO and says "more than" that (CountedUpToPaginator): counting to
    a thousand looked up 5,900 requests at a million (58 ms), and the planner's estimate above it
    was every decision of the tenant (12,475, where the Brain sees 2,134)."""
    if actor.is_head_office:
        return RowPaginator(rows, per_page)
    return CountedUpToPaginator(rows, per_page, cap=VISIBLE_THROUGH_REQUEST_COUNT_UP_TO)


def request_decision_options(*, request: BrainRequest) -> list[tuple[str, str]]:
    """(id, summary) of the decisions on one request, newest first, for a form's select."""
    return [(str(pk), summary[:90]) for pk, summary in
            request.decisions.order_by("-created_at").values_list("pk", "decision_summary")]


def request_task_options(*, request: BrainRequest) -> list[tuple[str, str]]:
    """(id, title) of the tasks under one request, for a form's select."""
    rows = request.tasks.order_by("created_at").values_list("pk", "title", "task_type")
    return [(str(pk), title or task_type) for pk, title, task_type in rows]


# --- webhooks ------------------------------------------------------------------------------------

def webhook_subscriptions_for(*, actor: Actor) -> QuerySet[WebhookSubscription]:
    """The tenant's webhook subscriptions, for HeadOffice (nobody else sees them)."""
    if not actor.is_head_office:
        return WebhookSubscription.objects.none()
    return WebhookSubscription.objects.filter(tenant_id=actor.tenant_id).order_by("-is_active", "name")


def webhook_deliveries_for(*, actor: Actor, status: str | None = None) -> QuerySet[WebhookDelivery]:
    """The delivery log, newest first (an index on tenant and created_at serves it at any size)."""
    if not actor.is_head_office:
        return WebhookDelivery.objects.none()
    rows = WebhookDelivery.objects.filter(tenant_id=actor.tenant_id).select_related("subscription")
    if status in DeliveryStatus.values:
        rows = rows.filter(status=status)
    return rows.order_by("-created_at")
