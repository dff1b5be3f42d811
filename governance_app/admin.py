"""The Django admin of governance_app's models: governed record edits for administrators
(docs/README.md, "Who uses it"). The building blocks shared with the other apps' admin modules
live in governance_app/kernel/admin.py.
"""

import dataclasses

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from governance_app.kernel import webhooks
from governance_app.kernel.actors import actor_for_user
from governance_app.kernel.admin import (
    EVERY_TENANT,
    NoDeleteAdminMixin,
    OneLineTextMixin,
    ReadOnlyAdminMixin,
    TenantMatchedAdminForm,
    TenantScopedAdminMixin,
    admin_tenant_id,
    brain_filter,
)
from governance_app.kernel.errors import DomainError
from governance_app.kernel.tenancy import ELSEWHERE, belongs_elsewhere, member_add, tenant_user_link
from governance_app.models import (
    ApiToken,
    Brain,
    CanonAmendment,
    CanonDocument,
    CanonProposal,
    ChainCheckpoint,
    ChainCheckpointHead,
    DecisionRecord,
    IdempotencyRecord,
    LessonLearned,
    Membership,
    RefusalWindow,
    SuggestionEvidence,
    Tenant,
    TenantUser,
    WebhookDelivery,
    WebhookSubscription,
)
from governance_app.services import api_token_revoke
from requests_app.models import RequestType

# ---------------------------------------------------------------------------------------------
# The authority model: tenants, the Brain registry, memberships, API tokens
# ---------------------------------------------------------------------------------------------


@admin.register(Tenant)
class TenantAdmin(TenantScopedAdminMixin, NoDeleteAdminMixin, OneLineTextMixin, admin.ModelAdmin):
    """Tenants are created with `manage.py tenant_create` (its nine Brains and first reviewer with
    it); here a superuser edits one, and a tenant's staff see their own."""

    list_display = ("name", "slug", "domain", "subscription_tier", "max_users", "four_eyes_rule", "is_active",
                    "created_at")
    list_filter = ("subscription_tier", "four_eyes_rule", "is_active")
    search_fields = ("name", "slug", "domain")
    one_line_fields = ("name", "slug")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser and super().has_add_permission(request)

    def get_readonly_fields(self, request, obj=None):
        # Other systems address a tenant by its slug: it is fixed once the tenant exists. Only a
        # superuser changes what the tenant may use, whether it is active, and its four-eyes rule
        # (which binds the tenant's own reviewers, who are its staff).
        fixed = ("id", "slug", "created_at") if obj else ("id", "created_at")
        if not request.user.is_superuser:
            fixed = (*fixed, "subscription_tier", "max_users", "max_monthly_budget", "four_eyes_rule", "is_active")
        return fixed


class BrainAdminForm(TenantMatchedAdminForm):
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
class BrainAdmin(TenantScopedAdminMixin, NoDeleteAdminMixin, OneLineTextMixin, admin.ModelAdmin):
    """The Brain registry. Retire a Brain with is_active; its slug is referenced by every record."""

    form = BrainAdminForm
    list_display = ("name", "slug", "authority", "may_record_decisions", "is_active")
    list_filter = ("authority", "may_record_decisions", "is_active")
    list_select_related = ("tenant",)
    search_fields = ("name", "slug", "charter")
    one_line_fields = ("name", "slug")
    fields = ("slug", "name", "tenant", "authority", "charter", "accepted_request_types",
              "may_record_decisions", "is_active", "created_at")

    def get_readonly_fields(self, request, obj=None):
        # Requests, tasks and tokens name a Brain by its slug (canon text columns).
        return ("slug", "tenant", "created_at") if obj else ("created_at",)


class MembershipAdminForm(TenantMatchedAdminForm):
    def clean(self):
        cleaned = super().clean()
        user, tenant = cleaned.get("user"), cleaned.get("tenant")
        tenant_id = tenant.pk if tenant is not None else self.instance.tenant_id
        # member_add would refuse it too; here it is a message on the field.
        if user is not None and belongs_elsewhere(user, tenant_id):
            self.add_error("user", ELSEWHERE.format(user=user.get_username()))
        return cleaned


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    """A person's place in a Brain of their one tenant; HeadOffice reviewers are members of its
    headoffice Brain."""

    form = MembershipAdminForm
    list_display = ("user", "brain", "role", "created_at")
    list_filter = ("role", brain_filter("brain_id", "Brain"))
    list_select_related = ("user", "brain")
    search_fields = ("user__username", "user__email", "brain__slug", "brain__name")
    raw_id_fields = ("user",)

    def get_fields(self, request, obj=None):
        return ("user", "brain_id", "role", "tenant", "created_at") if obj is None else \
            ("user", "brain", "role", "tenant", "created_at")

    def get_readonly_fields(self, request, obj=None):
        readonly = ("created_at",) if obj is None else ("user", "brain", "tenant", "created_at")
        return readonly if request.user.is_superuser or obj is not None else ("tenant", *readonly)

    def save_model(self, request, obj, form, change):
        # Through the service: the person becomes (or already is) one of the tenant's. The form
        # has checked the Brain, the role and the person's tenant, so nothing here is refused.
        saved = member_add(user=obj.user, brain=Brain.objects.get(tenant_id=obj.tenant_id, slug=obj.brain_id),
                           role=obj.role)
        obj.pk, obj._state.adding = saved.pk, False


