"""Watching requests and notifications (issue 14, item 2): who is told of a change, the inbox in the
header, email at once or as a daily digest, and watching or not watching a request."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.urls import reverse

from governance_app.kernel.clock import clock_set
from governance_app.kernel.errors import DomainError, Refusal
from governance_app.models import MembershipRole
from requests_app import notifications
from requests_app import services as rs
from requests_app import sla
from requests_app.models import EmailMode, Notification, NotificationKind
from tasks_app import services as ts
from tests.engine import actor, new_request, routed_request, token_actor

pytestmark = pytest.mark.django_db


@pytest.fixture
def commits(django_capture_on_commit_callbacks):
    """`with commits():` around a change: it commits, so its fan-out task runs (immediately, in
    tests) before the test reads what it wrote."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def told(user) -> list[tuple[str, str]]:
    return list(Notification.objects.filter(user=user).order_by("created_at", "kind").values_list("kind", "summary"))


def kinds(user) -> list[str]:
    return [kind for kind, _ in told(user)]


def test_a_new_request_is_told_to_its_destination_not_to_its_author_or_strangers(commits, owner, other_owner, outsider):
    with commits():
        request = new_request(actor(owner))
    assert told(other_owner) == [(NotificationKind.REQUEST_CREATED,
                                  f"New request from Research Brain for Affiliate Brain: “{request.request_title}”")]
    assert told(owner) == [] and told(outsider) == []


def test_routing_tells_the_default_watchers_and_the_brain_given_the_work(commits, owner, other_owner, reviewer):
    with commits():
        request = routed_request(actor(owner), actor(reviewer))
    assert kinds(owner) == [NotificationKind.ASSIGNED]  # the origin's owner watches by default
    assert kinds(other_owner) == [NotificationKind.REQUEST_CREATED, NotificationKind.ASSIGNED]
    assert kinds(reviewer) == []  # the one who routed it
    assert f"“{request.request_title}” was routed to Affiliate Brain" in told(owner)[0][1]


def test_a_default_watcher_who_stops_hears_no_more(commits, owner, other_owner, reviewer):
    with commits():
        request = new_request(actor(owner))
    notifications.watch_set(actor=actor(owner), request_id=request.pk, watching=False)
    with commits():
        rs.request_route(request=request, actor=actor(reviewer), review_owner="headoffice")
    assert kinds(owner) == []
    assert notifications.watch_state(actor=actor(owner), request=request) == (False, "You stopped watching it.")


def test_anyone_who_may_see_a_request_can_watch_it_and_then_hears_of_it(commits, owner, other_owner, reviewer):
    with commits():
        request = routed_request(actor(owner), actor(reviewer))
    assert notifications.watch_state(actor=actor(reviewer), request=request) == (False, "")
    notifications.watch_set(actor=actor(reviewer), request_id=request.pk, watching=True)
    with commits():
        rs.request_accept(request=request, actor=actor(other_owner))
    assert told(reviewer) == [
        (NotificationKind.STATUS_CHANGED, f"“{request.request_title}”: routed → in progress")]


def test_nobody_watches_a_request_they_may_not_see(commits, owner, outsider):
    with commits():
        request = new_request(actor(owner))
    with pytest.raises(DomainError) as refused:
        notifications.watch_set(actor=actor(outsider), request_id=request.pk, watching=True)
    assert refused.value.kind == Refusal.NOT_FOUND


def test_tasks_tell_the_watchers_when_they_complete(commits, owner, other_owner, reviewer):
    with commits():
        request = rs.request_accept(request=routed_request(actor(owner), actor(reviewer)), actor=actor(other_owner))
        ts.task_create(request=request, actor=actor(other_owner), task_type="offer_review_task")
        executor = token_actor("affiliate")
        task = ts.task_start(task=ts.task_claim_next(actor=executor), actor=executor)
        ts.task_complete(task=task, actor=executor, result_summary="Offer scored 8/10 on margin and demand.")
    assert kinds(owner)[-2:] == [NotificationKind.TASK_CREATED, NotificationKind.TASK_COMPLETED]
    # The affiliate owner created the task: told of its completion (by the executor), not of its creation.
    assert NotificationKind.TASK_CREATED not in kinds(other_owner)
    assert kinds(other_owner)[-1] == NotificationKind.TASK_COMPLETED


