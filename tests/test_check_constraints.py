"""Every CHECK constraint refuses a bad value, on both databases.

ARCHITECTURE.md: status, priority, risk and event-type values are enforced by CHECK constraints
(schema enforcement at insertion), not only by forms — so a bad value from the ORM, raw SQL or a
plugin writing straight into the database is refused with an IntegrityError that names the
constraint. Each case below breaks exactly one constraint of a valid row; the last test fails the
suite when a model gains a CHECK constraint that no case here proves.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, get_type_hints

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, models, transaction

from governance_app.kernel import limits
from governance_app.kernel.db import AppendOnlyModel
from governance_app.models import (
    Authority,
    Classification,
    DecisionKind,
    McrDecision,
    MembershipRole,
    RefusalSubject,
    SubscriptionTier,
    TokenRole,
)
from requests_app.models import (
    BrainRequest,
    ListName,
    McrUpdateStatus,
    OperatingLayer,
    OutcomeType,
    Priority,
    RequestEventType,
    RequestStatus,
    RequestType,
    SignalDirection,
    SignalType,
    ViewVisibility,
)
from tasks_app.models import OutputMode, RiskLevel, TaskArtifact, TaskEventType, TaskStatus
from tests.db_roles import acting_for, as_runtime_role
from tests.factories import (
    make_api_token,
    make_brain,
    make_canon_amendment,
    make_canon_document,
    make_canon_proposal,
    make_suggestion_evidence,
    make_chain_checkpoint,
    make_chain_checkpoint_head,
    make_decision_record,
    make_idempotency_record,
    make_lesson,
    make_list_preference,
    make_membership,
    make_notification,
    make_notification_preference,
    make_refusal_window,
    make_request,
    make_request_event,
    make_saved_view,
    make_signal,
    make_sla_policy,
    make_sla_target,
    make_task,
    make_task_artifact,
    make_task_event,
    make_tenant,
    make_webhook_delivery,
    make_webhook_subscription,
    request_fields_for,
)


@dataclass(frozen=True)
class Case:
    """`bad` breaks `constraint` (and nothing else) when written over a valid row from `make`."""

    constraint: str
    make: Callable[..., models.Model]
    bad: dict[str, Any] = field(default_factory=dict)
    label: str = ""

    @property
    def id(self) -> str:
        return f"{self.constraint}-{self.label}" if self.label else self.constraint

    @property
    def model(self) -> type[models.Model]:
        return get_type_hints(self.make)["return"]


def _final_outcome_without(status: str, missing: str) -> dict[str, Any]:
    """A closed or rejected request's complete outcome (protocol rule 7) with one part left out."""
    blank = None if missing in {"outcome_type", "head_office_review_required", "closed_at"} else ""
    return {**request_fields_for(status), "status": status, missing: blank}


R = "mwms_brain_requests"
T = "mwms_tasks"

