"""Governance writes: decisions, escalation resolution, feedback classification (protocol rule 13),
the MCR gate, canon amendments and lessons. Each records its decision on the request's lineage and
moves the request through requests_app's lock/commit, in one transaction."""

import re
import uuid
from collections.abc import Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from governance_app.kernel import claims, clock, limits
from governance_app.kernel.actors import Actor
from governance_app.kernel.brains import active_brains
from governance_app.kernel.digests import mark_fresh
from governance_app.kernel.errors import DomainError, Refusal
from governance_app.kernel.refusals import records_refusal
from governance_app.kernel.tenancy import member_add, tenant_exists
from governance_app.kernel.text_rules import optional_text, required_text, substantive
from governance_app.kernel.transactions import atomic
from governance_app.models import (
    AmendmentType,
    ApiToken,
    Brain,
    CanonAmendment,
    CanonDocument,
    CanonProposal,
    Classification,
    DecisionKind,
    DecisionRecord,
    EvidenceKind,
    LessonLearned,
    McrDecision,
    MembershipRole,
    SubscriptionTier,
    Tenant,
)
from governance_app import lesson_groups
from governance_app.selectors import lessons_visible_to
from governance_app.registry import BRAINS
from requests_app.models import (
    FINAL_STATUSES,
    BrainRequest,
    McrUpdateStatus,
    OperatingLayer,
    OutcomeType,
    RequestEventType,
    RequestStatus,
    RequestType,
)
from requests_app import canon
from requests_app.evidence import evidence_of, evidence_record
from requests_app.selectors import request_get, requests_visible_to
from requests_app.services import (
    canon_proposal_write,
    held_from,
    outcome_changes,
    request_commit,
    request_event_write,
    request_lock,
    request_refusal_record,
    request_create,
    route_changes,
)
from requests_app.transitions import resume_status

S = RequestStatus
C = Classification


def decision_authority(*, actor: Actor) -> Brain:
    """The Brain in whose authority this actor decides: HeadOffice, or a Brain allowed to decide."""
    if actor.is_executor or actor.is_integration:
        raise DomainError("Executors and integrations cannot record decisions.", kind=Refusal.FORBIDDEN)
    registry = active_brains(actor.tenant_id)
    if actor.is_head_office and Brain.HEADOFFICE in registry:
        return registry[Brain.HEADOFFICE]  # the actor's own tenant's HeadOffice
    brain = next((registry[slug] for slug in sorted(actor.brains)
                  if slug in registry and registry[slug].may_record_decisions), None)
    if brain is None:
        raise DomainError("Only HeadOffice or a Brain whose registry entry allows it may record decisions.",
                          kind=Refusal.FORBIDDEN)
    return brain


def _decision_create(*, actor: Actor, authority: Brain, request: BrainRequest | None, decision_summary: str,
                     reasoning: str, kind: str = DecisionKind.DECISION, task: Any = None,
                     evidence_used: str | None = None, expected_outcome: str | None = None,
                     affected_brains: list[str] | None = None, classification: str | None = None,
                     mcr_decision: str | None = None, supersedes: DecisionRecord | None = None) -> DecisionRecord:
    summary = substantive(decision_summary, field="decision_summary", label="The decision")
    why = substantive(reasoning, field="reasoning", label="The reasoning")
    if affected_brains is None:
        affected_brains = sorted({b for b in (request.requesting_brain_id, request.target_brain_id) if b}) \
            if request is not None else []
    else:  # named by the decider: each must be a Brain of the registry
        affected_brains = list(dict.fromkeys(affected_brains))
        known = active_brains(actor.tenant_id)
        unknown = [str(b) for b in affected_brains if not isinstance(b, str) or b not in known]
        if unknown:
            raise DomainError(f"Affected Brains must be active Brains of the registry; unknown: {', '.join(unknown)} "
                              f"(choose from {', '.join(sorted(known))}).", field="affected_brains")
    decision = DecisionRecord.objects.create(
        tenant_id=actor.tenant_id, authority=authority, related_request=request, related_task=task,
        affected_brains=affected_brains, decision_summary=summary, reasoning=why,
        evidence_used=optional_text(evidence_used, field="evidence_used") or None,
        expected_outcome=optional_text(expected_outcome, field="expected_outcome") or None, decision_kind=kind,
        classification=classification, mcr_decision=mcr_decision, supersedes=supersedes, recorded_by=actor.label,
    )
    if request is not None:
        request_event_write(request=request, actor=actor, event_type=RequestEventType.DECISION_RECORDED,
                            summary=f"{authority} decided: {summary}",
                            payload={"decision_id": str(decision.pk), "decision_kind": kind})
    return decision


