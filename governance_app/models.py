"""The authority model (tenants, the Brain registry, memberships, tokens) and the governance
records (decisions, lessons, MCR canon and its amendments).

Canonical tables keep the schema standard's names (schema standard: tables, docs/RULES.md).
"""

from decimal import Decimal

from django.conf import settings
from django.db import models

from governance_app.kernel import limits
from governance_app.kernel.db import (
    AppendOnlyModel,
    append_only_trigger,
    brain_column,
    RowDigestField,
    brain_of,
    chain_columns,
    chain_head_columns,
    chain_link_trigger,
    choices_check,
    created_at,
    json_list,
    json_object,
    length_checks,
    tenant_fk,
    tenant_key,
    text,
    updated_at,
    uuid_pk,
)


class SubscriptionTier(models.TextChoices):
    """Seed 004's tiers: starter (10 users, 1,000/month), pro (more of both), enterprise (custom)."""

    STARTER = "starter", "Starter"
    PRO = "pro", "Pro"
    ENTERPRISE = "enterprise", "Enterprise"


class Tenant(models.Model):
    """An organisation whose records never leak into another's (schema standard: security; seed
    004's `tenants`). Every other table carries its `tenant_id`. An inactive tenant's people and
    tokens are refused."""

    id = uuid_pk()
    slug = models.TextField(unique=True, max_length=limits.columns("mwms_tenants")["slug"])
    name = models.TextField(max_length=limits.columns("mwms_tenants")["name"])
    domain = models.TextField(unique=True, null=True, blank=True, max_length=limits.columns("mwms_tenants")["domain"],
                              help_text="e.g. oms.com")
    subscription_tier = text(choices=SubscriptionTier.choices, default=SubscriptionTier.STARTER,
                             db_default=SubscriptionTier.STARTER)
    max_users = models.IntegerField(default=10, db_default=10)
    max_monthly_budget = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("1000.00"),
                                             db_default=Decimal("1000.00"))
    is_active = models.BooleanField(default=True, db_default=True)
    # Beyond seed 004: the tenant's governance options.
    four_eyes_rule = models.BooleanField(
        "four-eyes rule", default=False, db_default=False,
        help_text="The HeadOffice reviewer who classified a suggestion as propose_mcr_update may not also "
                  "approve the MCR update: another reviewer must.")
    created_at = created_at()
    # The head of the tenant's chain of checkpoints (kernel.digests).
    chain_seq, chain_head = chain_head_columns()

    class Meta:
        db_table = "mwms_tenants"
        ordering = ["name"]
        constraints = [
            choices_check("subscription_tier", SubscriptionTier, table="mwms_tenants"),
            models.CheckConstraint(condition=~models.Q(slug=""), name="mwms_tenants_slug_not_empty"),
            models.CheckConstraint(condition=~models.Q(name=""), name="mwms_tenants_name_not_empty"),
            models.CheckConstraint(condition=models.Q(max_users__gte=1), name="mwms_tenants_max_users_positive"),
            models.CheckConstraint(condition=models.Q(max_monthly_budget__gte=0),
                                   name="mwms_tenants_budget_not_negative"),
            *length_checks("mwms_tenants"),
        ]

    def __str__(self) -> str:
        return self.name


class Authority(models.TextChoices):
    """What kind of say a Brain has (protocol rule 6, connector "escalation owners")."""

    OPERATIONAL = "operational", "Operational"
    AUTHORITY = "authority", "Authority (escalation owner)"
    GOVERNANCE = "governance", "Governance (HeadOffice)"