CASES: list[Case] = [
    # The chain's checkpoints (issue 13).
    Case("mwms_chain_checkpoints_chains_positive", make_chain_checkpoint, {"chains": -1}),
    # A suggestion's proposed change to canon (issue 15).
    Case("mwms_canon_proposals_revision_positive", make_canon_proposal, {"revision": 0}),
    Case("mwms_canon_amendments_amendment_type_valid", make_canon_amendment, {"amendment_type": "whim"}),
    Case("mwms_canon_amendments_rollback_names_its_amendment", make_canon_amendment, {"amendment_type": "rollback"}),
    Case("mwms_canon_amendments_proposed_by_a_request", make_canon_amendment, {"request": None}),
    # The Brain registry, memberships and tokens.
    Case("mwms_brains_authority_valid", make_brain, {"authority": "emperor"}),
    Case("mwms_brains_slug_not_empty", make_brain, {"slug": ""}),
    Case("mwms_memberships_role_valid", make_membership, {"role": "admin"}),
    Case("mwms_memberships_reviewer_of_headoffice", make_membership,
         {"role": MembershipRole.HEAD_OFFICE_REVIEWER, "brain_id": "research"}),
    Case("mwms_api_tokens_role_valid", make_api_token, {"role": "superuser"}),
    Case("mwms_api_tokens_headoffice_of_headoffice", make_api_token,
         {"role": TokenRole.HEADOFFICE, "brain_id": "research"}),
    # Tenants (seed 004).
    Case("mwms_tenants_subscription_tier_valid", make_tenant, {"subscription_tier": "gold"}),
    Case("mwms_tenants_slug_not_empty", make_tenant, {"slug": ""}),
    Case("mwms_tenants_name_not_empty", make_tenant, {"name": ""}),
    Case("mwms_tenants_max_users_positive", make_tenant, {"max_users": 0}),
    Case("mwms_tenants_budget_not_negative", make_tenant, {"max_monthly_budget": -1}),
    # Decision records.
    Case("mwms_decision_records_decision_kind_valid", make_decision_record, {"decision_kind": "whim"}),
    Case("mwms_decision_records_classification_valid", make_decision_record,
         {"decision_kind": DecisionKind.FEEDBACK_CLASSIFICATION, "classification": "ignore"}),
    Case("mwms_decision_records_mcr_decision_valid", make_decision_record,
         {"decision_kind": DecisionKind.MCR_DECISION, "mcr_decision": "maybe"}),
    Case("mwms_decision_records_classification_named", make_decision_record,
         {"decision_kind": DecisionKind.FEEDBACK_CLASSIFICATION, "classification": None}),
    Case("mwms_decision_records_mcr_decision_named", make_decision_record,
         {"decision_kind": DecisionKind.MCR_DECISION, "mcr_decision": None}),
    # Brain Requests: enumerations.
    Case(f"{R}_status_valid", make_request, {"status": "done"}),
    Case(f"{R}_priority_valid", make_request, {"priority": "critical"}),
    Case(f"{R}_request_type_valid", make_request, {"request_type": "coffee_request"}),
    Case(f"{R}_operating_layer_valid", make_request, {"operating_layer": "strategic"}),
    Case(f"{R}_outcome_type_valid", make_request, {"outcome_type": "done"}),
    Case(f"{R}_mcr_update_status_valid", make_request, {"mcr_update_status": "maybe", "mcr_update_suggested": True}),
    Case(f"{R}_feedback_classification_valid", make_request, {"feedback_classification": "ignore"}),
    Case(f"{R}_held_from_status_valid", make_request, {"status": RequestStatus.BLOCKED, "held_from_status": "done"}),
    # Brain Requests: required text and the rules of the state machine.
    Case(f"{R}_title_not_empty", make_request, {"request_title": ""}),
    Case(f"{R}_summary_not_empty", make_request, {"request_summary": ""}),
    Case(f"{R}_escalation_has_owner_and_reason", make_request,
         {"status": RequestStatus.ESCALATED, "escalation_owner_id": None,
          "escalation_reason": "Spend above the approved test budget."}, "no-owner"),
    Case(f"{R}_escalation_has_owner_and_reason", make_request,
         {"status": RequestStatus.ESCALATED, "escalation_owner_id": "finance", "escalation_reason": ""}, "no-reason"),
    Case(f"{R}_mcr_approved_was_suggested", make_request,
         {"mcr_update_status": McrUpdateStatus.APPROVED, "mcr_update_suggested": False}),
    Case(f"{R}_responded_has_summary", make_request,
         {"status": RequestStatus.RESPONDED, "review_owner_id": "headoffice", "response_summary": ""}),
    *[
        Case(f"{R}_final_has_complete_outcome", make_request, _final_outcome_without(status, missing),
             f"{status}-without-{missing}")
        for status in (RequestStatus.CLOSED, RequestStatus.REJECTED)
        for missing in ("outcome_type", "result_summary", "outcome_decision", "next_step", "next_step_owner",
                        "head_office_review_required", "closed_at")
    ],
    Case(f"{R}_routed_has_review_owner", make_request,
         {"status": RequestStatus.ROUTED, "review_owner_id": None}, "routed"),
    Case(f"{R}_routed_has_review_owner", make_request,
         {"status": RequestStatus.IN_PROGRESS, "review_owner_id": None}, "in_progress"),
    Case(f"{R}_lock_version_positive", make_request, {"lock_version": -1}),
    # Request events.
    Case("mwms_request_events_event_type_valid", make_request_event, {"event_type": "edited"}),
    Case("mwms_request_events_from_status_valid", make_request_event, {"from_status": "done"}),
    Case("mwms_request_events_to_status_valid", make_request_event, {"to_status": "done"}),
    # Signals.
    Case("mwms_signals_signal_type_valid", make_signal, {"signal_type": "rumour"}),
    Case("mwms_signals_direction_valid", make_signal, {"direction": "sideways"}),
    # Tasks.
    Case(f"{T}_status_valid", make_task, {"status": "done"}),
    Case(f"{T}_risk_level_valid", make_task, {"risk_level": "extreme"}),
    Case(f"{T}_priority_valid", make_task, {"priority": "critical"}),
    # output_mode is any lowercase snake_case word (issue 17): these are not one.
    *[Case(f"{T}_output_mode_valid", make_task, {"output_mode": bad}, label)
      for label, bad in [("capitals", "Report"), ("hyphen", "e-mail"), ("empty", ""), ("digit-first", "2nd"),
                         ("space", "web page"), ("too-long", "a" * (limits.WORD + 1))]],
    Case(f"{T}_attempts_not_negative", make_task, {"attempts": -1}),
    Case(f"{T}_max_attempts_positive", make_task, {"max_attempts": 0}),
    Case(f"{T}_task_type_not_empty", make_task, {"task_type": ""}),
    Case(f"{T}_failed_has_error", make_task, {"status": TaskStatus.FAILED, "last_error": None}),
    # Task events and artifacts.
    Case("mwms_task_events_event_type_valid", make_task_event, {"event_type": "edited"}),
    Case("mwms_task_events_from_status_valid", make_task_event, {"from_status": "done"}),
    Case("mwms_task_events_to_status_valid", make_task_event, {"to_status": "done"}),
    Case("mwms_task_artifacts_type_not_empty", make_task_artifact, {"artifact_type": ""}),
    # Refusal windows (the counter behind one rule_violation per window).
    Case("mwms_refusal_windows_subject_kind_valid", make_refusal_window, {"subject_kind": "decision"}),
    Case("mwms_refusal_windows_count_positive", make_refusal_window, {"refusal_count": 0}),
    # Webhooks.
    Case("mwms_webhook_subscriptions_url_http", make_webhook_subscription, {"url": "javascript:alert(1)"}),
    Case("mwms_webhook_deliveries_event_type_valid", make_webhook_delivery, {"event_type": "request.deleted"}),
    Case("mwms_webhook_deliveries_status_valid", make_webhook_delivery, {"status": "lost"}),
    Case("mwms_webhook_deliveries_attempts", make_webhook_delivery, {"attempts": -1}),
    Case("mwms_notifications_kind_valid", make_notification, {"kind": "gossip"}),
    Case("mwms_notification_preferences_email_mode_valid", make_notification_preference, {"email_mode": "hourly"}),
    # SLA clocks (issue 14).
    Case(f"{R}_sla_warn_before_due", make_request, {"sla_due_at": datetime(2026, 3, 2, tzinfo=UTC),
                                                     "sla_warn_at": datetime(2026, 3, 3, tzinfo=UTC)}, "warn-after-due"),
    Case(f"{R}_sla_warn_before_due", make_request, {"sla_due_at": datetime(2026, 3, 2, tzinfo=UTC),
                                                     "sla_warn_at": None}, "due-without-warning"),
    Case("mwms_sla_policies_warn_percent_range", make_sla_policy, {"warn_percent": 100}, "100"),
    Case("mwms_sla_policies_warn_percent_range", make_sla_policy, {"warn_percent": 0}, "0"),
    Case("mwms_sla_targets_priority_valid", make_sla_target, {"priority": "critical"}),
    Case("mwms_sla_targets_clock_valid", make_sla_target, {"clock": "closed"}),
    Case("mwms_sla_targets_request_type_valid", make_sla_target, {"request_type": "gossip_request"}),
    Case("mwms_sla_targets_minutes_range", make_sla_target, {"minutes": 0}, "zero"),
    Case("mwms_sla_targets_minutes_range", make_sla_target, {"minutes": 366 * 24 * 60 + 1}, "over-a-year"),
    # Saved views and list columns (issue 14).
    Case("mwms_saved_views_visibility_valid", make_saved_view, {"visibility": "public"}),
    Case("mwms_saved_views_name_not_blank", make_saved_view, {"name": ""}, "empty"),
    Case("mwms_saved_views_name_not_blank", make_saved_view, {"name": "   "}, "spaces"),
    Case("mwms_list_preferences_list_name_valid", make_list_preference, {"list_name": "tasks"}),
    # A suggestion's evidence (issue 15, item 2): its kind, and exactly the one record of that kind.
    Case("mwms_suggestion_evidence_kind_valid", make_suggestion_evidence, {"kind": "task"}),
    Case("mwms_suggestion_evidence_one_record_of_its_kind", make_suggestion_evidence, {"kind": "decision"},
         "kind-disagrees"),
    Case("mwms_suggestion_evidence_one_record_of_its_kind", make_suggestion_evidence,
         {"kind": "request", "cited_request": None}, "no-record"),
    Case("mwms_suggestion_evidence_not_itself", make_suggestion_evidence, {"cited_request": "itself"}),
]

