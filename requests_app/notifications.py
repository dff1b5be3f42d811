"""Watching requests, and telling people what changed: the header's inbox and email.

Who hears of a request's change:
- its **watchers**: by default the owners of its origin, destination, review-owner and escalation-
  owner Brains; anyone who may see it can watch it too ("Watch" on the drill-down), and a default
  watcher can stop ("Stop watching");
- the members of a Brain when work is **assigned** to it: a new request sent to it, a request routed
  to it, a task for it;
never the person who made the change, and never anyone who may not see the request (recipients are
members of the Brains on the request, or HeadOffice).

What they hear of: a new request, a change of status (an escalation with its reason), a new task, a
task completed or failed, a decision. The history writers call `request_event_written` and
`task_event_written` inside the change's transaction, which queues a background task (Django's Tasks
API, like webhooks; with the database queue in that transaction itself: kernel.transactions
`enqueue_with_change`). Once the change is committed, the task works out the recipients, writes
their notifications, and sends the emails of those who want them at once. `notification_digest` (a task and a command, daily from cron) sends the
others' digest. The change itself only enqueues: it never waits for the fan-out or a mail server.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models import Q
from django_tasks import task

from governance_app.kernel import claims, clock, limits
from governance_app.kernel.actors import Actor
from governance_app.kernel.brains import active_brains
from governance_app.kernel.errors import DomainError, Refusal
from governance_app.kernel.transactions import atomic, enqueue_with_change
from governance_app.models import Brain, Membership, MembershipRole
from requests_app.models import (
    BrainRequest,
    EmailMode,
    Notification,
    NotificationKind,
    NotificationPreference,
    RequestEvent,
    RequestStatus,
    Watch,
)
from requests_app.selectors import request_get

K = NotificationKind
NOTIFIED_REQUEST_EVENTS = {"created", "status_changed", "task_created", "decision_recorded"}
NOTIFIED_TASK_STATUSES = {"completed": K.TASK_COMPLETED, "failed": K.TASK_FAILED}


# --- called by the history writers, inside the change's transaction ---------------------------------

def request_event_written(*, request: BrainRequest, event: RequestEvent) -> None:
    if event.event_type in NOTIFIED_REQUEST_EVENTS:
        _queue_fan_out(request.tenant_id, "request", event.pk)


def task_event_written(*, task: Any, event: Any) -> None:
    if event.to_status in NOTIFIED_TASK_STATUSES and event.to_status != event.from_status:
        _queue_fan_out(task.tenant_id, "task", event.pk)


def _queue_fan_out(tenant_id: uuid.UUID, source: str, event_id: uuid.UUID) -> None:
    enqueue_with_change(notify, str(tenant_id), source, str(event_id))


# --- the fan-out (a background task) -------------------------------------------------------------

def request_brains(request: BrainRequest) -> set[str]:
    """The Brains on a request: whose members may see it (requests_visible_to says the same)."""
    slugs = {request.requesting_brain_id, request.target_brain_id, request.primary_brain_id,
             request.review_owner_id, request.escalation_owner_id, *(request.supporting_brains or [])}
    return {s for s in slugs if s}


def _what(request: BrainRequest, source: str, event: Any) -> tuple[str, str, set[str]]:
    """The notification's kind and one-line summary (in the words the pages use, not the codes),
    and the Brains whose members the change assigns work to (told whether they watch or not)."""
    names = active_brains(request.tenant_id)

    def brain(slug: str | None) -> str:
        return str(names.get(slug, slug or "—"))

    def status(value: str | None) -> str:
        return RequestStatus(value).label.lower() if value in RequestStatus.values else "new"

    title = request.request_title
    if source == "task":
        kind = NOTIFIED_TASK_STATUSES[event.to_status]
        verb = "completed" if kind == K.TASK_COMPLETED else "failed"
        return kind, f"Task {verb} on “{title}”: {event.event_summary}", set()
    if event.event_type == "created":
        return (K.REQUEST_CREATED, f"New request from {brain(request.requesting_brain_id)} for "
                f"{brain(request.target_brain_id)}: “{title}”", {request.target_brain_id})
    if event.event_type == "task_created":
        assigned = (event.event_payload or {}).get("assigned_brain")
        return K.TASK_CREATED, f"New task on “{title}”: {event.event_summary}", {assigned} if assigned else set()
    if event.event_type == "decision_recorded":
        return K.DECISION_RECORDED, f"“{title}”: {event.event_summary}", set()
    if event.to_status == "escalated":
        return (K.ESCALATED, f"“{title}” was escalated to {brain(request.escalation_owner_id)}: "
                f"{request.escalation_reason}", {request.escalation_owner_id})
    if event.to_status == "routed":
        return K.ASSIGNED, f"“{title}” was routed to {brain(request.target_brain_id)}", {request.target_brain_id}
    return K.STATUS_CHANGED, f"“{title}”: {status(event.from_status)} → {status(event.to_status)}", set()


def recipients(request: BrainRequest, *, assigned: set[str], actor_label: str) -> list[int]:
    """The user ids to tell: default watchers (owners of the origin, destination, review and
    escalation Brains) and explicit ones, less those who stopped watching, plus the members of
    the Brains given work; only people who may see the request; never the one who acted."""
    on_request = request_brains(request)
    defaults = {request.requesting_brain_id, request.target_brain_id, request.review_owner_id,
                request.escalation_owner_id} - {None}
    members = Membership.objects.filter(tenant_id=request.tenant_id)
    owners = set(members.filter(brain_id__in=defaults, role=MembershipRole.OWNER).values_list("user_id", flat=True))
    workers = set(members.filter(brain_id__in=assigned & on_request).values_list("user_id", flat=True))
    choices = dict(Watch.objects.filter(request=request).values_list("user_id", "watching"))
    watchers = {u for u in owners if choices.get(u, True)} | {u for u, on in choices.items() if on}
    allowed = set(members.filter(Q(brain_id__in=on_request) | Q(brain_id=Brain.HEADOFFICE))
                  .values_list("user_id", flat=True))
    actor = get_user_model().objects.filter(username=actor_label).values_list("pk", flat=True).first()
    return sorted(((watchers | workers) & allowed) - {actor})


def fan_out(*, tenant_id: uuid.UUID, source: str, event_id: uuid.UUID) -> int:
    """Write the notifications one event makes and email those who want them at once. Idempotent
    (a retried task adds nothing: one notification per person, event and kind). Returns how many."""
    with claims.tenant_claim(tenant_id):
        if source == "task":  # tasks_app sits above requests_app: its events are reached by relation
            TaskEvent = BrainRequest.tasks.rel.related_model.events.rel.related_model
            event = TaskEvent.objects.select_related("task__request").filter(pk=event_id).first()
            request = event.task.request if event else None
        else:
            event = RequestEvent.objects.select_related("request").filter(pk=event_id).first()
            request = event.request if event else None
        if event is None:
            return 0
        kind, summary, assigned = _what(request, source, event)
        users = recipients(request, assigned=assigned, actor_label=event.actor)
        rows = [Notification(tenant_id=tenant_id, user_id=u, request=request, kind=kind, event_id=event.pk,
                             summary=limits.clip(summary, limits.TEXT), created_at=event.created_at) for u in users]
        Notification.objects.bulk_create(rows, ignore_conflicts=True)
        at_once = set(NotificationPreference.objects.filter(user_id__in=users, email_mode=EmailMode.IMMEDIATE)
                      .values_list("user_id", flat=True))
        sent = _email_each([r for r in rows if r.user_id in at_once])
        Notification.objects.filter(pk__in=sent).update(emailed_at=clock.now())
    return len(rows)


@task()
def notify(tenant_id: str, source: str, event_id: str) -> int:
    """The background task: one event's notifications."""
    return fan_out(tenant_id=uuid.UUID(tenant_id), source=source, event_id=uuid.UUID(event_id))


