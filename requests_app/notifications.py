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
task completed or failed, a decision; the reviewer a request is assigned to hears of that alone;
and `sla_sweep` (a task and a command, every few minutes from cron) tells the watchers and the
assignee when a request's SLA warning time or deadline passes, once per crossing per status stint. The history writers call `request_event_written` and
`task_event_written` inside the change's transaction, which queues a background task (Django's Tasks
API, like webhooks; with the database queue in that transaction itself: kernel.transactions
`enqueue_with_change`). Once the change is committed, the task works out the recipients, writes
their notifications, and sends the emails of those who want them at once. `notification_digest` (a task and a command, daily from cron) sends the
others' digest. The change itself only enqueues: it never waits for the fan-out or a mail server.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import connections, router
from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.utils import timezone
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
from requests_app.sla import SlaState, sla_conditions

K = NotificationKind
NOTIFIED_REQUEST_EVENTS = {"created", "status_changed", "task_created", "decision_recorded", "assigned"}
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


@dataclass(frozen=True)
class Told:
    """What one change tells: the notification's kind and one-line summary (in the words the pages
    use, not the codes), the Brains whose members the change gives work to, the people it names
    (told whether they watch or not), and whether the request's watchers hear of it too."""

    kind: str
    summary: str
    brains: frozenset[str] = frozenset()
    people: frozenset[int] = frozenset()
    watchers: bool = True


def _brain_name(request: BrainRequest, slug: str | None) -> str:
    return str(active_brains(request.tenant_id).get(slug, slug or "—"))


def _status_name(value: str | None) -> str:
    return RequestStatus(value).label.lower() if value in RequestStatus.values else "new"


def _what(request: BrainRequest, source: str, event: Any) -> Told:
    title = request.request_title
    if source == "task":
        kind = NOTIFIED_TASK_STATUSES[event.to_status]
        verb = "completed" if kind == K.TASK_COMPLETED else "failed"
        return Told(kind, f"Task {verb} on “{title}”: {event.event_summary}")
    if event.event_type == "created":
        return Told(K.REQUEST_CREATED, f"New request from {_brain_name(request, request.requesting_brain_id)} for "
                    f"{_brain_name(request, request.target_brain_id)}: “{title}”", frozenset({request.target_brain_id}))
    if event.event_type == "task_created":
        assigned = (event.event_payload or {}).get("assigned_brain")
        return Told(K.TASK_CREATED, f"New task on “{title}”: {event.event_summary}",
                    frozenset({assigned}) if assigned else frozenset())
    if event.event_type == "decision_recorded":
        return Told(K.DECISION_RECORDED, f"“{title}”: {event.event_summary}")
    if event.event_type == "assigned":
        # Only the person given the request hears of it (an unassignment tells nobody).
        assignee = (event.event_payload or {}).get("assignee_id")
        return Told(K.ASSIGNED_TO_YOU, f"“{title}” was assigned to you to review",
                    people=frozenset({assignee}) if assignee else frozenset(), watchers=False)
    if event.to_status == "escalated":
        return Told(K.ESCALATED, f"“{title}” was escalated to {_brain_name(request, request.escalation_owner_id)}: "
                    f"{request.escalation_reason}", frozenset({request.escalation_owner_id}))
    if event.to_status == "routed":
        return Told(K.ASSIGNED, f"“{title}” was routed to {_brain_name(request, request.target_brain_id)}",
                    frozenset({request.target_brain_id}))
    return Told(K.STATUS_CHANGED, f"“{title}”: {_status_name(event.from_status)} → {_status_name(event.to_status)}")