# Input limits (issue 17): every text column one character over its limit, every JSON column one
# character of JSON over its size (kernel.limits lists both; the CHECKs are generated from it).
MAKE_FOR_TABLE: dict[str, Callable[..., models.Model]] = {
    "mwms_tenants": make_tenant, "mwms_brains": make_brain, "mwms_api_tokens": make_api_token,
    "mwms_idempotency_keys": make_idempotency_record, "mwms_refusal_windows": make_refusal_window,
    "mwms_brain_requests": make_request,
    "mwms_request_events": make_request_event, "mwms_signals": make_signal, "mwms_tasks": make_task,
    "mwms_task_events": make_task_event, "mwms_task_artifacts": make_task_artifact,
    "mwms_decision_records": make_decision_record, "mwms_lessons_learned": make_lesson,
    "mwms_canon_documents": make_canon_document, "mwms_canon_amendments": make_canon_amendment,
    "mwms_canon_proposals": make_canon_proposal, "mwms_suggestion_evidence": make_suggestion_evidence,
    "mwms_webhook_subscriptions": make_webhook_subscription, "mwms_webhook_deliveries": make_webhook_delivery,
    "mwms_notifications": make_notification, "mwms_sla_policies": make_sla_policy,
    "mwms_saved_views": make_saved_view, "mwms_list_preferences": make_list_preference,
    "mwms_chain_checkpoints": make_chain_checkpoint, "mwms_chain_checkpoint_heads": make_chain_checkpoint_head,
}


