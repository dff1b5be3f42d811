"""`manage.py seed_demo`: the demo organisation, and bulk data at scale with `--scale N`.

The demo story (governance_app/demo_story.py) is told through the services: every request move
goes through the request transition table, every task move through the task table, every
decision, classification, escalation resolution, MCR decision and lesson through its governance
service, each made by the actor who would make it (the Brain's owner, the HeadOffice reviewer, an
executor token). The services run under the story's clock (`clock_set`), stepping through all
flows' steps in time order, so the records carry the story's dates.

Seeding is idempotent: a flow is told only when no request carries its key (meta_json
"demo_key"), and people, executor tokens and canon documents are created only when missing, so a
second run creates nothing, changes nothing and adds no event (it resets a password that differs).
`--scale N` adds N synthetic requests (meta_json {"scale": true}) with bulk inserts every time; each
row is what the services would have written for the same moves. Everything happens in one
transaction.
"""

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from governance_app import demo_story as story
from governance_app.demo_scale import (
    ScaleWriter,
    actor_label,
    executor_token,
    owner_username,
)
from governance_app.kernel import claims, clock
from governance_app.kernel.actors import Actor, actor_for_token, actor_for_user
from governance_app.kernel.db import DEFAULT_TENANT_ID
from governance_app.kernel.errors import DomainError
from governance_app.kernel.tenancy import member_add
from governance_app.models import (
    Brain,
    CanonDocument,
    DecisionKind,
    DecisionRecord,
    Membership,
    MembershipRole,
    Tenant,
)
from governance_app.registry import BRAINS
from governance_app.services import (
    decision_record,
    escalation_resolve,
    feedback_classify,
    lesson_record,
    mcr_decide,
)
from requests_app import sla
from requests_app.models import (
    BrainRequest,
    RequestStatus,
    Signal,
    SlaPolicy,
)
from requests_app.services import request_create, request_move, request_note_add
from requests_app.transitions import MOVE_NAMES, MOVES
from tasks_app.models import Task
from tasks_app.services import task_artifact_save, task_create, task_move

S = RequestStatus
# Every field a request move may take, by move name (requests_app.transitions.MOVES).
MOVE_FIELDS = {name: frozenset(f for move in MOVES if move.name == name for f in (*move.required, *move.optional))
               for name in MOVE_NAMES}


# --- the organisation ---------------------------------------------------------------------------

def organisation_ensure() -> tuple[Tenant, dict[str, Brain]]:
    """The default tenant and the nine Brains (normally already there from migrate)."""
    tenant, _ = Tenant.objects.get_or_create(id=DEFAULT_TENANT_ID, defaults={"slug": "mwms", "name": "MWMS"})
    brains = {}
    for spec in BRAINS:
        brains[spec["slug"]], _ = Brain.objects.get_or_create(tenant=tenant, slug=spec["slug"], defaults=spec)
    return tenant, brains


@dataclass(frozen=True)
class Person:
    username: str
    brain: str
    role: str
    description: str
    superuser: bool = False
    first_name: str = ""
    last_name: str = ""


# The demo's people have names, so the pages show "Hana Okafor", not "reviewer" (a person's name
# is their full name, else their username: requests_app.selectors.person_label).
DEMO_NAMES = {
    story.REVIEWER: ("Hana", "Okafor"), story.ADMIN: ("Sam", "Lindqvist"),
    "research": ("Priya", "Raman"), "affiliate": ("Tomás", "Ferreira"), "ads": ("Mei", "Tanaka"),
    "experimentation": ("Jonas", "Weber"), "finance": ("Grace", "Mensah"), "sit": ("Omar", "Haddad"),
    "aibs": ("Lena", "Novak"), "content": ("Ines", "Duarte"), "headoffice": ("Ruth", "Achterberg"),
}


def _named(person: Person, key: str) -> Person:
    first, last = DEMO_NAMES.get(key, ("", ""))
    return replace(person, first_name=first, last_name=last)


def demo_people(brains: dict[str, Brain]) -> list[Person]:
    reviewer = MembershipRole.HEAD_OFFICE_REVIEWER
    return [
        _named(Person(story.REVIEWER, Brain.HEADOFFICE, reviewer, "HeadOffice reviewer"), story.REVIEWER),
        _named(Person(story.ADMIN, Brain.HEADOFFICE, reviewer, "superuser (Django admin) and HeadOffice reviewer",
                      superuser=True), story.ADMIN),
        *(_named(Person(owner_username(slug), slug, MembershipRole.OWNER, f"owner of {brain.name}"), slug)
          for slug, brain in brains.items()),
    ]


