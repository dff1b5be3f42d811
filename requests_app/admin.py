"""Admin for Brain Requests, their events and signals.

The admin edits only a request's descriptive fields: status, lineage, routing, escalation, outcome and
feedback fields move through the state machine's services, never through a form here. Each edit goes
through request_record_admin_edit, which writes a fields_changed event (who, which fields, from what
to what) in the same transaction as the save.
"""

from django import forms
from django.contrib import admin

from governance_app.kernel.actors import actor_for_user
from governance_app.kernel.admin import (
    EVERY_TENANT,
    LockVersionAdminForm,
    NoDeleteAdminMixin,
    OneLineTextMixin,
    ReadOnlyAdminMixin,
    TenantMatchedAdminForm,
    TenantScopedAdminMixin,
    admin_tenant_id,
    brain_filter,
    changed_fields_from_form,
    displayed_field_names,
    titled_filter,
)
from governance_app.kernel.errors import DomainError
from requests_app import sla
from requests_app.models import (
    BrainRequest,
    ListPreference,
    Notification,
    NotificationPreference,
    RequestEvent,
    SavedView,
    Signal,
    SlaPolicy,
    SlaTarget,
    Watch,
)
from requests_app.services import request_record_admin_edit

# What an administrator may edit; every other field of a request is read-only here.
EDITABLE_REQUEST_FIELDS = (
    "request_title", "request_summary", "required_output", "priority", "operating_layer",
    "routing_notes", "head_office_visible", "meta_json",
)


class RequestEventInline(TenantScopedAdminMixin, ReadOnlyAdminMixin, admin.TabularInline):
    model = RequestEvent
    fields = ("created_at", "event_type", "actor", "from_status", "to_status", "event_summary", "note",
              "changed_fields")
    extra = 0
    ordering = ("created_at",)


class TaskInline(TenantScopedAdminMixin, ReadOnlyAdminMixin, admin.TabularInline):
    # requests_app reaches tasks through the reverse relation (README, "Layout").
    model = BrainRequest.tasks.field.model
    fk_name = "request"
    fields = ("title", "task_type", "assigned_brain", "status", "attempts", "updated_at")
    extra = 0
    show_change_link = True
    verbose_name_plural = "tasks (related_task_ids)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("assigned_brain")


class BrainRequestAdminForm(LockVersionAdminForm, TenantMatchedAdminForm):
    class Meta:
        model = BrainRequest
        fields = "__all__"


@admin.register(BrainRequest)
class BrainRequestAdmin(TenantScopedAdminMixin, NoDeleteAdminMixin, OneLineTextMixin, admin.ModelAdmin):
    form = BrainRequestAdminForm
    list_display = ("request_title", "request_type", "origin_brain", "destination_brain", "request_status",
                    "priority", "escalation_flag", "head_office_visible", "updated_at")
    list_filter = (
        ("status", titled_filter("request status")),
        "priority",
        "request_type",
        brain_filter("requesting_brain_id", "origin brain"),
        brain_filter("target_brain_id", "destination brain"),
        "escalation_flag",
        "head_office_visible",
        "mcr_update_status",
        "operating_layer",
    )
    list_select_related = ("requesting_brain", "target_brain")
    search_fields = ("id", "request_title", "request_summary", "intake_id", "offer_id", "experiment_id",
                     "created_by")
    one_line_fields = ("request_title",)
    date_hierarchy = "created_at"
    inlines = (RequestEventInline, TaskInline)
    fieldsets = (
        (None, {"fields": ("request_id", "request_title", "request_type", "request_status", "priority",
                           "operating_layer", "request_summary", "required_output", "requesting_authority",
                           "seen_lock_version")}),
        ("Routing", {"fields": ("origin_brain", "destination_brain", "review_owner", "primary_brain",
                                "supporting_brains", "routing_notes", "head_office_visible")}),
        ("Lineage", {"fields": ("parent_request", "originating_task", "intake_id", "offer_id", "experiment_id",
                                "source_origin", "source_page", "source_system", "created_by", "tenant")}),
        ("Escalation", {"fields": ("escalation_flag", "escalation_reason", "escalation_owner")}),
        ("Outcome", {"fields": ("response_summary", "outcome_type", "result_summary", "outcome_decision",
                                "outcome_evidence", "next_step", "next_step_owner", "head_office_review_required",
                                "closure_reason", "closed_at")}),
        ("Feedback and MCR", {"fields": ("feedback_required", "feedback_classification", "mcr_update_suggested",
                                         "mcr_update_status")}),
        ("Record", {"fields": ("meta_json", "created_at", "updated_at", "lock_version")}),
    )

    def get_readonly_fields(self, request, obj=None):
        model_fields = [name for name in displayed_field_names(BrainRequest) if name not in EDITABLE_REQUEST_FIELDS]
        return ("request_id", "origin_brain", "destination_brain", "request_status", *model_fields)

    def has_add_permission(self, request) -> bool:
        # A request is created through the intake service, which writes its `created` event.
        return False

    # The protocol's names for the canon's columns (protocol: request format, docs/RULES.md).
    @admin.display(description="request id", ordering="id")
    def request_id(self, obj: BrainRequest) -> str:
        return str(obj.id)

    @admin.display(description="origin brain", ordering="requesting_brain_id")
    def origin_brain(self, obj: BrainRequest):
        return obj.requesting_brain

    @admin.display(description="destination brain", ordering="target_brain_id")
    def destination_brain(self, obj: BrainRequest):
        return obj.target_brain

    @admin.display(description="request status", ordering="status")
    def request_status(self, obj: BrainRequest) -> str:
        return obj.get_status_display()

    def save_model(self, request, obj: BrainRequest, form: forms.ModelForm, change: bool) -> None:
        # LockVersionAdminForm.clean() locked the row, so these are the values the edit replaces.
        before = BrainRequest.objects.get(pk=obj.pk)
        changed = changed_fields_from_form(form, before, obj)
        if changed:  # a save without a change touches nothing (not even updated_at)
            request_record_admin_edit(request=obj, actor=actor_for_user(request.user), changed_fields=changed)


