"""Every write that changes a Brain Request. Each is atomic, checks the transition table, and
writes its request event in the same transaction.

Decision moves (classification, MCR decision, escalation resolution) are made by
governance_app.services, which records the decision and then commits the move through
`request_lock` and `request_commit` here, so there is one way a request's status changes.
"""

import functools
import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from governance_app.kernel import clock, limits, webhooks
from governance_app.kernel.actors import Actor
from governance_app.kernel.brains import active_brains
from governance_app.kernel.db import json_safe
from governance_app.kernel.digests import born_with_first_row, mark_fresh
from governance_app.kernel.errors import DomainError, Refusal
from governance_app.kernel.fastpath import insert_row, versioned_update
from governance_app.kernel.refusals import records_refusal, refusal_count
from governance_app.kernel.text_rules import optional_text, required_text, storable, substantive
from governance_app.kernel.transactions import atomic
from governance_app.models import Authority, Brain, CanonDocument, CanonProposal, Membership, RefusalSubject
from requests_app import canon, notifications, sla
from requests_app.evidence import evidence_items, evidence_resolve, evidence_write
from requests_app.models import (
    BrainRequest,
    McrUpdateStatus,
    OperatingLayer,
    OutcomeType,
    Priority,
    RequestEvent,
    RequestEventType,
    RequestStatus,
    RequestType,
)
from requests_app.integrity import closing_findings
from requests_app.selectors import lineage_evidence_kinds, person_label, requests_visible_to
from requests_app.transitions import HOLDS, RESUME, Move, move_check, resume_status

S = RequestStatus
CAP = limits.columns("mwms_brain_requests")


def request_event_write(**fields: Any) -> RequestEvent:
    """Append one event to a request's history (call inside the transaction that made the change):
    request_event_new's event, inserted by request_event_insert."""
    return request_event_insert(request_event_new(**fields))


def request_event_new(*, request: BrainRequest, actor: Actor, event_type: str, summary: str = "",
                      from_status: str | None = None, to_status: str | None = None, note: str = "",
                      changed_fields: dict[str, list[Any]] | None = None,
                      payload: dict[str, Any] | None = None, at: datetime | None = None,
                      event_id: uuid.UUID | None = None) -> RequestEvent:
    """A new event of a request's history, not yet inserted. `at` and `event_id` are for replaying
    a known history (the demo story); live changes omit them."""
    return RequestEvent(
        id=event_id or uuid.uuid4(),
        created_at=at or clock.now(),
        tenant_id=request.tenant_id,
        request=request,
        event_type=event_type,
        event_summary=limits.clip(summary, limits.TEXT),  # composed by the app, often quoting the input
        actor=actor.label,
        from_status=from_status,
        to_status=to_status,
        note=storable(note, field="note"),
        changed_fields={k: [json_safe(b), json_safe(a)] for k, (b, a) in (changed_fields or {}).items()},
        event_payload=payload or {},
    )


def request_event_insert(event: RequestEvent) -> RequestEvent:
    """Insert a new event of a request's history, and tell webhooks and notifications of it."""
    request = event.request
    insert_row(event)
    webhooks.request_event_written(request=request, event=event)
    notifications.request_event_written(request=request, event=event)
    return event


def request_record_admin_edit(*, request: BrainRequest, actor: Actor, changed_fields: dict[str, list[Any]],
                              note: str = "") -> BrainRequest:
    """Save a governed admin edit of a request and record who changed which fields from what to what."""
    with atomic():
        request.updated_at = clock.now()
        request.lock_version += 1
        sla_fields = []
        if "priority" in changed_fields:  # another priority, other targets (requests_app.sla)
            for name, value in sla.sla_values(request, sla.sla_policy_for(tenant_id=request.tenant_id,
                                                                          priority=request.priority)).items():
                setattr(request, name, value)
                sla_fields.append(name)
        request.save(update_fields=[*changed_fields, *sla_fields, "updated_at", "lock_version"])
        if changed_fields:
            request_event_write(
                request=request, actor=actor, event_type=RequestEventType.FIELDS_CHANGED,
                summary="Edited in the admin: " + ", ".join(sorted(changed_fields)),
                changed_fields=changed_fields, note=note, payload={"via": "admin"},
            )
    return request


# --- lookups that refuse clearly -------------------------------------------------------------

def _brain(slug: str | None, *, field: str, label: str, actor: Actor) -> Brain:
    """The active Brain called `slug` in the actor's tenant, or a refusal naming the field."""
    slug = (slug or "").strip()
    if not slug:
        raise DomainError(f"{label} is required.", field=field)
    brain = active_brains(actor.tenant_id).get(slug)
    if brain is None:
        raise DomainError(f"{label}: there is no active Brain called {slug!r}.", field=field)
    return brain