def test_a_rolled_back_change_tells_nobody(commits, owner, other_owner):
    with commits(), pytest.raises(RuntimeError), transaction.atomic():
        new_request(actor(owner))
        raise RuntimeError("the change fails")
    assert not Notification.objects.exists()


def test_immediate_email_sends_each_notification_with_its_link(commits, owner, other_owner, settings):
    settings.MWMS_SITE_URL = "https://headoffice.example.org"
    notifications.email_mode_set(actor=actor(other_owner), email_mode=EmailMode.IMMEDIATE)
    other_owner.email = "affiliate@example.org"
    other_owner.save()
    with commits():
        request = new_request(actor(owner))
    [message] = mail.outbox
    assert message.to == ["affiliate@example.org"]
    assert request.request_title in message.subject
    assert f"https://headoffice.example.org/requests/{request.pk}/" in message.body
    assert Notification.objects.get(user=other_owner).emailed_at is not None


def test_a_retried_fan_out_writes_and_emails_nothing_more(commits, owner, other_owner):
    notifications.email_mode_set(actor=actor(other_owner), email_mode=EmailMode.IMMEDIATE)
    other_owner.email = "affiliate@example.org"
    other_owner.save()
    with commits():
        request = new_request(actor(owner))
    created = request.events.get(event_type="created")
    notifications.fan_out(tenant_id=request.tenant_id, source="request", event_id=created.pk)
    assert len(mail.outbox) == 1
    assert Notification.objects.filter(user=other_owner).count() == 1


def test_the_daily_digest_gathers_what_was_not_emailed_and_none_means_none(commits, owner, other_owner, reviewer):
    for person, mode in ((owner, EmailMode.DIGEST), (other_owner, EmailMode.NONE)):
        notifications.email_mode_set(actor=actor(person), email_mode=mode)
        person.email = f"{person.username}@example.org"
        person.save()
    with commits():
        routed_request(actor(owner), actor(reviewer))
    with commits():
        new_request(actor(other_owner), destination="research")
    assert mail.outbox == []  # nobody chose "at once"
    assert notifications.digest(tenant_id=actor(owner).tenant_id) == 1
    [message] = mail.outbox
    assert message.to == ["research_owner@example.org"] and "2 change(s)" in message.subject
    assert notifications.digest(tenant_id=actor(owner).tenant_id) == 0  # each is emailed once


def test_a_bad_email_choice_is_refused(owner):
    with pytest.raises(DomainError) as refused:
        notifications.email_mode_set(actor=actor(owner), email_mode="hourly")
    assert refused.value.field == "email_mode"


# --- the pages ---------------------------------------------------------------------------------------

def test_the_inbox_lists_marks_read_on_open_and_counts_unread(commits, client, owner, other_owner):
    with commits():
        request = new_request(actor(owner))
    client.force_login(other_owner)
    assert client.get(reverse("requests:unread_badge")).content.decode().strip().endswith(">1</span>")
    page = client.get(reverse("requests:notifications")).content.decode()
    assert request.request_title in page and "unread" in page
    notification = Notification.objects.get(user=other_owner)
    opened = client.get(reverse("requests:notification_open", args=[notification.pk]))
    assert opened.status_code == 302 and opened["Location"] == reverse("requests:detail", args=[request.pk])
    notification.refresh_from_db()
    assert notification.read_at is not None
    assert client.get(reverse("requests:unread_badge")).content.decode().strip() == ""


def test_mark_all_read(commits, client, owner, other_owner):
    with commits():
        new_request(actor(owner))
    with commits():
        new_request(actor(owner))
    client.force_login(other_owner)
    with commits():
        client.post(reverse("requests:notifications_read"))
    assert not Notification.objects.filter(user=other_owner, read_at__isnull=True).exists()