class Brain(models.Model):
    """A Brain in a tenant's registry: who it is, what request types it accepts, whether it may decide.

    Slugs are unique per tenant: every tenant has its own `research` and its own `headoffice`. The
    canon's text columns (requesting_brain, target_brain, assigned_brain, ...) name a Brain of their
    row's tenant, checked by composite foreign keys (tenant_id, column) → (tenant_id, slug).
    """

    HEADOFFICE = "headoffice"

    id = uuid_pk()
    tenant = tenant_fk()
    slug = models.TextField(max_length=limits.columns("mwms_brains")["slug"])
    name = models.TextField(max_length=limits.columns("mwms_brains")["name"])
    authority = text(choices=Authority.choices, default=Authority.OPERATIONAL, db_default=Authority.OPERATIONAL)
    charter = text(blank=True, max_length=limits.columns("mwms_brains")["charter"],
                   help_text="What this Brain is for and where its authority ends.")
    accepted_request_types = json_list(help_text="Request types this Brain accepts when a request is routed to it.")
    may_record_decisions = models.BooleanField(default=False, db_default=False)
    is_active = models.BooleanField(default=True, db_default=True)
    created_at = created_at()

    class Meta:
        db_table = "mwms_brains"
        ordering = ["name"]
        constraints = [
            choices_check("authority", Authority, table="mwms_brains"),
            models.CheckConstraint(condition=~models.Q(slug=""), name="mwms_brains_slug_not_empty"),
            models.UniqueConstraint(fields=["tenant", "slug"], name="mwms_brains_tenant_slug"),
            *length_checks("mwms_brains"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_head_office(self) -> bool:
        return self.slug == self.HEADOFFICE


class MembershipRole(models.TextChoices):
    OWNER = "owner", "Owner"
    MEMBER = "member", "Member"
    # A member of the HeadOffice Brain with this role reviews, routes and classifies for the tenant.
    HEAD_OFFICE_REVIEWER = "head_office_reviewer", "HeadOffice reviewer"


class TenantUser(models.Model):
    """The one tenant a person belongs to. Their memberships are all of this tenant's Brains (a
    composite foreign key (tenant_id, user_id) from mwms_memberships), and on PostgreSQL it is the
    tenant the app sets as the claim for their web requests."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="tenant_link")
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    created_at = created_at()

    class Meta:
        db_table = "mwms_tenant_users"
        ordering = ["tenant", "user"]
        verbose_name = "tenant user"
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="mwms_tenant_users_tenant_key")]

    def __str__(self) -> str:
        return f"{self.user} of {self.tenant_id}"


class Membership(models.Model):
    """A person's place in a Brain of their own tenant."""

    id = uuid_pk()
    tenant = tenant_fk()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    brain_id = brain_column("brain")
    brain = brain_of("brain_id", related_name="memberships")
    role = text(choices=MembershipRole.choices, default=MembershipRole.MEMBER)
    created_at = created_at()

    class Meta:
        db_table = "mwms_memberships"
        ordering = ["brain_id", "user"]
        constraints = [
            choices_check("role", MembershipRole, table="mwms_memberships"),
            models.UniqueConstraint(fields=["user", "brain_id"], name="mwms_memberships_one_per_brain"),
            # HeadOffice is granted only by its own tenant's HeadOffice Brain.
            models.CheckConstraint(
                condition=~models.Q(role=MembershipRole.HEAD_OFFICE_REVIEWER) | models.Q(brain_id=Brain.HEADOFFICE),
                name="mwms_memberships_reviewer_of_headoffice",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} of {self.brain_id}"


class TokenRole(models.TextChoices):
    BRAIN = "brain", "Brain (acts as the Brain's owner)"
    EXECUTOR = "executor", "Executor (claims and works the Brain's tasks)"
    INTEGRATION = "integration", "Integration (plugin, Brain Room, signal source)"
    HEADOFFICE = "headoffice", "HeadOffice"


class ApiToken(models.Model):
    """A bearer token bound to one Brain. Only a hash of the secret is stored."""

    id = uuid_pk()
    tenant = tenant_fk()
    brain_id = brain_column("brain")
    brain = brain_of("brain_id", related_name="api_tokens")
    role = text(choices=TokenRole.choices)
    label = models.TextField(max_length=limits.columns("mwms_api_tokens")["label"])
    prefix = models.TextField(max_length=limits.columns("mwms_api_tokens")["prefix"],
                              help_text="The first characters of the token, to recognise it in lists.")
    token_hash = models.TextField(unique=True, max_length=limits.columns("mwms_api_tokens")["token_hash"])
    created_at = created_at()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "mwms_api_tokens"
        ordering = ["-created_at"]
        constraints = [
            choices_check("role", TokenRole, table="mwms_api_tokens"),
            tenant_key("mwms_api_tokens"),
            # A headoffice token acts for HeadOffice, so it belongs to the tenant's HeadOffice Brain.
            models.CheckConstraint(condition=~models.Q(role=TokenRole.HEADOFFICE) | models.Q(brain_id=Brain.HEADOFFICE),
                                   name="mwms_api_tokens_headoffice_of_headoffice"),
            *length_checks("mwms_api_tokens"),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.role} · {self.brain_id})"


class Classification(models.TextChoices):
    """HeadOffice's classification of Brain feedback (protocol rule 13)."""

    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"
    PARK = "park", "Park"
    INVESTIGATE = "investigate", "Investigate"
    ROUTE_TO_ANOTHER_BRAIN = "route_to_another_brain", "Route to another Brain"
    UPDATE_BRAIN_WORKING_COPY = "update_brain_working_copy", "Update Brain working copy"
    UPDATE_PLUGIN_UI_SPEC = "update_plugin_ui_spec", "Update plugin/UI specification"
    UPDATE_SUPABASE_SCHEMA = "update_supabase_schema", "Update Supabase schema"
    PROPOSE_MCR_UPDATE = "propose_mcr_update", "Propose MCR update"
    NO_ACTION_REQUIRED = "no_action_required", "No action required"


class DecisionKind(models.TextChoices):
    DECISION = "decision", "Decision"
    ESCALATION_RESOLUTION = "escalation_resolution", "Escalation resolution"
    FEEDBACK_CLASSIFICATION = "feedback_classification", "Feedback classification"
    MCR_DECISION = "mcr_decision", "MCR decision"


class McrDecision(models.TextChoices):
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    PARKED = "parked", "Parked"


DECISION_CAP = limits.columns("mwms_decision_records")
LESSON_CAP = limits.columns("mwms_lessons_learned")
CANON_CAP = limits.columns("mwms_canon_documents")
AMENDMENT_CAP = limits.columns("mwms_canon_amendments")


class DecisionRecord(AppendOnlyModel):
    """A decision at governance or capital stakes. Append-only: a correction supersedes it."""

    id = uuid_pk()
    tenant = tenant_fk()
    authority_id = brain_column("authority")
    authority = brain_of("authority_id", related_name="decisions")
    related_request = models.ForeignKey(
        "requests_app.BrainRequest", on_delete=models.PROTECT, null=True, blank=True, related_name="decisions"
    )
    related_task = models.ForeignKey(
        "tasks_app.Task", on_delete=models.PROTECT, null=True, blank=True, related_name="decisions"
    )
    affected_brains = json_list()
    decision_summary = models.TextField(max_length=DECISION_CAP["decision_summary"])
    reasoning = models.TextField(max_length=DECISION_CAP["reasoning"])
    evidence_used = models.TextField(null=True, blank=True, max_length=DECISION_CAP["evidence_used"])
    expected_outcome = models.TextField(null=True, blank=True, max_length=DECISION_CAP["expected_outcome"])
    created_at = created_at()
    # Beyond the canon: what kind of decision this is, who recorded it, and what it corrects.
    decision_kind = text(choices=DecisionKind.choices, default=DecisionKind.DECISION, db_default=DecisionKind.DECISION)
    classification = models.TextField(choices=Classification.choices, null=True, blank=True)
    mcr_decision = models.TextField(choices=McrDecision.choices, null=True, blank=True)
    supersedes = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by"
    )
    recorded_by = text(blank=True, max_length=DECISION_CAP["recorded_by"],
                       help_text="The person or token that recorded the decision.")
    # A decision is a link of its request's chain, beside the request's events (kernel.digests).
    chain_seq, prev_hash, row_hash = chain_columns()

    CHAIN_OWNER = "related_request"

    class Meta:
        db_table = "mwms_decision_records"
        ordering = ["-created_at"]
        triggers = [append_only_trigger("mwms_decision_records"),
                    chain_link_trigger("mwms_decision_records", owner="mwms_brain_requests",
                                       column="related_request_id")]
        constraints = [
            choices_check("decision_kind", DecisionKind, table="mwms_decision_records"),
            choices_check("classification", Classification, table="mwms_decision_records", nullable=True),
            choices_check("mcr_decision", McrDecision, table="mwms_decision_records", nullable=True),
            models.CheckConstraint(
                condition=~models.Q(decision_kind=DecisionKind.FEEDBACK_CLASSIFICATION)
                | models.Q(classification__isnull=False),
                name="mwms_decision_records_classification_named",
            ),
            models.CheckConstraint(
                condition=~models.Q(decision_kind=DecisionKind.MCR_DECISION) | models.Q(mcr_decision__isnull=False),
                name="mwms_decision_records_mcr_decision_named",
            ),
            tenant_key("mwms_decision_records"),
            *length_checks("mwms_decision_records"),
        ]
        indexes = [models.Index(fields=["tenant", "created_at"], name="mwms_decisions_tenant_time")]

    def __str__(self) -> str:
        return self.decision_summary[:80]


class LessonLearned(models.Model):
    """A learning outcome tied back to the decision or task it came from."""

    id = uuid_pk()
    tenant = tenant_fk()
    originating_brain_id = brain_column("originating_brain")
    originating_brain = brain_of("originating_brain_id", related_name="lessons")
    related_decision = models.ForeignKey(
        DecisionRecord, on_delete=models.PROTECT, null=True, blank=True, related_name="lessons"
    )
    related_task = models.ForeignKey(
        "tasks_app.Task", on_delete=models.PROTECT, null=True, blank=True, related_name="lessons"
    )
    event_or_experiment = models.TextField(max_length=LESSON_CAP["event_or_experiment"])
    result = models.TextField(max_length=LESSON_CAP["result"])
    insight = models.TextField(max_length=LESSON_CAP["insight"])
    recommended_improvement = models.TextField(max_length=LESSON_CAP["recommended_improvement"])
    created_at = created_at()
    # Beyond the canon: the request a lesson belongs to, so lineage pages find it in one query.
    related_request = models.ForeignKey(
        "requests_app.BrainRequest", on_delete=models.PROTECT, null=True, blank=True, related_name="lessons"
    )
    recorded_by = text(blank=True, max_length=LESSON_CAP["recorded_by"])
    # Its own digest (kernel.digests): a lesson re-pointed behind the app's back no longer matches it.
    row_hash = RowDigestField(default="", blank=True, editable=False, max_length=limits.HASH,
                              help_text="The digest of this lesson's columns (kernel.digests).")

    class Meta:
        db_table = "mwms_lessons_learned"
        ordering = ["-created_at"]
        verbose_name = "lesson learned"
        verbose_name_plural = "lessons learned"
        # tenant_key: what a suggestion's evidence points at (tenant-matched, migration 0021).
        constraints = [tenant_key("mwms_lessons_learned"), *length_checks("mwms_lessons_learned")]

    def __str__(self) -> str:
        return self.insight[:80]


class CanonDocument(models.Model):
    """A document of the MCR canon. Its text changes only through an approved CanonAmendment."""

    id = uuid_pk()
    tenant = tenant_fk()
    slug = models.TextField(max_length=CANON_CAP["slug"])
    title = models.TextField(max_length=CANON_CAP["title"])
    document_type = text(blank=True, max_length=CANON_CAP["document_type"])
    version = text(default="v1.0", db_default="v1.0", max_length=CANON_CAP["version"])
    body = text(blank=True, max_length=CANON_CAP["body"])
    governs = json_list(help_text="Slugs of the Brains this document governs; empty: every Brain of the tenant.")
    request_types = json_list(help_text="The request types it covers; empty: every type.")
    created_at = created_at()
    updated_at = updated_at()
    # The head of the chain of its amendments (kernel.digests).
    chain_seq, chain_head = chain_head_columns()

    class Meta:
        db_table = "mwms_canon_documents"
        ordering = ["title"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "slug"], name="mwms_canon_documents_slug"),
            tenant_key("mwms_canon_documents"),
            *length_checks("mwms_canon_documents"),
        ]

    def __str__(self) -> str:
        return f"{self.title} {self.version}"