def decisions_open_check(request: BrainRequest) -> None:
    """A closed or rejected request takes no more decisions, correcting ones included: its outcome
    was decided on the record as it stood (protocol rule 7). What was learned goes into a lesson,
    and new work into a new request."""
    if request.status in FINAL_STATUSES:
        raise DomainError(f"This request is {request.get_status_display().lower()}: a closed or rejected request "
                          f"takes no more decisions, and its decisions are not superseded. Record a lesson, or "
                          f"open a new request.", kind=Refusal.CONFLICT)


def supersede_check(*, decision: DecisionRecord, authority: Brain) -> None:
    """A decision is superseded only in its own authority, or by HeadOffice."""
    allowed = list(dict.fromkeys((decision.authority_id, Brain.HEADOFFICE)))
    if authority.slug not in allowed:
        raise DomainError(f"A decision of {decision.authority_id} is superseded only by {' or '.join(allowed)}, "
                          f"not by {authority.slug}.", field="supersedes_id", kind=Refusal.FORBIDDEN)


def decision_record(*, actor: Actor, request: BrainRequest, decision_summary: str, reasoning: str,
                    evidence_used: str | None = None, expected_outcome: str | None = None,
                    affected_brains: list[str] | None = None, task_id: Any = None,
                    supersedes_id: Any = None) -> DecisionRecord:
    """Record a decision on an open request's lineage; a correction supersedes an earlier decision
    of the same authority (or HeadOffice corrects any)."""
    authority = decision_authority(actor=actor)
    with atomic():
        # Locked, so that a close cannot slip in between the check and the decision.
        visible = requests_visible_to(actor).select_for_update().filter(pk=request.pk).first()
        if visible is None:
            raise DomainError("No such request.", kind=Refusal.NOT_FOUND)
        mark_fresh(visible)
        decisions_open_check(visible)
        task = None
        if task_id:
            task = visible.tasks.filter(pk=task_id).first()
            if task is None:
                raise DomainError("That task is not part of this request.", field="task_id")
        supersedes = None
        if supersedes_id:
            supersedes = DecisionRecord.objects.filter(pk=supersedes_id, related_request=visible).first()
            if supersedes is None:
                raise DomainError("The decision to supersede must belong to this request.", field="supersedes_id")
            supersede_check(decision=supersedes, authority=authority)
        return _decision_create(actor=actor, authority=authority, request=visible, task=task,
                                decision_summary=decision_summary, reasoning=reasoning,
                                evidence_used=evidence_used, expected_outcome=expected_outcome,
                                affected_brains=affected_brains, supersedes=supersedes)


# --- escalation review (connector "standard escalation chain") -----------------------------------

RESOLUTIONS = ("continue", "close", "block")


@records_refusal(request_refusal_record, subject="request", move="resolve_escalation")
def escalation_resolve(*, request: BrainRequest, actor: Actor, resolution: str, decision_summary: str,
                       reasoning: str, outcome: Mapping[str, Any] | None = None, note: str = "",
                       expected_version: int | None = None) -> BrainRequest:
    """Resolve an escalation by a recorded decision on the same lineage; the request then continues
    where it was, closes with a complete outcome, or is blocked."""
    if resolution not in RESOLUTIONS:
        raise DomainError(f"Resolution must be one of: {', '.join(RESOLUTIONS)}.", field="resolution")
    with atomic():
        locked, rule = request_lock(request=request, actor=actor, move="resolve_escalation",
                                    expected_version=expected_version)
        authority = decision_authority(actor=actor) if actor.is_head_office else locked.escalation_owner
        if not authority.may_record_decisions:
            raise DomainError(f"{authority} may not record decisions.", kind=Refusal.FORBIDDEN)
        changes: dict[str, Any] = {"held_from_status": None}
        if resolution == "close":
            changes.update(outcome_changes(request=locked, fields=dict(outcome or {}), label="Closing"))
        decision = _decision_create(actor=actor, authority=authority, request=locked,
                                    kind=DecisionKind.ESCALATION_RESOLUTION, decision_summary=decision_summary,
                                    reasoning=reasoning)
        if resolution == "close":
            changes["outcome_evidence"] = [*changes["outcome_evidence"], {"kind": "decision", "id": str(decision.pk)}]
            to_status = S.CLOSED
        elif resolution == "block":
            to_status = S.BLOCKED
            changes["held_from_status"] = held_from(locked)
        else:
            to_status = resume_status(locked)
        return request_commit(request=locked, actor=actor, to_status=to_status, changes=changes,
                              summary=f"Escalation resolved ({resolution}) by {authority}", note=note.strip(),
                              payload={"move": rule.name, "decision_id": str(decision.pk), "resolution": resolution})


