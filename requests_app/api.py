"""The requests part of the JSON API: Brain Requests, their moves, signals and Brain Room messages.

The API speaks the protocol's names (request_id, origin_brain, destination_brain, request_status);
the database keeps the canon's (requesting_brain, target_brain, status) — see PROTOCOL_FIELDS. The
request serializer here is the one the other routers (tasks, decisions) use too; each app's output
schemas live in its own api.py, and the lineage (GET /requests/{request_id}), which spans tasks,
decisions and lessons, is composed in governance_app/api.py.
"""

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from django.db.models import Prefetch, prefetch_related_objects
from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.responses import Status
from pydantic import Field

from governance_app.kernel.actors import Actor
from governance_app.kernel.brains import active_brains
from governance_app.kernel.errors import DomainError, Refusal
from governance_app.kernel.pages import capped_count
from governance_app.models import EvidenceKind
from mwms_site.api_kit import Document, FindingOut, In, Link, Name, Out, QueryText, Text, Title, errors, get, not_found, post
from requests_app.filters import API_ALIASES, BrainRequestFilter
from requests_app.intake import brain_room_message_intake, signal_intake
from requests_app.integrity import request_findings
from requests_app.models import (
    BrainRequest,
    OperatingLayer,
    OutcomeType,
    Priority,
    RequestStatus,
    RequestType,
    SignalDirection,
    SignalType,
)
from requests_app.selectors import free_text_slice, free_text_walked, request_get, requests_visible_to
from requests_app.services import request_assign, request_create, request_move
from requests_app.sla import SlaState, request_clock
from requests_app.transitions import CLOSING_FIELDS, MOVES, Move, move_target, moves_open

router = Router(tags=["requests"])

# Where a decision move is made, relative to /api/v1/requests/{request_id}/.
DECISION_ENDPOINTS = {"classify": "classification", "mcr_decide": "mcr-decision", "resolve_escalation": "decisions"}
PLAIN_MOVES = tuple(dict.fromkeys(m.name for m in MOVES if not m.decision))
MoveName = Literal[PLAIN_MOVES]  # type: ignore[valid-type]


# --- output ----------------------------------------------------------------------------------

class MoveOut(Out):
    """A move the caller may make now. `endpoint` is where: `transition` (with `move` or
    `to_status`) or the decision endpoint that records it; `to_status` is None when the decision
    decides it."""

    move: str
    label: str
    to_status: str | None
    required: list[str]
    optional: list[str]
    endpoint: str


class RequestOut(Out):
    request_id: UUID
    origin_brain: str | None
    destination_brain: str
    request_type: RequestType
    request_title: str
    request_summary: str
    request_status: RequestStatus
    priority: Priority
    required_output: str
    requesting_authority: str
    operating_layer: OperatingLayer
    intake_id: str
    offer_id: str
    experiment_id: str
    parent_request_id: UUID | None
    originating_task_id: UUID | None
    source_origin: str
    source_page: str
    source_system: str
    routing_notes: str
    response_summary: str
    outcome_type: OutcomeType | None
    result_summary: str
    outcome_decision: str
    outcome_evidence: list[Any]
    next_step: str
    next_step_owner: str
    head_office_review_required: bool | None
    head_office_visible: bool
    escalation_flag: bool
    escalation_reason: str
    closure_reason: str
    review_owner: str | None
    escalation_owner: str | None
    primary_brain: str | None
    supporting_brains: list[str]
    created_by: str
    feedback_required: bool
    mcr_update_suggested: bool
    mcr_update_status: str
    feedback_classification: str | None
    held_from_status: RequestStatus | None
    assignee: str | None = Field(description="The username of the HeadOffice reviewer assigned, or null.")
    related_task_ids: list[UUID]
    meta_json: dict[str, Any]
    lock_version: int = Field(description="Send it back as `expected_version` to refuse a stale move.")
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    sla_state: SlaState = Field(description="on_track, due_soon or breached against the tenant's SLA policy; "
                                            "none for a final request or one no target applies to.")
    sla_due_at: datetime | None = Field(description="When the running SLA target passes (null with no clock).")
    status_entered_at: datetime = Field(description="When the request entered its current status.")
    moves_open: list[MoveOut]