PROPOSAL_CAP = limits.columns("mwms_canon_proposals")


class CanonProposal(AppendOnlyModel):
    """The exact change an `mcr_update_suggestion` proposes to one canon document: the document's
    full proposed text, the version it was written against, and the headings of the sections it
    changes. Append-only: a HeadOffice reviewer who amends the proposal before approving writes the
    next revision (who, when and why in `proposed_by`, `created_at` and `note`); the request's
    proposal is its newest revision, and an approval applies exactly that one."""

    id = uuid_pk()
    tenant = tenant_fk()
    request = models.ForeignKey("requests_app.BrainRequest", on_delete=models.PROTECT,
                                related_name="canon_proposals")
    document = models.ForeignKey(CanonDocument, on_delete=models.PROTECT, related_name="proposals")
    revision = models.IntegerField(default=1, help_text="1 for the suggestion's own, then one per amendment of it.")
    base_version = models.TextField(max_length=PROPOSAL_CAP["base_version"],
                                    help_text="The document's version the proposal was written against.")
    proposed_text = text(blank=True, max_length=PROPOSAL_CAP["proposed_text"])
    sections = json_list(help_text="The headings of the sections the proposal changes (requests_app.canon).")
    note = text(blank=True, max_length=PROPOSAL_CAP["note"], help_text="Why the proposal was amended.")
    reason = text(blank=True, db_default="", max_length=PROPOSAL_CAP["reason"],
                  help_text="Why the document should change so: the suggestion's reason, carried into each "
                            "revision and the amendment's evidence.")
    proposed_by = models.TextField(max_length=PROPOSAL_CAP["proposed_by"])
    created_at = created_at()

    class Meta:
        db_table = "mwms_canon_proposals"
        ordering = ["request", "-revision"]
        triggers = [append_only_trigger("mwms_canon_proposals")]
        constraints = [
            models.UniqueConstraint(fields=["request", "revision"], name="mwms_canon_proposals_one_per_revision"),
            models.CheckConstraint(condition=models.Q(revision__gte=1), name="mwms_canon_proposals_revision_positive"),
            tenant_key("mwms_canon_proposals"),
            *length_checks("mwms_canon_proposals"),
        ]

    def __str__(self) -> str:
        return f"proposal {self.revision} for {self.document_id}"