def test_someone_elses_notification_is_not_found(commits, client, owner, other_owner, outsider):
    with commits():
        new_request(actor(owner))
    client.force_login(outsider)
    notification = Notification.objects.get(user=other_owner)
    assert client.get(reverse("requests:notification_open", args=[notification.pk])).status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None


def test_the_drill_down_watch_button(commits, client, owner, reviewer):
    with commits():
        request = new_request(actor(owner))
    client.force_login(owner)
    page = client.get(reverse("requests:detail", args=[request.pk])).content.decode()
    assert "Stop watching" in page and "You watch it as owner of Research Brain." in page
    with commits():
        client.post(reverse("requests:watch", args=[request.pk]), {"watching": "false"})
    page = client.get(reverse("requests:detail", args=[request.pk])).content.decode()
    assert ">Watch</button>" in page and "You stopped watching it." in page


def test_the_email_choice_is_saved_from_the_page(commits, client, owner):
    client.force_login(owner)
    with commits():
        client.post(reverse("requests:email_mode"), {"email_mode": "immediate"})
    assert notifications.email_mode_of(actor=actor(owner)) == EmailMode.IMMEDIATE
    answer = client.post(reverse("requests:email_mode"), {"email_mode": "hourly"}, follow=True)
    assert "Choose how to be emailed" in answer.content.decode()
    assert notifications.email_mode_of(actor=actor(owner)) == EmailMode.IMMEDIATE


def test_the_digest_command_names_a_bad_tenant_and_sends_nothing(brains):
    from django.core.management import CommandError, call_command
    with pytest.raises(CommandError, match="Unknown tenant"):
        call_command("notification_digest", "--tenant", "nobody")
    assert mail.outbox == []


# --- assigned to you ---------------------------------------------------------------------------------

@pytest.fixture
def second_reviewer(brains):
    from tests.conftest import _member
    return _member("second_reviewer", brains["headoffice"], MembershipRole.HEAD_OFFICE_REVIEWER)


def test_the_reviewer_a_request_is_assigned_to_is_told_and_nobody_else(commits, owner, other_owner, reviewer,
                                                                       second_reviewer):
    with commits():
        request = new_request(actor(owner))
    before = {u.pk: kinds(u) for u in (owner, other_owner, reviewer)}
    with commits():
        rs.request_assign(request=request, actor=actor(reviewer), assignee=second_reviewer)
    assert told(second_reviewer) == [(NotificationKind.ASSIGNED_TO_YOU,
                                      f"“{request.request_title}” was assigned to you to review")]
    assert {u.pk: kinds(u) for u in (owner, other_owner, reviewer)} == before  # watchers are not told


def test_assigning_yourself_or_unassigning_tells_nobody(commits, owner, reviewer, second_reviewer):
    with commits():
        request = new_request(actor(owner))
    with commits():
        rs.request_assign(request=request, actor=actor(reviewer), assignee=reviewer)
    with commits():
        rs.request_assign(request=request, actor=actor(reviewer), assignee=None)
    assert told(reviewer) == [] and told(second_reviewer) == []


# --- SLA notices -------------------------------------------------------------------------------------

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def sla_request(owner, reviewer, commits):
    """A high-priority request under a policy of 4 h in `new`, due soon at 75% (12:00, due 13:00)."""
    sla.sla_policy_save(actor=actor(reviewer), warn_percent=75, hours={("high", "new"): 4})
    with clock_set(lambda: T0), commits():
        return new_request(actor(owner), priority="high")


def sweep(owner, at: datetime) -> int:
    with clock_set(lambda: at):
        return notifications.sla_sweep(tenant_id=actor(owner).tenant_id)