@functools.cache
def _allowed(choices) -> frozenset[str]:
    return frozenset(choices.values)  # Django builds `values` anew on every access


def _choice(value: Any, choices, *, field: str, label: str) -> str:
    if not isinstance(value, str) or value not in _allowed(choices):
        raise DomainError(f"{label} must be one of: {', '.join(choices.values)}.", field=field)
    return value


def _visible_request(request_id: Any, actor: Actor, *, field: str) -> BrainRequest:
    try:
        return requests_visible_to(actor).get(pk=request_id)
    except (BrainRequest.DoesNotExist, ValidationError):
        raise DomainError(f"{field}: no request {request_id} that you can see.", field=field,
                          kind=Refusal.INVALID) from None


# --- create ----------------------------------------------------------------------------------

def request_create(*, actor: Actor, destination_brain: str, request_type: str, request_title: str,
                   request_summary: str, origin_brain: str | None = None, required_output: str = "",
                   priority: str = Priority.MEDIUM, operating_layer: str = OperatingLayer.OPERATIONAL,
                   intake_id: str = "", offer_id: str = "", experiment_id: str = "",
                   parent_request_id: Any = None, originating_task_id: Any = None, source_origin: str = "",
                   source_page: str = "", source_system: str = "", head_office_visible: bool = True,
                   escalation_flag: bool = False, feedback_required: bool = False,
                   mcr_update_suggested: bool = False, meta_json: Mapping[str, Any] | None = None,
                   note: str = "", canon_document: str | None = None, proposed_text: str | None = None,
                   section_edits: Mapping[str, str] | None = None, reason: str | None = None,
                   evidence: Any = None) -> BrainRequest:
    """Create a structured Brain Request with its lineage (protocol rule 2, rule 4).

    An mcr_update_suggestion may carry its exact change to one canon document (`canon_document`,
    its slug): the document's full proposed text, or the new text of the sections it changes
    (`section_edits`, heading → the section's text with its heading line), stored with the request
    as its first proposal revision (CanonProposal), with its `reason`; and the records of the tenant
    it cites as its evidence (`evidence`: {kind, id} items or text lines, requests_app.evidence),
    one SuggestionEvidence row each."""
    if actor.is_executor:
        raise DomainError("Executors work tasks; they cannot create requests.", kind=Refusal.FORBIDDEN)
    origin_slug = (origin_brain or "").strip() or None
    if origin_slug is None and len(actor.brains) == 1 and not actor.is_head_office:
        origin_slug = next(iter(actor.brains))
    if origin_slug is None and actor.is_head_office:
        origin_slug = Brain.HEADOFFICE
    origin = _brain(origin_slug, field="origin_brain", label="Origin Brain", actor=actor)
    if not (actor.is_head_office or actor.belongs_to(origin.slug)):
        raise DomainError(f"You can only create requests from your own Brain, not from {origin}.",
                          kind=Refusal.FORBIDDEN, field="origin_brain")
    destination = _brain(destination_brain, field="destination_brain", label="Destination Brain", actor=actor)
    _choice(request_type, RequestType, field="request_type", label="Request type")
    _choice(priority, Priority, field="priority", label="Priority")
    _choice(operating_layer, OperatingLayer, field="operating_layer", label="Operating layer")
    title = required_text(request_title, field="request_title", label="Request title", limit=CAP["request_title"])
    summary = substantive(request_summary, field="request_summary", label="Request summary")
    text = {name: optional_text(value, field=name, limit=CAP[name]) for name, value in {
        "required_output": required_output, "intake_id": intake_id, "offer_id": offer_id,
        "experiment_id": experiment_id, "source_origin": source_origin, "source_page": source_page,
        "source_system": source_system}.items()}
    meta_json = dict(meta_json or {})
    too_large = limits.too_large(meta_json)
    if too_large:
        raise DomainError(f"meta_json: {too_large}.", field="meta_json")

    change = canon_document or proposed_text or section_edits
    if change and request_type != RequestType.MCR_UPDATE_SUGGESTION:
        raise DomainError("Only an mcr_update_suggestion proposes a change to canon (canon_document, "
                          "proposed_text, section_edits).", field="canon_document")
    if change and not (canon_document or "").strip():
        raise DomainError("Name the canon document the change is to (canon_document, its slug).",
                          field="canon_document")
    mcr_update_suggested = mcr_update_suggested or bool(change)
    cited = evidence_items(evidence)
    if cited and request_type != RequestType.MCR_UPDATE_SUGGESTION:
        raise DomainError("Only an mcr_update_suggestion cites evidence (requests, decisions, lessons).",
                          field="evidence")
    reason = optional_text(reason, field="reason", limit=limits.TEXT)
    if reason and not change:
        raise DomainError("The reason goes with a proposed change: name the canon document and its new text, "
                          "or say why in the summary.", field="reason")

    with atomic():
        resolved = evidence_resolve(actor=actor, items=cited)
        now = clock.now()
        parent = originating_task = None
        if originating_task_id:
            # Read only, through the originating_task relation: a lineage lookup, no task module imported.
            tasks = BrainRequest.originating_task.field.related_model.objects
            originating_task = tasks.select_related("request").filter(
                pk=_uuid(originating_task_id, field="originating_task_id"), tenant_id=actor.tenant_id).first()
            if originating_task is None or not (
                    actor.belongs_to(originating_task.assigned_brain_id)
                    or requests_visible_to(actor).filter(pk=originating_task.request_id).exists()):
                raise DomainError(f"originating_task_id: no task {originating_task_id} that you can see.",
                                  field="originating_task_id")
        if parent_request_id:
            parent = _visible_request(_uuid(parent_request_id, field="parent_request_id"), actor,
                                      field="parent_request_id")
            if originating_task is not None and originating_task.request_id != parent.pk:
                raise DomainError("The originating task belongs to another request than the parent named; "
                                  "a request has one lineage.", field="originating_task_id")
        elif originating_task is not None:
            parent = originating_task.request  # a request born of a task keeps its parent's lineage
        # The clocks of a new request (sla.sla_values, without building a request to ask it).
        warn_at, due_at = sla.deadlines(sla.sla_policy_for(tenant_id=actor.tenant_id, priority=priority),
                                        status=RequestStatus.NEW, priority=priority, request_type=request_type,
                                        status_entered_at=now, created_at=now)
        request = BrainRequest(
            tenant_id=actor.tenant_id,
            requesting_authority=origin.slug,
            requesting_brain=origin,
            target_brain=destination,
            operating_layer=operating_layer,
            request_type=request_type,
            request_title=title,
            request_summary=summary,
            priority=priority,
            parent_request=parent,
            originating_task=originating_task,
            **text,
            head_office_visible=head_office_visible,
            escalation_flag=escalation_flag,
            feedback_required=feedback_required,
            mcr_update_suggested=mcr_update_suggested,
            mcr_update_status=McrUpdateStatus.SUGGESTED if mcr_update_suggested else McrUpdateStatus.NONE,
            meta_json=meta_json,
            created_by=actor.label,
            created_at=now, updated_at=now, status_entered_at=now,
            sla_warn_at=warn_at, sla_due_at=due_at,
        )
        payload = {"request_type": request_type, "parent_request_id": str(parent.pk) if parent else None}
        if resolved:
            payload["evidence"] = [{"kind": kind, "id": str(record.pk)} for kind, record in resolved]
        summary = f"{origin} asked {destination}: {title}"
        if change:  # the proposal names the request, and its created event names the proposal
            insert_row(request)
            mark_fresh(request)  # new in this transaction: its chain's head (0) is the stored one
            proposal = canon_proposal_write(request=request, actor=actor, document_slug=canon_document.strip(),
                                            proposed_text=proposed_text, section_edits=section_edits,
                                            reason=reason or "")
            evidence_write(request=request, actor=actor, resolved=resolved)
            payload.update({"canon_proposal_id": str(proposal.pk), "canon_document": proposal.document.slug,
                            "sections": proposal.sections})
            request_event_write(request=request, actor=actor, event_type=RequestEventType.CREATED,
                                to_status=request.status, summary=summary, note=note, at=now, payload=payload)
            return request
        created = request_event_new(
            request=request, actor=actor, event_type=RequestEventType.CREATED, to_status=request.status,
            summary=summary, note=note, at=now, payload=payload,
        )
        born_with_first_row(request, created)  # the request is inserted naming its created event as its head
        insert_row(request)
        request_event_insert(created)
        evidence_write(request=request, actor=actor, resolved=resolved)
    return request


