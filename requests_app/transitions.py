"""The request state machine: the one place that says what may follow what, and who may do it.

The services check every move against MOVES, the UI draws its buttons from `moves_open`, and the
API answers 403/409 from `move_check`. Statuses are protocol rule 5's; roles are rule 6's.
"""

from dataclasses import dataclass
from enum import StrEnum

from governance_app.kernel.actors import Actor
from governance_app.kernel.errors import DomainError, Refusal
from requests_app.models import FINAL_STATUSES, BrainRequest, RequestStatus

S = RequestStatus


class Role(StrEnum):
    ORIGIN = "origin"                      # a member of the requesting Brain
    DESTINATION = "destination"            # a member of the receiving (or primary) Brain
    REVIEW_OWNER = "review_owner"          # a member of the Brain named review owner
    ESCALATION_OWNER = "escalation_owner"  # a member of the Brain named escalation owner
    HEAD_OFFICE = "head_office"            # a HeadOffice reviewer (or headoffice token)


# A move whose to_status is RESUME returns to the status the request held before the hold.
RESUME = "resume"

OPEN = frozenset(S) - FINAL_STATUSES
HOLDS = frozenset({S.BLOCKED, S.PARKED, S.AWAITING_EVIDENCE, S.ESCALATED})
WORKING = frozenset({S.NEW, S.UNDER_REVIEW, S.ROUTED, S.IN_PROGRESS, S.RESPONDED, S.RETURNED_FOR_REVISION,
                     S.AWAITING_HEAD_OFFICE_REVIEW})
REVIEWERS = frozenset({Role.HEAD_OFFICE, Role.REVIEW_OWNER})
# The complete outcome a final state needs (protocol rule 7); every form and schema that asks for
# one takes its fields from here.
OUTCOME_FIELDS = ("outcome_type", "result_summary", "outcome_decision", "outcome_evidence", "next_step",
                  "next_step_owner", "head_office_review_required")
CLOSING_FIELDS = (*OUTCOME_FIELDS, "closure_reason")


@dataclass(frozen=True)
class Move:
    name: str
    label: str
    to_status: str
    from_statuses: frozenset[str]
    roles: frozenset[Role]
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    # Moves made only through their own service (classification, MCR and escalation decisions).
    decision: bool = False


def _m(name, label, to, frm, roles, required=(), optional=(), decision=False) -> Move:
    return Move(name, label, to, frozenset(frm), frozenset(roles), tuple(required), tuple(optional), decision)