class RequestPage(Out):
    count: int = Field(description="How many requests match: exact up to 1,000; above that PostgreSQL's "
                                   "estimate, and count_estimated is true.")
    count_estimated: bool = Field(False, description="True when count is an estimate (more than 1,000 match).")
    limit: int
    offset: int
    items: list[RequestOut]


class RequestRef(Out):
    request_id: UUID
    request_title: str
    request_type: str
    request_status: str
    origin_brain: str | None
    destination_brain: str
    created_at: datetime


class RequestNode(RequestRef):
    parent_request_id: UUID = Field(description="The request it was made under; when the caller may not see that "
                                                "one, the node hangs below its nearest visible ancestor.")
    children: list["RequestNode"]


class RequestEventOut(Out):
    event_id: UUID
    event_type: str
    event_summary: str
    actor: str
    from_status: str | None
    to_status: str | None
    note: str
    changed_fields: dict[str, Any]
    event_payload: dict[str, Any]
    created_at: datetime


def move_out(move: Move, brain_request: BrainRequest) -> dict[str, Any]:
    return {"move": move.name, "label": move.label, "to_status": move_target(move, brain_request),
            "required": list(move.required), "optional": list(move.optional),
            "endpoint": DECISION_ENDPOINTS.get(move.name, "transition")}


def _task_ids(brain_request: BrainRequest) -> list[UUID]:
    prefetched = getattr(brain_request, "_prefetched_objects_cache", {}).get("tasks")
    if prefetched is not None:
        return [task.pk for task in prefetched]
    return list(brain_request.tasks.order_by("created_at").values_list("id", flat=True))


def request_out(brain_request: BrainRequest, actor: Actor, *, task_ids: list[UUID] | None = None) -> dict[str, Any]:
    """A request as the API shows it, with the moves open to this caller (no query when the
    task ids are given or prefetched)."""
    r = brain_request
    clock_ = request_clock(r)
    return {
        "request_id": r.pk, "origin_brain": r.requesting_brain_id, "destination_brain": r.target_brain_id,
        "request_type": r.request_type, "request_title": r.request_title, "request_summary": r.request_summary,
        "request_status": r.status, "priority": r.priority, "required_output": r.required_output,
        "requesting_authority": r.requesting_authority, "operating_layer": r.operating_layer,
        "intake_id": r.intake_id, "offer_id": r.offer_id, "experiment_id": r.experiment_id,
        "parent_request_id": r.parent_request_id, "originating_task_id": r.originating_task_id,
        "source_origin": r.source_origin, "source_page": r.source_page, "source_system": r.source_system,
        "routing_notes": r.routing_notes, "response_summary": r.response_summary, "outcome_type": r.outcome_type,
        "result_summary": r.result_summary, "outcome_decision": r.outcome_decision,
        "outcome_evidence": r.outcome_evidence, "next_step": r.next_step, "next_step_owner": r.next_step_owner,
        "head_office_review_required": r.head_office_review_required,
        "head_office_visible": r.head_office_visible, "escalation_flag": r.escalation_flag,
        "escalation_reason": r.escalation_reason, "closure_reason": r.closure_reason,
        "review_owner": r.review_owner_id, "escalation_owner": r.escalation_owner_id,
        "primary_brain": r.primary_brain_id, "supporting_brains": r.supporting_brains, "created_by": r.created_by,
        "feedback_required": r.feedback_required, "mcr_update_suggested": r.mcr_update_suggested,
        "mcr_update_status": r.mcr_update_status, "feedback_classification": r.feedback_classification,
        "held_from_status": r.held_from_status,
        "assignee": r.assignee.get_username() if r.assignee_id else None,
        "related_task_ids": _task_ids(r) if task_ids is None else task_ids,
        "meta_json": r.meta_json, "lock_version": r.lock_version, "created_at": r.created_at,
        "updated_at": r.updated_at, "closed_at": r.closed_at,
        "sla_state": clock_.state, "sla_due_at": clock_.due_at, "status_entered_at": clock_.status_entered_at,
        "moves_open": [move_out(move, r) for move in moves_open(r, actor)],
    }


