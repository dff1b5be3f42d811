"""The Django admin of governance_app's models: governed record edits for administrators
(docs/README.md, "Who uses it"). The building blocks shared with the other apps' admin modules
live in governance_app/kernel/admin.py.
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from governance_app.kernel.actors import actor_for_user
from governance_app.kernel.admin import NoDeleteAdminMixin, OneLineTextMixin, ReadOnlyAdminMixin
from governance_app.models import (
    ApiToken,
    Brain,
    CanonAmendment,
    CanonDocument,
    DecisionRecord,
    IdempotencyRecord,
    LessonLearned,
    Membership,
    Tenant,
)
from governance_app.services import api_token_revoke
from requests_app.models import RequestType

# ---------------------------------------------------------------------------------------------
# The authority model: tenants, the Brain registry, memberships, API tokens
# ---------------------------------------------------------------------------------------------


@admin.register(Tenant)
class TenantAdmin(NoDeleteAdminMixin, OneLineTextMixin, admin.ModelAdmin):
    list_display = ("name", "slug", "created_at")
    search_fields = ("name", "slug")
    one_line_fields = ("name", "slug")

    def get_readonly_fields(self, request, obj=None):
        # Other systems address a tenant by its slug: it is fixed once the tenant exists.
        return ("id", "slug", "created_at") if obj else ("id", "created_at")


class BrainAdminForm(forms.ModelForm):
    # The registry's accepted request types as checkboxes rather than hand-typed JSON.
    accepted_request_types = forms.MultipleChoiceField(
        choices=RequestType.choices, required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Request types this Brain accepts when a request is routed to it.",
    )

    class Meta:
        model = Brain
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Keep a stored type the protocol's list does not know, rather than dropping it on save.
        known = set(RequestType.values)
        extra = [(t, t) for t in (self.instance.accepted_request_types or []) if t not in known]
        self.fields["accepted_request_types"].choices = [*RequestType.choices, *extra]


@admin.register(Brain)
class BrainAdmin(NoDeleteAdminMixin, OneLineTextMixin, admin.ModelAdmin):
    """The Brain registry. Retire a Brain with is_active; its slug is referenced by every record."""

    form = BrainAdminForm
    list_display = ("name", "slug", "authority", "may_record_decisions", "is_active", "tenant")
    list_filter = ("authority", "may_record_decisions", "is_active")
    list_select_related = ("tenant",)
    search_fields = ("name", "slug", "charter")
    one_line_fields = ("name", "slug")
    fields = ("slug", "name", "tenant", "authority", "charter", "accepted_request_types",
              "may_record_decisions", "is_active", "created_at")

    def get_readonly_fields(self, request, obj=None):
        # Requests, tasks and tokens name a Brain by its slug (canon text columns).
        return ("slug", "tenant", "created_at") if obj else ("created_at",)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "brain", "role", "created_at")
    list_filter = ("role", "brain")
    list_select_related = ("user", "brain")
    search_fields = ("user__username", "user__email", "brain__slug", "brain__name")
    raw_id_fields = ("user",)
    fields = ("user", "brain", "role", "tenant", "created_at")
    readonly_fields = ("tenant", "created_at")

    def save_model(self, request, obj, form, change):
        # A membership lives in its Brain's tenant.
        obj.tenant_id = obj.brain.tenant_id
        super().save_model(request, obj, form, change)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The first answer to each Idempotency-Key, replayed on retries; written only by the API."""

    list_display = ("key", "token", "response_status", "created_at")
    list_filter = ("response_status",)
    search_fields = ("key",)
    list_select_related = ("token",)