# --- feedback classification (protocol rule 13) and the MCR gate -------------------------------

# Where each classification sends the request. Work classifications route it to the Brain that
# does the work (the default below, or `route_to`).
CLASSIFICATION_STATUS = {
    C.APPROVE: S.ROUTED,
    C.REJECT: S.REJECTED,
    C.PARK: S.PARKED,
    C.INVESTIGATE: S.AWAITING_EVIDENCE,
    C.ROUTE_TO_ANOTHER_BRAIN: S.ROUTED,
    C.UPDATE_BRAIN_WORKING_COPY: S.ROUTED,
    C.UPDATE_PLUGIN_UI_SPEC: S.ROUTED,
    C.UPDATE_SUPABASE_SCHEMA: S.ROUTED,
    C.PROPOSE_MCR_UPDATE: S.AWAITING_MCR_DECISION,
    C.NO_ACTION_REQUIRED: S.CLOSED,
}
DEFAULT_ROUTE = {C.UPDATE_PLUGIN_UI_SPEC: "aibs", C.UPDATE_SUPABASE_SCHEMA: "aibs"}


@records_refusal(request_refusal_record, subject="request", move="classify")
def feedback_classify(*, request: BrainRequest, actor: Actor, classification: str, note: str,
                      route_to: str | None = None, expected_version: int | None = None) -> DecisionRecord:
    """HeadOffice classifies a feedback request: a decision record, and the move it implies."""
    if classification not in C.values:
        raise DomainError(f"Classification must be one of: {', '.join(C.values)}.", field="classification")
    reasoning = substantive(note, field="note", label="The classification's reasoning")
    with atomic():
        locked, rule = request_lock(request=request, actor=actor, move="classify", expected_version=expected_version)
        if not locked.is_feedback:
            raise DomainError("Only feedback requests are classified (HeadOffice review requests, MCR update "
                              "suggestions, or requests flagged for feedback).", kind=Refusal.CONFLICT)
        authority = decision_authority(actor=actor)
        label = C(classification).label
        to_status = CLASSIFICATION_STATUS[classification]
        changes: dict[str, Any] = {"feedback_classification": classification}
        if to_status == S.ROUTED:
            destination = route_to or DEFAULT_ROUTE.get(classification) or locked.requesting_brain_id
            if classification == C.ROUTE_TO_ANOTHER_BRAIN and not route_to:
                raise DomainError("Name the Brain to route this to.", field="route_to")
            changes.update(route_changes(request=locked, actor=actor, check_accepts=False, fields={
                "destination_brain": destination, "review_owner": Brain.HEADOFFICE,
                "routing_notes": limits.clip(f"{label}: {reasoning}", limits.TEXT)}))
        elif to_status in (S.PARKED, S.AWAITING_EVIDENCE):
            changes["held_from_status"] = locked.status
        elif to_status == S.AWAITING_MCR_DECISION:
            changes.update({"mcr_update_suggested": True, "mcr_update_status": McrUpdateStatus.PROPOSED})
        decision = _decision_create(actor=actor, authority=authority, request=locked,
                                    kind=DecisionKind.FEEDBACK_CLASSIFICATION, classification=classification,
                                    decision_summary=f"Feedback classified: {label}", reasoning=reasoning)
        if to_status in (S.CLOSED, S.REJECTED):
            changes.update(_decided_outcome(
                request=locked, decision=decision,
                outcome_type=OutcomeType.CLOSED_WITHOUT_ACTION if to_status == S.CLOSED else OutcomeType.REJECTED,
                result=limits.clip(f"HeadOffice classified this feedback as “{label}”: {reasoning}", limits.TEXT),
                next_step="No further action on this feedback; the origin Brain may submit new evidence "
                          "in a new request.",
            ))
        request_commit(request=locked, actor=actor, to_status=to_status, changes=changes,
                       summary=f"Classified as {label}", note=reasoning,
                       payload={"move": rule.name, "decision_id": str(decision.pk), "classification": classification})
        return decision


def _decided_outcome(*, request: BrainRequest, decision: DecisionRecord, outcome_type: str, result: str,
                     next_step: str) -> dict[str, Any]:
    """The complete outcome of a request that a HeadOffice decision closes (protocol rule 7)."""
    return outcome_changes(request=request, label="Closing", fields={
        "outcome_type": outcome_type, "result_summary": result, "outcome_decision": decision.decision_summary,
        "outcome_evidence": [str(decision.pk)], "next_step": next_step,
        "next_step_owner": request.requesting_brain_id or Brain.HEADOFFICE, "head_office_review_required": False,
    })