def request_event_out(e: Any) -> dict[str, Any]:
    return {"event_id": e.pk, "event_type": e.event_type, "event_summary": e.event_summary, "actor": e.actor,
            "from_status": e.from_status, "to_status": e.to_status, "note": e.note,
            "changed_fields": e.changed_fields, "event_payload": e.event_payload, "created_at": e.created_at}


def request_node_out(node: Any) -> dict[str, Any]:
    """A lineage tree node (requests_app.selectors.TreeNode) with its children."""
    return {**request_ref(node.request), "parent_request_id": node.request.parent_request_id,
            "children": [request_node_out(child) for child in node.children]}


def request_ref(r: BrainRequest) -> dict[str, Any]:
    return {"request_id": r.pk, "request_title": r.request_title, "request_type": r.request_type,
            "request_status": r.status, "origin_brain": r.requesting_brain_id,
            "destination_brain": r.target_brain_id, "created_at": r.created_at}


def visible_request(actor: Actor, request_id: UUID) -> BrainRequest:
    """The request the caller may see, or a 404 refusal."""
    brain_request = request_get(actor=actor, request_id=request_id)
    if brain_request is None:
        raise not_found("request")
    return brain_request


# --- input -----------------------------------------------------------------------------------


class EvidenceIn(In):
    """One record an mcr_update_suggestion cites as its evidence."""

    kind: EvidenceKind = Field(description="request, decision or lesson.")
    id: Name = Field(description="The record's id (a UUID), as the pages and the API show it.")


class RequestIn(In):
    """A new Brain Request (protocol "Minimum Standard Brain Request Format"). Lineage fields are
    set here once; nothing rewrites them later."""

    destination_brain: Name
    request_type: RequestType
    request_title: Title
    request_summary: Text = Field(description="What is asked and why; a placeholder is refused.")
    origin_brain: Name | None = Field(None, description="Defaults to the token's Brain.")
    required_output: Text = ""
    priority: Priority = Priority.MEDIUM
    operating_layer: OperatingLayer = OperatingLayer.OPERATIONAL
    intake_id: Name = ""
    offer_id: Name = ""
    experiment_id: Name = ""
    parent_request_id: UUID | None = None
    originating_task_id: UUID | None = None
    source_origin: Name = ""
    source_page: Link = ""
    source_system: Name = ""
    head_office_visible: bool = True
    escalation_flag: bool = False
    feedback_required: bool = False
    mcr_update_suggested: bool = False
    meta_json: dict[str, Any] = Field(default_factory=dict)
    note: Text = ""
    canon_document: Name | None = Field(None, description="mcr_update_suggestion only: the slug of the canon "
                                                          "document the suggestion changes.")
    proposed_text: Document | None = Field(None, description="mcr_update_suggestion only: the document's full "
                                                             "proposed text (Markdown), stored with the request.")
    section_edits: dict[str, Document] | None = Field(
        None, description="mcr_update_suggestion only, instead of proposed_text: heading → the section's new text "
                          "(its heading line included; empty removes it; a new heading is added at the end).")
    reason: Text | None = Field(None, description="mcr_update_suggestion with a proposed change: why the document "
                                                  "should change so; kept with the proposal and the amendment.")
    evidence: list[EvidenceIn] | None = Field(
        None, description="mcr_update_suggestion only: the records of this organisation the suggestion rests on, "
                          "each {kind, id} (kind: request, decision or lesson; id: its request_id, decision id or "
                          "lesson id). An id that is not of that kind, not found, or not one you can see is "
                          "refused with a 422 naming `evidence`, and nothing is written. At most 50.")