def canon_proposal_write(*, request: BrainRequest, actor: Actor, document_slug: str | None = None,
                         proposed_text: str | None = None, section_edits: Mapping[str, str] | None = None,
                         note: str = "", revision: int = 1, document: CanonDocument | None = None,
                         reason: str = "") -> CanonProposal:
    """One revision of the change a suggestion proposes to a canon document, checked: the document
    is the tenant's, the text is storable and differs from the document's current text. Called in
    the caller's transaction (request_create, governance_app.services.canon_proposal_amend)."""
    if document is None:
        document = CanonDocument.objects.filter(tenant_id=actor.tenant_id, slug=document_slug).first()
        if document is None:
            raise DomainError(f"No canon document {document_slug!r} in this tenant.", field="canon_document")
    if proposed_text and section_edits:
        raise DomainError("Give either the full proposed text or the sections' new text, not both.",
                          field="section_edits")
    if section_edits:
        if not isinstance(section_edits, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in section_edits.items()):
            raise DomainError("section_edits: an object of heading → the section's new text.", field="section_edits")
        for name, value in section_edits.items():
            storable(value, field="section_edits", limit=limits.DOCUMENT)
        proposed_text = canon.sections_replaced(document.body, dict(section_edits))
    if proposed_text is None or not proposed_text.strip():
        raise DomainError("The proposed text is required: the document's full text as it should read.",
                          field="proposed_text")
    proposed_text = storable(proposed_text, field="proposed_text", limit=limits.DOCUMENT)
    if proposed_text == document.body:
        raise DomainError(f"The proposed text is the same as {document.title} {document.version}: it proposes "
                          f"no change.", field="proposed_text")
    return CanonProposal.objects.create(
        tenant_id=actor.tenant_id, request=request, document=document, revision=revision,
        base_version=document.version, proposed_text=proposed_text,
        sections=canon.changed_sections(document.body, proposed_text),
        note=optional_text(note, field="note", limit=limits.TEXT),
        reason=optional_text(reason, field="reason", limit=limits.TEXT), proposed_by=actor.label)