class EvidenceKind(models.TextChoices):
    """What a suggestion may cite as its evidence: a record of its tenant's lineage."""

    REQUEST = "request", "Request"
    DECISION = "decision", "Decision"
    LESSON = "lesson", "Lesson learned"


EVIDENCE_CITES = {EvidenceKind.REQUEST: "cited_request", EvidenceKind.DECISION: "cited_decision",
                  EvidenceKind.LESSON: "cited_lesson"}


class SuggestionEvidence(AppendOnlyModel):
    """One record an `mcr_update_suggestion` cites as its evidence (issue 15, item 2): a request, a
    decision or a lesson of the same tenant, by a real foreign key, so the database refuses a
    record that does not exist or is another tenant's (tenant-matched, migration 0021) and a kind
    that does not match the one column set. A suggestion drafted from lessons cites them here too.
    Append-only: evidence is what the suggestion was filed with; the approved amendment copies it."""

    id = uuid_pk()
    tenant = tenant_fk()
    request = models.ForeignKey("requests_app.BrainRequest", on_delete=models.PROTECT,
                                related_name="evidence_items", help_text="The suggestion that cites it.")
    kind = models.TextField(choices=EvidenceKind.choices)
    cited_request = models.ForeignKey("requests_app.BrainRequest", on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="+")
    cited_decision = models.ForeignKey(DecisionRecord, on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="+")
    cited_lesson = models.ForeignKey(LessonLearned, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")
    position = models.IntegerField(default=0, db_default=0, help_text="The order the suggestion listed it in.")
    added_by = models.TextField(max_length=limits.columns("mwms_suggestion_evidence")["added_by"])
    created_at = created_at()

    class Meta:
        db_table = "mwms_suggestion_evidence"
        ordering = ["request", "position"]
        verbose_name_plural = "suggestion evidence"
        triggers = [append_only_trigger("mwms_suggestion_evidence")]
        constraints = [
            choices_check("kind", EvidenceKind, table="mwms_suggestion_evidence"),
            # Exactly the column of its kind names the record.
            models.CheckConstraint(
                condition=(models.Q(kind=EvidenceKind.REQUEST, cited_request__isnull=False,
                                    cited_decision__isnull=True, cited_lesson__isnull=True)
                           | models.Q(kind=EvidenceKind.DECISION, cited_request__isnull=True,
                                      cited_decision__isnull=False, cited_lesson__isnull=True)
                           | models.Q(kind=EvidenceKind.LESSON, cited_request__isnull=True,
                                      cited_decision__isnull=True, cited_lesson__isnull=False)),
                name="mwms_suggestion_evidence_one_record_of_its_kind"),
            models.CheckConstraint(condition=~models.Q(cited_request=models.F("request")),
                                   name="mwms_suggestion_evidence_not_itself"),
            models.UniqueConstraint(fields=["request", "cited_request"], name="mwms_suggestion_evidence_request_once"),
            models.UniqueConstraint(fields=["request", "cited_decision"], name="mwms_suggestion_evidence_decision_once"),
            models.UniqueConstraint(fields=["request", "cited_lesson"], name="mwms_suggestion_evidence_lesson_once"),
            tenant_key("mwms_suggestion_evidence"),
            *length_checks("mwms_suggestion_evidence"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.cited_id} cited by {self.request_id}"

    @property
    def cited_id(self):
        return getattr(self, f"{EVIDENCE_CITES[self.kind]}_id")


class AmendmentType(models.TextChoices):
    """Seed 004's amendment types, and `rollback`. dream_promotion is kept for imported history."""

    MANUAL_UPDATE = "manual_update", "Manual update"
    GOVERNANCE_TIGHTENING = "governance_tightening", "Governance tightening"
    CAPABILITY_EXPANSION = "capability_expansion", "Capability expansion"
    ROLLBACK = "rollback", "Rollback"
    DREAM_PROMOTION = "dream_promotion", "Dream promotion (imported history)"


class CanonAmendment(AppendOnlyModel):
    """A change to canon, with before, after, evidence and the HeadOffice decision behind it (seed
    004's constitutional_amendments: amendment_type, old and new text, diff, evidence, approved_by,
    approved_at, can_rollback, rolled_back_at).

    Append-only, rolling back included: a rollback is a new amendment of type `rollback` naming the
    one it undoes in `rolls_back` (unique: an amendment is rolled back at most once), with the
    decision that records why. An amendment's `rolled_back_at` is not a column: it is derived, the
    `approved_at` of the rollback row that names it (`rolled_back_at` below, and the selectors of
    requests_app.canon). A rollback has no proposing request; every other amendment but imported
    history has one. `approved_at` is empty only on the rows written before the column existed
    (their `created_at` says when)."""

    id = uuid_pk()
    tenant = tenant_fk()
    document = models.ForeignKey(CanonDocument, on_delete=models.PROTECT, related_name="amendments")
    amendment_type = text(choices=AmendmentType.choices, default=AmendmentType.MANUAL_UPDATE,
                          db_default=AmendmentType.MANUAL_UPDATE)
    request = models.ForeignKey("requests_app.BrainRequest", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="amendments", help_text="The request that proposed it.")
    proposal = models.ForeignKey(CanonProposal, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="amendments", help_text="The proposal revision it applied.")
    decision = models.ForeignKey(DecisionRecord, on_delete=models.PROTECT, related_name="amendments",
                                 help_text="The decision that approved it (for a rollback: that recorded why).")
    rolls_back = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="rolled_back_by", help_text="The amendment a rollback undoes.")
    version_before = models.TextField(max_length=AMENDMENT_CAP["version_before"])
    version_after = models.TextField(max_length=AMENDMENT_CAP["version_after"])
    body_before = text(blank=True, max_length=AMENDMENT_CAP["body_before"])
    body_after = text(blank=True, max_length=AMENDMENT_CAP["body_after"])
    diff = text(blank=True, max_length=AMENDMENT_CAP["diff"])
    evidence = json_object()
    approved_by = models.TextField(max_length=AMENDMENT_CAP["approved_by"])
    approved_at = models.DateTimeField(null=True, blank=True)
    can_rollback = models.BooleanField(default=True, db_default=True)
    created_at = created_at()
    chain_seq, prev_hash, row_hash = chain_columns()

    CHAIN_OWNER = "document"
    # Added after amendments were sealed (kernel.digests): digested when they differ from these.
    # The request's nullability changed, not its values: it is digested as always.
    DIGEST_ADDED_LATER = {"amendment_type": AmendmentType.MANUAL_UPDATE.value, "approved_at": None,
                          "rolls_back_id": None, "proposal_id": None}

    class Meta:
        db_table = "mwms_canon_amendments"
        ordering = ["-created_at"]
        triggers = [append_only_trigger("mwms_canon_amendments"),
                    chain_link_trigger("mwms_canon_amendments", owner="mwms_canon_documents", column="document_id")]
        constraints = [
            choices_check("amendment_type", AmendmentType, table="mwms_canon_amendments"),
            models.CheckConstraint(
                condition=(models.Q(amendment_type=AmendmentType.ROLLBACK, rolls_back__isnull=False)
                           | (~models.Q(amendment_type=AmendmentType.ROLLBACK) & models.Q(rolls_back__isnull=True))),
                name="mwms_canon_amendments_rollback_names_its_amendment"),
            models.CheckConstraint(
                condition=(models.Q(request__isnull=False)
                           | models.Q(amendment_type__in=[AmendmentType.ROLLBACK, AmendmentType.DREAM_PROMOTION])),
                name="mwms_canon_amendments_proposed_by_a_request"),
            tenant_key("mwms_canon_amendments"),
            *length_checks("mwms_canon_amendments"),
        ]

    def __str__(self) -> str:
        return f"{self.document} {self.version_before} → {self.version_after}"

    @property
    def rolled_back_at(self):
        """When it was rolled back: derived from the rollback row that names it (None if none)."""
        try:
            return self.rolled_back_by.approved_at or self.rolled_back_by.created_at
        except CanonAmendment.DoesNotExist:
            return None

    @property
    def approved_when(self):
        return self.approved_at or self.created_at


class ChainCheckpoint(AppendOnlyModel):
    """Every chain's head at one moment (issue 13), so that deleting a chain's newest rows, or a
    whole chain, shows against it. `manage.py lineage_checkpoint` writes one per tenant; its heads
    are the ChainCheckpointHead rows of the chains that moved since the checkpoint before, and
    `heads_digest` the digest over them. Checkpoints are themselves a chain, one per tenant."""

    id = uuid_pk()
    tenant = tenant_fk()
    created_at = created_at()
    chains = models.IntegerField(default=0, help_text="How many chain heads it records (those that moved).")
    heads_digest = models.TextField(max_length=limits.columns("mwms_chain_checkpoints")["heads_digest"],
                                    help_text="SHA-256 over its heads' lines (kernel.chain.heads_digest).")
    chain_seq, prev_hash, row_hash = chain_columns()

    CHAIN_OWNER = "tenant"

    class Meta:
        db_table = "mwms_chain_checkpoints"
        ordering = ["-chain_seq"]
        triggers = [append_only_trigger("mwms_chain_checkpoints"),
                    chain_link_trigger("mwms_chain_checkpoints", owner="mwms_tenants", column="tenant_id")]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "chain_seq"], name="mwms_chain_checkpoints_one_per_seq"),
            models.CheckConstraint(condition=models.Q(chains__gte=0), name="mwms_chain_checkpoints_chains_positive"),
            tenant_key("mwms_chain_checkpoints"),
            *length_checks("mwms_chain_checkpoints"),
        ]

    def __str__(self) -> str:
        return f"checkpoint {self.chain_seq} ({self.chains} heads)"