class OutcomeIn(In):
    """The complete outcome a close or a reject needs (protocol rule 7), by the transition table's
    names (requests_app.transitions.CLOSING_FIELDS)."""

    outcome_type: OutcomeType | None = None
    result_summary: Text | None = None
    outcome_decision: Text | None = None
    outcome_evidence: list[Text] | None = Field(
        None, description="Ids of this lineage's artifacts, events or decisions, or external evidence text.")
    next_step: Text | None = None
    next_step_owner: Name | None = None
    head_office_review_required: bool | None = None
    closure_reason: Text | None = None


assert tuple(OutcomeIn.model_fields) == CLOSING_FIELDS, "the outcome schema follows the transition table"

# Every field a plain move takes (the transition table's required and optional fields, but the note).
MOVE_FIELDS = tuple(dict.fromkeys(name for m in MOVES if not m.decision for name in (*m.required, *m.optional)
                                  if name != "note"))


class TransitionIn(OutcomeIn):
    """Move a request. Name the status to reach (`to_status`), or the move itself (`move`); a hold
    (blocked, parked, awaiting_evidence) is lifted by naming the status it returns to
    (`held_from_status`) or the move (unblock, unpark, provide_evidence). Send the fields the move
    needs (see `moves_open` on the request); a field the move does not use is refused."""

    to_status: RequestStatus | None = None
    move: MoveName | None = None
    note: Text = ""
    expected_version: int | None = Field(None, ge=0, le=2**31 - 1,
                                         description="The lock_version you saw; a newer one answers 409.")
    destination_brain: Name | None = None
    review_owner: Name | None = None
    routing_notes: Text | None = None
    primary_brain: Name | None = None
    supporting_brains: list[Name] | None = None
    escalation_reason: Text | None = None
    escalation_owner: Name | None = None
    response_summary: Text | None = None
    request_summary: Text | None = None
    required_output: Text | None = None


assert set(MOVE_FIELDS) <= set(TransitionIn.model_fields), "every move field has its place in the body"


def move_for(brain_request: BrainRequest, actor: Actor, to_status: str | None, move: str | None) -> Move:
    """The move the caller means: the one named, or the one leading to `to_status` from here."""
    if move:
        rule = next(m for m in MOVES if m.name == move)
        if to_status and move_target(rule, brain_request) != to_status:
            raise DomainError(f"The move {move!r} leads to {move_target(rule, brain_request)}, not {to_status}.",
                              field="to_status")
        return rule
    if not to_status:
        raise DomainError("Name the status to move to (to_status), or the move.", field="to_status")
    here = brain_request.status
    if brain_request.is_final:
        raise DomainError(f"This request is {here}; it is final and cannot change.", kind=Refusal.CONFLICT)
    from_here = [m for m in MOVES if here in m.from_statuses]
    plain = [m for m in from_here if not m.decision and move_target(m, brain_request) == to_status]
    if not plain:
        reachable = sorted({move_target(m, brain_request) for m in from_here if not m.decision})
        message = f"A request cannot move from {here} to {to_status}"
        message += f"; from {here} it can move to: {', '.join(reachable)}." if reachable else "."
        decided = sorted({DECISION_ENDPOINTS[m.name] for m in moves_open(brain_request, actor) if m.decision})
        if decided:
            message += f" A decision can also move it: POST /api/v1/requests/{{request_id}}/{' or '.join(decided)}."
        raise DomainError(message, kind=Refusal.CONFLICT)
    open_names = {m.name for m in moves_open(brain_request, actor)}
    names = list(dict.fromkeys(m.name for m in plain))
    preferred = [n for n in names if n in open_names] or names
    if len(preferred) > 1:
        raise DomainError(f"Several moves lead to {to_status} ({', '.join(preferred)}): name one in `move`.",
                          field="move")
    return next(m for m in plain if m.name == preferred[0])


def move_fields(payload: TransitionIn, rule: Move) -> dict[str, Any]:
    """The move's fields from the body; a field this move does not take is refused, not ignored."""
    sent = payload.model_dump(mode="json", include=set(MOVE_FIELDS), exclude_unset=True)
    allowed = {*rule.required, *rule.optional}
    unused = {field: f"is not used by the {rule.name} move." for field in sent if field not in allowed}
    if unused:
        raise DomainError("; ".join(f"{f}: {m}" for f, m in unused.items()), field=next(iter(unused)), errors=unused)
    return {field: value for field, value in sent.items() if value is not None}


