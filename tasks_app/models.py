"""Tasks (execution children of a Brain Request), their append-only events, and their artifacts."""

import uuid
from collections.abc import Iterable

from django.db import models

from governance_app.kernel import limits
from governance_app.kernel.db import (
    AppendOnlyModel,
    append_only_trigger,
    brain_column,
    brain_of,
    chain_columns,
    chain_head_columns,
    chain_link_trigger,
    choices_check,
    created_at,
    json_list,
    json_object,
    length_checks,
    snake_case_word_check,
    tenant_fk,
    tenant_key,
    text,
    updated_at,
    uuid_pk,
    write_once_trigger,
)
from requests_app.models import Priority

TABLE = "mwms_tasks"
CAP = limits.columns(TABLE)
EVENT_CAP = limits.columns("mwms_task_events")
ARTIFACT_CAP = limits.columns("mwms_task_artifacts")


class TaskStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    PICKED_UP = "picked_up", "Picked up"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    ESCALATED = "escalated", "Escalated"


OPEN_TASK_STATUSES = frozenset({TaskStatus.QUEUED, TaskStatus.PICKED_UP, TaskStatus.RUNNING, TaskStatus.FAILED})


class RiskLevel(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class OutputMode(models.TextChoices):
    """The usual output modes. The canon's output_mode is free `text`: any lowercase snake_case word
    (a `report`, say) is accepted; these four are what the form and the OpenAPI suggest."""

    ARTIFACT = "artifact", "Artifact"
    INLINE = "inline", "Inline result"
    EXTERNAL = "external", "External location"
    NONE = "none", "No output"


class PriorityRank(models.Func):
    """A priority as its claim order (urgent 0 … low 3), written without bound parameters so the
    queue index below and the claim query share one expression."""

    template = ("(CASE %(expressions)s WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 "
                "WHEN 'low' THEN 3 ELSE 9 END)")
    output_field = models.IntegerField()


class TaskQuerySet(models.QuerySet):
    """The task reads other apps make through a relation (`request.tasks.open()`): requests_app
    reaches tasks this way and never imports tasks_app."""

    def open(self) -> "TaskQuerySet":
        """Tasks still being worked or waiting: a request with any cannot close (protocol rule 7)."""
        return self.filter(status__in=OPEN_TASK_STATUSES)

    def evidence_kinds(self, refs: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
        """Which of these ids are artifacts or events of these tasks, as {id: "artifact" | "task_event"}."""
        refs = list(refs)
        kinds = {pk: "artifact" for pk in TaskArtifact.objects.filter(task__in=self, pk__in=refs)
                 .values_list("pk", flat=True)}
        kinds.update({pk: "task_event" for pk in TaskEvent.objects.filter(task__in=self, pk__in=refs)
                      .values_list("pk", flat=True)})
        return kinds


class Task(models.Model):
    """An executable unit of work produced from a Brain Request (table mwms_tasks)."""

    objects = TaskQuerySet.as_manager()

    # The canon's required columns.
    id = uuid_pk()
    request = models.ForeignKey("requests_app.BrainRequest", on_delete=models.PROTECT, related_name="tasks")
    task_type = models.TextField(max_length=CAP["task_type"])
    assigned_brain_id = brain_column("assigned_brain")
    assigned_brain = brain_of("assigned_brain_id", related_name="tasks")
    assigned_employee = models.TextField(null=True, blank=True, max_length=CAP["assigned_employee"],
                                         help_text="The executor or person working it.")
    input_payload = json_object()
    output_mode = text(default=OutputMode.ARTIFACT, max_length=limits.WORD,
                       help_text="A lowercase snake_case word: artifact, inline, external, none, or another.")
    risk_level = text(choices=RiskLevel.choices, default=RiskLevel.LOW)
    status = text(choices=TaskStatus.choices, default=TaskStatus.QUEUED, db_default=TaskStatus.QUEUED)
    attempts = models.IntegerField(default=0, db_default=0)
    last_error = models.TextField(null=True, blank=True, max_length=CAP["last_error"])
    created_at = created_at()
    updated_at = updated_at()

    # The connector's execution-task fields and what the engine needs.
    tenant = tenant_fk()
    title = text(blank=True, max_length=CAP["title"])
    priority = text(choices=Priority.choices, default=Priority.MEDIUM, db_default=Priority.MEDIUM)
    execution_notes = text(blank=True, max_length=CAP["execution_notes"])
    evidence_links = json_list()
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    escalation_flag = models.BooleanField(default=False, db_default=False)
    max_attempts = models.IntegerField(default=3, db_default=3)
    result = models.ForeignKey(
        "tasks_app.TaskArtifact", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text="The artifact that carries the task's result, where there is one.",
    )
    lock_version = models.IntegerField(default=0, db_default=0)
    # The head of the task's chain: its events (kernel.digests).
    chain_seq, chain_head = chain_head_columns()

    class Meta:
        db_table = TABLE
        ordering = ["created_at"]
        constraints = [
            choices_check("status", TaskStatus, table=TABLE),
            choices_check("risk_level", RiskLevel, table=TABLE),
            choices_check("priority", Priority, table=TABLE),
            snake_case_word_check("output_mode", table=TABLE),
            models.CheckConstraint(condition=models.Q(attempts__gte=0), name=f"{TABLE}_attempts_not_negative"),
            models.CheckConstraint(condition=models.Q(max_attempts__gte=1), name=f"{TABLE}_max_attempts_positive"),
            models.CheckConstraint(condition=~models.Q(task_type=""), name=f"{TABLE}_task_type_not_empty"),
            models.CheckConstraint(
                condition=~models.Q(status=TaskStatus.FAILED) | models.Q(last_error__isnull=False),
                name=f"{TABLE}_failed_has_error",
            ),
            tenant_key(TABLE),
            *length_checks(TABLE),
        ]
        indexes = [
            # The executor queue: a Brain's queued tasks, priority first, oldest first — the claim
            # reads the next task straight off this index.
            models.Index(models.F("assigned_brain_id"), models.F("status"), PriorityRank("priority"),
                         models.F("created_at"), name="mwms_tasks_queue"),
            models.Index(fields=["tenant", "status", "updated_at"], name="mwms_tasks_status"),
            # A Brain's open tasks, oldest first: its workspace inbox (requests_app.selectors).
            models.Index(fields=["tenant", "assigned_brain_id", "created_at"], name="mwms_tasks_brain_open",
                         condition=models.Q(status__in=sorted(OPEN_TASK_STATUSES))),
        ]

    def __str__(self) -> str:
        return self.title or self.task_type

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_TASK_STATUSES


class TaskEventType(models.TextChoices):
    """The canon's task event types, then the engine's additions for moves the canon leaves unnamed."""

    CREATED = "created", "Created"
    PICKED_UP = "picked_up", "Picked up"
    PROGRESS = "progress", "Progress"
    WARNING = "warning", "Warning"
    ERROR = "error", "Error"
    COMPLETED = "completed", "Completed"
    OUTPUT_SAVED = "output_saved", "Output saved"
    RULE_VIOLATION = "rule_violation", "Rule violation"
    ESCALATED = "escalated", "Escalated"
    STARTED = "started", "Started"
    REQUEUED = "requeued", "Requeued"
    CANCELLED = "cancelled", "Cancelled"
    FIELDS_CHANGED = "fields_changed", "Fields changed"


class TaskEvent(AppendOnlyModel):
    """Append-only audit timeline for every task (table mwms_task_events)."""

    id = uuid_pk()
    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="events")
    event_type = text(choices=TaskEventType.choices)
    event_summary = models.TextField(max_length=EVENT_CAP["event_summary"])
    event_payload = json_object()
    created_at = created_at()
    tenant = tenant_fk()
    actor = text(blank=True, max_length=EVENT_CAP["actor"])
    from_status = models.TextField(choices=TaskStatus.choices, null=True, blank=True)
    to_status = models.TextField(choices=TaskStatus.choices, null=True, blank=True)
    chain_seq, prev_hash, row_hash = chain_columns()

    CHAIN_OWNER = "task"

    class Meta:
        db_table = "mwms_task_events"
        ordering = ["created_at"]
        triggers = [append_only_trigger("mwms_task_events"),
                    chain_link_trigger("mwms_task_events", owner="mwms_tasks", column="task_id")]
        constraints = [
            choices_check("event_type", TaskEventType, table="mwms_task_events"),
            choices_check("from_status", TaskStatus, table="mwms_task_events", nullable=True),
            choices_check("to_status", TaskStatus, table="mwms_task_events", nullable=True),
            *length_checks("mwms_task_events"),
        ]
        indexes = [models.Index(fields=["task", "created_at"], name="mwms_task_events_task")]

    def __str__(self) -> str:
        return f"{self.event_type}: {self.event_summary[:60]}"


class TaskArtifact(models.Model):
    """A task output, stored inline or linked where it lives (table mwms_task_artifacts).

    Write-once (issue 13): its location, content and hash never change, the database refuses an
    UPDATE or DELETE; a corrected output is a new artifact that names the one it `replaces`.
    `content_hash` is kernel.digests.artifact_content_hash of its location and content."""

    id = uuid_pk()
    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="artifacts")
    artifact_type = models.TextField(max_length=ARTIFACT_CAP["artifact_type"])
    artifact_summary = models.TextField(max_length=ARTIFACT_CAP["artifact_summary"])
    content_location = text(blank=True, max_length=ARTIFACT_CAP["content_location"])
    content_json = json_object()
    created_at = created_at()
    tenant = tenant_fk()
    content_hash = text(blank=True, max_length=ARTIFACT_CAP["content_hash"],
                        help_text="SHA-256 of the location and content (kernel.digests.artifact_content_hash).")
    created_by = text(blank=True, max_length=ARTIFACT_CAP["created_by"])
    replaces = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replaced_by",
        help_text="The artifact this one corrects (artifacts are write-once).",
    )

    class Meta:
        db_table = "mwms_task_artifacts"
        ordering = ["created_at"]
        triggers = [write_once_trigger("mwms_task_artifacts")]
        constraints = [
            models.CheckConstraint(condition=~models.Q(artifact_type=""), name="mwms_task_artifacts_type_not_empty"),
            tenant_key("mwms_task_artifacts"),
            *length_checks("mwms_task_artifacts"),
        ]

    def __str__(self) -> str:
        return self.artifact_summary[:80]