class ChainCheckpointHead(AppendOnlyModel):
    """One chain's head as a checkpoint saw it: the chain (request, task, canon_document), the row
    that owns it, and its newest row's chain_seq and digest."""

    id = uuid_pk()
    tenant = tenant_fk()
    checkpoint = models.ForeignKey(ChainCheckpoint, on_delete=models.PROTECT, related_name="heads")
    chain = models.TextField(max_length=limits.columns("mwms_chain_checkpoint_heads")["chain"])
    owner_id = models.UUIDField(help_text="The request, task or canon document whose chain it is.")
    chain_seq = models.IntegerField()
    chain_head = models.TextField(max_length=limits.columns("mwms_chain_checkpoint_heads")["chain_head"])
    created_at = created_at()

    class Meta:
        db_table = "mwms_chain_checkpoint_heads"
        ordering = ["chain", "owner_id", "-chain_seq"]
        triggers = [append_only_trigger("mwms_chain_checkpoint_heads")]
        constraints = [*length_checks("mwms_chain_checkpoint_heads")]
        indexes = [models.Index(fields=["tenant", "chain", "owner_id", "chain_seq"], name="mwms_chain_heads_owner"),
                   models.Index(fields=["checkpoint"], name="mwms_chain_heads_checkpoint")]

    def __str__(self) -> str:
        return f"{self.chain} {self.owner_id} at {self.chain_seq}"