@admin.register(TenantUser)
class TenantUserAdmin(TenantScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Which tenant each person belongs to: set when they first join one of its Brains."""

    list_display = ("user", "tenant", "created_at")
    list_select_related = ("user", "tenant")
    search_fields = ("user__username", "user__email")


class PersonAdmin(TenantScopedAdminMixin, UserAdmin):
    """People: staff who are not superusers see and add only people of their own tenant."""

    form = UserAdmin.form

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        tenant_id = admin_tenant_id(request)
        if not change and tenant_id not in (EVERY_TENANT, None):
            tenant_user_link(user=obj, tenant_id=tenant_id)


admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), PersonAdmin)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(TenantScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The first answer to each Idempotency-Key, replayed on retries; written only by the API."""

    list_display = ("key", "token", "response_status", "created_at")
    list_filter = ("response_status",)
    search_fields = ("key",)
    list_select_related = ("token",)


@admin.register(RefusalWindow)
class RefusalWindowAdmin(TenantScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """How many refused calls each rule_violation event stands for: one window per actor, record
    and move (MWMS_REFUSAL_WINDOW_MINUTES), kept by the services, read here."""

    list_display = ("actor", "rule", "subject_kind", "subject_id", "refusal_count", "window_start",
                    "last_refused_at")
    list_filter = ("subject_kind", "rule")
    search_fields = ("actor", "rule", "=subject_id")
    date_hierarchy = "window_start"


@admin.register(ApiToken)
class ApiTokenAdmin(TenantScopedAdminMixin, NoDeleteAdminMixin, OneLineTextMixin, admin.ModelAdmin):
    """Tokens are issued by `issue_token`; here they are listed, relabelled and revoked."""

    list_display = ("label", "prefix", "brain", "role", "created_at", "last_used_at", "revoked_at", "is_active")
    list_filter = ("role", brain_filter("brain_id", "Brain"), ("revoked_at", admin.EmptyFieldListFilter))
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
        count = api_token_revoke(tokens=queryset, actor=actor_for_user(request.user),
                                 every_tenant=request.user.is_superuser)
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)


# ---------------------------------------------------------------------------------------------
# Governance records: decisions (append-only), lessons, canon and its amendments (append-only)
# ---------------------------------------------------------------------------------------------


@admin.register(DecisionRecord)
class DecisionRecordAdmin(TenantScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Append-only: a decision is corrected by a new decision that supersedes it."""

    list_display = ("decision_summary", "decision_kind", "authority", "related_request", "classification",
                    "mcr_decision", "recorded_by", "created_at")
    list_filter = ("decision_kind", "classification", "mcr_decision", brain_filter("authority_id", "authority"))
    list_select_related = ("authority", "related_request")
    search_fields = ("decision_summary", "reasoning", "recorded_by", "related_request__request_title")
    date_hierarchy = "created_at"


@admin.register(LessonLearned)
class LessonLearnedAdmin(TenantScopedAdminMixin, NoDeleteAdminMixin, admin.ModelAdmin):
    list_display = ("insight", "originating_brain", "related_request", "related_decision", "recorded_by",
                    "created_at")
    list_filter = (brain_filter("originating_brain_id", "originating brain"),)
    list_select_related = ("originating_brain", "related_request", "related_decision")
    search_fields = ("insight", "event_or_experiment", "result", "recommended_improvement", "recorded_by")
    raw_id_fields = ("related_request", "related_task", "related_decision")
    fields = ("tenant", "originating_brain_id", "related_request", "related_task", "related_decision",
              "event_or_experiment", "result", "insight", "recommended_improvement", "recorded_by", "created_at")

    def get_readonly_fields(self, request, obj=None):
        # A lesson stays in its tenant; a superuser picks the tenant of a new one.
        fixed = ("recorded_by", "created_at")
        return fixed if obj is None and request.user.is_superuser else ("tenant", *fixed)

    def save_model(self, request, obj, form, change):
        # A lesson says who recorded it.
        if not change:
            obj.recorded_by = actor_for_user(request.user).label
        super().save_model(request, obj, form, change)


class CanonAmendmentInline(TenantScopedAdminMixin, ReadOnlyAdminMixin, admin.TabularInline):
    model = CanonAmendment
    fields = ("created_at", "amendment_type", "version_before", "version_after", "approved_by", "decision", "request")
    extra = 0
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("decision", "request")


@admin.register(CanonDocument)
class CanonDocumentAdmin(TenantScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only for everyone, superusers too: canon changes only through an approved MCR decision
    (Feedback & MCR) or a HeadOffice rollback (the Canon page), each an amendment on the record."""

    list_display = ("title", "slug", "document_type", "version", "updated_at")
    list_filter = ("document_type",)
    search_fields = ("title", "slug", "body")
    fields = ("slug", "title", "document_type", "version", "governs", "request_types", "body", "tenant",
              "created_at", "updated_at")
    inlines = (CanonAmendmentInline,)
    actions = None


@admin.register(CanonProposal)
class CanonProposalAdmin(TenantScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The changes suggestions propose, revision by revision: read-only, like the history they are."""

    list_display = ("__str__", "document", "revision", "base_version", "proposed_by", "request", "created_at")
    list_filter = ("document",)
    list_select_related = ("document", "request")
    search_fields = ("document__title", "proposed_by", "note")
    actions = None


@admin.register(SuggestionEvidence)
class SuggestionEvidenceAdmin(TenantScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """What each suggestion cites as its evidence: read-only, as it was filed."""

    list_display = ("__str__", "kind", "request", "added_by", "created_at")
    list_filter = ("kind",)
    list_select_related = ("request",)
    search_fields = ("request__request_title", "added_by")
    actions = None


@admin.register(ChainCheckpoint)
class ChainCheckpointAdmin(TenantScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("__str__", "chain_seq", "chains", "row_hash", "created_at")


@admin.register(ChainCheckpointHead)
class ChainCheckpointHeadAdmin(TenantScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("__str__", "chain", "owner_id", "chain_seq", "chain_head", "checkpoint")
    list_filter = ("chain",)
    list_select_related = ("checkpoint",)
    search_fields = ("owner_id", "chain_head")


@admin.register(CanonAmendment)
class CanonAmendmentAdmin(TenantScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("__str__", "document", "amendment_type", "version_before", "version_after", "approved_by",
                    "request", "created_at")
    list_filter = ("document", "amendment_type")
    actions = None
    list_select_related = ("document", "request")
    search_fields = ("document__title", "approved_by", "diff")



# ---------------------------------------------------------------------------------------------
# Webhooks: subscriptions (switched off, never deleted) and the delivery log (read-only)
# ---------------------------------------------------------------------------------------------


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(TenantScopedAdminMixin, NoDeleteAdminMixin, admin.ModelAdmin):
    """Added on the Webhooks page or with `webhook_add` (which make the secret); here they are read
    and switched on or off."""

    list_display = ("name", "url", "event_types", "is_active", "created_by", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name", "url")
    fields = ("name", "url", "event_types", "is_active", "created_by", "created_at", "tenant")
    readonly_fields = ("name", "url", "event_types", "created_by", "created_at", "tenant")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(TenantScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """What was sent where and how it went; "Send again" queues a new delivery of the same event."""

    list_display = ("event_type", "subscription", "status", "attempts", "last_status_code", "created_at",
                    "delivered_at")
    list_filter = ("status", "event_type")
    list_select_related = ("subscription",)
    search_fields = ("=id", "subscription__name")
    date_hierarchy = "created_at"
    actions = ("send_again",)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.action(description="Send the selected deliveries again", permissions=["view"])
    def send_again(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        actor = actor_for_user(request.user)
        sent, refused = 0, []
        for delivery in queryset:
            try:
                webhooks.delivery_resend(actor=dataclasses.replace(actor, tenant_id=delivery.tenant_id,
                                                                   is_head_office=True)
                                         if request.user.is_superuser else actor, delivery_id=delivery.pk)
                sent += 1
            except DomainError as error:
                refused.append(f"{delivery.pk}: {error.message}")
        if sent:
            self.message_user(request, f"Queued {sent} delivery(ies) again.", messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.WARNING)