def _uuid(value: Any, *, field: str) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise DomainError(f"{field} must be a request or task id (a UUID), not {value!r}.", field=field) from None


# --- the move machinery ----------------------------------------------------------------------

def request_lock(*, request: BrainRequest | Any, actor: Actor, move: str,
                 expected_version: int | None = None) -> tuple[BrainRequest, Move]:
    """Lock the request row (inside a transaction) and check that this actor may make this move now."""
    pk = request.pk if isinstance(request, BrainRequest) else request
    locked = BrainRequest.objects.select_for_update().filter(pk=pk, tenant_id=actor.tenant_id).first()
    if locked is None:
        raise DomainError("No such request.", kind=Refusal.NOT_FOUND)
    mark_fresh(locked)  # read under its row lock: the chain's head in memory is the stored one
    if expected_version is not None and locked.lock_version != expected_version:
        raise DomainError("Someone else changed this request while you were looking at it. "
                          "Reload it to see the change, then try again.", kind=Refusal.CONFLICT)
    return locked, move_check(locked, move, actor)


def request_commit(*, request: BrainRequest, actor: Actor, to_status: str, changes: Mapping[str, Any],
                   summary: str, note: str = "", payload: Mapping[str, Any] | None = None,
                   event_type: str = RequestEventType.STATUS_CHANGED) -> BrainRequest:
    """Write a checked move: the row (only if nobody else changed it meanwhile) and its event."""
    from_status = request.status
    now = clock.now()
    values = {**changes, "status": to_status, "updated_at": now}
    if to_status in (S.CLOSED, S.REJECTED):
        values["closed_at"] = now
    # The SLA clocks: a new status starts its clock at this move's event (requests_app.sla).
    entered = now if to_status != from_status else request.status_entered_at
    values.update(status_entered_at=entered, **sla.sla_values(
        BrainRequest(status=to_status, priority=request.priority, request_type=request.request_type,
                     created_at=request.created_at, status_entered_at=entered),
        sla.sla_policy_for(tenant_id=request.tenant_id, priority=request.priority)))
    before = {field: getattr(request, field) for field in values}
    # The lock_version condition makes a lost race visible on every database (SQLite has no row locks).
    if not versioned_update(request, values):
        raise DomainError("Someone else changed this request at the same moment. Reload and try again.",
                          kind=Refusal.CONFLICT)
    for field, value in values.items():
        setattr(request, field, value)
    request.lock_version += 1
    changed = {f: [_field_value(before[f]), _field_value(v)] for f, v in values.items()
               if f != "updated_at" and f not in sla.SLA_FIELDS and before[f] != v}
    request_event_write(request=request, actor=actor, event_type=event_type, summary=summary,
                        from_status=from_status, to_status=to_status, note=note, changed_fields=changed,
                        payload=dict(payload or {}), at=now)
    return request


def _field_value(value: Any) -> Any:
    return value.slug if isinstance(value, Brain) else value


def request_refusal_record(*, request: BrainRequest, actor: Actor, move: str, error: DomainError) -> None:
    """A token tried a move it may not make: the attempt stays visible as a rule_violation event,
    one per token, request and move in each refusal window; the refusals after it are counted."""
    if actor.token_role is None or error.kind != Refusal.FORBIDDEN or not isinstance(request, BrainRequest):
        return
    with transaction.atomic():
        event_id = refusal_count(tenant_id=request.tenant_id, actor=actor, subject_kind=RefusalSubject.REQUEST,
                                 subject_id=request.pk, rule=move)
        if event_id is not None:
            request_event_write(request=request, actor=actor, event_type=RequestEventType.RULE_VIOLATION,
                                summary=f"Refused {move}: {error.message}", event_id=event_id,
                                payload={"move": move, "window_minutes": settings.MWMS_REFUSAL_WINDOW_MINUTES})