@admin.register(RequestEvent)
class RequestEventAdmin(TenantScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Append-only history of every request change."""

    list_display = ("created_at", "request", "event_type", "actor", "from_status", "to_status", "event_summary")
    list_filter = ("event_type", ("to_status", titled_filter("to request status")))
    list_select_related = ("request",)
    search_fields = ("request__id", "request__request_title", "actor", "event_summary", "note")
    date_hierarchy = "created_at"


@admin.register(Signal)
class SignalAdmin(TenantScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Signals arrive through the API and trigger requests; they are evidence, so not edited here."""

    list_display = ("summary", "signal_type", "direction", "source_brain", "request", "created_by", "created_at")
    list_filter = ("signal_type", "direction", brain_filter("source_brain_id", "source brain"))
    list_select_related = ("source_brain", "request")
    search_fields = ("summary", "created_by", "request__request_title")


# --- watching and notifications: kept by the people themselves, read here -------------------------

@admin.register(Watch)
class WatchAdmin(TenantScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Who chose to watch a request, or to stop (the drill-down's button)."""

    list_display = ("request", "user", "watching", "created_at")
    list_filter = ("watching",)
    list_select_related = ("request", "user")
    search_fields = ("user__username", "request__request_title")


@admin.register(Notification)
class NotificationAdmin(TenantScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """What each person was told, and whether they read it and were emailed it."""

    list_display = ("summary", "user", "kind", "created_at", "read_at", "emailed_at")
    list_filter = ("kind", ("read_at", admin.EmptyFieldListFilter))
    list_select_related = ("user",)
    search_fields = ("summary", "user__username")
    date_hierarchy = "created_at"


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(TenantScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """How each person chose to be emailed (they choose on their Notifications page)."""

    list_display = ("user", "email_mode", "last_digest_at")
    list_filter = ("email_mode",)
    list_select_related = ("user",)
    search_fields = ("user__username",)


# --- saved views and list columns: kept by the people themselves, read here (issue 14) -------------

@admin.register(SavedView)
class SavedViewAdmin(TenantScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The request list's filters people named, private or shared (their page is /requests/views/)."""

    list_display = ("name", "owner", "visibility", "query", "updated_at")
    list_filter = ("visibility",)
    list_select_related = ("owner",)
    search_fields = ("name", "owner__username")


@admin.register(ListPreference)
class ListPreferenceAdmin(TenantScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The columns each person chose for the request list."""

    list_display = ("user", "list_name", "columns", "updated_at")
    list_select_related = ("user",)
    search_fields = ("user__username",)


# --- the SLA policy: HeadOffice's page is /sla/; here one row at a time, through the same services ---

class SlaTargetAdminForm(TenantMatchedAdminForm):
    class Meta:
        model = SlaTarget
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        for name in ("request_type", "priority", "clock", "minutes"):
            if name in cleaned:
                setattr(self.instance, name, cleaned[name] or None if name == "request_type" else cleaned[name])
        problem = sla.sla_target_problem(target=self.instance) if self.instance.tenant_id else None
        if problem:
            self.add_error("minutes", problem)
        return cleaned


@admin.register(SlaTarget)
class SlaTargetAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    """One target of the tenant's SLA policy; saving or deleting recomputes its open requests' deadlines."""

    form = SlaTargetAdminForm
    list_display = ("priority", "clock", "request_type", "minutes")
    list_filter = ("priority", "clock", "request_type")

    def save_model(self, request, obj: SlaTarget, form, change: bool) -> None:
        tenant_id = admin_tenant_id(request)
        if not change and tenant_id not in (EVERY_TENANT, None):
            obj.tenant_id = tenant_id  # new rows land in the staff user's own tenant
        sla.sla_target_save(target=obj)

    def delete_model(self, request, obj: SlaTarget) -> None:
        sla.sla_target_delete(target=obj)

    def delete_queryset(self, request, queryset) -> None:
        for target in queryset:
            sla.sla_target_delete(target=target)


class SlaPolicyAdminForm(TenantMatchedAdminForm):
    class Meta:
        model = SlaPolicy
        fields = ("warn_percent",)

    def clean_warn_percent(self):
        value = self.cleaned_data["warn_percent"]
        if value is None or not 1 <= value <= 99:
            raise forms.ValidationError("A whole percentage between 1 and 99.")
        return value


@admin.register(SlaPolicy)
class SlaPolicyAdmin(TenantScopedAdminMixin, NoDeleteAdminMixin, admin.ModelAdmin):
    """The tenant's warning threshold; the targets are SLA targets (or HeadOffice's SLA policy page)."""

    form = SlaPolicyAdminForm
    list_display = ("__str__", "warn_percent", "updated_by", "updated_at")
    readonly_fields = ("updated_by", "updated_at")

    def has_add_permission(self, request) -> bool:
        return False  # one per tenant, made with its first target

    def save_model(self, request, obj: SlaPolicy, form, change: bool) -> None:
        try:
            sla.sla_policy_threshold_save(policy=obj, actor=actor_for_user(request.user))
        except DomainError as error:  # the form checked it; a direct call is refused the same way
            raise forms.ValidationError(error.message) from error
