"""`manage.py seed_demo` tells its story through the engine: every move it recorded is one the
transition tables allow the actor it names, and the rows it leaves hold the engine's invariants."""

import io
import re
from collections.abc import Iterable

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count, Q

from governance_app.kernel.actors import Actor, actor_for_token, actor_for_user
from governance_app.models import ApiToken, DecisionRecord, TokenRole
from governance_app.services import CLASSIFICATION_STATUS, MCR_STATUS, escalation_resolve
from requests_app.models import FINAL_STATUSES, BrainRequest, RequestEvent
from requests_app.sla import sla_policy_for, sla_recompute, sla_values
from requests_app.transitions import HOLDS, MOVE_NAMES, MOVES, RESUME, roles_of, tasks_open
from tasks_app.models import Task, TaskEvent
from tasks_app.transitions import TASK_MOVES, TaskRole, task_roles_of

PASSWORD = "demo-password-42"
# The request fields a move may change that decide who holds which role on the request.
ROLE_FIELDS = ("target_brain", "primary_brain", "supporting_brains", "review_owner", "escalation_owner")
# The engine acting for a task: the request escalation a failed-out or escalated task raises.
ENGINE_ACTOR = re.compile(r"^(?:system|token:(?P<token>[\w-]+)) \((?:via )?task (?P<task>[0-9a-f-]{36})\)$")
TASK_EVENT_MOVES = {"picked_up": "claim", "started": "start", "progress": "progress", "warning": "warn",
                    "completed": "complete", "error": "fail", "cancelled": "cancel", "escalated": "escalate"}


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed(*args: str) -> None:
    call_command("seed_demo", "--password", PASSWORD, *args, stdout=io.StringIO())


@pytest.fixture
def seeded(db) -> None:
    seed("--scale", "200", "--seed", "11")


def demo_requests():
    return BrainRequest.objects.filter(meta_json__has_key="demo_key")


def scale_requests():
    return BrainRequest.objects.filter(meta_json__scale=True)


def in_chain_order(events: Iterable, start: str | None = None) -> list:
    """Events by time; events of one service call share a moment, and go in the order their
    statuses chain (a failure and the requeue it causes, say)."""
    remaining = sorted(events, key=lambda e: e.created_at)
    ordered, status = [], start
    while remaining:
        group = [e for e in remaining if e.created_at == remaining[0].created_at]
        chosen = next((e for e in group if e.from_status == status), group[0])
        ordered.append(chosen)
        remaining.remove(chosen)
        status = chosen.to_status or status
    return ordered


class Actors:
    """The actor each recorded label stands for, built the way the app builds it."""

    def __init__(self) -> None:
        self.known: dict[str, Actor | None] = {}

    def __call__(self, label: str) -> Actor | None:
        if label not in self.known:
            if label.startswith("token:"):
                token = ApiToken.objects.filter(label=label.removeprefix("token:")).first()
                self.known[label] = actor_for_token(token) if token else None
            else:
                user = get_user_model().objects.filter(username=label).first()
                self.known[label] = actor_for_user(user) if user else None
        return self.known[label]


def request_as_it_was(request: BrainRequest, state: dict) -> BrainRequest:
    """An unsaved copy of the request with the status and role fields it had at that point."""
    return BrainRequest(tenant_id=request.tenant_id, requesting_brain_id=request.requesting_brain_id,
                        target_brain_id=state["target_brain"], primary_brain_id=state["primary_brain"],
                        supporting_brains=state["supporting_brains"], review_owner_id=state["review_owner"],
                        escalation_owner_id=state["escalation_owner"], status=state["status"],
                        request_type=request.request_type, feedback_required=request.feedback_required,
                        mcr_update_suggested=request.mcr_update_suggested)


def expected_target(move, event: RequestEvent, state: dict) -> str:
    """Where the table (or, for a decision move, the decision) sends the request from here."""
    payload = event.event_payload
    if move.name == "classify":
        return CLASSIFICATION_STATUS[payload["classification"]]
    if move.name == "mcr_decide":
        return MCR_STATUS[payload["mcr_decision"]]
    if move.name == "resolve_escalation":
        return {"continue": state["held_from_status"] or "under_review", "close": "closed",
                "block": "blocked"}[payload["resolution"]]
    if move.to_status == RESUME:
        return state["held_from_status"] or "under_review"
    return move.to_status