MOVES: tuple[Move, ...] = (
    _m("submit_for_review", "Submit for review", S.UNDER_REVIEW, {S.NEW}, {Role.ORIGIN, Role.HEAD_OFFICE}),
    # Routing before execution (connector rule 1): the destination must accept the type, a review
    # owner is named, and several Brains means one primary Brain (connector rule 2).
    _m("route", "Route", S.ROUTED,
       {S.NEW, S.UNDER_REVIEW, S.AWAITING_HEAD_OFFICE_REVIEW, S.RETURNED_FOR_REVISION}, REVIEWERS,
       required=("review_owner",), optional=("destination_brain", "routing_notes", "primary_brain",
                                             "supporting_brains")),
    _m("accept", "Accept", S.IN_PROGRESS, {S.ROUTED}, {Role.DESTINATION, Role.HEAD_OFFICE}),
    _m("respond", "Respond", S.RESPONDED, {S.IN_PROGRESS}, {Role.DESTINATION, Role.HEAD_OFFICE},
       required=("response_summary", "outcome_type")),
    _m("return_for_revision", "Return for revision", S.RETURNED_FOR_REVISION,
       {S.UNDER_REVIEW, S.ROUTED, S.AWAITING_HEAD_OFFICE_REVIEW}, REVIEWERS | {Role.DESTINATION},
       required=("note",)),
    _m("return_response", "Return for revision", S.IN_PROGRESS, {S.RESPONDED},
       {Role.ORIGIN, Role.HEAD_OFFICE}, required=("note",)),
    _m("resubmit", "Resubmit", S.UNDER_REVIEW, {S.RETURNED_FOR_REVISION}, {Role.ORIGIN, Role.HEAD_OFFICE},
       optional=("request_summary", "required_output")),
    _m("request_evidence", "Request evidence", S.AWAITING_EVIDENCE,
       {S.UNDER_REVIEW, S.ROUTED, S.IN_PROGRESS, S.RESPONDED, S.AWAITING_HEAD_OFFICE_REVIEW},
       REVIEWERS | {Role.DESTINATION}, required=("note",)),
    _m("provide_evidence", "Evidence provided", RESUME, {S.AWAITING_EVIDENCE},
       {Role.ORIGIN, Role.DESTINATION, Role.HEAD_OFFICE}, required=("note",)),
    _m("ask_head_office", "Ask HeadOffice to review", S.AWAITING_HEAD_OFFICE_REVIEW,
       {S.NEW, S.UNDER_REVIEW, S.ROUTED, S.IN_PROGRESS, S.RESPONDED},
       {Role.ORIGIN, Role.DESTINATION, Role.REVIEW_OWNER}, required=("note",)),
    # Escalation stays on the same request, names its reason and owner, and is resolved only by a
    # recorded decision (connector "escalation rules").
    _m("escalate", "Escalate", S.ESCALATED, WORKING | {S.BLOCKED, S.AWAITING_EVIDENCE},
       {Role.ORIGIN, Role.DESTINATION, Role.HEAD_OFFICE, Role.REVIEW_OWNER},
       required=("escalation_reason", "escalation_owner")),
    _m("resolve_escalation", "Resolve escalation", RESUME, {S.ESCALATED},
       {Role.ESCALATION_OWNER, Role.HEAD_OFFICE}, required=("decision_summary", "reasoning"), decision=True),
    _m("block", "Block", S.BLOCKED, WORKING, REVIEWERS | {Role.DESTINATION, Role.ESCALATION_OWNER},
       required=("note",)),
    _m("unblock", "Unblock", RESUME, {S.BLOCKED}, REVIEWERS | {Role.DESTINATION, Role.ESCALATION_OWNER},
       required=("note",)),
    _m("park", "Park", S.PARKED, WORKING | {S.AWAITING_EVIDENCE, S.BLOCKED}, REVIEWERS, required=("note",)),
    _m("unpark", "Resume", RESUME, {S.PARKED}, REVIEWERS),
    _m("reject", "Reject", S.REJECTED,
       {S.NEW, S.UNDER_REVIEW, S.ROUTED, S.AWAITING_HEAD_OFFICE_REVIEW, S.RETURNED_FOR_REVISION,
        S.AWAITING_EVIDENCE, S.PARKED, S.BLOCKED},
       REVIEWERS | {Role.DESTINATION}, required=OUTCOME_FIELDS, optional=CLOSING_FIELDS[len(OUTCOME_FIELDS):]),
    # Results return to their origin (connector "result handoff"): the origin closes a response;
    # HeadOffice may close any open request (protocol rule 8).
    _m("close", "Close", S.CLOSED, {S.RESPONDED}, {Role.ORIGIN, Role.REVIEW_OWNER, Role.HEAD_OFFICE},
       required=OUTCOME_FIELDS, optional=CLOSING_FIELDS[len(OUTCOME_FIELDS):]),
    _m("close", "Close", S.CLOSED, OPEN - {S.RESPONDED, S.ESCALATED, S.AWAITING_MCR_DECISION},
       {Role.HEAD_OFFICE}, required=OUTCOME_FIELDS, optional=CLOSING_FIELDS[len(OUTCOME_FIELDS):]),
    # Feedback (protocol rule 13) and the MCR gate: only through their decision services.
    _m("classify", "Classify feedback", RESUME, {S.NEW, S.UNDER_REVIEW, S.AWAITING_HEAD_OFFICE_REVIEW},
       {Role.HEAD_OFFICE}, required=("classification", "note"), decision=True),
    _m("mcr_decide", "Decide MCR update", RESUME, {S.AWAITING_MCR_DECISION}, {Role.HEAD_OFFICE},
       required=("decision", "reasoning"), decision=True),
)