class AssignIn(In):
    """Assign the request to a HeadOffice reviewer of your organisation, or to nobody."""

    user: Name | Annotated[int, Field(ge=1, le=2**31 - 1)] | None = Field(
        description="The reviewer's username (or user id); null unassigns.")
    note: Text = ""
    expected_version: int | None = Field(None, ge=0, le=2**31 - 1,
                                         description="The lock_version you saw; a newer one answers 409.")


class SignalIn(In):
    """A signal (connector "signal sources") that becomes a Brain Request citing it."""

    signal_type: SignalType
    summary: Text = Field(description="What was detected; becomes the request summary.")
    destination_brain: Name = Field(description="The Brain that should act on it (headoffice for upward signals).")
    direction: SignalDirection = SignalDirection.UPWARD
    request_type: RequestType | None = Field(None, description="Defaults from the signal type.")
    request_title: Title = ""
    priority: Priority = Priority.MEDIUM
    payload: dict[str, Any] = Field(default_factory=dict, description="The signal's data (metric, threshold, …).")
    source_page: Link = ""
    source_system: Name = ""
    origin_brain: Name | None = None


class SignalOut(Out):
    signal_id: UUID
    signal_type: SignalType
    direction: SignalDirection
    source_brain: str
    summary: str
    payload: dict[str, Any]
    created_at: datetime
    request: RequestOut


class BrainRoomMessageIn(In):
    """A Brain Room instruction (protocol "Standard Flow Example 5"): it becomes a
    brain_room_request to the requested Brain, which then follows normal routing."""

    requested_brain: Name
    user_instruction: Text
    urgency: Priority = Priority.MEDIUM
    task_type: Name = ""
    expected_output: Text = ""
    source_context: dict[str, Any] | Text = Field(default_factory=dict)
    request_title: Title = ""
    source_page: Link = ""
    origin_brain: Name | None = None


# --- endpoints -------------------------------------------------------------------------------

REQUEST_MISSING_OR_HIDDEN = errors(400, 401, 403, 404, 409, 422)


@post(router, "/requests", response={201: RequestOut, **errors(400, 401, 403, 422)})
def create_request(request: HttpRequest, data: RequestIn):
    """Create a Brain Request with its lineage fields (protocol rule 2, rule 4)."""
    created = request_create(actor=request.auth, **data.model_dump(mode="json"))
    return Status(201, request_out(created, request.auth, task_ids=[]))


