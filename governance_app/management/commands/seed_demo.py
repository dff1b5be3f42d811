"""`manage.py seed_demo`: the demo organisation, and bulk data at scale with `--scale N`.

The demo story (governance_app/demo_story.py) is idempotent: every object it writes has a fixed
uuid5 derived from its key, a flow is written only when its request is missing, and people are
created only when missing, so a second run creates nothing, changes nothing and adds no event.
`--scale N` adds N synthetic requests (meta_json {"scale": true}) with bulk inserts every time.
Everything happens in one transaction.
"""

import difflib
import hashlib
import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, reset_queries, transaction
from django.utils import timezone

from governance_app import demo_story as story
from governance_app.kernel.actors import Actor
from governance_app.kernel.db import DEFAULT_TENANT_ID
from governance_app.demo_story import (
    ARCHETYPES,
    CLOSED_OUTCOMES,
    ERRORS,
    FEEDBACK_TYPES,
    FINDINGS,
    MARKETS,
    NICHES,
    OLD_WEIGHTS,
    PRIORITIES,
    PRIORITY_WEIGHTS,
    SCALE_TEXT,
    SOURCE_ORIGINS,
    WORK_TYPES,
    YOUNG_WEIGHTS,
    Archetype,
)
from governance_app.models import (
    Brain,
    CanonAmendment,
    CanonDocument,
    DecisionRecord,
    LessonLearned,
    Membership,
    MembershipRole,
    Tenant,
)
from governance_app.registry import BRAINS
from requests_app.models import (
    FINAL_STATUSES,
    BrainRequest,
    RequestEvent,
    RequestEventType,
    RequestStatus,
    Signal,
)
from requests_app.services import request_event_write
from tasks_app.models import Task, TaskArtifact, TaskEvent, TaskEventType
from tasks_app.services import task_event_write

# Never change: every demo object's id is derived from it, which is what makes reruns no-ops.
DEMO_NAMESPACE = uuid.UUID("5d0c6f2e-8a4b-4f1e-9c1a-6d3b2e7f9a10")


def demo_id(kind: str, key: str) -> uuid.UUID:
    """The fixed id of one demo object (kind: request, task, artifact, decision, ...)."""
    return uuid.uuid5(DEMO_NAMESPACE, f"{kind}:{key}")


BRAIN_SLUGS = frozenset(spec["slug"] for spec in BRAINS)


def owner_username(slug: str) -> str:
    return f"{slug}_owner"


def actor_label(by: str) -> str:
    """`by` in the story: a Brain slug means its owner acts; "reviewer" and "token:…" act as themselves."""
    return owner_username(by) if by in BRAIN_SLUGS else by