# --- the moves ---------------------------------------------------------------------------------

@records_refusal(request_refusal_record, subject="request")
def request_move(*, request: BrainRequest, actor: Actor, move: str, fields: Mapping[str, Any] | None = None,
                 note: str = "", expected_version: int | None = None) -> BrainRequest:
    """Make one move of the transition table that needs no decision record (route, accept, close, …)."""
    fields = dict(fields or {})
    with atomic():
        locked, rule = request_lock(request=request, actor=actor, move=move, expected_version=expected_version)
        if rule.decision:
            raise DomainError(f"{rule.label} is recorded as a decision; use its own form.",
                              kind=Refusal.CONFLICT)
        note = (note or fields.pop("note", "") or "").strip()
        if "note" in rule.required:
            note = substantive(note, field="note", label=f"{rule.label} needs a note that says why; it")
        to_status, changes, payload = _MOVE_RULES.get(rule.name, _no_fields)(locked, actor, rule, fields)
        if to_status == RESUME:
            to_status = resume_status(locked)
            changes["held_from_status"] = None
        elif rule.to_status in HOLDS:
            changes["held_from_status"] = held_from(locked)
        summary = f"{rule.label}: {locked.get_status_display()} → {S(to_status).label}"
        return request_commit(request=locked, actor=actor, to_status=to_status, changes=changes,
                              summary=summary, note=note, payload={"move": rule.name, **payload})


def held_from(request: BrainRequest) -> str:
    """The working status a new hold should return to. A hold placed on a hold (blocked, then
    escalated) keeps the status the first hold interrupted, so lifting it returns the work there."""
    if request.status in HOLDS and request.held_from_status:
        return request.held_from_status
    return request.status


def _no_fields(request: BrainRequest, actor: Actor, rule: Move, fields: dict) -> tuple[str, dict, dict]:
    return rule.to_status, {}, {}


def _route(request: BrainRequest, actor: Actor, rule: Move, fields: dict) -> tuple[str, dict, dict]:
    changes = route_changes(request=request, actor=actor, fields=fields, check_accepts=True)
    return S.ROUTED, changes, {}


def route_changes(*, request: BrainRequest, actor: Actor, fields: Mapping[str, Any],
                  check_accepts: bool) -> dict[str, Any]:
    """Routing's rules (connector layer 3): a destination that accepts the type, a review owner,
    and one primary Brain when several Brains work the request (connector rule 2)."""
    destination = _brain(fields.get("destination_brain") or request.target_brain_id, field="destination_brain",
                         label="Destination Brain", actor=actor)
    if check_accepts and request.request_type not in destination.accepted_request_types:
        raise DomainError(
            f"{destination} does not accept {RequestType(request.request_type).label.lower()}s; it accepts: "
            f"{', '.join(destination.accepted_request_types) or 'nothing yet'}.", field="destination_brain")
    review_owner = _brain(fields.get("review_owner"), field="review_owner", label="Review owner", actor=actor)
    supporting = fields.get("supporting_brains") or []
    if isinstance(supporting, str):
        supporting = [s for s in re.split(r"[\s,]+", supporting) if s]
    supporting_slugs = []
    for slug in supporting:
        brain = _brain(slug, field="supporting_brains", label="Supporting Brain", actor=actor)
        if brain.slug not in supporting_slugs:
            supporting_slugs.append(brain.slug)
    primary = None
    if fields.get("primary_brain"):
        primary = _brain(fields["primary_brain"], field="primary_brain", label="Primary Brain", actor=actor)
    if supporting_slugs and primary is None:
        raise DomainError("Several Brains work this request: name the primary Brain (connector rule 2).",
                          field="primary_brain")
    if primary is not None and primary.slug in supporting_slugs:
        raise DomainError(f"{primary} cannot be both primary and supporting.", field="supporting_brains")
    return {
        "target_brain": destination,
        "review_owner": review_owner,
        "primary_brain": primary,
        "supporting_brains": supporting_slugs,
        "routing_notes": optional_text(fields.get("routing_notes"), field="routing_notes"),
    }


def _respond(request: BrainRequest, actor: Actor, rule: Move, fields: dict) -> tuple[str, dict, dict]:
    return S.RESPONDED, {
        "response_summary": substantive(fields.get("response_summary"), field="response_summary",
                                        label="Response summary"),
        "outcome_type": _choice(fields.get("outcome_type"), OutcomeType, field="outcome_type", label="Outcome type"),
    }, {}