class IdempotencyRecord(models.Model):
    """The first answer to a POST sent with an `Idempotency-Key`, so a retry gets it back instead of
    doing the work twice. One row per (token, key); the fingerprint tells a retry from a reuse."""

    id = uuid_pk()
    tenant = tenant_fk()
    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="idempotency_records")
    key = models.TextField(max_length=limits.columns("mwms_idempotency_keys")["key"])
    fingerprint = models.TextField(max_length=limits.columns("mwms_idempotency_keys")["fingerprint"],
                                   help_text="SHA-256 of the method, the path and the body's JSON of the first call.")
    response_status = models.IntegerField()
    response_body = models.JSONField(null=True, blank=True)
    created_at = created_at()

    class Meta:
        db_table = "mwms_idempotency_keys"
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["token", "key"], name="mwms_idempotency_keys_one_per_token"),
                       *length_checks("mwms_idempotency_keys")]

    def __str__(self) -> str:
        return f"{self.key} → {self.response_status}"


class RefusalSubject(models.TextChoices):
    REQUEST = "request", "Request"
    TASK = "task", "Task"


class RefusalWindow(models.Model):
    """How often one actor was refused one move on one request or task within one window of time
    (MWMS_REFUSAL_WINDOW_MINUTES, windows starting on the clock's multiples of it).

    The history stays append-only and readable under a flood of refused calls: the window's first
    refusal is a rule_violation event on the record's history (`event_id`), the later ones only count
    up `refusal_count` here, and the next window opens with a new event and a new row. A counter,
    not history: it is the one row a refusal updates.
    """

    id = uuid_pk()
    tenant = tenant_fk()
    actor_key = models.TextField(max_length=limits.columns("mwms_refusal_windows")["actor_key"],
                                 help_text="Who was refused: token:<id>, user:<id>, or the actor's name.")
    actor = models.TextField(max_length=limits.columns("mwms_refusal_windows")["actor"],
                             help_text="The actor as the history names it.")
    subject_kind = text(choices=RefusalSubject.choices)
    subject_id = models.UUIDField(help_text="The request or task the refused call was about.")
    rule = models.TextField(max_length=limits.columns("mwms_refusal_windows")["rule"],
                            help_text="The move that was refused.")
    window_start = models.DateTimeField()
    refusal_count = models.IntegerField(default=1, db_default=1)
    event_id = models.UUIDField(null=True, blank=True,
                                help_text="The rule_violation event that recorded the window's first refusal.")
    last_refused_at = models.DateTimeField()
    created_at = created_at()

    class Meta:
        db_table = "mwms_refusal_windows"
        ordering = ["-last_refused_at"]
        verbose_name = "refusal window"
        constraints = [
            choices_check("subject_kind", RefusalSubject, table="mwms_refusal_windows"),
            models.CheckConstraint(condition=models.Q(refusal_count__gte=1),
                                   name="mwms_refusal_windows_count_positive"),
            models.UniqueConstraint(fields=["tenant", "actor_key", "subject_kind", "subject_id", "rule", "window_start"],
                                    name="mwms_refusal_windows_one_per_window"),
            *length_checks("mwms_refusal_windows"),
        ]
        indexes = [models.Index(fields=["event_id"], name="mwms_refusal_windows_event")]

    def __str__(self) -> str:
        return f"{self.actor} refused {self.rule} ×{self.refusal_count}"