def json_of_size(size: int) -> dict[str, str]:
    """A JSON object whose text (as Django writes it, and as PostgreSQL prints the jsonb) is `size`
    characters long: '{"k": "xx…x"}'."""
    return {"k": "x" * (size - len('{"k": ""}'))}


def text_of(table: str, column: str, length: int) -> str:
    """Text of exactly `length` characters that the column's other rules accept (a webhook's URL
    must be http or https)."""
    prefix = "https://" if (table, column) == ("mwms_webhook_subscriptions", "url") else ""
    return prefix + "x" * (length - len(prefix))


TEXT_LIMITS = [(table, column, limit) for table, columns in limits.TEXT_COLUMNS.items()
               for column, limit in columns.items()]
JSON_LIMITS = [(table, column, limit) for table, columns in limits.JSON_COLUMNS.items()
               for column, limit in columns.items()]
CASES += [Case(f"{table}_{column}_length", MAKE_FOR_TABLE[table], {column: text_of(table, column, limit + 1)})
          for table, column, limit in TEXT_LIMITS]
CASES += [Case(f"{table}_{column}_size", MAKE_FOR_TABLE[table], {column: json_of_size(limit + 1)})
          for table, column, limit in JSON_LIMITS]

# Append-only rows cannot be updated at all (the trigger refuses first), so only inserts prove them.
# Artifacts are write-once (issue 13): the same.
UPDATABLE_CASES = [case for case in CASES if not issubclass(case.model, AppendOnlyModel) and case.model is not TaskArtifact]