def recipients(request: BrainRequest, *, told: Told, actor_label: str) -> list[int]:
    """The user ids to tell: default watchers (owners of the origin, destination, review and
    escalation Brains) and explicit ones, less those who stopped watching (when the change is one
    watchers hear of), plus the members of the Brains given work and the people the change names;
    only people who may see the request; never the one who acted."""
    on_request = request_brains(request)
    members = Membership.objects.filter(tenant_id=request.tenant_id)
    watchers: set[int] = set()
    if told.watchers:
        defaults = {request.requesting_brain_id, request.target_brain_id, request.review_owner_id,
                    request.escalation_owner_id} - {None}
        owners = set(members.filter(brain_id__in=defaults, role=MembershipRole.OWNER).values_list("user_id", flat=True))
        choices = dict(Watch.objects.filter(request=request).values_list("user_id", "watching"))
        watchers = {u for u in owners if choices.get(u, True)} | {u for u, on in choices.items() if on}
    workers = set(members.filter(brain_id__in=told.brains & on_request).values_list("user_id", flat=True)) \
        if told.brains & on_request else set()
    allowed = set(members.filter(Q(brain_id__in=on_request) | Q(brain_id=Brain.HEADOFFICE))
                  .values_list("user_id", flat=True))
    actor = get_user_model().objects.filter(username=actor_label).values_list("pk", flat=True).first()
    return sorted(((watchers | workers | told.people) & allowed) - {actor})


def _deliver(*, request: BrainRequest, told: Told, users: list[int], event_id: uuid.UUID, at: Any) -> int:
    """Write one notification per person (once per person, event and kind: a retry adds nothing)
    and email at once those who chose it. Returns how many notifications the change makes."""
    rows = [Notification(tenant_id=request.tenant_id, user_id=u, request=request, kind=told.kind, event_id=event_id,
                         summary=limits.clip(told.summary, limits.TEXT), created_at=at) for u in users]
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    # Only the rows this call wrote are emailed (ignore_conflicts leaves the others' ids unset).
    written = set(Notification.objects.filter(pk__in=[r.pk for r in rows]).values_list("pk", flat=True))
    at_once = set(NotificationPreference.objects.filter(user_id__in=users, email_mode=EmailMode.IMMEDIATE)
                  .values_list("user_id", flat=True))
    sent = _email_each([r for r in rows if r.user_id in at_once and r.pk in written])
    Notification.objects.filter(pk__in=sent).update(emailed_at=clock.now())
    return len(rows)


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
        told = _what(request, source, event)
        users = recipients(request, told=told, actor_label=event.actor)
        return _deliver(request=request, told=told, users=users, event_id=event.pk, at=event.created_at)


@task()
def notify(tenant_id: str, source: str, event_id: str) -> int:
    """The background task: one event's notifications."""
    return fan_out(tenant_id=uuid.UUID(tenant_id), source=source, event_id=uuid.UUID(event_id))


# --- SLA notices (a background task and a command, every few minutes from cron) -------------------

SLA_NOTICES = {SlaState.DUE_SOON: K.SLA_DUE_SOON, SlaState.BREACHED: K.SLA_BREACHED}
SLA_SWEEP_BATCH = 500


def _stint_started() -> Subquery:
    """The event that put the request in its current status: the newest one that entered it."""
    return Subquery(RequestEvent.objects.filter(request=OuterRef("pk"), to_status=OuterRef("status"))
                    .filter(Q(from_status__isnull=True) | Q(from_status="") | ~Q(from_status=F("to_status")))
                    .order_by("-chain_seq").values("pk")[:1])


def _sla_told(request: BrainRequest, kind: str) -> Told:
    due = timezone.localtime(request.sla_due_at).strftime("%-d %b %H:%M")
    status = _status_name(request.status)
    if kind == K.SLA_BREACHED:
        summary = f"“{request.request_title}” is past its SLA deadline ({status}, was due {due})"
    else:
        summary = f"“{request.request_title}” is due soon ({status}, due {due})"
    assignee = frozenset({request.assignee_id}) if request.assignee_id else frozenset()
    return Told(kind, summary, people=assignee)