# --- webhooks -------------------------------------------------------------------------------------

class WebhookEvent(models.TextChoices):
    """What an integration can subscribe to (issue 14: request created/moved/closed, task
    queued/completed/failed, decision recorded)."""

    REQUEST_CREATED = "request.created", "Request created"
    REQUEST_MOVED = "request.moved", "Request moved (any change of status)"
    REQUEST_CLOSED = "request.closed", "Request closed or rejected"
    TASK_QUEUED = "task.queued", "Task queued"
    TASK_COMPLETED = "task.completed", "Task completed"
    TASK_FAILED = "task.failed", "Task failed"
    DECISION_RECORDED = "decision.recorded", "Decision recorded"


class WebhookSubscription(models.Model):
    """An integration's endpoint: the tenant's changes of the chosen kinds are POSTed to `url` as JSON,
    signed with HMAC-SHA256 over the body with `secret` (kernel.webhooks)."""

    id = uuid_pk()
    tenant = tenant_fk()
    name = models.TextField(max_length=limits.columns("mwms_webhook_subscriptions")["name"],
                            help_text="Who receives it, e.g. “WordPress plugin” or “Brain Room”.")
    url = models.TextField(max_length=limits.columns("mwms_webhook_subscriptions")["url"],
                           help_text="Where deliveries are POSTed: an http:// or https:// address.")
    secret = models.TextField(max_length=limits.columns("mwms_webhook_subscriptions")["secret"],
                              help_text="The HMAC key of the X-MWMS-Signature header; the receiver keeps a copy.")
    event_types = json_list(help_text="The events delivered: " + ", ".join(WebhookEvent.values) + ".")
    is_active = models.BooleanField(default=True, db_default=True)
    created_by = models.TextField(max_length=limits.columns("mwms_webhook_subscriptions")["created_by"])
    created_at = created_at()

    class Meta:
        db_table = "mwms_webhook_subscriptions"
        ordering = ["name"]
        verbose_name = "webhook subscription"
        constraints = [
            tenant_key("mwms_webhook_subscriptions"),
            models.CheckConstraint(condition=models.Q(url__startswith="http://") | models.Q(url__startswith="https://"),
                                   name="mwms_webhook_subscriptions_url_http"),
            *length_checks("mwms_webhook_subscriptions"),
        ]

    def __str__(self) -> str:
        return f"{self.name} → {self.url}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"        # waiting for its first attempt
    SENDING = "sending", "Sending"        # a worker holds it now
    RETRYING = "retrying", "Retrying"     # the last attempt failed; the next is due at next_attempt_at
    DELIVERED = "delivered", "Delivered"  # answered 2xx
    FAILED = "failed", "Failed"           # every attempt failed; "Send again" makes a new delivery