def _resubmit(request: BrainRequest, actor: Actor, rule: Move, fields: dict) -> tuple[str, dict, dict]:
    changes = {}
    if fields.get("request_summary"):
        changes["request_summary"] = substantive(fields["request_summary"], field="request_summary",
                                                 label="Request summary")
    if fields.get("required_output"):
        changes["required_output"] = optional_text(fields["required_output"], field="required_output")
    return S.UNDER_REVIEW, changes, {}


def _escalate(request: BrainRequest, actor: Actor, rule: Move, fields: dict) -> tuple[str, dict, dict]:
    return S.ESCALATED, escalation_changes(actor=actor, fields=fields), {}


def escalation_changes(*, actor: Actor, fields: Mapping[str, Any]) -> dict[str, Any]:
    """An escalation names its reason and an owner with authority (connector "escalation owners")."""
    reason = substantive(fields.get("escalation_reason"), field="escalation_reason", label="Escalation reason")
    owner = _brain(fields.get("escalation_owner"), field="escalation_owner", label="Escalation owner", actor=actor)
    if owner.authority == Authority.OPERATIONAL:
        raise DomainError(f"{owner} is not an escalation authority; choose HeadOffice, Finance or SIT.",
                          field="escalation_owner")
    return {"escalation_reason": reason, "escalation_owner": owner, "escalation_flag": True}


def _final(request: BrainRequest, actor: Actor, rule: Move, fields: dict) -> tuple[str, dict, dict]:
    changes = outcome_changes(request=request, fields=fields, label=rule.label)
    return rule.to_status, changes, {}