def request_moves_refused(request: BrainRequest, actors: Actors) -> list[str]:
    """Replay the request's history against requests_app.transitions.MOVES: every step must be a
    move open from the status it left, to an actor holding one of its roles, reaching the status
    the table says. Returns what is wrong, empty when every move was legal."""
    wrong = []
    events = list(request.events.filter(event_type__in=["created", "status_changed"]))
    created = [e for e in events if e.event_type == "created"]
    if len(created) != 1 or created[0].to_status != "new":
        return [f"{request}: {len(created)} created events"]
    creator = actors(created[0].actor)
    if creator is None or not (creator.is_head_office or creator.belongs_to(request.requesting_brain_id)):
        wrong.append(f"{request}: created by {created[0].actor}, who may not send from {request.requesting_brain_id}")
    moves = in_chain_order([e for e in events if e.event_type == "status_changed"], start="new")
    first_target = next((e.changed_fields["target_brain"][0] for e in moves if "target_brain" in e.changed_fields),
                        request.target_brain_id)
    state = {"status": "new", "held_from_status": None, "target_brain": first_target, "primary_brain": None,
             "supporting_brains": [], "review_owner": None, "escalation_owner": None}
    tasks = {str(pk): brain for pk, brain in request.tasks.values_list("pk", "assigned_brain_id")}
    for event in moves:
        step = f"{request}: {event.from_status} → {event.to_status} by {event.actor}"
        name = event.event_payload.get("move")
        if name not in MOVE_NAMES:
            wrong.append(f"{step}: names no move of the table ({name!r})")
            continue
        if event.from_status != state["status"]:
            wrong.append(f"{step}: the request was {state['status']}")
        candidates = [m for m in MOVES if m.name == name and state["status"] in m.from_statuses]
        engine = ENGINE_ACTOR.match(event.actor)
        if engine:
            # The services escalate for a task with a HeadOffice-strength actor of their own.
            token = engine["token"]
            legal = name == "escalate" and engine["task"] in tasks and (
                token is None or ApiToken.objects.filter(label=token, brain_id=tasks[engine["task"]]).exists())
            actor = Actor(tenant_id=request.tenant_id, label=event.actor, is_head_office=True) if legal else None
        else:
            actor = actors(event.actor)
        roles = roles_of(actor, request_as_it_was(request, state)) if actor else frozenset()
        rule = next((m for m in candidates if m.roles & roles), None)
        if rule is None:
            wrong.append(f"{step}: {name} is not open to this actor from {state['status']}")
        elif event.to_status != expected_target(rule, event, state):
            wrong.append(f"{step}: {name} leads to {expected_target(rule, event, state)}")
        if rule is not None and rule.decision and not DecisionRecord.objects.filter(
                pk=event.event_payload.get("decision_id"), related_request=request).exists():
            wrong.append(f"{step}: {name} names no decision of this request")
        for field, (before, after) in event.changed_fields.items():
            if field in state:
                if state[field] != before:
                    wrong.append(f"{step}: {field} was {state[field]!r}, not {before!r}")
                state[field] = after
        if state["status"] != event.to_status:
            wrong.append(f"{step}: the event does not record the status change")
    final = {"status": request.status, "held_from_status": request.held_from_status,
             "target_brain": request.target_brain_id, "primary_brain": request.primary_brain_id,
             "supporting_brains": request.supporting_brains, "review_owner": request.review_owner_id,
             "escalation_owner": request.escalation_owner_id}
    if state != final:
        wrong.append(f"{request}: the history ends at {state}, the row holds {final}")
    return wrong