class WebhookDelivery(models.Model):
    """One event for one subscription, and how sending it went: the delivery log HeadOffice reads.

    Written in the transaction of the change it reports (so a rolled-back change sends nothing) and
    sent after commit by a background task; retried with backoff. "Send again" is a new delivery
    naming the one it repeats, so each row's attempts and answer stay what happened."""

    id = uuid_pk()
    tenant = tenant_fk()
    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.PROTECT, related_name="deliveries")
    event_type = text(choices=WebhookEvent.choices)
    payload = json_object()
    status = text(choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING, db_default=DeliveryStatus.PENDING)
    attempts = models.IntegerField(default=0, db_default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.IntegerField(null=True, blank=True,
                                           help_text="The HTTP status of the last answer; empty when none came.")
    last_answer = models.TextField(blank=True, default="", db_default="",
                                   max_length=limits.columns("mwms_webhook_deliveries")["last_answer"],
                                   help_text="The start of the last answer's body, or why no answer came.")
    delivered_at = models.DateTimeField(null=True, blank=True)
    resent_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = created_at()

    class Meta:
        db_table = "mwms_webhook_deliveries"
        ordering = ["-created_at"]
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        constraints = [
            tenant_key("mwms_webhook_deliveries"),
            choices_check("event_type", WebhookEvent, table="mwms_webhook_deliveries"),
            choices_check("status", DeliveryStatus, table="mwms_webhook_deliveries"),
            models.CheckConstraint(condition=models.Q(attempts__gte=0), name="mwms_webhook_deliveries_attempts"),
            *length_checks("mwms_webhook_deliveries"),
        ]
        indexes = [
            # The sweep: what is due, oldest first.
            models.Index(fields=["status", "next_attempt_at"], name="mwms_webhook_deliveries_due"),
            models.Index(fields=["tenant", "-created_at"], name="mwms_webhook_deliveries_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.subscription_id} ({self.status})"