MCR_STATUS = {McrDecision.APPROVED: S.CLOSED, McrDecision.REJECTED: S.REJECTED, McrDecision.PARKED: S.PARKED}


@records_refusal(request_refusal_record, subject="request", move="mcr_decide")
def mcr_decide(*, request: BrainRequest, actor: Actor, decision: str, reasoning: str,
               canon_document_id: Any = None, amended_body: str = "", new_version: str = "",
               amendment_type: str = AmendmentType.MANUAL_UPDATE, can_rollback: bool = True,
               expected_version: int | None = None) -> DecisionRecord:
    """The MCR gate: only a HeadOffice decision on a request awaiting it sets mcr_update_status.

    An approval applies exactly the suggestion's proposed change (its newest CanonProposal revision)
    as a new version of the document; canon changes in no other way. An approval that gives a
    document and a text (`canon_document_id`, `amended_body`) amends the proposal first, as a new
    revision by the approver. Approving what names no document is refused: there would be nothing
    to amend. `new_version` defaults to the next one (v1.2 → v1.3)."""
    if decision not in McrDecision.values:
        raise DomainError(f"The MCR decision must be one of: {', '.join(McrDecision.values)}.", field="decision")
    if decision == McrDecision.APPROVED and amendment_type not in AMENDMENT_TYPES_APPROVED:
        raise DomainError(f"The amendment type must be one of: {', '.join(AMENDMENT_TYPES_APPROVED)}.",
                          field="amendment_type")
    with atomic():
        locked, rule = request_lock(request=request, actor=actor, move="mcr_decide", expected_version=expected_version)
        # request_lock refused everyone the transition table does not name (only HeadOffice decides
        # MCR updates, protocol rule 13), so the authority is HeadOffice's.
        authority = decision_authority(actor=actor)
        proposal = None
        if decision == McrDecision.APPROVED:
            four_eyes_check(request=locked, actor=actor)
            if canon_document_id or (amended_body or "").strip():
                proposal = _proposal_revise(request=locked, actor=actor, document_id=canon_document_id,
                                            proposed_text=amended_body, note="Amended by the approver.")
            else:
                proposal = canon.proposal_of(locked)
            if proposal is None:
                raise DomainError("Approving needs the change to canon: this suggestion names no canon document "
                                  "and no proposed text. Amend the proposal (the document and its new text) "
                                  "first, or reject or park the suggestion.", field="canon_document_id",
                                  kind=Refusal.CONFLICT)
        label = McrDecision(decision).label
        record = _decision_create(actor=actor, authority=authority, request=locked, kind=DecisionKind.MCR_DECISION,
                                  mcr_decision=decision, decision_summary=f"MCR update {label.lower()}",
                                  reasoning=reasoning)
        changes: dict[str, Any] = {"mcr_update_status": decision}
        to_status = MCR_STATUS[decision]
        if proposal is not None:
            amendment = _canon_amend(request=locked, actor=actor, decision=record, proposal=proposal,
                                     version=new_version, amendment_type=amendment_type, can_rollback=can_rollback)
            next_step = f"Canon {amendment.document.title} is now {amendment.version_after}; Brains refresh " \
                        f"their working copies."
        else:
            next_step = {
                McrDecision.REJECTED: "No canon change; the origin Brain keeps its current working copy.",
                McrDecision.PARKED: "HeadOffice revisits the suggestion when more evidence exists.",
            }[decision]
        if to_status == S.PARKED:
            changes["held_from_status"] = S.AWAITING_MCR_DECISION
        else:
            changes.update(_decided_outcome(
                request=locked, decision=record,
                outcome_type=OutcomeType.DECISION_RECORDED if to_status == S.CLOSED else OutcomeType.REJECTED,
                result=limits.clip(f"HeadOffice MCR decision: {label.lower()}. {reasoning.strip()}", limits.TEXT),
                next_step=next_step,
            ))
        request_commit(request=locked, actor=actor, to_status=to_status, changes=changes,
                       summary=f"MCR update {label.lower()} by HeadOffice", note=reasoning.strip(),
                       payload={"move": rule.name, "decision_id": str(record.pk), "mcr_decision": decision})
        return record


AMENDMENT_TYPES_APPROVED = (AmendmentType.MANUAL_UPDATE, AmendmentType.GOVERNANCE_TIGHTENING,
                            AmendmentType.CAPABILITY_EXPANSION)