def outcome_changes(*, request: BrainRequest, fields: Mapping[str, Any], label: str) -> dict[str, Any]:
    """The complete outcome a final state needs (protocol rule 7), checked and normalised."""
    closing_guard(request=request, label=label)
    errors: dict[str, str] = {}

    def take(key: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DomainError as error:
            errors[key] = error.message
            return None

    outcome_type = take("outcome_type", _choice, fields.get("outcome_type"), OutcomeType, field="outcome_type",
                        label="Outcome type")
    result = take("result_summary", substantive, fields.get("result_summary"), field="result_summary",
                  label="What was completed or found")
    decision = take("outcome_decision", substantive, fields.get("outcome_decision"), field="outcome_decision",
                    label="The decision made")
    evidence = take("outcome_evidence", evidence_normalise, request=request, items=fields.get("outcome_evidence"))
    next_step = take("next_step", substantive, fields.get("next_step"), field="next_step", label="The next step")
    owner = take("next_step_owner", required_text, fields.get("next_step_owner"), field="next_step_owner",
                 label="Who owns the next step", limit=CAP["next_step_owner"])
    closure_reason = take("closure_reason", optional_text, fields.get("closure_reason"), field="closure_reason")
    review = fields.get("head_office_review_required")
    if isinstance(review, str):
        review = {"true": True, "yes": True, "1": True, "on": True, "false": False, "no": False, "0": False}.get(
            review.strip().lower())
    if not isinstance(review, bool):
        errors["head_office_review_required"] = "Say whether HeadOffice review is required (yes or no)."
    if errors:
        missing = "; ".join(errors.values())
        raise DomainError(f"{label} needs a complete outcome: {missing}", field=next(iter(errors)), errors=errors)
    return {
        "outcome_type": outcome_type, "result_summary": result, "outcome_decision": decision,
        "outcome_evidence": evidence, "next_step": next_step, "next_step_owner": owner,
        "head_office_review_required": review,
        "closure_reason": closure_reason,
    }


def closing_guard(*, request: BrainRequest, label: str) -> None:
    """Closing or rejecting is refused while the lineage has a blocking problem: an open task, an
    open child request, a broken record (issue 13). Every way a request becomes final (the close and
    reject moves, an escalation resolved by closing, a classification or MCR decision that closes)
    passes here, through outcome_changes; the refusal names each problem."""
    problems = closing_findings(request=request)
    if problems:
        listed = "; ".join(f"{n}. {finding.message}" for n, finding in enumerate(problems, 1))
        raise DomainError(f"{label} is not possible while the lineage has {len(problems)} problem(s): {listed}.",
                          kind=Refusal.CONFLICT, findings=problems)


URL = re.compile(r"^https?://[^\s/]+\S*$")
# A document id with its named system, the two ways people write it: `Confluence:DOC-123` (system,
# colon, id without spaces) or `DOC-123 in Confluence` (an id holding a digit, "in", the system).
SYSTEM_REF = re.compile(r"^(?!https?:)(?P<system>[A-Za-z][\w.-]{0,39}(?: [\w.-]{1,40}){0,2}):\s?(?P<id>[\w./#-]+)$")
REF_IN_SYSTEM = re.compile(r"^(?P<id>[\w./#-]*\d[\w./#-]*) in (?P<system>[A-Z][\w.-]{0,39}(?: [\w.-]{1,40}){0,2})$")
EXTERNAL_FORMS = "a link (https://…), or a document id with its system (Confluence:DOC-123, or DOC-123 in Confluence)"


def external_reference(text: str) -> bool:
    """Whether external evidence is a reference a reader can follow, not a sentence."""
    return bool(URL.match(text) or SYSTEM_REF.match(text) or REF_IN_SYSTEM.match(text))


def evidence_normalise(*, request: BrainRequest, items: Any) -> list[dict[str, str]]:
    """Evidence is ids of this lineage's artifacts, events or decisions, or an external reference a
    reader can follow (a link, or a document id with its system); a sentence is not evidence."""
    if isinstance(items, str):
        items = [part.strip() for part in items.splitlines() if part.strip()]
    if not items:
        raise DomainError(f"Name the evidence: ids of this request's artifacts, events or decisions, "
                          f"or {EXTERNAL_FORMS}.", field="outcome_evidence")
    if not isinstance(items, list):
        raise DomainError("Evidence must be a list.", field="outcome_evidence")
    parsed: list[uuid.UUID | str] = []
    for item in items:
        raw = str((item.get("id") or item.get("text") or "") if isinstance(item, dict) else item).strip()
        try:
            parsed.append(uuid.UUID(raw))
        except ValueError:
            parsed.append(raw)
    refs = [p for p in parsed if isinstance(p, uuid.UUID)]
    kinds = lineage_evidence_kinds(request=request, refs=refs) if refs else {}
    unresolved = [str(item) for item in refs if item not in kinds]
    if unresolved:
        raise DomainError(f"Evidence {', '.join(unresolved)}: not an artifact, event or decision of this "
                          f"request's lineage.", field="outcome_evidence")
    normalised = []
    for item in parsed:
        if isinstance(item, uuid.UUID):
            normalised.append({"kind": kinds[item], "id": str(item)})
        elif external_reference(item):
            normalised.append({"kind": "external", "text": item})
        else:
            raise DomainError(f"External evidence must be a reference a reader can follow: {EXTERNAL_FORMS}; "
                              f"“{limits.clip(item, 80)}” is not one.", field="outcome_evidence")
    too_large = limits.too_large(normalised, limits.JSON_COLUMNS["mwms_brain_requests"]["outcome_evidence"])
    if too_large:
        raise DomainError(f"outcome_evidence: {too_large}.", field="outcome_evidence")
    return normalised


_MOVE_RULES = {
    "route": _route,
    "respond": _respond,
    "resubmit": _resubmit,
    "escalate": _escalate,
    "close": _final,
    "reject": _final,
}


# Named services for the moves people make most; each is request_move with the move filled in.

def request_submit(*, request: BrainRequest, actor: Actor, note: str = "") -> BrainRequest:
    """Send a new request to review."""
    return request_move(request=request, actor=actor, move="submit_for_review", note=note)


def request_route(*, request: BrainRequest, actor: Actor, review_owner: str, destination_brain: str | None = None,
                  routing_notes: str = "", primary_brain: str | None = None,
                  supporting_brains: list[str] | None = None, note: str = "",
                  expected_version: int | None = None) -> BrainRequest:
    """Route a reviewed request to the Brain that owns the next action."""
    return request_move(request=request, actor=actor, move="route", note=note, expected_version=expected_version,
                        fields={"review_owner": review_owner, "destination_brain": destination_brain,
                                "routing_notes": routing_notes, "primary_brain": primary_brain,
                                "supporting_brains": supporting_brains or []})


def request_accept(*, request: BrainRequest, actor: Actor, note: str = "") -> BrainRequest:
    """The destination Brain takes the routed request on."""
    return request_move(request=request, actor=actor, move="accept", note=note)


def request_respond(*, request: BrainRequest, actor: Actor, response_summary: str, outcome_type: str,
                    note: str = "") -> BrainRequest:
    """The destination Brain returns its result to the origin."""
    return request_move(request=request, actor=actor, move="respond", note=note,
                        fields={"response_summary": response_summary, "outcome_type": outcome_type})


def request_escalate(*, request: BrainRequest, actor: Actor, escalation_reason: str, escalation_owner: str,
                     note: str = "") -> BrainRequest:
    """Raise the request to an escalation owner, on the same lineage."""
    return request_move(request=request, actor=actor, move="escalate", note=note,
                        fields={"escalation_reason": escalation_reason, "escalation_owner": escalation_owner})


def request_close(*, request: BrainRequest, actor: Actor, note: str = "", **outcome: Any) -> BrainRequest:
    """Close with a complete outcome (protocol rule 7)."""
    return request_move(request=request, actor=actor, move="close", note=note, fields=outcome)


def request_reject(*, request: BrainRequest, actor: Actor, note: str = "", **outcome: Any) -> BrainRequest:
    """Reject with a complete outcome that says why."""
    return request_move(request=request, actor=actor, move="reject", note=note, fields=outcome)


def request_note_add(*, request: BrainRequest, actor: Actor, note: str) -> RequestEvent:
    """A human note on the request's history; it changes nothing else."""
    text = required_text(note, field="note", label="Note")
    with atomic():
        # Locked, as a move's request is: the note is the next link of the request's chain.
        locked = requests_visible_to(actor).select_for_update().filter(pk=request.pk).first()
        if locked is None:
            raise DomainError("No such request.", kind=Refusal.NOT_FOUND)
        return request_event_write(request=mark_fresh(locked), actor=actor, event_type=RequestEventType.NOTE,
                                   summary="Note", note=text)



# --- personal assignment (issue 14) -------------------------------------------------------------

def assignee_find(*, actor: Actor, assignee: Any) -> Any:
    """The HeadOffice member of the actor's tenant that `assignee` names (a user, their id or their
    username), or a refusal naming the field. A person of another tenant is "no such person": the
    answer tells nothing of another organisation's people."""
    key = getattr(assignee, "pk", assignee)
    lookup = {"user_id": key} if isinstance(key, int) or str(key).isdigit() else {"user__username": str(key).strip()}
    memberships = Membership.objects.filter(tenant_id=actor.tenant_id, **lookup).select_related("user")
    found = list(memberships)
    if not found:
        raise DomainError(f"Assignee: there is no person called {limits.clip(str(key), 80)!r} in this organisation.",
                          field="assignee")
    user = found[0].user
    if not any(m.brain_id == Brain.HEADOFFICE for m in found):
        raise DomainError(f"Assignee: {person_label(user)} is not a HeadOffice member; only HeadOffice reviewers "
                          f"are assigned requests.", field="assignee")
    if not user.is_active:
        raise DomainError(f"Assignee: {person_label(user)}'s account is switched off.", field="assignee")
    return user


def request_assign(*, request: BrainRequest | Any, actor: Actor, assignee: Any, note: str = "",
                   expected_version: int | None = None) -> BrainRequest:
    """Assign a HeadOffice reviewer to a request (None: nobody), recorded as an `assigned` event."""
    if not actor.is_head_office or actor.is_executor or actor.is_integration:
        raise DomainError("Only HeadOffice assigns requests to a reviewer.", kind=Refusal.FORBIDDEN)
    person = None if assignee in (None, "") else assignee_find(actor=actor, assignee=assignee)
    note = optional_text(note, field="note")
    with atomic():
        pk = request.pk if isinstance(request, BrainRequest) else request
        # Only the request's row is locked (the person joined beside it may be none).
        locked = (BrainRequest.objects.select_for_update(of=("self",)).select_related("assignee")
                  .filter(pk=pk, tenant_id=actor.tenant_id).first())
        if locked is None:
            raise DomainError("No such request.", kind=Refusal.NOT_FOUND)
        mark_fresh(locked)
        if expected_version is not None and locked.lock_version != expected_version:
            raise DomainError("Someone else changed this request while you were looking at it. "
                              "Reload it to see the change, then try again.", kind=Refusal.CONFLICT)
        if locked.is_final:
            raise DomainError(f"This request is {locked.get_status_display().lower()}; it is final and cannot "
                              f"change.", kind=Refusal.CONFLICT)
        before = locked.assignee
        if (before.pk if before else None) == (person.pk if person else None):
            raise DomainError(f"It is already assigned to {person_label(person)}." if person
                              else "It is assigned to nobody already.", kind=Refusal.CONFLICT)
        now = clock.now()
        if not versioned_update(locked, {"assignee": person, "updated_at": now}):
            raise DomainError("Someone else changed this request at the same moment. Reload and try again.",
                              kind=Refusal.CONFLICT)
        locked.assignee, locked.updated_at = person, now
        locked.lock_version += 1
        summary = (f"Assigned to {person_label(person)}" if person else f"Unassigned from {person_label(before)}")
        request_event_write(
            request=locked, actor=actor, event_type=RequestEventType.ASSIGNED, summary=summary, note=note,
            changed_fields={"assignee": [before.get_username() if before else None,
                                         person.get_username() if person else None]},
            payload={"assignee_id": person.pk if person else None, "previous_assignee_id": before.pk if before else None},
        )
    return locked