def task_moves_refused(task: Task, actors: Actors) -> list[str]:
    """Replay the task's history against tasks_app.transitions.TASK_MOVES (and task_create's and
    task_artifact_save's rules): what is wrong, empty when every move was legal."""
    wrong = []
    events = in_chain_order(task.events.all())
    creator = actors(events[0].actor)
    request = task.request
    # Routing before execution (connector rule 1): the request's status when the task was created.
    status_then = request.events.filter(created_at__lte=task.created_at, to_status__isnull=False) \
        .order_by("-created_at").values_list("to_status", flat=True).first()
    then = request_as_it_was(request, {
        "status": status_then, "target_brain": request.target_brain_id, "primary_brain": request.primary_brain_id,
        "supporting_brains": request.supporting_brains, "review_owner": None, "escalation_owner": None})
    if events[0].event_type != "created" or events[0].to_status != "queued":
        wrong.append(f"{task}: its history does not start with created")
    elif creator is None or not tasks_open(then, creator):
        wrong.append(f"{task}: created by {events[0].actor} while the request was {status_then}")
    status = "queued"
    for previous, event in zip(events, events[1:]):
        step = f"{task}: {event.event_type} by {event.actor}"
        if event.from_status != status:
            wrong.append(f"{step}: the task was {status}, the event says {event.from_status}")
        actor = actors(event.actor)
        roles = task_roles_of(actor, task) if actor else frozenset()
        if event.event_type == "output_saved":
            if not roles & {TaskRole.WORKER, TaskRole.MANAGER} or event.to_status != status:
                wrong.append(f"{step}: not an output this actor may save here")
            continue
        if event.event_type == "requeued" and previous.event_type == "error" and \
                previous.created_at == event.created_at and previous.actor == event.actor:
            name = "fail"  # task_fail queues the task again in the same move while attempts remain
            attempts = previous.event_payload
            legal = status == "failed" and event.to_status == "queued" and \
                attempts.get("attempts", 0) < attempts.get("max_attempts", 0)
        else:
            name = TASK_EVENT_MOVES.get(event.event_type, "retry" if event.event_type == "requeued" else None)
            rule = next((m for m in TASK_MOVES if m.name == name and status in m.from_statuses), None)
            # Progress and warnings are events on the task, not moves: its status stays.
            reaches = status if name in ("progress", "warn") else rule.to_status if rule else None
            legal = rule is not None and bool(rule.roles & roles) and event.to_status == reaches
        if not legal:
            wrong.append(f"{step}: {name} from {status} to {event.to_status} is not a legal move for this actor")
        if actor is not None and actor.is_executor and actor.brains != {task.assigned_brain_id}:
            wrong.append(f"{step}: an executor of another Brain")
        status = event.to_status
    if status != task.status:
        wrong.append(f"{task}: the history ends at {status}, the row holds {task.status}")
    return wrong


# --- (1) every move is legal for its actor ----------------------------------------------------------

def test_every_request_move_the_demo_made_is_legal_for_its_actor(seeded):
    actors = Actors()
    requests = BrainRequest.objects.all()
    assert demo_requests().count() >= 13 and scale_requests().count() == 200
    wrong = [problem for request in requests for problem in request_moves_refused(request, actors)]
    assert wrong == []


def test_every_task_move_the_demo_made_is_legal_for_its_actor(seeded):
    actors = Actors()
    tasks = Task.objects.select_related("request")
    assert tasks.filter(request__in=demo_requests()).count() >= 5
    wrong = [problem for task in tasks for problem in task_moves_refused(task, actors)]
    assert wrong == []


def test_the_story_executors_are_tokens_of_the_brain_whose_tasks_they_work(seeded):
    claims = TaskEvent.objects.filter(task__request__in=demo_requests(), event_type="picked_up")
    assert claims.exists()
    for claim in claims.select_related("task"):
        token = ApiToken.objects.get(label=claim.actor.removeprefix("token:"))
        assert (token.role, token.brain_id) == (TokenRole.EXECUTOR, claim.task.assigned_brain_id)


def test_the_replay_refuses_a_move_the_table_does_not_allow(seeded):
    # The replay is the guard: a history with a move out of the table's order fails it.
    request = demo_requests().get(meta_json__demo_key="flow1-offer-review")
    accept = request.events.get(event_payload__move="accept")
    RequestEvent.objects.create(tenant_id=request.tenant_id, request=request, event_type="status_changed",
                                actor="research_owner", from_status="closed", to_status="in_progress",
                                event_payload={"move": "accept"}, created_at=accept.created_at.replace(year=2099))
    assert any("accept is not open" in problem for problem in request_moves_refused(request, Actors()))


# --- (2) the flow-3 escalation resumes where it was -------------------------------------------------

def test_resolving_the_flow_3_escalation_with_continue_returns_it_to_in_progress(seeded):
    request = demo_requests().get(meta_json__demo_key="flow3-budget-review")
    assert (request.status, request.held_from_status) == ("escalated", "in_progress")
    finance = actor_for_user(get_user_model().objects.get(username="finance_owner"))
    resolved = escalation_resolve(request=request, actor=finance, resolution="continue",
                                  decision_summary="Approve £6,000 a month with weekly pacing reviews",
                                  reasoning="The stress case is survivable at half the proposed spend.")
    assert resolved.status == "in_progress"
    request.refresh_from_db()
    assert (request.status, request.held_from_status) == ("in_progress", None)
    assert request.decisions.filter(decision_kind="escalation_resolution", authority_id="finance").exists()


# --- (3) the bulk rows hold the engine's invariants --------------------------------------------------