def _proposal_revise(*, request: BrainRequest, actor: Actor, document_id: Any, proposed_text: str,
                     note: str) -> CanonProposal:
    """The next revision of a suggestion's proposal, by a HeadOffice reviewer (the request locked)."""
    current = canon.proposal_of(request)
    document = None
    if document_id:
        try:
            document = CanonDocument.objects.filter(pk=document_id, tenant_id=actor.tenant_id).first()
        except (ValueError, ValidationError):
            document = None
        if document is None:
            raise DomainError("No such canon document.", field="canon_document_id")
    elif current is not None:
        document = current.document
    else:
        raise DomainError("Name the canon document the change is to.", field="canon_document_id")
    return canon_proposal_write(request=request, actor=actor, document=document, proposed_text=proposed_text,
                                note=note, revision=current.revision + 1 if current else 1,
                                reason=current.reason if current else "")


@records_refusal(request_refusal_record, subject="request", move="amend_proposal")
def canon_proposal_amend(*, request: BrainRequest, actor: Actor, proposed_text: str, note: str,
                         canon_document_id: Any = None, expected_version: int | None = None) -> CanonProposal:
    """HeadOffice amends a suggestion's proposed change before deciding it: a new revision, with who
    changed it and why; the request's history says so. Only while it awaits the MCR decision."""
    if not actor.is_head_office:
        raise DomainError("Only HeadOffice amends a proposed change to canon.", kind=Refusal.FORBIDDEN)
    why = substantive(note, field="note", label="Why the proposal is amended")
    with atomic():
        locked = requests_visible_to(actor).select_for_update().filter(pk=request.pk).first()
        if locked is None:
            raise DomainError("No such request.", kind=Refusal.NOT_FOUND)
        mark_fresh(locked)
        if locked.status != S.AWAITING_MCR_DECISION:
            raise DomainError(f"The proposal is amended while the suggestion awaits its MCR decision; this one is "
                              f"{locked.get_status_display().lower()}.", kind=Refusal.CONFLICT)
        if expected_version is not None and expected_version != locked.lock_version:
            raise DomainError("The request changed since you loaded it; reload and amend again.",
                              kind=Refusal.CONFLICT)
        before = canon.proposal_of(locked)
        proposal = _proposal_revise(request=locked, actor=actor, document_id=canon_document_id,
                                    proposed_text=proposed_text, note=why)
        changed = canon.changed_sections(before.proposed_text, proposal.proposed_text) if before else proposal.sections
        request_event_write(request=locked, actor=actor, event_type=RequestEventType.NOTE,
                            summary=limits.clip(f"{actor} amended the proposed change to {proposal.document.title} "
                                                f"(revision {proposal.revision}): {', '.join(changed)}", limits.TEXT),
                            note=why, payload={"canon_proposal_id": str(proposal.pk), "revision": proposal.revision,
                                               "sections_changed": changed})
        return proposal


def _canon_amend(*, request: BrainRequest, actor: Actor, decision: DecisionRecord, proposal: CanonProposal,
                 version: str, amendment_type: str, can_rollback: bool) -> CanonAmendment:
    document = CanonDocument.objects.select_for_update().filter(pk=proposal.document_id,
                                                                tenant_id=actor.tenant_id).first()
    if document is None:
        raise DomainError("No such canon document.", field="canon_document_id")
    mark_fresh(document)
    if proposal.base_version != document.version:
        raise DomainError(f"{document.title} is at {document.version} now, and the proposal was written against "
                          f"{proposal.base_version}: amend the proposal against the current text before approving.",
                          field="proposed_text", kind=Refusal.CONFLICT)
    version = optional_text(version, field="new_version", limit=limits.NAME) or canon.next_version(document.version)
    if version == document.version or version in {a.version_after for a in document.amendments.only("version_after")}:
        raise DomainError(f"The new version must differ from the document's versions so far ({version}).",
                          field="new_version")
    return _amendment_write(document=document, actor=actor, decision=decision, request=request, proposal=proposal,
                            body=proposal.proposed_text, version=version, amendment_type=amendment_type,
                            can_rollback=can_rollback,
                            evidence={"request_id": str(request.pk), "decision_id": str(decision.pk),
                                      "proposal_id": str(proposal.pk), "proposal_revision": proposal.revision,
                                      "proposed_by": proposal.proposed_by, "sections": proposal.sections,
                                      # What the suggestion gave as its why (issue 15, item 2).
                                      "reason": proposal.reason,
                                      "cited": evidence_record(evidence_of(actor=actor, requests=[request])
                                                               .get(request.pk, []))})