@contextmanager
def refused_by_check(constraint: str) -> Iterator[None]:
    """Expect the database to refuse the write with an IntegrityError naming `constraint`."""
    with pytest.raises(IntegrityError) as excinfo:
        with transaction.atomic():  # a savepoint: PostgreSQL aborts the transaction otherwise
            yield
    message = str(excinfo.value)
    if connection.vendor == "postgresql":
        assert f'violates check constraint "{constraint}"' in message
    else:
        assert message == f"CHECK constraint failed: {constraint}"


def _row(model: type[models.Model], pk: Any) -> dict[str, Any]:
    return model.objects.filter(pk=pk).values().get()


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_an_insert_that_breaks_a_check_constraint_is_refused(case: Case) -> None:
    count = case.model.objects.count()

    with refused_by_check(case.constraint):
        case.make(**case.bad)

    assert case.model.objects.count() == count


@pytest.mark.django_db
@pytest.mark.parametrize("case", UPDATABLE_CASES, ids=lambda case: case.id)
def test_an_update_that_breaks_a_check_constraint_is_refused(case: Case) -> None:
    row = case.make()
    with acting_for(row):
        before = _row(case.model, row.pk)

        with refused_by_check(case.constraint):
            case.model.objects.filter(pk=row.pk).update(**case.bad)

        assert _row(case.model, row.pk) == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("make", "table", "column", "value", "constraint"),
    [
        pytest.param(make, table, column, value, constraint, id=f"{table}.{column}={value!r}")
        for make, table, column, value, constraint in [
            (make_request, R, "status", "done", f"{R}_status_valid"),
            (make_request, R, "priority", "critical", f"{R}_priority_valid"),
            (make_request, R, "request_summary", "", f"{R}_summary_not_empty"),
            (make_task, T, "status", "done", f"{T}_status_valid"),
            (make_task, T, "risk_level", "extreme", f"{T}_risk_level_valid"),
            (make_task, T, "attempts", -1, f"{T}_attempts_not_negative"),
            (make_refusal_window, "mwms_refusal_windows", "refusal_count", 0, "mwms_refusal_windows_count_positive"),
            (make_request, R, "request_title", "x" * 301, f"{R}_request_title_length"),
            (make_request, R, "request_summary", "x" * 2_400_000, f"{R}_request_summary_length"),
            (make_task, T, "output_mode", "Report", f"{T}_output_mode_valid"),
        ]
    ],
)
def test_a_raw_sql_update_that_breaks_a_check_constraint_is_refused(
    make: Callable[[], models.Model], table: str, column: str, value: Any, constraint: str
) -> None:
    # A direct writer (a WordPress plugin through Supabase) never passes through the models.
    row = make()
    before = _row(type(row), row.pk)

    with refused_by_check(constraint):
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET {column} = %s WHERE id = %s", [value, row.pk.hex])

    assert _row(type(row), row.pk) == before