def test_every_request_in_a_hold_remembers_where_it_was_and_no_other_does(seeded):
    for requests in (scale_requests(), demo_requests()):
        holds = requests.filter(status__in=HOLDS)
        assert holds.exists()
        assert not holds.filter(held_from_status__isnull=True).exists()
        assert not holds.filter(held_from_status__in=HOLDS).exists()
        assert not requests.exclude(status__in=HOLDS).filter(held_from_status__isnull=False).exists()
    assert set(scale_requests().filter(status__in=HOLDS).values_list("status", flat=True)) >= {
        "blocked", "parked", "escalated"}


def test_every_request_has_one_created_event_first_by_its_creator(seeded):
    created = Count("events", filter=Q(events__event_type="created"))
    assert not BrainRequest.objects.annotate(n=created).exclude(n=1).exists()
    for request in scale_requests():
        first = min(request.events.all(), key=lambda e: e.created_at)
        assert (first.event_type, first.to_status, first.actor, first.created_at) == (
            "created", "new", request.created_by, request.created_at)


def test_escalated_requests_name_their_owner_and_reason(seeded):
    escalated = BrainRequest.objects.filter(status="escalated")
    assert escalated.filter(meta_json__scale=True).exists()
    for request in escalated:
        assert request.escalation_owner_id and request.escalation_reason and request.escalation_flag
        assert request.escalation_owner.authority != "operational"


def test_final_requests_carry_a_complete_outcome_with_typed_evidence(seeded):
    final = BrainRequest.objects.filter(status__in=FINAL_STATUSES)
    assert final.filter(meta_json__scale=True, status="closed").exists()
    assert final.filter(meta_json__scale=True, status="rejected").exists()
    for request in final:
        assert request.outcome_type and request.result_summary and request.outcome_decision
        assert request.next_step and request.next_step_owner and request.closed_at
        assert request.head_office_review_required is not None
        assert request.outcome_evidence
        for item in request.outcome_evidence:
            assert item["kind"] in ("artifact", "decision", "task_event", "request_event", "external"), item
            assert item.get("id") or item.get("text"), item
        assert not request.tasks.open().exists()


def test_responded_requests_carry_their_summary_and_outcome_type(seeded):
    for request in BrainRequest.objects.filter(status="responded"):
        assert request.response_summary and request.outcome_type


def test_each_row_changed_once_per_move_and_last_at_its_last_move(seeded):
    for request in scale_requests().prefetch_related("events"):
        moves = [e for e in request.events.all() if e.event_type == "status_changed"]
        assert request.lock_version == len(moves)
        assert request.updated_at == max(e.created_at for e in request.events.all()
                                         if e.event_type in ("created", "status_changed"))


def test_every_synthetic_request_is_written_with_the_deadlines_its_policy_gives_it(seeded):
    """The scale writer sets each request's SLA deadlines as the services would, so no request is
    left for a recompute (nor read by the SLA indexes as having no clock)."""
    requests = list(scale_requests())
    policy = sla_policy_for(tenant_id=requests[0].tenant_id)
    assert policy is not None
    for request in requests:
        assert (request.sla_warn_at, request.sla_due_at) == tuple(sla_values(request, policy).values())
    open_requests = [r for r in requests if r.status not in FINAL_STATUSES]
    assert open_requests and all(r.sla_due_at for r in open_requests if r.status != "parked")
    assert sla_recompute(tenant_id=requests[0].tenant_id) == 0


def test_every_task_has_its_created_events_and_sits_under_a_routed_request(seeded):
    tasks = Task.objects.filter(request__in=scale_requests())
    assert tasks.exists()
    for task in tasks.select_related("request"):
        assert task.events.filter(event_type="created").count() == 1
        assert task.request.events.filter(event_type="task_created", event_payload__task_id=str(task.pk)).exists()
        assert task.request.events.filter(event_payload__move="route").exists()  # connector rule 1
        if task.status == "completed":
            assert task.result is not None and task.result.task_id == task.pk
        if task.status == "failed":
            assert task.last_error and task.attempts == task.max_attempts
        assert task.attempts == task.events.filter(event_type="picked_up").count()


def test_classified_mcr_suggestions_carry_their_classification_decision(seeded):
    waiting = scale_requests().filter(status="awaiting_mcr_decision")
    for request in waiting:
        assert (request.feedback_classification, request.mcr_update_status) == ("propose_mcr_update", "proposed")
        assert request.decisions.filter(decision_kind="feedback_classification",
                                        classification="propose_mcr_update").count() == 1
