"""Governance writes: decisions, escalation resolution, feedback classification (protocol rule 13),
the MCR gate, canon amendments and lessons. Each records its decision on the request's lineage and
moves the request through requests_app's lock/commit, in one transaction."""

import re
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
    ApiToken,
    Brain,
    CanonAmendment,
    CanonDocument,
    Classification,
    DecisionKind,
    DecisionRecord,
    LessonLearned,
    McrDecision,
    MembershipRole,
    SubscriptionTier,
    Tenant,
)
from governance_app.registry import BRAINS
from requests_app.models import (
    FINAL_STATUSES,
    BrainRequest,
    McrUpdateStatus,
    OutcomeType,
    RequestEventType,
    RequestStatus,
)
from requests_app.selectors import request_get, requests_visible_to
from requests_app.services import (
    held_from,
    outcome_changes,
    request_commit,
    request_event_write,
    request_lock,
    request_refusal_record,
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
               expected_version: int | None = None) -> DecisionRecord:
    """The MCR gate: only a HeadOffice decision on a request awaiting it sets mcr_update_status.
    An approval may carry the amendment itself; canon changes in no other way."""
    if decision not in McrDecision.values:
        raise DomainError(f"The MCR decision must be one of: {', '.join(McrDecision.values)}.", field="decision")
    with atomic():
        locked, rule = request_lock(request=request, actor=actor, move="mcr_decide", expected_version=expected_version)
        # request_lock refused everyone the transition table does not name (only HeadOffice decides
        # MCR updates, protocol rule 13), so the authority is HeadOffice's.
        authority = decision_authority(actor=actor)
        if decision == McrDecision.APPROVED:
            four_eyes_check(request=locked, actor=actor)
        label = McrDecision(decision).label
        record = _decision_create(actor=actor, authority=authority, request=locked, kind=DecisionKind.MCR_DECISION,
                                  mcr_decision=decision, decision_summary=f"MCR update {label.lower()}",
                                  reasoning=reasoning)
        changes: dict[str, Any] = {"mcr_update_status": decision}
        to_status = MCR_STATUS[decision]
        if decision == McrDecision.APPROVED and canon_document_id:
            amendment = _canon_amend(request=locked, actor=actor, decision=record, document_id=canon_document_id,
                                     body=amended_body, version=new_version)
            next_step = f"Canon {amendment.document.title} is now {amendment.version_after}; Brains refresh " \
                        f"their working copies."
        else:
            next_step = {
                McrDecision.APPROVED: "HeadOffice records the approved change in MCR canon.",
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


def _canon_amend(*, request: BrainRequest, actor: Actor, decision: DecisionRecord, document_id: Any, body: str,
                 version: str) -> CanonAmendment:
    document = CanonDocument.objects.select_for_update().filter(pk=document_id, tenant_id=actor.tenant_id).first()
    if document is None:
        raise DomainError("No such canon document.", field="canon_document_id")
    mark_fresh(document)
    body = required_text(body, field="amended_body", label="The amended canon text", limit=limits.DOCUMENT)
    version = required_text(version, field="new_version", label="The new canon version", limit=limits.NAME)
    if version == document.version:
        raise DomainError(f"The new version must differ from the current {document.version}.", field="new_version")
    import difflib

    diff = "\n".join(difflib.unified_diff(document.body.splitlines(), body.splitlines(), document.version, version,
                                          lineterm=""))
    amendment = CanonAmendment.objects.create(
        tenant_id=actor.tenant_id, document=document, request=request, decision=decision,
        version_before=document.version, version_after=version, body_before=document.body, body_after=body,
        diff=diff, evidence={"request_id": str(request.pk), "decision_id": str(decision.pk)},
        approved_by=actor.label,
    )
    CanonDocument.objects.filter(pk=document.pk).update(body=body, version=version, updated_at=decision.created_at)
    return amendment


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