def sla_sweep(*, tenant_id: uuid.UUID) -> int:
    """Tell the watchers and the assignee of each open request that has crossed its warning time or
    its deadline: once per crossing in each status stint (the notification names the event that
    began the stint, and a person hears of one kind once per event). A request that is already past
    its deadline when the sweep first sees it is told as breached, not as due soon too. Returns how
    many notifications were written."""
    count = 0
    with claims.tenant_claim(tenant_id):
        now = clock.now()
        conditions = sla_conditions(now)
        for state, kind in SLA_NOTICES.items():
            told_already = Notification.objects.filter(request=OuterRef("pk"), kind=kind,
                                                       event_id=OuterRef("stint_event"))
            crossed = (BrainRequest.objects.filter(conditions[state], tenant_id=tenant_id)
                       .annotate(stint_event=_stint_started()).filter(stint_event__isnull=False)
                       .exclude(Exists(told_already)).order_by("pk"))
            for request in crossed.iterator(chunk_size=SLA_SWEEP_BATCH):
                told = _sla_told(request, kind)
                users = recipients(request, told=told, actor_label="")
                count += _deliver(request=request, told=told, users=users, event_id=request.stint_event, at=now)
    return count


@task()
def sla_notices(tenant_id: str) -> int:
    """The background task: one tenant's SLA notices (`manage.py sla_sweep` queues or runs it)."""
    return sla_sweep(tenant_id=uuid.UUID(tenant_id))


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


_WATCH_SQL: dict[tuple[str, int], str] = {}  # per database vendor and number of Brains asked about


def _watch_rows(request: BrainRequest, user_id: int, brains: list[str]) -> tuple[bool | None, list[str]]:
    """The person's own choice about the request (None: none made) and which of these Brains they
    own, in one statement built once per process: the drill-down asked in two ORM queries, whose
    compiling cost more than running them (issue 16). The same as
    `Watch.objects.filter(request=…, user_id=…).values_list("watching")` (one row at most:
    mwms_watches_one_per_person) and `Membership.objects.filter(user_id=…, brain_id__in=…,
    role=owner).values_list("brain_id")`."""
    connection = connections[router.db_for_read(Watch)]
    key = (connection.vendor, len(brains))
    sql = _WATCH_SQL.get(key)
    if sql is None:
        quote = connection.ops.quote_name
        watches, members = Watch._meta, Membership._meta
        column = lambda meta, name: quote(meta.get_field(name).column)  # noqa: E731
        owned = (f" UNION ALL SELECT 1, NULL, {column(members, 'brain_id')} FROM {quote(members.db_table)} "
                 f"WHERE {column(members, 'user')} = %s AND {column(members, 'role')} = %s "
                 f"AND {column(members, 'brain_id')} IN ({', '.join(['%s'] * len(brains))})") if brains else ""
        sql = _WATCH_SQL[key] = (
            f"SELECT 0, {column(watches, 'watching')}, NULL FROM {quote(watches.db_table)} "
            f"WHERE {column(watches, 'request')} = %s AND {column(watches, 'user')} = %s{owned}")
    params = [BrainRequest._meta.pk.get_db_prep_value(request.pk, connection), user_id]
    if brains:
        params += [user_id, MembershipRole.OWNER, *brains]
    choice, owned_brains = None, []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for kind, watching, brain in cursor.fetchall():
            if kind:
                owned_brains.append(brain)
            else:
                choice = bool(watching)
    return choice, sorted(owned_brains)


def watch_state(*, actor: Actor, request: BrainRequest) -> tuple[bool, str]:
    """Whether the actor hears of this request's changes, and why (for the drill-down's button)."""
    if actor.user_id is None:
        return False, ""
    defaults = {request.requesting_brain_id, request.target_brain_id, request.review_owner_id,
                request.escalation_owner_id} & actor.brains  # only a Brain of the actor's can be one they own
    choice, owned = _watch_rows(request, actor.user_id, sorted(defaults))
    if choice is not None:
        return choice, "You chose to watch it." if choice else "You stopped watching it."
    if not defaults:
        return False, ""
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