def test_the_sweep_tells_watchers_and_the_assignee_once_as_due_soon_and_once_as_breached(
        commits, owner, other_owner, reviewer, second_reviewer):
    request = sla_request(owner, reviewer, commits)
    with clock_set(lambda: T0), commits():
        rs.request_assign(request=request, actor=actor(reviewer), assignee=second_reviewer)
    Notification.objects.all().delete()   # only what the sweep writes from here

    assert sweep(owner, T0 + 2 * HOUR) == 0                     # 11:00: on track
    assert sweep(owner, T0 + 3 * HOUR) == 3                     # 12:00: due soon
    title = request.request_title
    for person in (owner, other_owner, second_reviewer):
        assert told(person) == [(NotificationKind.SLA_DUE_SOON, f"“{title}” is due soon (new, due 2 Mar 13:00)")]
    assert told(reviewer) == []                                 # neither watching nor assigned
    assert sweep(owner, T0 + 3.5 * HOUR) == 0                   # the same crossing: told once
    assert sweep(owner, T0 + 4 * HOUR) == 3                     # 13:00: breached
    assert kinds(owner) == [NotificationKind.SLA_DUE_SOON, NotificationKind.SLA_BREACHED]
    assert told(owner)[1][1] == f"“{title}” is past its SLA deadline (new, was due 2 Mar 13:00)"
    assert sweep(owner, T0 + 9 * HOUR) == 0


def test_a_request_first_seen_past_its_deadline_is_told_as_breached_only(commits, owner, other_owner, reviewer):
    sla_request(owner, reviewer, commits)
    Notification.objects.all().delete()
    assert sweep(owner, T0 + 5 * HOUR) == 2
    assert kinds(owner) == [NotificationKind.SLA_BREACHED] and kinds(other_owner) == [NotificationKind.SLA_BREACHED]


def test_a_new_status_stint_is_told_again_when_its_own_deadline_passes(commits, owner, other_owner, reviewer):
    sla.sla_policy_save(actor=actor(reviewer), warn_percent=75,
                        hours={("high", "new"): 4, ("high", "under_review"): 4})
    with clock_set(lambda: T0), commits():
        request = new_request(actor(owner), priority="high")
    Notification.objects.all().delete()
    assert sweep(owner, T0 + 5 * HOUR) == 2                     # breached in `new`
    with clock_set(lambda: T0 + 6 * HOUR), commits():
        rs.request_submit(request=request, actor=actor(reviewer))
    Notification.objects.filter(kind=NotificationKind.STATUS_CHANGED).delete()
    assert sweep(owner, T0 + 7 * HOUR) == 0                     # a fresh clock: on track
    assert sweep(owner, T0 + 11 * HOUR) == 2                    # breached again, in `under_review`
    assert kinds(owner) == [NotificationKind.SLA_BREACHED, NotificationKind.SLA_BREACHED]
    assert len(set(Notification.objects.filter(user=owner).values_list("event_id", flat=True))) == 2


def test_final_requests_and_requests_without_a_policy_are_never_told(commits, owner, reviewer):
    with clock_set(lambda: T0), commits():
        new_request(actor(owner), priority="high")              # no policy yet: no deadline
    Notification.objects.all().delete()
    assert sweep(owner, T0 + 100 * HOUR) == 0


def test_the_sweep_emails_at_once_those_who_chose_it(commits, owner, other_owner, reviewer):
    sla_request(owner, reviewer, commits)
    notifications.email_mode_set(actor=actor(other_owner), email_mode=EmailMode.IMMEDIATE)
    other_owner.email = "affiliate@example.org"
    other_owner.save()
    mail.outbox.clear()
    sweep(owner, T0 + 5 * HOUR)
    [message] = mail.outbox
    assert message.to == ["affiliate@example.org"] and "past its SLA deadline" in message.subject
    sweep(owner, T0 + 6 * HOUR)
    assert len(mail.outbox) == 1                                # told once, emailed once


def test_the_sweep_command_reports_each_tenant_and_names_a_bad_one(commits, owner, other_owner, reviewer):
    import io

    from django.core.management import CommandError, call_command
    sla_request(owner, reviewer, commits)
    Notification.objects.all().delete()
    out = io.StringIO()
    with clock_set(lambda: T0 + 5 * HOUR):
        call_command("sla_sweep", stdout=out)
    assert "2 SLA notification(s)" in out.getvalue()
    with pytest.raises(CommandError, match="Unknown tenant"):
        call_command("sla_sweep", "--tenant", "nobody")