def _amendment_write(*, document: CanonDocument, actor: Actor, decision: DecisionRecord, request: BrainRequest | None,
                     proposal: CanonProposal | None, body: str, version: str, amendment_type: str,
                     can_rollback: bool, evidence: dict, rolls_back: CanonAmendment | None = None) -> CanonAmendment:
    """The amendment row and the document's new text and version: the one place canon text changes."""
    amendment = CanonAmendment.objects.create(
        tenant_id=actor.tenant_id, document=document, request=request, decision=decision, proposal=proposal,
        amendment_type=amendment_type, rolls_back=rolls_back,
        version_before=document.version, version_after=version, body_before=document.body, body_after=body,
        diff=canon.unified_diff(document.body, body, document.version, version), evidence=evidence,
        approved_by=actor.label, approved_at=decision.created_at, can_rollback=can_rollback,
    )
    CanonDocument.objects.filter(pk=document.pk).update(body=body, version=version, updated_at=decision.created_at)
    return amendment


def canon_rollback(*, actor: Actor, document_slug: str, amendment_id: Any, reason: str) -> CanonAmendment:
    """HeadOffice rolls back an amendment: a new `rollback` amendment that puts the sections it
    changed back as they were (the whole text byte for byte, when nothing came after it), and a
    decision that records why. Refused when it may not be rolled back, was rolled back already, or
    a later amendment changed the same sections (those are rolled back first, newest first)."""
    if not actor.is_head_office:
        raise DomainError("Only HeadOffice rolls back a canon amendment.", kind=Refusal.FORBIDDEN)
    why = substantive(reason, field="reason", label="The reason for the rollback")
    authority = decision_authority(actor=actor)
    with atomic():
        document = CanonDocument.objects.select_for_update().filter(tenant_id=actor.tenant_id,
                                                                    slug=document_slug).first()
        if document is None:
            raise DomainError("No such canon document.", kind=Refusal.NOT_FOUND)
        mark_fresh(document)
        history = canon.amendments_of(document)
        target = next((a for a in history if str(a.pk) == str(amendment_id)), None)
        if target is None:
            raise DomainError(f"{document.title} has no amendment {amendment_id}.", kind=Refusal.NOT_FOUND)
        if not target.can_rollback:
            raise DomainError(f"The amendment to {target.version_after} was approved as one that cannot be rolled "
                              f"back (can_rollback is false); propose the change back as a new suggestion.",
                              kind=Refusal.CONFLICT)
        if target.rolled_back_at is not None:
            raise DomainError(f"The amendment to {target.version_after} was rolled back already, by "
                              f"{target.rolled_back_by.version_after}.", kind=Refusal.CONFLICT)
        blockers = canon.rollback_blockers(target, history)
        if blockers:
            names = ", ".join(f"{b.version_before} → {b.version_after} ({', '.join(canon.changed_sections(b.body_before, b.body_after))})"
                              for b in blockers)
            raise DomainError(f"Later amendments changed the same sections; roll them back first, newest first: "
                              f"{names}.", kind=Refusal.CONFLICT)
        touched = set(canon.changed_sections(target.body_before, target.body_after))
        if document.body == target.body_after:
            body = target.body_before  # nothing since: the earlier text, byte for byte
        else:
            body = canon.sections_restored(document.body, target.body_before, touched)
        governs = [b for b in document.governs if b in active_brains(actor.tenant_id)]
        # The rollback's decision corrects the one that approved the amendment: it supersedes it, which
        # also keeps it in a lineage (it belongs to no request, the amendment's having closed).
        decision = _decision_create(
            actor=actor, authority=authority, request=None, kind=DecisionKind.MCR_DECISION,
            mcr_decision=McrDecision.APPROVED, affected_brains=governs, supersedes=target.decision,
            decision_summary=f"Canon rollback: {document.title} {target.version_before} → {target.version_after} "
                             f"rolled back",
            reasoning=why)
        version = canon.next_version(document.version)
        return _amendment_write(document=document, actor=actor, decision=decision, request=None, proposal=None,
                                body=body, version=version, amendment_type=AmendmentType.ROLLBACK,
                                can_rollback=True, rolls_back=target,
                                evidence={"rolls_back": str(target.pk), "decision_id": str(decision.pk),
                                          "restores": target.version_before, "sections": sorted(touched)})