def people_ensure(*, people: list[Person], brains: dict[str, Brain], password: str) -> list[str]:
    """Create whoever is missing; reset a password only when it differs. Returns what changed."""
    User = get_user_model()
    changes = []
    for person in people:
        user = User.objects.filter(username=person.username).first()
        if user is None:
            user = User(username=person.username, email=f"{person.username}@demo.mwms.example",
                        first_name=person.first_name, last_name=person.last_name,
                        is_staff=person.superuser, is_superuser=person.superuser)
            user.set_password(password)
            user.save()
            changes.append(f"created {person.username}")
        else:
            if not user.check_password(password):
                user.set_password(password)
                user.save(update_fields=["password"])
                changes.append(f"password reset for {person.username}")
            if person.first_name and not (user.first_name or user.last_name):  # a name someone set is kept
                user.first_name, user.last_name = person.first_name, person.last_name
                user.save(update_fields=["first_name", "last_name"])
                changes.append(f"{person.username} is named {user.get_full_name()}")
            if person.superuser and not (user.is_staff and user.is_superuser):
                user.is_staff = user.is_superuser = True
                user.save(update_fields=["is_staff", "is_superuser"])
                changes.append(f"{person.username} made superuser")
        brain = brains[person.brain]
        membership = Membership.objects.filter(user=user, brain_id=brain.slug).first()
        if membership is None or membership.role != person.role:
            member_add(user=user, brain=brain, role=person.role)
            if membership is not None:
                changes.append(f"{person.username} is now {person.role} of {brain.slug}")
    return changes


# --- the story ----------------------------------------------------------------------------------

def canon_ensure(*, tenant: Tenant, now: datetime) -> int:
    """The MCR canon documents the story refers to, at the version they had before it."""
    created = 0
    for spec in story.CANON:
        _, was_created = CanonDocument.objects.get_or_create(
            tenant=tenant, slug=spec.slug,
            defaults={"title": spec.title, "document_type": spec.document_type, "version": spec.version,
                      "body": spec.body, "governs": list(spec.governs), "request_types": list(spec.request_types),
                      "created_at": now - timedelta(days=200),
                      "updated_at": now - timedelta(days=200)},
        )
        created += was_created
    return created


# The demo's SLA targets in hours, by priority: the time in each status, then open → closed in all.
# Parked (a deliberate hold) has none.
DEMO_SLA_HOURS = {
    "urgent": {"new": 1, "under_review": 2, "routed": 4, "in_progress": 24, "responded": 24, "escalated": 8,
               "blocked": 24, "awaiting_evidence": 48, "awaiting_head_office_review": 8,
               "awaiting_mcr_decision": 72, "returned_for_revision": 48, "total": 72},
    "high": {"new": 4, "under_review": 8, "routed": 24, "in_progress": 72, "responded": 48, "escalated": 24,
             "blocked": 48, "awaiting_evidence": 72, "awaiting_head_office_review": 24,
             "awaiting_mcr_decision": 120, "returned_for_revision": 72, "total": 120},
    "medium": {"new": 8, "under_review": 24, "routed": 48, "in_progress": 120, "responded": 72, "escalated": 48,
               "blocked": 72, "awaiting_evidence": 120, "awaiting_head_office_review": 48,
               "awaiting_mcr_decision": 168, "returned_for_revision": 120, "total": 240},
    "low": {"new": 24, "under_review": 48, "routed": 72, "in_progress": 240, "responded": 120, "escalated": 72,
            "blocked": 120, "awaiting_evidence": 240, "awaiting_head_office_review": 72,
            "awaiting_mcr_decision": 336, "returned_for_revision": 240, "total": 480},
}


def sla_policy_ensure(*, tenant: Tenant) -> bool:
    """The demo tenant's SLA policy, unless it has one (an operator's policy is left alone)."""
    if SlaPolicy.objects.filter(tenant_id=tenant.id).exists():
        return False
    reviewer = Actor(tenant_id=tenant.id, label="seed_demo", is_head_office=True)
    sla.sla_policy_save(actor=reviewer, warn_percent=80, hours={
        (priority, clock): hours for priority, clocks in DEMO_SLA_HOURS.items() for clock, hours in clocks.items()})
    return True


def story_request(flow_key: str) -> BrainRequest | None:
    """The request a flow of the story created, if it exists."""
    return BrainRequest.objects.filter(meta_json__demo_key=flow_key).first()