def _link(notification: Notification) -> str:
    return f"{settings.MWMS_SITE_URL}/requests/{notification.request_id}/"


def _email_each(rows: list[Notification]) -> list[uuid.UUID]:
    emails = dict(get_user_model().objects.filter(pk__in={r.user_id for r in rows}).exclude(email="")
                  .values_list("pk", "email"))
    sent = []
    for row in rows:
        if row.user_id in emails:
            send_mail(f"[MWMS] {limits.clip(row.summary, 150)}", f"{row.summary}\n\n{_link(row)}\n",
                      None, [emails[row.user_id]])
            sent.append(row.pk)
    return sent


def digest(*, tenant_id: uuid.UUID) -> int:
    """One email per person who chose the daily digest, listing what they were told since the
    last one and have not been emailed. Returns how many emails went out."""
    User = get_user_model()
    now, count = clock.now(), 0
    with claims.tenant_claim(tenant_id):
        digest_users = set(NotificationPreference.objects.filter(tenant_id=tenant_id, email_mode=EmailMode.DIGEST)
                           .values_list("user_id", flat=True))
        without_choice = set(Notification.objects.filter(tenant_id=tenant_id, emailed_at__isnull=True)
                             .exclude(user__notification_preference__isnull=False)
                             .values_list("user_id", flat=True))
        for user in User.objects.filter(pk__in=digest_users | without_choice).exclude(email="").order_by("pk"):
            pending = list(Notification.objects.filter(tenant_id=tenant_id, user=user, emailed_at__isnull=True,
                                                       created_at__lte=now).order_by("created_at")[:200])
            if pending:
                lines = [f"- {n.summary}\n  {_link(n)}" for n in pending]
                send_mail(f"[MWMS] Your daily digest: {len(pending)} change(s)", "\n".join(lines) + "\n",
                          None, [user.email])
                Notification.objects.filter(pk__in=[n.pk for n in pending]).update(emailed_at=now)
                count += 1
            NotificationPreference.objects.update_or_create(user=user, defaults={"tenant_id": tenant_id,
                                                                                 "last_digest_at": now})
    return count