def _sha256(content: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


# --- the organisation ---------------------------------------------------------------------------

def organisation_ensure() -> tuple[Tenant, dict[str, Brain]]:
    """The default tenant and the nine Brains (normally already there from migrate)."""
    tenant, _ = Tenant.objects.get_or_create(id=DEFAULT_TENANT_ID, defaults={"slug": "mwms", "name": "MWMS"})
    brains = {}
    for spec in BRAINS:
        brains[spec["slug"]], _ = Brain.objects.get_or_create(slug=spec["slug"], defaults={**spec, "tenant": tenant})
    return tenant, brains


@dataclass(frozen=True)
class Person:
    username: str
    brain: str
    role: str
    description: str
    superuser: bool = False


def demo_people(brains: dict[str, Brain]) -> list[Person]:
    reviewer = MembershipRole.HEAD_OFFICE_REVIEWER
    return [
        Person(story.REVIEWER, Brain.HEADOFFICE, reviewer, "HeadOffice reviewer"),
        Person(story.ADMIN, Brain.HEADOFFICE, reviewer, "superuser (Django admin) and HeadOffice reviewer",
               superuser=True),
        *(Person(owner_username(slug), slug, MembershipRole.OWNER, f"owner of {brain.name}")
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
                        is_staff=person.superuser, is_superuser=person.superuser)
            user.set_password(password)
            user.save()
            changes.append(f"created {person.username}")
        else:
            if not user.check_password(password):
                user.set_password(password)
                user.save(update_fields=["password"])
                changes.append(f"password reset for {person.username}")
            if person.superuser and not (user.is_staff and user.is_superuser):
                user.is_staff = user.is_superuser = True
                user.save(update_fields=["is_staff", "is_superuser"])
                changes.append(f"{person.username} made superuser")
        brain = brains[person.brain]
        membership, created = Membership.objects.get_or_create(
            user=user, brain=brain, defaults={"role": person.role, "tenant_id": brain.tenant_id}
        )
        if not created and membership.role != person.role:
            membership.role = person.role
            membership.save(update_fields=["role"])
            changes.append(f"{person.username} is now {person.role} of {brain.slug}")
    return changes


# --- the story ----------------------------------------------------------------------------------

# Story field names (the protocol's) → model attributes, where they differ.
REQUEST_ATTRIBUTES = {
    "origin_brain": "requesting_brain_id",
    "destination_brain": "target_brain_id",
    "review_owner": "review_owner_id",
    "escalation_owner": "escalation_owner_id",
    "primary_brain": "primary_brain_id",
}
# Task event → the status it moves the task to (progress, warning and output_saved move nothing).
TASK_EVENT_STATUS = {
    TaskEventType.PICKED_UP: "picked_up",
    TaskEventType.STARTED: "running",
    TaskEventType.ERROR: "failed",
    TaskEventType.REQUEUED: "queued",
    TaskEventType.COMPLETED: "completed",
    TaskEventType.CANCELLED: "cancelled",
    TaskEventType.ESCALATED: "escalated",
}


def canon_ensure(*, tenant: Tenant, now: datetime) -> int:
    """The MCR canon documents the story refers to, at the version they had before it."""
    created = 0
    for spec in story.CANON:
        _, was_created = CanonDocument.objects.get_or_create(
            tenant=tenant, slug=spec.slug,
            defaults={"title": spec.title, "document_type": spec.document_type, "version": spec.version,
                      "body": spec.body, "created_at": now - timedelta(days=200),
                      "updated_at": now - timedelta(days=200)},
        )
        created += was_created
    return created


class FlowWriter:
    """Writes one flow: its request as created, then every move in order, then the final state."""

    def __init__(self, *, flow: story.Flow, tenant: Tenant, now: datetime):
        self.flow = flow
        self.tenant = tenant
        self.now = now
        self.start = now - timedelta(days=flow.start_days_ago)
        self.last_at = self.start
        self.request: BrainRequest | None = None
        self.tasks: dict[str, Task] = {}
        self.request_event_count = 0
        self.task_event_counts: dict[str, int] = {}
        self.last_request_event_at = self.start
        self.handlers: dict[type, Callable[[Any, datetime, Actor], None]] = {
            story.Status: self.status, story.NewTask: self.new_task, story.TaskStep: self.task_step,
            story.Output: self.output, story.Decide: self.decide, story.Learn: self.learn,
            story.Amend: self.amend,
        }

    def actor(self, by: str) -> Actor:
        return Actor(tenant_id=self.tenant.id, label=actor_label(by))

    def at(self, hours: float) -> datetime:
        moment = self.start + timedelta(hours=hours)
        if moment < self.last_at or moment > self.now:
            raise CommandError(f"{self.flow.key}: a move at {hours}h is out of order or in the future")
        self.last_at = moment
        return moment

    def write(self) -> None:
        self.create_request()
        for move in self.flow.moves:
            self.handlers[type(move)](move, self.at(move.at), self.actor(move.by))
        for task in self.tasks.values():
            task.save()
        self.request.updated_at = self.last_request_event_at
        self.request.save()

    # -- helpers
    def evidence(self, ref: str) -> str:
        kind, _, key = ref.partition(":")
        return str(demo_id(kind, key)) if kind in {"artifact", "decision", "task", "request"} and key else ref

    def attribute(self, name: str, value: Any) -> tuple[str, Any]:
        """A story field (protocol name, keys for references) as a model attribute and its value."""
        if name == "parent":
            return "parent_request_id", demo_id("request", value)
        if name == "originating_task":
            return "originating_task_id", demo_id("task", value)
        if name == "outcome_evidence":
            return name, [self.evidence(ref) for ref in value]
        return REQUEST_ATTRIBUTES.get(name, name), value

    def attributes(self, fields: dict[str, Any]) -> dict[str, Any]:
        return dict(self.attribute(name, value) for name, value in fields.items() if name != "meta")

    def request_event(self, *, at: datetime, actor: Actor, **kwargs: Any) -> RequestEvent:
        event_id = demo_id("request-event", f"{self.flow.key}:{self.request_event_count}")
        self.request_event_count += 1
        self.last_request_event_at = at
        return request_event_write(event_id=event_id, at=at, request=self.request, actor=actor, **kwargs)

    def task_event(self, *, key: str, at: datetime, actor: Actor, **kwargs: Any) -> TaskEvent:
        number = self.task_event_counts.get(key, 0)
        self.task_event_counts[key] = number + 1
        task = self.tasks[key]
        task.updated_at = at
        return task_event_write(event_id=demo_id("task-event", f"{key}:{number}"), at=at, task=task, actor=actor,
                             **kwargs)

    # -- the moves
    def create_request(self) -> None:
        flow, actor = self.flow, self.actor(self.flow.by)
        self.request = BrainRequest(
            id=demo_id("request", flow.key), tenant_id=self.tenant.id, status=RequestStatus.NEW,
            created_by=actor.label, created_at=self.start, updated_at=self.start,
            meta_json={"demo_key": flow.key, "demo_story": flow.story, **flow.request.get("meta", {})},
            **self.attributes(flow.request),
        )
        self.request.save(force_insert=True)
        self.request_event(at=self.start, actor=actor, event_type=RequestEventType.CREATED,
                           summary=f"Request created: {self.request.request_title}",
                           to_status=RequestStatus.NEW,
                           payload={"source_origin": self.request.source_origin} if self.request.source_origin else {})
        if flow.signal:
            spec = flow.signal
            Signal.objects.create(
                id=demo_id("signal", spec.key), tenant_id=self.tenant.id, source_brain_id=spec.brain,
                signal_type=spec.signal_type, direction=spec.direction, summary=spec.summary,
                payload=spec.payload, request=self.request, created_by=owner_username(spec.brain),
                created_at=self.start - timedelta(hours=spec.hours_before),
            )

    def status(self, move: story.Status, at: datetime, actor: Actor) -> None:
        request = self.request
        before_status = request.status
        changed = {}
        for name, value in move.fields.items():
            attribute, resolved = self.attribute(name, value)
            if getattr(request, attribute) != resolved:
                changed[name] = [getattr(request, attribute), resolved]
                setattr(request, attribute, resolved)
        request.status = move.to
        if move.to in FINAL_STATUSES:
            request.closed_at = at
        request.lock_version += 1
        self.request_event(
            at=at, actor=actor, event_type=RequestEventType.STATUS_CHANGED,
            summary=f"{RequestStatus(before_status).label} → {RequestStatus(move.to).label}",
            from_status=before_status, to_status=move.to, note=move.note, changed_fields=changed,
        )

    def new_task(self, move: story.NewTask, at: datetime, actor: Actor) -> None:
        task = Task(
            id=demo_id("task", move.key), tenant_id=self.tenant.id, request=self.request,
            task_type=move.task_type, assigned_brain_id=move.brain, title=move.title, risk_level=move.risk,
            priority=move.priority, output_mode=move.output_mode, input_payload=move.payload,
            execution_notes=move.notes, status="queued", created_at=at, updated_at=at,
        )
        task.save(force_insert=True)
        self.tasks[move.key] = task
        self.task_event(key=move.key, at=at, actor=actor, event_type=TaskEventType.CREATED,
                        summary=f"Task created: {move.title}", to_status="queued", payload={"demo_key": move.key})
        self.request_event(at=at, actor=actor, event_type=RequestEventType.TASK_CREATED,
                           summary=f"Task created: {move.title}", payload={"task_id": str(task.id)})

    def task_step(self, move: story.TaskStep, at: datetime, actor: Actor) -> None:
        task = self.tasks[move.task]
        to_status = TASK_EVENT_STATUS.get(move.event)
        from_status = task.status if to_status else None
        payload = dict(move.payload)
        if move.event == TaskEventType.PICKED_UP:
            task.attempts += 1
            task.assigned_employee = actor.label.removeprefix("token:")
            payload.setdefault("attempt", task.attempts)
        elif move.event == TaskEventType.STARTED and task.started_at is None:
            task.started_at = at
        elif move.event == TaskEventType.ERROR:
            task.last_error = move.summary
        elif move.event == TaskEventType.COMPLETED:
            task.completed_at = at
        if to_status:
            task.status = to_status
            task.lock_version += 1
        self.task_event(key=move.task, at=at, actor=actor, event_type=move.event, summary=move.summary,
                        from_status=from_status, to_status=to_status, payload=payload)

    def output(self, move: story.Output, at: datetime, actor: Actor) -> None:
        task = self.tasks[move.task]
        artifact = TaskArtifact.objects.create(
            id=demo_id("artifact", move.key), tenant_id=self.tenant.id, task=task,
            artifact_type=move.artifact_type, artifact_summary=move.summary, content_location=move.location,
            content_json=move.content, content_hash=_sha256(move.content), created_by=actor.label, created_at=at,
        )
        if move.location:
            task.evidence_links = [*task.evidence_links, move.location]
        if move.is_result:
            task.result = artifact
        self.task_event(key=move.task, at=at, actor=actor, event_type=TaskEventType.OUTPUT_SAVED,
                        summary=f"Output saved: {move.summary}",
                        payload={"artifact_id": str(artifact.id), "artifact_type": move.artifact_type})

    def decide(self, move: story.Decide, at: datetime, actor: Actor) -> None:
        decision = DecisionRecord.objects.create(
            id=demo_id("decision", move.key), tenant_id=self.tenant.id, authority_id=move.authority,
            related_request=self.request, related_task_id=demo_id("task", move.task) if move.task else None,
            affected_brains=list(move.affected), decision_summary=move.summary, reasoning=move.reasoning,
            evidence_used=move.evidence, expected_outcome=move.expected_outcome, decision_kind=move.kind,
            classification=move.classification, mcr_decision=move.mcr_decision, recorded_by=actor.label,
            created_at=at,
        )
        self.request_event(at=at, actor=actor, event_type=RequestEventType.DECISION_RECORDED,
                           summary=f"Decision recorded: {move.summary}",
                           payload={"decision_id": str(decision.id), "decision_kind": move.kind})

    def learn(self, move: story.Learn, at: datetime, actor: Actor) -> None:
        lesson = LessonLearned.objects.create(
            id=demo_id("lesson", move.key), tenant_id=self.tenant.id, originating_brain_id=move.brain,
            related_decision_id=demo_id("decision", move.decision) if move.decision else None,
            related_task_id=demo_id("task", move.task) if move.task else None, related_request=self.request,
            event_or_experiment=move.event_or_experiment, result=move.result, insight=move.insight,
            recommended_improvement=move.improvement, recorded_by=actor.label, created_at=at,
        )
        self.request_event(at=at, actor=actor, event_type=RequestEventType.LESSON_RECORDED,
                           summary=f"Lesson recorded: {move.insight}", payload={"lesson_id": str(lesson.id)})

    def amend(self, move: story.Amend, at: datetime, actor: Actor) -> None:
        document = CanonDocument.objects.get(tenant=self.tenant, slug=move.document)
        old, new = move.replace
        if old not in document.body:
            raise CommandError(f"{move.key}: the text to amend is not in {document.slug}")
        body_after = document.body.replace(old, new, 1)
        amendment = CanonAmendment.objects.create(
            id=demo_id("amendment", move.key), tenant_id=self.tenant.id, document=document, request=self.request,
            decision_id=demo_id("decision", move.decision), version_before=document.version,
            version_after=move.version_after, body_before=document.body, body_after=body_after,
            diff="".join(difflib.unified_diff(document.body.splitlines(keepends=True),
                                              body_after.splitlines(keepends=True),
                                              f"{document.slug} {document.version}",
                                              f"{document.slug} {move.version_after}")),
            evidence={k: self.evidence(f"{k}:{v}") for k, v in move.evidence.items()},
            approved_by=actor.label, created_at=at,
        )
        summary = f"Canon amended: {document.title} {document.version} → {move.version_after}"
        document.version, document.body, document.updated_at = move.version_after, body_after, at
        document.save()
        self.request_event(at=at, actor=actor, event_type=RequestEventType.NOTE, summary=summary,
                           payload={"amendment_id": str(amendment.id), "document": document.slug})


# --- scale ----------------------------------------------------------------------------------------

def rows_insert(model: type, rows: list, *, batch_size: int) -> None:
    """Insert new rows in bulk: PostgreSQL's COPY where it is available (about four times faster
    than multi-row INSERTs for a million events), bulk_create elsewhere. Model save() is not run
    either way, so values must be complete (ids, timestamps) as bulk_create would need them."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(rows, batch_size=batch_size)
        return
    fields = [f for f in model._meta.concrete_fields]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cursor, cursor.cursor.copy(
            f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields])


@dataclass
class Batch:
    requests: list[BrainRequest] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    artifacts: list[TaskArtifact] = field(default_factory=list)
    request_events: list[RequestEvent] = field(default_factory=list)
    task_events: list[TaskEvent] = field(default_factory=list)
    decisions: list[DecisionRecord] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {name: len(rows) for name, rows in vars(self).items()}


class ScaleWriter:
    """N synthetic requests with their tasks, events, artifacts and decisions, by bulk insert."""

    def __init__(self, *, tenant_id: uuid.UUID, brains: dict[str, Brain], now: datetime, rng: random.Random,
                 batch_size: int, log: Callable[[str], None]):
        self.tenant_id, self.now, self.rng, self.batch_size, self.log = tenant_id, now, rng, batch_size, log
        self.names = {slug: brain.name for slug, brain in brains.items()}
        self.slugs = list(brains)
        self.destinations = {t: [s for s, b in brains.items() if t in b.accepted_request_types] for t in SCALE_TEXT}
        self.work_types = [t for t in WORK_TYPES if self.destinations[t]]
        self.run = uuid.uuid4().hex[:8]
        # Version-4 uuids from a generator the OS seeds once: uuid.uuid4 makes a system call per id,
        # about a fifth of the build time at a million rows. Not seeded by --seed, so a rerun with the
        # same --seed repeats the content but never an id.
        self._ids = random.Random()

    def new_id(self) -> uuid.UUID:
        return uuid.UUID(int=self._ids.getrandbits(128), version=4)

    def write(self, n: int) -> dict[str, int]:
        totals: dict[str, int] = {}
        started = time.monotonic()
        for offset in range(0, n, self.batch_size):
            batch = Batch()
            for _ in range(min(self.batch_size, n - offset)):
                self.one(batch)
            # Parents first; the foreign keys are deferred, so Task.result may name an artifact of this batch.
            for model, rows in ((BrainRequest, batch.requests), (Task, batch.tasks),
                                (TaskArtifact, batch.artifacts), (RequestEvent, batch.request_events),
                                (TaskEvent, batch.task_events), (DecisionRecord, batch.decisions)):
                rows_insert(model, rows, batch_size=self.batch_size)
            reset_queries()  # with DEBUG on, Django keeps every statement's SQL: megabytes per batch
            for name, count in batch.counts().items():
                totals[name] = totals.get(name, 0) + count
            done = offset + len(batch.requests)
            self.log(f"  scale: {done:,}/{n:,} requests · {totals['tasks']:,} tasks · "
                     f"{totals['request_events'] + totals['task_events']:,} events · "
                     f"{time.monotonic() - started:.1f} s")
        return totals

    # -- one synthetic request
    def one(self, batch: Batch) -> None:
        rng, now = self.rng, self.now
        created = now - timedelta(seconds=rng.uniform(600, 180 * 86400))
        age_days = (now - created).total_seconds() / 86400
        archetype = rng.choices(ARCHETYPES, OLD_WEIGHTS if age_days > 21 else YOUNG_WEIGHTS)[0]
        if archetype.name in ("awaiting_head_office_review", "awaiting_mcr_decision"):
            request_type = "mcr_update_suggestion" if archetype.name == "awaiting_mcr_decision" else \
                rng.choice(FEEDBACK_TYPES)
        else:
            request_type = rng.choice(self.work_types)
        destination = rng.choice(self.destinations[request_type])
        origin = rng.choice([s for s in self.slugs if s != destination])
        title, asked, required_output, task_type = SCALE_TEXT[request_type]
        words = {"niche": rng.choice(NICHES), "market": rng.choice(MARKETS), "offer": f"OFF-{rng.randint(1000, 9999)}",
                 "low": rng.choice((1000, 1500, 2500, 4000)), "high": rng.choice((6000, 8000, 12000, 20000)),
                 "pct": rng.randint(8, 40)}
        feedback = request_type in FEEDBACK_TYPES
        request = BrainRequest(
            id=self.new_id(), tenant_id=self.tenant_id, requesting_authority=self.names[origin],
            requesting_brain_id=origin, target_brain_id=destination, request_type=request_type,
            operating_layer="governance" if feedback else "operational",
            request_title=title.format(**words),
            request_summary=f"{self.names[origin]} asks {self.names[destination]} to {asked.format(**words)}.",
            required_output=required_output, priority=rng.choices(PRIORITIES, PRIORITY_WEIGHTS)[0],
            status=RequestStatus.NEW, created_by=owner_username(origin), created_at=created,
            source_origin="brain_site_feedback" if feedback else rng.choice(SOURCE_ORIGINS),
            offer_id=words["offer"] if request_type in ("offer_review_request", "experimentation_request") else "",
            feedback_required=feedback, mcr_update_suggested=request_type == "mcr_update_suggestion",
            mcr_update_status="suggested" if request_type == "mcr_update_suggestion" else "none",
            meta_json={"scale": True, "scale_run": self.run},
        )
        batch.requests.append(request)
        plan = self.plan(archetype)
        span = min(rng.uniform(0.2, 12) * 86400, (now - created).total_seconds() * 0.9)
        offsets = sorted(rng.uniform(0, span) for _ in range(len(plan) - 1))
        moments = [created, *(created + timedelta(seconds=s) for s in offsets)]
        history = _ScaleRequestStory(self, batch, request, task_type, words)
        for (kind, arg), moment in zip(plan, moments):
            history.step(kind, arg, moment)
        history.finish()

    def plan(self, archetype: Archetype) -> list[tuple[str, Any]]:
        """The request's history in order: ("request", status), ("task", (shape, attempts)), ("decision", None)."""
        rng = self.rng
        steps: list[tuple[str, Any]] = [("request", "new")]
        tasks: list[tuple[str, int]] = []
        if archetype.name in ("closed", "responded"):
            tasks = [("completed", 1)] * (1 if rng.random() < 0.6 else 2)
        elif archetype.name == "in_progress":
            tasks = [("running", 1)] + ([("queued", 0)] if rng.random() < 0.3 else [])
        elif archetype.name == "routed" and rng.random() < 0.5:
            tasks = [("queued", 0)]
        elif archetype.name == "escalated":
            tasks = [rng.choice((("completed", 1), ("escalated", 1)))]
        elif archetype.name == "blocked":
            tasks = [("failed", rng.randint(1, 3))]
        for status in archetype.path:
            if status == "awaiting_mcr_decision":
                steps.append(("decision", None))
            steps.append(("request", status))
            anchor = "in_progress" if "in_progress" in archetype.path else "routed"
            if status == anchor:
                for shape, attempts in tasks:
                    steps.extend(("task", (shape, attempts, i)) for i in range(len(_task_script(shape, attempts))))
        return steps


def _task_script(shape: str, attempts: int) -> list[str]:
    """The task events a task of this shape has, in order."""
    if shape == "queued":
        return ["created"]
    if shape == "running":
        return ["created", "picked_up", "started", "progress"]
    if shape == "completed":
        return ["created", "picked_up", "started", "output_saved", "completed"]
    if shape == "escalated":
        return ["created", "picked_up", "started", "escalated"]
    script = ["created"]
    for attempt in range(attempts):
        if attempt:
            script.append("requeued")
        script += ["picked_up", "started", "error"]
    return script


class _ScaleRequestStory:
    """Turns one request's plan into rows, keeping the request's and its tasks' state."""

    def __init__(self, writer: ScaleWriter, batch: Batch, request: BrainRequest, task_type: str,
                 words: dict[str, Any]):
        self.writer, self.batch, self.request, self.task_type, self.words = writer, batch, request, task_type, words
        self.task: Task | None = None
        self.task_script: list[str] = []
        self.artifacts: list[str] = []
        self.last_request_at = request.created_at
        self.origin_actor = owner_username(request.requesting_brain_id)
        self.destination_actor = owner_username(request.target_brain_id)
        self.executor = f"{request.target_brain_id}-executor"

    def step(self, kind: str, arg: Any, at: datetime) -> None:
        if kind == "request":
            self.request_step(arg, at)
        elif kind == "decision":
            self.decision(at)
        else:
            self.task_step(*arg, at)

    def request_step(self, status: str, at: datetime) -> None:
        request, rng = self.request, self.writer.rng
        before = request.status if status != "new" else None
        changed: dict[str, list[Any]] = {}
        actor = "reviewer"
        if status == "new":
            actor = self.origin_actor
        elif status == "routed":
            request.review_owner_id = "headoffice"
            request.routing_notes = f"{self.writer.names[request.target_brain_id]} owns the next action."
            changed = {"review_owner": [None, "headoffice"]}
        elif status in ("in_progress", "responded", "blocked"):
            actor = self.destination_actor
            if status == "responded":
                request.response_summary = self.finding()
                request.outcome_type = rng.choice(CLOSED_OUTCOMES)
        elif status == "escalated":
            actor = self.destination_actor
            request.escalation_flag = True
            request.escalation_owner_id = rng.choice(("finance", "sit", "headoffice"))
            request.escalation_reason = rng.choice((
                "Capital exposure above the delegated limit", "Conflicting conclusions between Brains",
                "Data integrity in doubt; SIT must rule before anyone acts", "Repeated task failures"))
            changed = {"escalation_owner": [None, request.escalation_owner_id]}
        elif status == "awaiting_head_office_review":
            actor = self.origin_actor
        elif status == "awaiting_mcr_decision":
            request.feedback_classification = "propose_mcr_update"
            request.mcr_update_status = "proposed"
        elif status == "parked":
            request.outcome_type = "parked_for_later"
        elif status in FINAL_STATUSES:
            self.outcome(status, at)
            actor = self.origin_actor if status == "closed" else "reviewer"
        if status != "new":
            request.status = status
            request.lock_version += 1
        self.last_request_at = at
        self.batch.request_events.append(RequestEvent(
            id=self.writer.new_id(), tenant_id=request.tenant_id, request_id=request.id,
            event_type=RequestEventType.CREATED if status == "new" else RequestEventType.STATUS_CHANGED,
            event_summary=f"Request created: {request.request_title}" if status == "new" else f"{before} → {status}",
            actor=actor, from_status=before, to_status=status, changed_fields=changed, created_at=at,
        ))

    def finding(self) -> str:
        return f"{self.writer.names[self.request.target_brain_id]} finished the {self.task_type.replace('_', ' ')} " \
               f"for {self.words['niche']}: {self.writer.rng.choice(FINDINGS)}."

    def outcome(self, status: str, at: datetime) -> None:
        request, rng = self.request, self.writer.rng
        names = self.writer.names
        if status == "closed":
            request.result_summary = request.response_summary or self.finding()
            request.outcome_decision = f"{names[request.requesting_brain_id]} accepts the result and acts on it"
            request.outcome_evidence = list(self.artifacts)
            request.next_step = f"{names[request.requesting_brain_id]} applies the result to {self.words['niche']}"
            request.next_step_owner = request.requesting_brain_id
            request.closure_reason = "Result returned to the origin Brain"
        else:
            request.outcome_type = "rejected"
            request.result_summary = "Reviewed by HeadOffice: outside the destination Brain's authority"
            request.outcome_decision = "Rejected; the origin re-raises it with the right destination"
            request.outcome_evidence = ["HeadOffice review note"]
            request.next_step = "Re-raise with the right request type and destination"
            request.next_step_owner = request.requesting_brain_id or "headoffice"
            request.closure_reason = "Wrong destination"
        request.head_office_review_required = rng.random() < 0.1
        request.closed_at = at

    def decision(self, at: datetime) -> None:
        request = self.request
        self.batch.decisions.append(DecisionRecord(
            id=self.writer.new_id(), tenant_id=request.tenant_id, authority_id="headoffice",
            related_request_id=request.id, affected_brains=[request.requesting_brain_id, "headoffice"],
            decision_kind="feedback_classification", classification="propose_mcr_update",
            decision_summary=f"Classify as propose_mcr_update: {request.request_title}",
            reasoning="The suggestion changes canon wording; only an MCR decision may do that.",
            recorded_by="reviewer", created_at=at,
        ))
        self.batch.request_events.append(RequestEvent(
            id=self.writer.new_id(), tenant_id=request.tenant_id, request_id=request.id,
            event_type=RequestEventType.DECISION_RECORDED, event_summary="Feedback classified: propose_mcr_update",
            actor="reviewer", event_payload={"decision_id": str(self.batch.decisions[-1].id)}, created_at=at,
        ))
        self.last_request_at = at

    def task_step(self, shape: str, attempts: int, index: int, at: datetime) -> None:
        if index == 0:
            self.task_script = _task_script(shape, attempts)
            self.task = Task(
                id=self.writer.new_id(), tenant_id=self.request.tenant_id, request_id=self.request.id,
                task_type=self.task_type, assigned_brain_id=self.request.target_brain_id,
                title=f"{self.task_type.replace('_', ' ').capitalize()}: {self.words['niche']}",
                input_payload={"niche": self.words["niche"], "market": self.words["market"]},
                risk_level=self.writer.rng.choice(("low", "low", "medium", "high")), priority=self.request.priority,
                status="queued", created_at=at, updated_at=at,
            )
            self.batch.tasks.append(self.task)
        task, event = self.task, self.task_script[index]
        to_status = TASK_EVENT_STATUS.get(event)
        from_status = task.status if to_status and event != "created" else None
        summary, payload = event.replace("_", " ").capitalize(), {}
        actor = f"token:{self.executor}"
        if event == "created":
            to_status, summary, actor = "queued", f"Task created: {task.title}", self.destination_actor
        elif event == "picked_up":
            task.attempts += 1
            task.assigned_employee = self.executor
            payload = {"attempt": task.attempts}
        elif event == "started" and task.started_at is None:
            task.started_at = at
        elif event == "error":
            task.last_error = summary = self.writer.rng.choice(ERRORS)
        elif event == "output_saved":
            artifact = TaskArtifact(
                id=self.writer.new_id(), tenant_id=task.tenant_id, task_id=task.id,
                artifact_type=f"{task.task_type}_report", artifact_summary=self.finding(),
                content_location=f"supabase://mwms-artifacts/{task.id}.json",
                content_json={"niche": self.words["niche"]}, created_by=actor, created_at=at,
            )
            self.batch.artifacts.append(artifact)
            self.artifacts.append(str(artifact.id))
            task.result_id = artifact.id
            summary, payload = f"Output saved: {artifact.artifact_summary}", {"artifact_id": str(artifact.id)}
        elif event == "completed":
            task.completed_at = at
        if to_status:
            task.status = to_status
        task.updated_at = at
        self.batch.task_events.append(TaskEvent(
            id=self.writer.new_id(), tenant_id=task.tenant_id, task_id=task.id, event_type=event, event_summary=summary,
            actor=actor, from_status=from_status, to_status=to_status, event_payload=payload, created_at=at,
        ))

    def finish(self) -> None:
        self.request.updated_at = self.last_request_at


# --- the command ----------------------------------------------------------------------------------

class Command(BaseCommand):
    help = ("Seed the demo organisation: the nine Brains, a HeadOffice reviewer, an owner per Brain, an admin, "
            "and requests walking the protocol's five standard flows. Idempotent. --scale N adds N synthetic "
            "requests with their tasks and events.")

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
        with transaction.atomic():
            tenant, brains = organisation_ensure()
            people = demo_people(brains)
            for change in people_ensure(people=people, brains=brains, password=password):
                self.stdout.write(f"  {change}")
            canon_ensure(tenant=tenant, now=now)
            for flow in story.FLOWS:
                if BrainRequest.objects.filter(pk=demo_id("request", flow.key)).exists():
                    self.stdout.write(f"  · {flow.story} (already there)")
                    continue
                FlowWriter(flow=flow, tenant=tenant, now=now).write()
                self.stdout.write(f"  + {flow.story}")
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