class Cast:
    """The story's actors, each built once: people from their memberships, executors from their tokens."""

    def __init__(self) -> None:
        self.actors: dict[str, Actor] = {}

    def actor(self, by: str) -> Actor:
        if by not in self.actors:
            if by.startswith("token:"):
                label = by.removeprefix("token:")
                self.actors[by] = actor_for_token(executor_token(brain=story.EXECUTORS[label], label=label))
            else:
                self.actors[by] = actor_for_user(get_user_model().objects.get(username=actor_label(by)))
        return self.actors[by]


class Lineage:
    """What the flows told so far created, by key, so a later flow can refer to it (a child
    request's parent and originating task); flows told in an earlier run are looked up."""

    def __init__(self) -> None:
        self.requests: dict[str, BrainRequest] = {}
        self.tasks: dict[str, Task] = {}

    def request(self, flow_key: str) -> BrainRequest:
        found = self.requests.get(flow_key) or story_request(flow_key)
        if found is None:
            raise CommandError(f"The story refers to flow {flow_key!r} before it was told.")
        return found

    def task(self, task_key: str) -> Task:
        if task_key in self.tasks:
            return self.tasks[task_key]
        for flow in story.FLOWS:
            for step in flow.steps:
                if isinstance(step, story.NewTask) and step.key == task_key:
                    return self.request(flow.key).tasks.get(title=step.title)
        raise CommandError(f"The story has no task {task_key!r}.")