@task()
def notification_digest(tenant_id: str) -> int:
    return digest(tenant_id=uuid.UUID(tenant_id))


# --- what people do with them (services) ------------------------------------------------------------

def _person(actor: Actor) -> int:
    if actor.user_id is None:
        raise DomainError("Only people watch requests and read notifications.", kind=Refusal.FORBIDDEN)
    return actor.user_id


def watch_set(*, actor: Actor, request_id: Any, watching: bool) -> Watch:
    """Watch a request one may see, or stop watching it (a default watcher's "stop" is kept too)."""
    user_id = _person(actor)
    request = request_get(actor=actor, request_id=request_id)
    if request is None:
        raise DomainError("No request with that id that you can see.", kind=Refusal.NOT_FOUND)
    with atomic():
        watch, _ = Watch.objects.update_or_create(request=request, user_id=user_id,
                                                  defaults={"tenant_id": request.tenant_id, "watching": watching})
    return watch


def watch_state(*, actor: Actor, request: BrainRequest) -> tuple[bool, str]:
    """Whether the actor hears of this request's changes, and why (for the drill-down's button)."""
    if actor.user_id is None:
        return False, ""
    choice = Watch.objects.filter(request=request, user_id=actor.user_id).values_list("watching", flat=True).first()
    if choice is not None:
        return choice, "You chose to watch it." if choice else "You stopped watching it."
    defaults = {request.requesting_brain_id, request.target_brain_id, request.review_owner_id,
                request.escalation_owner_id} & actor.brains  # only a Brain of the actor's can be one they own
    if not defaults:
        return False, ""
    owned = sorted(Membership.objects.filter(user_id=actor.user_id, brain_id__in=defaults, role=MembershipRole.OWNER)
                   .values_list("brain_id", flat=True))
    if owned:
        names = active_brains(request.tenant_id)
        return True, f"You watch it as owner of {', '.join(str(names.get(b, b)) for b in owned)}."
    return False, ""


def unread_count(*, actor: Actor) -> int:
    if actor.user_id is None:
        return 0
    return Notification.objects.filter(tenant_id=actor.tenant_id, user_id=actor.user_id, read_at__isnull=True).count()


def notifications_for(*, actor: Actor):
    return Notification.objects.filter(tenant_id=actor.tenant_id, user_id=actor.user_id or 0).order_by("-created_at")


def mark_read(*, actor: Actor, notification_id: Any = None) -> int:
    """Mark one notification read (or, with no id, all of the actor's). Returns how many changed."""
    user_id = _person(actor)
    rows = Notification.objects.filter(tenant_id=actor.tenant_id, user_id=user_id, read_at__isnull=True)
    if notification_id is not None:
        rows = rows.filter(pk=notification_id)
    with atomic():
        return rows.update(read_at=clock.now())


def email_mode_set(*, actor: Actor, email_mode: str) -> NotificationPreference:
    user_id = _person(actor)
    if email_mode not in EmailMode.values:
        raise DomainError(f"Email: choose one of {', '.join(EmailMode.values)}.", field="email_mode")
    with atomic():
        preference, _ = NotificationPreference.objects.update_or_create(
            user_id=user_id, defaults={"tenant_id": actor.tenant_id, "email_mode": email_mode})
    return preference


def email_mode_of(*, actor: Actor) -> str:
    return NotificationPreference.objects.filter(user_id=actor.user_id or 0).values_list(
        "email_mode", flat=True).first() or EmailMode.DIGEST