def four_eyes_check(*, request: BrainRequest, actor: Actor) -> None:
    """The tenant's four-eyes rule, when it is on: whoever classified the suggestion as
    propose_mcr_update does not also approve it (rejecting or parking it stays open to them).

    Who is compared by the name on the record (`recorded_by`: the username, or the token's label),
    the one the classification decision keeps."""
    if not Tenant.objects.filter(pk=request.tenant_id, four_eyes_rule=True).exists():
        return
    proposal = (request.decisions.filter(decision_kind=DecisionKind.FEEDBACK_CLASSIFICATION,
                                         classification=C.PROPOSE_MCR_UPDATE)
                .order_by("-created_at").values_list("recorded_by", flat=True).first())
    if proposal is not None and proposal == actor.label:
        raise DomainError(f"Four-eyes rule: {actor} classified this suggestion as {C.PROPOSE_MCR_UPDATE}, so "
                          f"another HeadOffice reviewer approves the MCR update (you may still reject or park it).",
                          kind=Refusal.FORBIDDEN)


# --- lessons ---------------------------------------------------------------------------------

def lesson_record(*, actor: Actor, request: BrainRequest, event_or_experiment: str, result: str, insight: str,
                  recommended_improvement: str, originating_brain: str | None = None, task_id: Any = None,
                  decision_id: Any = None) -> LessonLearned:
    """Record what was learned, tied to the request and to its task or decision."""
    if actor.is_executor or actor.is_integration:
        raise DomainError("Lessons are recorded by Brains and HeadOffice.", kind=Refusal.FORBIDDEN)
    with atomic():
        visible = request_get(actor=actor, request_id=request.pk)
        if visible is None:
            raise DomainError("No such request.", kind=Refusal.NOT_FOUND)
        slug = originating_brain or (Brain.HEADOFFICE if actor.is_head_office else
                                     next(iter(sorted(actor.brains)), None))
        if slug is None or not (actor.is_head_office or actor.belongs_to(slug)):
            raise DomainError("A lesson is recorded by a Brain you belong to.", field="originating_brain",
                              kind=Refusal.FORBIDDEN)
        task = visible.tasks.filter(pk=task_id).first() if task_id else None
        if task_id and task is None:
            raise DomainError("That task is not part of this request.", field="task_id")
        decision = visible.decisions.filter(pk=decision_id).first() if decision_id else None
        if decision_id and decision is None:
            raise DomainError("That decision is not part of this request.", field="decision_id")
        lesson = LessonLearned.objects.create(
            tenant_id=actor.tenant_id, originating_brain_id=slug, related_request=visible, related_task=task,
            related_decision=decision, recorded_by=actor.label,
            event_or_experiment=required_text(event_or_experiment, field="event_or_experiment",
                                              label="The event or experiment", limit=limits.TITLE),
            result=substantive(result, field="result", label="The result"),
            insight=substantive(insight, field="insight", label="The insight"),
            recommended_improvement=substantive(recommended_improvement, field="recommended_improvement",
                                                label="The recommended improvement"),
        )
        request_event_write(request=visible, actor=actor, event_type=RequestEventType.LESSON_RECORDED,
                            summary=f"Lesson: {lesson.insight[:120]}", payload={"lesson_id": str(lesson.pk)})
        return lesson


def lessons_propose(*, actor: Actor, lesson_ids: Any) -> BrainRequest:
    """Turn a group of lessons that say the same thing into a draft `mcr_update_suggestion` from
    and to HeadOffice, with the lessons as its evidence (SuggestionEvidence, as any suggestion's, and
    each named in its summary). The draft names no canon change yet: HeadOffice classifies it and writes the exact
    proposal before any MCR decision, as for any other suggestion (protocol rule 13)."""
    if not actor.is_head_office or actor.is_executor or actor.is_integration:
        raise DomainError("Only HeadOffice turns lessons into a canon suggestion.", kind=Refusal.FORBIDDEN)
    ids = [str(i).strip() for i in (lesson_ids if isinstance(lesson_ids, (list, tuple)) else
                                    str(lesson_ids or "").split(",")) if str(i).strip()]
    if len(set(ids)) < 2:
        raise DomainError("Choose two lessons or more: a suggestion drafted from lessons needs their support.",
                          field="lesson_ids")
    try:
        wanted = {uuid.UUID(i) for i in ids}
    except ValueError:
        raise DomainError("Those are not lesson ids.", field="lesson_ids") from None
    with atomic():
        found = list(lessons_visible_to(actor).filter(pk__in=wanted).select_related("originating_brain")
                     .order_by("created_at", "pk"))
        if len(found) != len(wanted):
            raise DomainError("Some of those lessons do not exist in this organisation.", field="lesson_ids",
                              kind=Refusal.NOT_FOUND)
        drafted = lesson_groups.suggestions_from_lessons(actor=actor)
        already = sorted({drafted[str(lesson.pk)].request_title for lesson in found if str(lesson.pk) in drafted})
        if already:
            raise DomainError(f"Some of these lessons were drafted into a suggestion already: “{already[0]}”. "
                              f"Add to that one instead.", field="lesson_ids", kind=Refusal.CONFLICT)
        brains = sorted({str(lesson.originating_brain) for lesson in found})
        lines = "\n".join(f"- {lesson.originating_brain} ({lesson.created_at:%-d %b %Y}): {lesson.insight} "
                          f"Recommended: {lesson.recommended_improvement}" for lesson in found)
        summary = limits.clip(f"{len(found)} lessons from {', '.join(brains)} say the same thing:\n{lines}",
                              limits.TEXT)
        return request_create(
            actor=actor, origin_brain=Brain.HEADOFFICE, destination_brain=Brain.HEADOFFICE,
            request_type=RequestType.MCR_UPDATE_SUGGESTION, operating_layer=OperatingLayer.GOVERNANCE,
            request_title=limits.clip(f"Canon update from {len(found)} lessons: {found[-1].insight}", limits.TITLE),
            request_summary=summary, feedback_required=True, mcr_update_suggested=True,
            required_output="The canon change these lessons support, as an exact proposal to approve or reject.",
            evidence=[{"kind": EvidenceKind.LESSON, "id": str(lesson.pk)} for lesson in found],
            note=f"Drafted from {len(found)} lessons learned.")