class FlowWriter:
    """Tells one flow through the services: its request as created, then every step in order.

    `timeline()` gives the flow's steps with their moments; the command runs the steps of every
    flow in time order under the story's clock.
    """

    def __init__(self, *, flow: story.Flow, now: datetime, cast: Cast, lineage: Lineage):
        self.flow, self.now, self.cast, self.lineage = flow, now, cast, lineage
        self.start = now - timedelta(days=flow.start_days_ago)
        self.request: BrainRequest | None = None
        self.records: dict[str, uuid.UUID] = {}  # "artifact:<key>" / "decision:<key>" → id
        self.locations: dict[str, list[str]] = {}  # task key → where its artifacts live
        self.handlers: dict[type, Callable[[Any, Actor], None]] = {
            story.RequestMove: self.request_move, story.NewTask: self.new_task, story.TaskStep: self.task_step,
            story.Output: self.output, story.Decide: self.decide, story.Classify: self.classify,
            story.DecideMcr: self.decide_mcr, story.ResolveEscalation: self.resolve_escalation,
            story.Note: self.note, story.Learn: self.learn,
        }

    def timeline(self) -> list[tuple[datetime, Callable[[], None]]]:
        entries: list[tuple[datetime, Callable[[], None]]] = [(self.start, self.create)]
        last = self.start
        for step in self.flow.steps:
            moment = self.start + timedelta(hours=step.at)
            if moment < last or moment > self.now:
                raise CommandError(f"{self.flow.key}: a step at {step.at}h is out of order or in the future")
            last = moment
            entries.append((moment, partial(self.run, step)))
        return entries

    def run(self, step: story.Step) -> None:
        try:
            self.handlers[type(step)](step, self.cast.actor(step.by))
        except DomainError as error:
            raise CommandError(f"{self.flow.key}: {type(step).__name__} at {step.at}h by {step.by} was refused: "
                               f"{error.message}") from error

    # -- helpers
    def evidence(self, refs: list[str]) -> list[str]:
        """Story references ("artifact:<key>") as the ids the services gave them; text stays text."""
        return [str(self.records[ref]) if ref in self.records else ref for ref in refs]

    def expect(self, status: str) -> None:
        """The step must have taken the request where the story says; the table decides, not the story."""
        self.request.refresh_from_db()
        if self.request.status != status:
            raise CommandError(f"{self.flow.key}: the request is {self.request.status}, the story expects {status}")

    # -- the steps
    def create(self) -> None:
        flow = self.flow
        fields = dict(flow.request)
        meta = fields.pop("meta", {})
        parent, originating_task = fields.pop("parent", None), fields.pop("originating_task", None)
        change = fields.pop("canon_change", None)
        actor = self.cast.actor(flow.by)
        if change:  # a suggestion's exact change: the document's text with a section added
            document = CanonDocument.objects.get(tenant_id=actor.tenant_id, slug=change["document"])
            fields.update(canon_document=document.slug, proposed_text=document.body + change["append"])
        try:
            self.request = request_create(
                actor=actor, **fields,
                parent_request_id=self.lineage.request(parent).pk if parent else None,
                originating_task_id=self.lineage.task(originating_task).pk if originating_task else None,
                meta_json={"demo_key": flow.key, "demo_story": flow.story, **meta},
            )
        except DomainError as error:
            raise CommandError(f"{flow.key}: creating the request was refused: {error.message}") from error
        self.lineage.requests[flow.key] = self.request
        if flow.signal:
            # The signal is the evidence that triggered the request (connector rule 5). No service
            # attaches a signal to a request created with its own fields (signal_intake writes the
            # request from the signal alone), so it is written here as that intake would write it.
            spec = flow.signal
            Signal.objects.create(
                tenant_id=self.request.tenant_id, source_brain_id=spec.brain, signal_type=spec.signal_type,
                direction=spec.direction, summary=spec.summary, payload=spec.payload, request=self.request,
                created_by=actor.label, created_at=self.start - timedelta(hours=spec.hours_before),
            )

    def request_move(self, step: story.RequestMove, actor: Actor) -> None:
        unknown = set(step.fields) - MOVE_FIELDS.get(step.move, frozenset())
        if unknown:
            raise CommandError(f"{self.flow.key}: {step.move} takes no {', '.join(sorted(unknown))}")
        fields = dict(step.fields)
        if "outcome_evidence" in fields:
            fields["outcome_evidence"] = self.evidence(fields["outcome_evidence"])
        request_move(request=self.request, actor=actor, move=step.move, fields=fields, note=step.note)
        self.expect(step.to)

    def new_task(self, step: story.NewTask, actor: Actor) -> None:
        self.lineage.tasks[step.key] = task_create(
            request=self.request, actor=actor, task_type=step.task_type, assigned_brain=step.brain,
            title=step.title, input_payload=step.payload, output_mode=step.output_mode, risk_level=step.risk,
            priority=step.priority, max_attempts=step.max_attempts, execution_notes=step.notes,
        )

    def task_step(self, step: story.TaskStep, actor: Actor) -> None:
        fields: dict[str, Any] = {
            "claim": {},
            "start": {"note": step.summary},
            "progress": {"summary": step.summary, "payload": step.payload},
            "warn": {"summary": step.summary, "payload": step.payload},
            "complete": {"result_summary": step.summary, "evidence_links": self.locations.get(step.task)},
            "fail": {"error": step.summary},
        }[step.move]
        task_move(task=self.lineage.tasks[step.task], actor=actor, move=step.move, fields=fields)

    def output(self, step: story.Output, actor: Actor) -> None:
        artifact = task_artifact_save(
            task=self.lineage.tasks[step.task], actor=actor, artifact_type=step.artifact_type,
            artifact_summary=step.summary, content_location=step.location, content_json=step.content,
            as_result=step.is_result,
        )
        self.records[f"artifact:{step.key}"] = artifact.pk
        if step.location:
            self.locations.setdefault(step.task, []).append(step.location)

    def decide(self, step: story.Decide, actor: Actor) -> None:
        decision = decision_record(
            actor=actor, request=self.request, decision_summary=step.summary, reasoning=step.reasoning,
            evidence_used=step.evidence, expected_outcome=step.expected_outcome,
            affected_brains=list(step.affected) or None,
            task_id=self.lineage.tasks[step.task].pk if step.task else None,
        )
        self.records[f"decision:{step.key}"] = decision.pk

    def classify(self, step: story.Classify, actor: Actor) -> None:
        decision = feedback_classify(request=self.request, actor=actor, classification=step.classification,
                                     note=step.note)
        self.records[f"decision:{step.key}"] = decision.pk
        self.expect(step.to)

    def decide_mcr(self, step: story.DecideMcr, actor: Actor) -> None:
        amendment: dict[str, Any] = {}
        if step.canon:
            document = CanonDocument.objects.get(tenant_id=self.request.tenant_id, slug=step.canon.document)
            old, new = step.canon.replace
            if old not in document.body:
                raise CommandError(f"{step.key}: the text to amend is not in {document.slug}")
            amendment = {"canon_document_id": document.pk, "amended_body": document.body.replace(old, new, 1),
                         "new_version": step.canon.version_after}
        decision = mcr_decide(request=self.request, actor=actor, decision=step.decision, reasoning=step.reasoning,
                              **amendment)
        self.records[f"decision:{step.key}"] = decision.pk
        self.expect(step.to)

    def resolve_escalation(self, step: story.ResolveEscalation, actor: Actor) -> None:
        outcome = dict(step.outcome)
        if "outcome_evidence" in outcome:
            outcome["outcome_evidence"] = self.evidence(outcome["outcome_evidence"])
        escalation_resolve(request=self.request, actor=actor, resolution=step.resolution,
                           decision_summary=step.summary, reasoning=step.reasoning, outcome=outcome, note=step.note)
        decision = DecisionRecord.objects.get(related_request=self.request, created_at=clock.now(),
                                              decision_kind=DecisionKind.ESCALATION_RESOLUTION)
        self.records[f"decision:{step.key}"] = decision.pk
        self.expect(step.to)

    def note(self, step: story.Note, actor: Actor) -> None:
        request_note_add(request=self.request, actor=actor, note=step.note)

    def learn(self, step: story.Learn, actor: Actor) -> None:
        lesson_record(
            actor=actor, request=self.request, event_or_experiment=step.event_or_experiment, result=step.result,
            insight=step.insight, recommended_improvement=step.improvement, originating_brain=step.brain,
            task_id=self.lineage.tasks[step.task].pk if step.task else None,
            decision_id=self.records[f"decision:{step.decision}"] if step.decision else None,
        )