def resume_status(request: BrainRequest) -> str:
    """Where a RESUME move takes the request: the status its hold interrupted (under review when
    a hold was written without one, e.g. straight into the database)."""
    return request.held_from_status or S.UNDER_REVIEW


def move_target(move: Move, request: BrainRequest) -> str | None:
    """The status this move leads to from here; None for a decision, whose outcome the decision sets."""
    if move.decision:
        return None
    return resume_status(request) if move.to_status == RESUME else move.to_status


MOVE_NAMES: tuple[str, ...] = tuple(dict.fromkeys(m.name for m in MOVES))


def roles_of(actor: Actor, request: BrainRequest) -> frozenset[Role]:
    """The roles an actor holds on one request."""
    if actor.is_executor or actor.is_integration:
        # Executors work tasks; integrations create requests and read them. Neither moves one.
        return frozenset()
    roles = set()
    if actor.is_head_office:
        roles.add(Role.HEAD_OFFICE)
    if actor.belongs_to(request.requesting_brain_id):
        roles.add(Role.ORIGIN)
    if actor.belongs_to(request.target_brain_id) or actor.belongs_to(request.primary_brain_id):
        roles.add(Role.DESTINATION)
    if actor.belongs_to(request.review_owner_id):
        roles.add(Role.REVIEW_OWNER)
    if actor.belongs_to(request.escalation_owner_id):
        roles.add(Role.ESCALATION_OWNER)
    return frozenset(roles)


def move_check(request: BrainRequest, name: str, actor: Actor) -> Move:
    """The rule that allows this move now, or a DomainError saying why not (conflict or forbidden)."""
    if name not in MOVE_NAMES:
        raise DomainError(f"There is no move called {name!r}.", kind=Refusal.INVALID, field="move")
    if request.is_final:
        raise DomainError(f"This request is {request.get_status_display().lower()}; it is final and cannot change.",
                          kind=Refusal.CONFLICT)
    candidates = [m for m in MOVES if m.name == name and request.status in m.from_statuses]
    if not candidates:
        label = next(m.label for m in MOVES if m.name == name)
        raise DomainError(f"{label} is not possible while the request is {request.get_status_display().lower()}.",
                          kind=Refusal.CONFLICT)
    roles = roles_of(actor, request)
    for move in candidates:
        if move.roles & roles:
            return move
    who = ", ".join(sorted(r.value.replace("_", " ") for r in candidates[0].roles))
    raise DomainError(f"{candidates[0].label} needs one of these roles on this request: {who}.",
                      kind=Refusal.FORBIDDEN)


def move_roles_held(request: BrainRequest, name: str, actor: Actor) -> bool:
    """Whether the actor holds a role that may make this move on this request, whatever its status."""
    roles = roles_of(actor, request)
    return any(move.roles & roles for move in MOVES if move.name == name)


def moves_open(request: BrainRequest, actor: Actor, *, include_decisions: bool = True) -> list[Move]:
    """The moves this actor may make on this request right now, one per name, in table order."""
    if request.is_final:
        return []
    roles = roles_of(actor, request)
    seen: dict[str, Move] = {}
    for move in MOVES:
        if move.name in seen or request.status not in move.from_statuses or not (move.roles & roles):
            continue
        if move.decision and not include_decisions:
            continue
        if move.name == "classify" and not request.is_feedback:
            continue
        seen[move.name] = move
    return list(seen.values())


# Routing before execution (connector rule 1): tasks exist only under a routed or working request.
TASKABLE_STATUSES = frozenset({S.ROUTED, S.IN_PROGRESS})


def working_brains(request: BrainRequest) -> set[str]:
    """The Brains that work a request: its destination, its primary and its supporting Brains."""
    return {b for b in (request.target_brain_id, request.primary_brain_id, *request.supporting_brains) if b}


def tasks_open(request: BrainRequest, actor: Actor) -> bool:
    """Whether this actor may create tasks under this request now."""
    if actor.is_executor or actor.is_integration or request.status not in TASKABLE_STATUSES:
        return False
    return actor.is_head_office or bool(actor.brains & working_brains(request))