# --- Every listed value is accepted: no CHECK is stricter than the model's choices ----------------

ENUMERATIONS: list[tuple[Callable[..., models.Model], str, type[models.TextChoices]]] = [
    (make_tenant, "subscription_tier", SubscriptionTier),
    (make_brain, "authority", Authority),
    (make_membership, "role", MembershipRole),
    (make_api_token, "role", TokenRole),
    (make_decision_record, "decision_kind", DecisionKind),
    (make_decision_record, "classification", Classification),
    (make_decision_record, "mcr_decision", McrDecision),
    (make_request, "status", RequestStatus),  # the minimum statuses and the optional ones
    (make_request, "priority", Priority),
    (make_request, "request_type", RequestType),
    (make_request, "operating_layer", OperatingLayer),
    (make_request, "outcome_type", OutcomeType),
    (make_request, "mcr_update_status", McrUpdateStatus),
    (make_request, "feedback_classification", Classification),
    (make_request, "held_from_status", RequestStatus),
    (make_request_event, "event_type", RequestEventType),
    (make_request_event, "from_status", RequestStatus),
    (make_request_event, "to_status", RequestStatus),
    (make_signal, "signal_type", SignalType),
    (make_signal, "direction", SignalDirection),
    (make_task, "status", TaskStatus),
    (make_task, "risk_level", RiskLevel),
    (make_task, "priority", Priority),
    (make_task, "output_mode", OutputMode),
    (make_task_event, "event_type", TaskEventType),
    (make_task_event, "from_status", TaskStatus),
    (make_task_event, "to_status", TaskStatus),
    (make_refusal_window, "subject_kind", RefusalSubject),
    (make_saved_view, "visibility", ViewVisibility),
    (make_list_preference, "list_name", ListName),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("make", "column", "value"),
    [(make, column, value) for make, column, choices in ENUMERATIONS for value in choices.values],
    ids=lambda value: value.__name__.removeprefix("make_") if callable(value) else str(value),
)
def test_every_listed_value_is_accepted(make: Callable[..., models.Model], column: str, value: str) -> None:
    row = make(**{column: value})

    with acting_for(row):
        assert _row(type(row), row.pk)[column] == value


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["report", "email_digest", "a", "v2_summary", "x" * limits.WORD])
def test_any_lowercase_snake_case_word_is_an_output_mode(value: str) -> None:
    # The canon's output_mode is free text (seed 000); the four OutputMode words are suggestions.
    task = make_task(output_mode=value)

    assert _row(type(task), task.pk)["output_mode"] == value


@pytest.mark.django_db
@pytest.mark.parametrize(("table", "column", "limit"), TEXT_LIMITS, ids=lambda v: str(v))
def test_text_of_exactly_its_limit_is_accepted(table: str, column: str, limit: int) -> None:
    if column == "prev_hash":  # a link's prev_hash is its chain head's digest, which the INSERT trigger asks for
        row = MAKE_FOR_TABLE[table]()
        with acting_for(row):
            assert len(_row(type(row), row.pk)[column]) in (0, limit)
        return
    row = MAKE_FOR_TABLE[table](**{column: text_of(table, column, limit)})

    with acting_for(row):
        assert len(_row(type(row), row.pk)[column]) == limit