def story_tell(*, flows: list[story.Flow], now: datetime) -> None:
    """Tell these flows through the services, every step of every flow in time order, each under
    a clock that reads the step's moment."""
    cast, lineage = Cast(), Lineage()
    steps = []
    for flow_index, flow in enumerate(flows):
        writer = FlowWriter(flow=flow, now=now, cast=cast, lineage=lineage)
        steps += [(moment, flow_index, step_index, run)
                  for step_index, (moment, run) in enumerate(writer.timeline())]
    steps.sort(key=lambda entry: entry[:3])
    current = [now]
    with clock.clock_set(lambda: current[0]):
        for moment, _flow, _step, run in steps:
            current[0] = moment
            run()


class Command(BaseCommand):
    help = ("Seed the demo organisation: the nine Brains, a HeadOffice reviewer, an owner per Brain, an admin, "
            "and requests walking the protocol's five standard flows through the services. Idempotent. "
            "--scale N adds N synthetic requests with their tasks and events.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", default=story.DEMO_PASSWORD,
                            help=f"password for every demo user (default: {story.DEMO_PASSWORD})")
        parser.add_argument("--scale", type=int, default=0, metavar="N",
                            help="also add N synthetic requests (each run adds another N)")
        parser.add_argument("--batch-size", type=int, default=5000, help="rows per bulk insert (default 5000)")
        parser.add_argument("--seed", type=int, default=None, help="random seed for --scale content")

    def handle(self, *args: Any, password: str, scale: int, batch_size: int, seed: int | None,
               **options: Any) -> None:
        if scale < 0 or batch_size < 1:
            raise CommandError("--scale must be 0 or more and --batch-size at least 1")
        try:
            validate_password(password)
        except ValidationError as error:
            raise CommandError(f"--password: {' '.join(error.messages)}") from error
        started = time.monotonic()
        now = timezone.now()
        # One transaction acting for the demo tenant (row-level security on PostgreSQL).
        with claims.tenant_claim(DEFAULT_TENANT_ID):
            tenant, brains = organisation_ensure()
            people = demo_people(brains)
            for change in people_ensure(people=people, brains=brains, password=password):
                self.stdout.write(f"  {change}")
            canon_ensure(tenant=tenant, now=now)
            if sla_policy_ensure(tenant=tenant):
                self.stdout.write("  + SLA policy: targets per priority for each status (the SLA policy page)")
            missing = []
            for flow in story.FLOWS:
                if story_request(flow.key) is None:
                    missing.append(flow)
                    self.stdout.write(f"  + {flow.story}")
                else:
                    self.stdout.write(f"  · {flow.story} (already there)")
            if missing and not tenant.four_eyes_rule:
                # The demo shows the four-eyes rule at work (its MCR approval is the admin's, not the
                # classifying reviewer's). Set when the story is told, so a later run leaves the
                # operator's choice alone.
                tenant.four_eyes_rule = True
                tenant.save(update_fields=["four_eyes_rule"])
                self.stdout.write("  four-eyes rule on: the reviewer who proposes an MCR update does not approve it")
            story_tell(flows=missing, now=now)
            if scale:
                self.stdout.write(f"Adding {scale:,} synthetic requests in batches of {batch_size:,} …")
                totals = ScaleWriter(tenant_id=tenant.id, brains=brains, now=now, rng=random.Random(seed),
                                     batch_size=batch_size, log=self.stdout.write).write(scale)
                self.stdout.write("  scale totals: " + ", ".join(f"{k.replace('_', ' ')} {v:,}"
                                                                  for k, v in totals.items()))
        self.stdout.write(self.style.SUCCESS(f"Demo organisation ready ({time.monotonic() - started:.1f} s)."))
        self.stdout.write(f"Sign in with password: {password}")
        for person in people:
            self.stdout.write(f"  {person.username:<24} {person.description}")
