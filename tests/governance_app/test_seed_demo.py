"""`manage.py seed_demo`: the demo organisation, idempotent, and bulk data with `--scale N`."""

import io
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from governance_app.models import DecisionRecord, LessonLearned, Membership, MembershipRole
from requests_app.models import BrainRequest, RequestEvent
from tasks_app.models import Task, TaskArtifact, TaskEvent

PASSWORD = "demo-password-42"
BRAINS = ("research", "affiliate", "ads", "experimentation", "finance", "sit", "aibs", "content", "headoffice")
USERNAMES = ("reviewer", "admin", *(f"{slug}_owner" for slug in BRAINS))
FINAL = ("closed", "rejected")


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    # Each run hashes eleven passwords; the production hasher would make this file take a minute.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed(*args: str, password: str = PASSWORD) -> str:
    out = io.StringIO()
    call_command("seed_demo", "--password", password, *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def output(db) -> str:
    return seed()


def story_requests():
    return BrainRequest.objects.filter(meta_json__has_key="demo_key")


def story_request(key: str) -> BrainRequest:
    return BrainRequest.objects.get(meta_json__demo_key=key)


def snapshot() -> dict:
    """Every model's row count, and what a rerun could have touched."""
    models = [*(m for label in ("governance_app", "requests_app", "tasks_app")
                for m in apps.get_app_config(label).get_models()), get_user_model()]
    return {
        "counts": {m._meta.label: m.objects.count() for m in models},
        "requests": sorted(BrainRequest.objects.values_list("id", "status", "updated_at", "lock_version")),
        "tasks": sorted(Task.objects.values_list("id", "status", "updated_at", "attempts")),
        "request_events": sorted(RequestEvent.objects.values_list("id", flat=True)),
        "task_events": sorted(TaskEvent.objects.values_list("id", flat=True)),
        "users": sorted(get_user_model().objects.values_list("username", "password", "is_superuser")),
        "memberships": sorted(Membership.objects.values_list("user__username", "brain_id", "role")),
        "canon": sorted(apps.get_model("governance_app", "CanonDocument").objects.values_list(
            "slug", "version", "updated_at")),
    }


# --- idempotency ------------------------------------------------------------------------------------

def test_a_second_run_creates_nothing_and_changes_nothing(output):
    before = snapshot()
    again = seed()
    assert snapshot() == before
    assert "already there" in again
    assert before["counts"]["requests_app.BrainRequest"] >= 13
    assert before["counts"]["tasks_app.TaskEvent"] > 0


def signs_in(client, username: str, password: str) -> bool:
    """Through the login form, as a person does (sign-in throttling wants the request)."""
    return client.post(reverse("login"), {"username": username, "password": password}).status_code == 302


def test_a_second_run_with_another_password_only_resets_passwords(output, client):
    before = snapshot()
    seed(password="another-password-7")
    after = snapshot()
    assert after["counts"] == before["counts"]
    assert after["requests"] == before["requests"]
    assert signs_in(client, "reviewer", "another-password-7")


def test_it_refuses_a_password_too_short_to_be_valid(db):
    with pytest.raises(CommandError, match="--password"):
        seed(password="short")
    assert not get_user_model().objects.filter(username="reviewer").exists()


# --- people -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("username", USERNAMES)
def test_every_demo_person_signs_in_with_the_given_password(output, client, username):
    assert signs_in(client, username, PASSWORD)


def test_a_wrong_password_is_refused(output, client):
    assert not signs_in(client, "reviewer", "mwms-demo-2026")


def test_the_reviewer_and_admin_review_for_headoffice_and_each_owner_owns_a_brain(output):
    reviewers = set(Membership.objects.filter(brain_id="headoffice", role=MembershipRole.HEAD_OFFICE_REVIEWER)
                    .values_list("user__username", flat=True))
    assert reviewers == {"reviewer", "admin"}
    owners = set(Membership.objects.filter(role=MembershipRole.OWNER).values_list("user__username", "brain_id"))
    assert owners == {(f"{slug}_owner", slug) for slug in BRAINS}


def test_admin_is_a_superuser_and_nobody_else_is(output):
    assert set(get_user_model().objects.filter(is_superuser=True, is_staff=True)
               .values_list("username", flat=True)) == {"admin"}


def test_it_prints_the_usernames_and_the_password(output):
    assert PASSWORD in output
    for username in USERNAMES:
        assert username in output


# --- the five standard flows ------------------------------------------------------------------------

FLOWS = [
    # (request_type, origin, destination, status, other fields the protocol's flow names)
    ("offer_review_request", "research", "affiliate", "closed", {"source_origin": "research_signal"}),
    ("experimentation_request", "affiliate", "experimentation", "in_progress",
     {"offer_id": "OFF-PPS-0193", "intake_id": "INT-2026-0412"}),
    ("finance_review_request", "experimentation", "finance", "escalated",
     {"source_origin": "experiment_result", "escalation_flag": True, "escalation_owner_id": "finance"}),
    ("head_office_review_request", "ads", "headoffice", "awaiting_head_office_review",
     {"source_origin": "brain_site_feedback", "mcr_update_suggested": False, "feedback_classification": None}),
    ("mcr_update_suggestion", "experimentation", "headoffice", "awaiting_mcr_decision",
     {"source_origin": "brain_site_feedback", "mcr_update_suggested": True, "mcr_update_status": "proposed",
      "feedback_classification": "propose_mcr_update"}),
    ("brain_room_request", "headoffice", "content", "routed", {"source_system": "brain_room"}),
]


@pytest.mark.parametrize(("request_type", "origin", "destination", "status", "fields"), FLOWS)
def test_each_standard_flow_has_its_request(output, request_type, origin, destination, status, fields):
    request = story_requests().get(request_type=request_type, requesting_brain_id=origin, target_brain_id=destination)
    assert request.status == status
    for name, value in fields.items():
        assert getattr(request, name) == value, name


def test_flow_1_closes_with_an_artifact_named_as_evidence(output):
    request = story_request("flow1-offer-review")
    artifact = TaskArtifact.objects.get(task__request=request)
    # The close service keeps evidence as typed references to the lineage (protocol rule 7).
    assert {"kind": "artifact", "id": str(artifact.id)} in request.outcome_evidence
    assert request.signals.get().signal_type == "research_density_shift"
    assert request.tasks.get().result_id == artifact.id


def test_flow_2_has_a_running_task(output):
    task = story_request("flow2-experiment-design").tasks.get()
    assert task.status == "running"
    assert task.started_at is not None and task.attempts == 1


def test_flow_3_is_escalated_to_finance_with_a_reason_and_a_finance_decision(output):
    request = story_request("flow3-budget-review")
    assert "capital" in request.escalation_reason.lower()
    assert request.decisions.filter(authority_id="finance").exists()


def test_flow_4_mcr_suggestion_carries_its_classification_decision(output):
    request = story_request("flow4-mcr-suggestion")
    decision = request.decisions.get()
    assert (decision.authority_id, decision.decision_kind, decision.classification) == (
        "headoffice", "feedback_classification", "propose_mcr_update")


def test_flow_5_has_a_queued_task_for_content(output):
    task = story_request("flow5-brain-room").tasks.get()
    assert (task.status, task.assigned_brain_id, task.attempts) == ("queued", "content", 0)


# --- lineage and history ----------------------------------------------------------------------------

def test_every_story_request_has_a_history_that_ends_in_its_status(output):
    usernames = set(get_user_model().objects.values_list("username", flat=True))
    now = timezone.now()
    for request in story_requests():
        events = list(request.events.order_by("created_at"))
        assert events, request.request_title
        assert events[0].event_type == "created" and events[0].created_at == request.created_at
        moves = [e for e in events if e.to_status]
        for before, after in zip(moves, moves[1:]):
            assert after.from_status == before.to_status, request.request_title
        assert moves[-1].to_status == request.status
        assert [e.created_at for e in events] == sorted(e.created_at for e in events)
        # The row changes with its moves; a task, decision or lesson only adds to the history.
        changes = [e for e in events if e.event_type in ("created", "status_changed", "fields_changed")]
        assert request.updated_at == changes[-1].created_at <= now
        # The acting Brain owner or the reviewer, or the engine escalating for a task that ran out
        # of attempts (protocol rule 8).
        engine = {f"system (task {pk})" for pk in request.tasks.values_list("pk", flat=True)}
        assert {e.actor for e in moves} <= usernames | engine


def test_every_story_task_has_events_from_created_to_its_status(output):
    tasks = Task.objects.filter(request__in=story_requests())
    assert tasks.count() >= 5
    for task in tasks:
        events = list(task.events.order_by("created_at"))
        assert events[0].event_type == "created" and events[0].created_at == task.created_at
        assert [e.to_status for e in events if e.to_status][-1] == task.status
        assert [e.created_at for e in events] == sorted(e.created_at for e in events)
        assert task.updated_at == events[-1].created_at


def test_timestamps_spread_over_past_weeks(output):
    created = list(story_requests().values_list("created_at", flat=True))
    assert timezone.now() - min(created) > timedelta(weeks=3)
    assert timezone.now() - max(created) < timedelta(days=2)


def test_closed_and_rejected_requests_carry_a_complete_outcome(output):
    final = story_requests().filter(status__in=FINAL)
    assert set(final.values_list("status", flat=True)) == {"closed", "rejected"}
    for request in final:
        assert request.outcome_type and request.result_summary and request.outcome_decision
        assert request.outcome_evidence and request.next_step and request.next_step_owner
        assert request.head_office_review_required is not None and request.closed_at is not None


def test_headoffice_queues_are_not_empty(output):
    requests = story_requests()
    assert requests.filter(status="new").exists()
    assert requests.filter(status="blocked").exists()
    assert requests.filter(status="escalated").exists()
    stale = requests.exclude(status__in=FINAL).filter(updated_at__lt=timezone.now() - timedelta(days=10))
    assert stale.exists()


def test_a_child_request_points_at_the_research_to_affiliate_request_and_its_task(output):
    parent = story_request("flow1-offer-review")
    child = story_request("child-refund-validation")
    assert child.parent_request == parent
    assert child.originating_task.request == parent


def test_a_task_failed_twice_with_its_last_error(output):
    task = Task.objects.get(request__in=story_requests(), status="failed")
    assert task.attempts == 2 and task.last_error
    assert task.events.filter(event_type="error").count() == 2


def test_decisions_and_lessons_sit_on_the_lineage(output):
    decisions = DecisionRecord.objects.filter(related_request__in=story_requests())
    assert {"headoffice", "finance"} <= set(decisions.values_list("authority_id", flat=True))
    lessons = LessonLearned.objects.filter(related_request__in=story_requests())
    assert lessons.exists()
    assert not lessons.filter(related_decision__isnull=True, related_task__isnull=True).exists()


def test_the_demo_lineage_check_finds_nothing_broken_story_and_scale_alike(output):
    # What lineage_verify prints is what lineage_findings yields: the demo must give it nothing,
    # so `lineage_verify` exits 0 on a fresh demo database (issue 13).
    from governance_app.models import Tenant
    from requests_app.integrity import lineage_findings

    seed("--scale", "200", "--seed", "5")
    for tenant in Tenant.objects.all():
        assert [finding.line() for finding in lineage_findings(tenant_id=tenant.pk)] == []
    closed = BrainRequest.objects.filter(status__in=("closed", "rejected"))
    assert closed.count() > 20 and all(item.get("id") or item.get("text") for r in closed for item in r.outcome_evidence)


# --- --scale ----------------------------------------------------------------------------------------

def scale_requests():
    return BrainRequest.objects.filter(meta_json__scale=True)


def test_scale_adds_requests_with_tasks_and_events_and_leaves_the_story_alone(output):
    story_before = sorted(story_requests().values_list("id", "status", "updated_at"))
    seed("--scale", "50", "--seed", "3")
    requests = scale_requests()
    assert requests.count() == 50
    assert not requests.annotate(n=Count("events")).filter(n=0).exists()
    tasks = Task.objects.filter(request__in=requests)
    assert tasks.exists()
    assert not tasks.annotate(n=Count("events")).filter(n=0).exists()
    events = RequestEvent.objects.filter(request__in=requests).count() + \
        TaskEvent.objects.filter(task__in=tasks).count()
    assert 5 * 50 <= events <= 15 * 50
    assert sorted(story_requests().values_list("id", "status", "updated_at")) == story_before


def test_scale_rows_respect_the_protocol(output):
    seed("--scale", "50", "--seed", "3")
    requests = scale_requests()
    assert requests.values("status").distinct().count() >= 4
    incomplete = requests.filter(status__in=FINAL).filter(
        Q(outcome_type__isnull=True) | Q(result_summary="") | Q(outcome_decision="") | Q(next_step="")
        | Q(next_step_owner="") | Q(head_office_review_required__isnull=True) | Q(closed_at__isnull=True))
    assert not incomplete.exists()
    assert not requests.filter(status__in=["routed", "in_progress"], review_owner__isnull=True).exists()
    assert not requests.filter(status="escalated").filter(Q(escalation_owner__isnull=True)
                                                          | Q(escalation_reason="")).exists()
    assert not requests.filter(status="responded", response_summary="").exists()
    assert not Task.objects.filter(request__in=requests, status="failed", last_error__isnull=True).exists()
    # Routing before execution: no task under a request that was never routed.
    assert not Task.objects.filter(request__in=requests, request__review_owner__isnull=True).exists()
    oldest = requests.order_by("created_at").first().created_at
    assert timezone.now() - oldest <= timedelta(days=180)
    assert not requests.filter(updated_at__gt=timezone.now()).exists()


def test_scale_adds_another_n_each_run(output):
    seed("--scale", "5")
    seed("--scale", "5")
    assert scale_requests().count() == 10


def test_every_demo_person_has_a_name_and_the_timeline_shows_it_with_the_username_as_its_title(output, client):
    users = {user.username: user for user in get_user_model().objects.filter(username__in=USERNAMES)}
    assert set(users) == set(USERNAMES) and all(user.first_name and user.last_name for user in users.values())
    client.force_login(users["reviewer"])
    closed = story_requests().filter(status="closed").order_by("created_at").first()
    people = [e.actor for e in RequestEvent.objects.filter(request=closed) if e.actor in users]
    assert people
    page = client.get(reverse("requests:detail", args=[closed.pk]))
    for username in set(people):
        assert f'by <span title="{username}">{users[username].get_full_name()}</span>' in page.text