@pytest.mark.django_db
@pytest.mark.parametrize(("table", "column", "limit"), JSON_LIMITS, ids=lambda v: str(v))
def test_json_of_exactly_its_size_is_accepted(table: str, column: str, limit: int) -> None:
    # The app's measure (kernel.limits.json_size) is the database's: what the services let through,
    # the CHECK takes.
    value = json_of_size(limit)
    assert limits.json_size(value) == limit

    row = MAKE_FOR_TABLE[table](**{column: value})

    with acting_for(row):
        assert _row(type(row), row.pk)[column] == value


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields",
    [
        {"status": RequestStatus.ESCALATED, "escalation_owner_id": "sit", "escalation_reason": "Data mismatch."},
        {"status": RequestStatus.RESPONDED, "review_owner_id": "headoffice", "response_summary": "Found it."},
        {"status": RequestStatus.ROUTED, "review_owner_id": "headoffice"},
        {"mcr_update_status": McrUpdateStatus.APPROVED, "mcr_update_suggested": True},
        request_fields_for(RequestStatus.CLOSED) | {"status": RequestStatus.CLOSED},
        request_fields_for(RequestStatus.REJECTED) | {"status": RequestStatus.REJECTED},
    ],
    ids=["escalated", "responded", "routed", "mcr-approved", "closed", "rejected"],
)
def test_an_update_that_meets_a_status_rule_is_accepted(fields: dict[str, Any]) -> None:
    # The counterpart of the refusals: from `new`, supplying what the status needs is enough.
    request = make_request()
    if fields.get("mcr_update_status") == McrUpdateStatus.APPROVED:
        make_decision_record(request=request, decision_kind=DecisionKind.MCR_DECISION,
                             mcr_decision=McrDecision.APPROVED)

    BrainRequest.objects.filter(pk=request.pk).update(**fields)

    row = _row(BrainRequest, request.pk)
    assert {key: row[key] for key in fields} == fields


# --- The Brain columns name Brains of the registry ----------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("make", "column"),
    [
        pytest.param(make, column, id=f"{get_type_hints(make)['return']._meta.db_table}.{column}")
        for make, column in [
            (make_request, "target_brain"),
            (make_request, "requesting_brain"),
            (make_task, "assigned_brain"),
            (make_decision_record, "authority"),
            (make_lesson, "originating_brain"),
        ]
    ],
)
def test_a_brain_that_is_not_in_the_registry_is_refused_by_the_foreign_key(
    make: Callable[..., models.Model], column: str
) -> None:
    # The Brain columns are checked against the row's own tenant's registry: a composite foreign
    # key (tenant_id, column) on PostgreSQL, a trigger on SQLite, both named <table>_<column>_tenant_fk.
    with pytest.raises(IntegrityError) as excinfo:
        with transaction.atomic():
            make(**{column: "marketing"})
            connection.check_constraints()

    message = str(excinfo.value)
    table = get_type_hints(make)["return"]._meta.db_table
    if connection.vendor == "postgresql":
        assert f'violates foreign key constraint "{table}_{column}_tenant_fk"' in message
        # Under row-level security PostgreSQL leaves the key's values out of the detail.
        detail = ('Key is not present in table "mwms_brains".' if as_runtime_role()
                  else "=(00000000-0000-0000-0000-000000000001, marketing) is not present in table")
        assert detail in message
    else:
        assert message == (f"{table}.{column} must name a row of mwms_brains in the same tenant "
                           f"({table}_{column}_tenant_fk)")


@pytest.mark.django_db
def test_a_brain_of_the_registry_passes_the_foreign_key_check() -> None:
    request = make_request(target_brain="finance", request_type=RequestType.FINANCE_REVIEW_REQUEST)

    connection.check_constraints()

    assert request.target_brain.name == "Finance Brain"


# --- No CHECK constraint goes unproven -----------------------------------------------------------


def test_every_check_constraint_of_the_models_is_proven_by_a_case() -> None:
    defined = {
        constraint.name
        for model in apps.get_models()
        if "site-packages" not in model._meta.app_config.path  # the project's apps, not Django's
        for constraint in model._meta.constraints
        if isinstance(constraint, models.CheckConstraint)
    }

    assert defined, "no CHECK constraints found: the collection is broken"
    assert {case.constraint for case in CASES} == defined