# --- tokens ----------------------------------------------------------------------------------

def api_token_revoke(*, tokens: QuerySet[ApiToken], actor: Actor, every_tenant: bool = False) -> int:
    """Revoke the given tokens of the actor's tenant (of any tenant for an installation superuser,
    `every_tenant`) that are still live; returns how many were revoked."""
    live = tokens.filter(revoked_at__isnull=True)
    with atomic():
        return (live if every_tenant else live.filter(tenant_id=actor.tenant_id)).update(revoked_at=clock.now())


# --- tenants ------------------------------------------------------------------------------------

TENANT_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def tenant_create(*, slug: str, name: str, reviewer_username: str, reviewer_password: str,
                  domain: str | None = None, subscription_tier: str = SubscriptionTier.STARTER) -> Tenant:
    """A new tenant with the protocol's nine standard Brains and its first HeadOffice reviewer, all
    or nothing. The reviewer is a new person: someone who already exists belongs to a tenant."""
    slug = (slug or "").strip()
    if not TENANT_SLUG.match(slug):
        raise DomainError(f"Tenant slug {slug!r}: use lowercase letters, digits and hyphens (e.g. acme).",
                          field="slug")
    name = required_text(name, field="name", label="Name", limit=limits.NAME)
    username = required_text(reviewer_username, field="reviewer", label="Reviewer username",
                             limit=get_user_model()._meta.get_field("username").max_length or limits.NAME)
    domain = optional_text(domain, field="domain", limit=limits.HOST) or None
    if subscription_tier not in SubscriptionTier.values:
        raise DomainError(f"Unknown subscription tier {subscription_tier!r}: choose one of "
                          f"{', '.join(SubscriptionTier.values)}.", field="subscription_tier")
    User = get_user_model()
    tenant = Tenant(slug=slug, name=name, domain=domain, subscription_tier=subscription_tier)
    # Acting for the new tenant from the start (row-level security on PostgreSQL): no other
    # tenant's rows are visible, so the unique slug and domain are asked of the database.
    with claims.tenant_claim(tenant.id):
        if tenant_exists(slug):
            raise DomainError(f"A tenant {slug!r} exists already.", field="slug", kind=Refusal.CONFLICT)
        if User.objects.filter(username=username).exists():
            raise DomainError(f"{username!r} exists already, and a person belongs to one tenant: name a new "
                              f"reviewer.", field="reviewer", kind=Refusal.CONFLICT)
        reviewer = User(username=username)
        try:
            validate_password(reviewer_password, reviewer)
        except ValidationError as error:
            raise DomainError(" ".join(error.messages), field="password") from None
        try:
            with transaction.atomic():
                tenant.save(force_insert=True)
        except IntegrityError as error:  # the other tenants are invisible here: their unique keys answer
            if "slug" in str(error):
                raise DomainError(f"A tenant {slug!r} exists already.", field="slug", kind=Refusal.CONFLICT) from None
            raise DomainError(f"Another tenant has the domain {domain!r}.", field="domain",
                              kind=Refusal.CONFLICT) from None
        brains = {spec["slug"]: Brain.objects.create(tenant=tenant, **spec) for spec in BRAINS}
        reviewer.set_password(reviewer_password)
        reviewer.save()
        member_add(user=reviewer, brain=brains[Brain.HEADOFFICE], role=MembershipRole.HEAD_OFFICE_REVIEWER)
    return tenant