def _filter_data(given: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """The FilterSet's data from the query, and for each filter the name the caller used for it
    (an alias of API_ALIASES or the page's own name; both at once must agree)."""
    data: dict[str, str] = {}
    sent_as: dict[str, str] = {}
    for name, value in given.items():
        if value is None:
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        page_name = next((page for page, alias in API_ALIASES.items() if alias == name), name)
        if page_name in data and data[page_name] != text:
            raise DomainError(f"{name} and {sent_as[page_name]} name the same filter with different values; "
                              f"send one.", field=name)
        data[page_name], sent_as[page_name] = text, name
    return data, sent_as


@get(router, "/requests", response={200: RequestPage, **errors(401, 422)})
def list_requests(request: HttpRequest,
                  status: RequestStatus | None = Query(None, description="Also as request_status."),
                  request_status: RequestStatus | None = None,
                  origin: QueryText | None = Query(None, description="Also as origin_brain."),
                  origin_brain: QueryText | None = None,
                  destination: QueryText | None = Query(None, description="Also as destination_brain."),
                  destination_brain: QueryText | None = None,
                  request_type: RequestType | None = None, priority: Priority | None = None,
                  q: QueryText | None = Query(None, description="Words in the title or summary, or an exact "
                                                                "offer, intake or experiment id."),
                  queue: QueryText | None = Query(None, description="A HeadOffice queue (the dashboard's tiles), "
                                                                    "or open."),
                  sla: SlaState | None = Query(None, description="on_track, due_soon, breached or none."),
                  escalation_flag: bool | None = None, head_office_visible: bool | None = None,
                  created_after: date | None = None, created_before: date | None = None,
                  sort: QueryText | None = Query(None, description="updated, created, title, status, priority, "
                                                                   "origin, destination or due (SLA due time); '-' first for "
                                                                   "descending. Newest first by default."),
                  limit: int = Query(50, ge=1, le=200), offset: int = Query(0, ge=0, le=10**9)):
    """The requests the caller may see, filtered as the request list page filters them, one page
    at a time."""
    given = dict(status=status, request_status=request_status, origin=origin, origin_brain=origin_brain,
                 destination=destination, destination_brain=destination_brain, request_type=request_type,
                 priority=priority, q=q, queue=queue, sla=sla, escalation_flag=escalation_flag,
                 head_office_visible=head_office_visible, created_after=created_after,
                 created_before=created_before, sort=sort)
    data, sent_as = _filter_data(given)
    brains = [(slug, brain.name) for slug, brain in active_brains(request.auth.tenant_id).items()]
    filterset = BrainRequestFilter(data, brain_choices=brains,
                                   queryset=requests_visible_to(request.auth).order_by("-created_at", "-id"))
    if not filterset.is_valid():
        fields = {sent_as.get(name, name): " ".join(messages) for name, messages in filterset.errors.items()}
        raise DomainError("; ".join(f"{f}: {m}" for f, m in fields.items()), field=next(iter(fields)), errors=fields)
    page = filterset.qs.select_related("assignee")
    if free_text_walked(data=data):
        # As the request list: the list without its free text is walked in its order and its rows
        # asked whether they match, not every match read and sorted (selectors.free_text_slice).
        unmatched = BrainRequestFilter({k: v for k, v in data.items() if k != "q"}, brain_choices=brains,
                                       queryset=requests_visible_to(request.auth).order_by("-created_at", "-id"))
        items, count, estimated = free_text_slice(actor=request.auth, rows=page, data=data, offset=offset,
                                                  limit=limit, unmatched=unmatched.qs.select_related("assignee"))
    else:
        items = list(page[offset:offset + limit])
        count, estimated = capped_count(page)
    task_model = BrainRequest._meta.get_field("tasks").related_model
    prefetch_related_objects(items, Prefetch("tasks", queryset=task_model.objects.only("id", "request_id")
                                             .order_by("created_at")))
    return {"count": count, "count_estimated": estimated, "limit": limit, "offset": offset,
            "items": [request_out(r, request.auth) for r in items]}


class RequestExportQuery(Schema):
    """The request list's filters (as GET /requests takes them) and the format of the download."""

    format: Literal["csv", "json"] = Field("json", description="csv: a header row, then one row a request; "
                                                               "json: a list of request objects.")
    status: RequestStatus | None = Field(None, description="Also as request_status.")
    request_status: RequestStatus | None = None
    origin: QueryText | None = Field(None, description="Also as origin_brain.")
    origin_brain: QueryText | None = None
    destination: QueryText | None = Field(None, description="Also as destination_brain.")
    destination_brain: QueryText | None = None
    request_type: RequestType | None = None
    priority: Priority | None = None
    q: QueryText | None = Field(None, description="Words in the title or summary, or an exact offer, intake or "
                                                  "experiment id.")
    queue: QueryText | None = Field(None, description="A HeadOffice queue (the dashboard's tiles), or open.")
    sla: SlaState | None = Field(None, description="on_track, due_soon, breached or none.")
    escalation_flag: bool | None = None
    head_office_visible: bool | None = None
    created_after: date | None = None
    created_before: date | None = None
    sort: QueryText | None = Field(None, description="As for GET /requests; most recently changed first by default.")


EXPORT_DOC = {"responses": {200: {"description": "The whole filtered set, streamed as a download named for its "
                                                 "filter (Content-Disposition).",
                                  "content": {"text/csv": {"schema": {"type": "string"}}}}}}


@get(router, "/requests/export", response={200: list[RequestOut], **errors(401, 422)}, openapi_extra=EXPORT_DOC)
def export_requests(request: HttpRequest, filters: Query[RequestExportQuery]):
    """Every request the caller may see that the filters keep, as CSV or as a JSON list of request
    objects (the `items` of GET /requests), streamed: any number of rows in constant memory."""
    # requests_app.exports builds on this module's request_out, so it is imported when called.
    from requests_app.exports import requests_download

    given = filters.model_dump(exclude={"format"})
    data, sent_as = _filter_data(given)
    brains = [(slug, brain.name) for slug, brain in active_brains(request.auth.tenant_id).items()]
    return requests_download(actor=request.auth, data=data, brains=brains, fmt=filters.format, names=sent_as)


@post(router, "/requests/{request_id}/transition", response={200: RequestOut, **REQUEST_MISSING_OR_HIDDEN})
def transition_request(request: HttpRequest, request_id: UUID, data: TransitionIn):
    """Move a request through the protocol's status model (409 when the move is not possible
    from the current status or another change won the race; 403 when the role may not)."""
    brain_request = visible_request(request.auth, request_id)
    rule = move_for(brain_request, request.auth, data.to_status, data.move)
    moved = request_move(request=brain_request, actor=request.auth, move=rule.name, note=data.note,
                         fields=move_fields(data, rule), expected_version=data.expected_version)
    return request_out(moved, request.auth)


@post(router, "/requests/{request_id}/assign", response={200: RequestOut, **REQUEST_MISSING_OR_HIDDEN})
def assign_request(request: HttpRequest, request_id: UUID, data: AssignIn):
    """Assign a HeadOffice reviewer to the request (`user`), or nobody (`user`: null), recorded as an
    `assigned` event. Only HeadOffice assigns (403); the person must be a HeadOffice member of the
    same organisation (422); a final request, the same person again or a stale `expected_version`
    answer 409."""
    brain_request = visible_request(request.auth, request_id)
    assigned = request_assign(request=brain_request, actor=request.auth, assignee=data.user, note=data.note,
                              expected_version=data.expected_version)
    return request_out(assigned, request.auth)


class IntegrityOut(Out):
    """The lineage check of one request: `verified` when nothing is broken, else each finding."""

    request_id: UUID
    verified: bool
    findings: list[FindingOut]


@get(router, "/requests/{request_id}/integrity", response={200: IntegrityOut, **errors(401, 404, 422)})
def get_request_integrity(request: HttpRequest, request_id: UUID):
    """What the lineage check finds broken in one request (requests_app.integrity): a history without
    its created event, a status without its event, open tasks or child requests under a closed
    request, evidence that does not resolve, ping-pong between Brains, and the hash chain's findings.
    A `blocking` finding refuses closing or rejecting the request."""
    brain_request = visible_request(request.auth, request_id)
    findings = request_findings(request=brain_request)
    return {"request_id": brain_request.pk, "verified": not findings,
            "findings": [finding.as_json() for finding in findings]}


@post(router, "/signals", response={201: SignalOut, **errors(400, 401, 403, 422)})
def create_signal(request: HttpRequest, data: SignalIn):
    """Record a signal; it becomes a Brain Request citing it (connector rule 5: signals trigger
    requests, they never replace them)."""
    signal = signal_intake(actor=request.auth, **data.model_dump(mode="json"))
    return Status(201, {"signal_id": signal.pk, "signal_type": signal.signal_type, "direction": signal.direction,
                        "source_brain": signal.source_brain_id, "summary": signal.summary,
                        "payload": signal.payload, "created_at": signal.created_at,
                        "request": request_out(signal.request, request.auth, task_ids=[])})


@post(router, "/brain-room/messages", response={201: RequestOut, **errors(400, 401, 403, 422)})
def create_brain_room_message(request: HttpRequest, data: BrainRoomMessageIn):
    """Turn a Brain Room message into a brain_room_request (protocol flow example 5, rule 14)."""
    created = brain_room_message_intake(actor=request.auth, **data.model_dump(mode="json"))
    return Status(201, request_out(created, request.auth, task_ids=[]))
