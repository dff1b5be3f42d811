"""Admin for tasks, their events and artifacts.

A task's status, attempts and errors move only through the task state machine; the admin edits its
descriptive fields through task_record_admin_edit, which writes a fields_changed task event. Events
are append-only and artifacts are evidence, so both are read-only here.
"""

from django import forms
from django.contrib import admin

from governance_app.kernel.actors import actor_for_user
from governance_app.kernel.admin import (
    LockVersionAdminForm,
    NoDeleteAdminMixin,
    OneLineTextMixin,
    ReadOnlyAdminMixin,
    TenantMatchedAdminForm,
    TenantScopedAdminMixin,
    brain_filter,
    changed_fields_from_form,
    displayed_field_names,
    titled_filter,
)
from tasks_app.models import Task, TaskArtifact, TaskEvent
from tasks_app.services import task_record_admin_edit

# What an administrator may edit; every other field of a task is read-only here.
EDITABLE_TASK_FIELDS = (
    "title", "execution_notes", "evidence_links", "risk_level", "priority", "input_payload", "assigned_employee",
)


class TaskEventInline(TenantScopedAdminMixin, ReadOnlyAdminMixin, admin.TabularInline):
    model = TaskEvent
    fields = ("created_at", "event_type", "actor", "from_status", "to_status", "event_summary", "event_payload")
    extra = 0
    ordering = ("created_at",)


class TaskArtifactInline(TenantScopedAdminMixin, ReadOnlyAdminMixin, admin.TabularInline):
    model = TaskArtifact
    fields = ("created_at", "artifact_type", "artifact_summary", "content_location", "content_hash", "created_by")
    extra = 0
    show_change_link = True


class TaskAdminForm(LockVersionAdminForm, TenantMatchedAdminForm):
    class Meta:
        model = Task
        fields = "__all__"


@admin.register(Task)
class TaskAdmin(TenantScopedAdminMixin, NoDeleteAdminMixin, OneLineTextMixin, admin.ModelAdmin):
    form = TaskAdminForm
    list_display = ("__str__", "task_type", "request", "assigned_brain", "task_status", "priority", "risk_level",
                    "attempts", "updated_at")
    list_filter = (
        ("status", titled_filter("task status")),
        "priority",
        "risk_level",
        brain_filter("assigned_brain_id", "assigned brain"),
        "output_mode",
        "escalation_flag",
    )
    list_select_related = ("request", "assigned_brain")
    search_fields = ("id", "title", "task_type", "assigned_employee", "request__request_title")
    one_line_fields = ("title", "assigned_employee")
    date_hierarchy = "created_at"
    inlines = (TaskEventInline, TaskArtifactInline)
    fieldsets = (
        (None, {"fields": ("id", "title", "task_type", "request", "assigned_brain", "assigned_employee",
                           "task_status", "priority", "risk_level", "seen_lock_version")}),
        ("Execution", {"fields": ("input_payload", "execution_notes", "evidence_links", "output_mode", "result",
                                  "attempts", "max_attempts", "last_error", "escalation_flag")}),
        ("Record", {"fields": ("tenant", "created_at", "started_at", "completed_at", "updated_at",
                               "lock_version")}),
    )

    def get_readonly_fields(self, request, obj=None):
        model_fields = [name for name in displayed_field_names(Task) if name not in EDITABLE_TASK_FIELDS]
        return ("task_status", *model_fields)

    def has_add_permission(self, request) -> bool:
        # A task is created under a routed request by the task service, which writes its `created` event.
        return False

    @admin.display(description="task status", ordering="status")
    def task_status(self, obj: Task) -> str:
        return obj.get_status_display()

    def save_model(self, request, obj: Task, form: forms.ModelForm, change: bool) -> None:
        # LockVersionAdminForm.clean() locked the row, so these are the values the edit replaces.
        before = Task.objects.get(pk=obj.pk)
        changed = changed_fields_from_form(form, before, obj)
        if changed:  # a save without a change touches nothing (not even updated_at)
            task_record_admin_edit(task=obj, actor=actor_for_user(request.user), changed_fields=changed)


@admin.register(TaskEvent)
class TaskEventAdmin(TenantScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Append-only audit timeline of every task."""

    list_display = ("created_at", "task", "event_type", "actor", "from_status", "to_status", "event_summary")
    list_filter = ("event_type", "to_status")
    list_select_related = ("task",)
    search_fields = ("task__id", "task__title", "actor", "event_summary")
    date_hierarchy = "created_at"


@admin.register(TaskArtifact)
class TaskArtifactAdmin(TenantScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Artifacts are the evidence a request's outcome cites; an edit would break their content hash."""

    list_display = ("artifact_summary", "artifact_type", "task", "content_location", "created_by", "created_at")
    list_filter = ("artifact_type",)
    list_select_related = ("task",)
    search_fields = ("artifact_summary", "artifact_type", "task__title", "content_hash")