@admin.register(ApiToken)
class ApiTokenAdmin(NoDeleteAdminMixin, OneLineTextMixin, admin.ModelAdmin):
    """Tokens are issued by `issue_token`; here they are listed, relabelled and revoked."""

    list_display = ("label", "prefix", "brain", "role", "created_at", "last_used_at", "revoked_at", "is_active")
    list_filter = ("role", "brain", ("revoked_at", admin.EmptyFieldListFilter))
    list_select_related = ("brain",)
    search_fields = ("label", "prefix", "brain__slug")
    one_line_fields = ("label",)
    # token_hash is never a form field and never shown whole.
    fields = ("label", "brain", "role", "prefix", "token_hash_hint", "tenant",
              "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("brain", "role", "prefix", "token_hash_hint", "tenant",
                       "created_at", "last_used_at", "revoked_at")
    actions = ("revoke_tokens",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="active", boolean=True)
    def is_active(self, obj: ApiToken) -> bool:
        return obj.revoked_at is None

    @admin.display(description="token hash")
    def token_hash_hint(self, obj: ApiToken) -> str:
        return f"{obj.token_hash[:8]}…" if obj.token_hash else ""

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = api_token_revoke(tokens=queryset, actor=actor_for_user(request.user))
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)


# ---------------------------------------------------------------------------------------------
# Governance records: decisions (append-only), lessons, canon and its amendments (append-only)
# ---------------------------------------------------------------------------------------------


@admin.register(DecisionRecord)
class DecisionRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Append-only: a decision is corrected by a new decision that supersedes it."""

    list_display = ("decision_summary", "decision_kind", "authority", "related_request", "classification",
                    "mcr_decision", "recorded_by", "created_at")
    list_filter = ("decision_kind", "classification", "mcr_decision", "authority")
    list_select_related = ("authority", "related_request")
    search_fields = ("decision_summary", "reasoning", "recorded_by", "related_request__request_title")
    date_hierarchy = "created_at"


@admin.register(LessonLearned)
class LessonLearnedAdmin(NoDeleteAdminMixin, admin.ModelAdmin):
    list_display = ("insight", "originating_brain", "related_request", "related_decision", "recorded_by",
                    "created_at")
    list_filter = ("originating_brain",)
    list_select_related = ("originating_brain", "related_request", "related_decision")
    search_fields = ("insight", "event_or_experiment", "result", "recommended_improvement", "recorded_by")
    raw_id_fields = ("related_request", "related_task", "related_decision")
    fields = ("originating_brain", "related_request", "related_task", "related_decision", "event_or_experiment",
              "result", "insight", "recommended_improvement", "recorded_by", "tenant", "created_at")
    readonly_fields = ("recorded_by", "tenant", "created_at")

    def save_model(self, request, obj, form, change):
        # A lesson lives in its Brain's tenant and says who recorded it.
        obj.tenant_id = obj.originating_brain.tenant_id
        if not change:
            obj.recorded_by = actor_for_user(request.user).label
        super().save_model(request, obj, form, change)


class CanonAmendmentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CanonAmendment
    fields = ("created_at", "version_before", "version_after", "approved_by", "decision", "request")
    extra = 0
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("decision", "request")


@admin.register(CanonDocument)
class CanonDocumentAdmin(NoDeleteAdminMixin, OneLineTextMixin, admin.ModelAdmin):
    """Canon text and version change only through an approved amendment (the MCR gate)."""

    list_display = ("title", "slug", "document_type", "version", "updated_at")
    list_filter = ("document_type",)
    search_fields = ("title", "slug", "body")
    one_line_fields = ("title", "slug", "document_type")
    fields = ("slug", "title", "document_type", "version", "body", "tenant", "created_at", "updated_at")
    inlines = (CanonAmendmentInline,)

    def get_readonly_fields(self, request, obj=None):
        readonly = ("version", "body", "created_at", "updated_at")
        return ("slug", "tenant", *readonly) if obj else readonly


@admin.register(CanonAmendment)
class CanonAmendmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("__str__", "document", "version_before", "version_after", "approved_by", "request",
                    "created_at")
    list_filter = ("document",)
    list_select_related = ("document", "request")
    search_fields = ("document__title", "approved_by", "diff")
