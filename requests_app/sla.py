"""SLA clocks (issue 14): each tenant's policy, the deadlines it gives a request, and its state.

A policy holds, for each priority (and optionally one request type), a target per clock: the
longest a request may spend in one open status ("routed → accepted within a day"), and the longest
it may stay open in all (`total`, counted from its creation). A request is *due soon* once
`warn_percent` of a running target has elapsed, and *breached* once a target has passed; with no
target for its priority and status (and no whole-request target), or once it is final, it has no
clock (`none`).

The clocks are the request's history read at write time: `status_entered_at` is the time of the
event that moved the request into its status, written by the same transaction (request_commit),
and `sla_warn_at` / `sla_due_at` are the deadlines the policy gives it from there. The queues
"Due soon" and "Breached", the list's SLA filter and its sort by due time are then comparisons
of indexed columns with the current time, not a computation over every request. A policy change
recomputes the deadlines of the tenant's open requests in the same transaction (sla_recompute).

Calendar time only: business hours, weekends and holidays are out of scope. A parked request (a
deliberate hold) runs no whole-request clock, only a target set for parked itself.
"""

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connections, models, router
from django.db.models import Q

from governance_app.kernel import clock
from governance_app.kernel.actors import Actor
from governance_app.kernel.errors import DomainError, Refusal
from governance_app.kernel.transactions import atomic
from requests_app.models import (
    FINAL_STATUSES,
    SLA_STATUSES,
    SLA_TARGET_MAX_MINUTES,
    BrainRequest,
    Priority,
    RequestStatus,
    RequestType,
    SlaClock,
    SlaPolicy,
    SlaTarget,
)

# The fields the clocks keep on a request: bookkeeping, not a change a person made, so a move's
# event does not list them among its changed fields.
SLA_FIELDS = ("status_entered_at", "sla_warn_at", "sla_due_at")
DEFAULT_WARN_PERCENT = 80
RECOMPUTE_BATCH = 1000


class SlaState(models.TextChoices):
    ON_TRACK = "on_track", "On track"
    DUE_SOON = "due_soon", "Due soon"
    BREACHED = "breached", "Breached"
    NONE = "none", "No SLA"


# --- the policy ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Policy:
    warn_percent: int
    minutes: Mapping[tuple[str | None, str, str], int]   # (request type or None, priority, clock) → minutes

    def target(self, *, request_type: str | None, priority: str, clock_name: str) -> int | None:
        """The target in minutes: the request type's own, else the all-types one, else None."""
        own = self.minutes.get((request_type, priority, clock_name)) if request_type else None
        return own if own is not None else self.minutes.get((None, priority, clock_name))


def sla_policy_for(*, tenant_id: uuid.UUID, priority: str | None = None) -> Policy | None:
    """The tenant's policy (one query; only one priority's targets when `priority` is given), or
    None when it has none.

    Every new request asks (request_create), so this is `SlaTarget.objects.filter(tenant_id=…,
    [priority=…]).annotate(warn=Subquery(the policy's warn_percent)).values_list(…)` written out
    once per process, like the token lookup: compiling it through the ORM cost more than running
    it, about a fifth of a creation's CPU. (The targets are unique per key, so no order is needed.)
    """
    connection = connections[router.db_for_read(SlaTarget)]
    key = (connection.vendor, priority is not None)
    sql = _POLICY_SQL.get(key)
    if sql is None:
        quote = connection.ops.quote_name
        targets, policies = SlaTarget._meta, SlaPolicy._meta
        columns = ", ".join(quote(targets.get_field(name).column)
                            for name in ("request_type", "priority", "clock", "minutes"))
        tenant_column = quote(targets.get_field("tenant").column)
        sql = _POLICY_SQL[key] = (
            f"SELECT {columns}, (SELECT {quote(policies.get_field('warn_percent').column)} "
            f"FROM {quote(policies.db_table)} WHERE {quote(policies.get_field('tenant').column)} = %s LIMIT 1) "
            f"FROM {quote(targets.db_table)} WHERE {tenant_column} = %s"
            + (f" AND {quote(targets.get_field('priority').column)} = %s" if priority is not None else "")
        )
    tenant = SlaTarget._meta.get_field("tenant").get_db_prep_value(tenant_id, connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [tenant, tenant, *([priority] if priority is not None else [])])
        rows = cursor.fetchall()
    if not rows:
        return None
    return Policy(warn_percent=rows[0][4] or DEFAULT_WARN_PERCENT,
                  minutes={(t, p, c): m for t, p, c, m, _w in rows})


_POLICY_SQL: dict[tuple[str, bool], str] = {}  # per database vendor, and whether one priority's


def deadlines(policy: Policy | None, *, status: str, priority: str, request_type: str | None,
              status_entered_at: datetime, created_at: datetime) -> tuple[datetime | None, datetime | None]:
    """(warn at, due at) for a request in `status`: the earlier of its status clock and its
    whole-request clock; (None, None) when final or when no target applies."""
    if policy is None or status in FINAL_STATUSES:
        return None, None
    clocks = [(status_entered_at, policy.target(request_type=request_type, priority=priority, clock_name=status))]
    if status != RequestStatus.PARKED:
        clocks.append((created_at, policy.target(request_type=request_type, priority=priority,
                                                 clock_name=SlaClock.TOTAL)))
    running = [(start, timedelta(minutes=minutes)) for start, minutes in clocks if minutes]
    if not running:
        return None, None
    due = min(start + target for start, target in running)
    warn = min(start + target * policy.warn_percent / 100 for start, target in running)
    return min(warn, due), due


def sla_values(request: BrainRequest, policy: Policy | None) -> dict[str, datetime | None]:
    """The request's deadlines as the columns to write."""
    warn, due = deadlines(policy, status=request.status, priority=request.priority,
                          request_type=request.request_type,
                          status_entered_at=request.status_entered_at or request.created_at,
                          created_at=request.created_at)
    return {"sla_warn_at": warn, "sla_due_at": due}


# --- the state a reader sees ---------------------------------------------------------------------

def sla_state(request: BrainRequest, now: datetime | None = None) -> str:
    """on_track, due_soon, breached, or none (final, or no target applies): the same rule as
    sla_conditions, in Python, for the rows a page already holds."""
    if request.status in FINAL_STATUSES or request.sla_due_at is None:
        return SlaState.NONE
    now = now or clock.now()
    if request.sla_due_at <= now:
        return SlaState.BREACHED
    if request.sla_warn_at is not None and request.sla_warn_at <= now:
        return SlaState.DUE_SOON
    return SlaState.ON_TRACK


class Moment(models.Expression):
    """A time written into the SQL as a literal on PostgreSQL (a parameter elsewhere).

    A condition on the current time is asked with a different time every time. Passed as a
    parameter, the statement's text stays the same, so psycopg prepares it once it has run five
    times on a connection, and PostgreSQL may then keep one plan made without the time, which
    takes a third of the rows to lie on each side of each comparison. For the due_soon queue that
    plan walks every open request in the list's order looking for a page of matches (700 ms at
    100,000 requests, against 15 ms planned with the time). Written into the text, the time makes
    each statement new: it is never prepared and always planned knowing the time. The value is a
    datetime made here (isoformat), never text from a request."""

    output_field = models.DateTimeField()

    def __init__(self, value: datetime):
        super().__init__(output_field=models.DateTimeField())
        self.value = value

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        return "%s", [self.output_field.get_db_prep_value(self.value, connection)]

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        value = self.output_field.get_db_prep_value(self.value, connection)  # aware, as a parameter would be
        return f"'{value.isoformat()}'::timestamptz", []


def sla_conditions(now: datetime | None = None) -> dict[str, Q]:
    """Each SLA state as a condition on BrainRequest (indexed comparisons with the time, which
    the SQL holds as a literal: see Moment)."""
    now = Moment(now or clock.now())
    open_ = ~Q(status__in=FINAL_STATUSES)
    return {
        SlaState.ON_TRACK: open_ & Q(sla_warn_at__gt=now),
        SlaState.DUE_SOON: open_ & Q(sla_warn_at__lte=now, sla_due_at__gt=now),
        SlaState.BREACHED: open_ & Q(sla_due_at__lte=now),
        SlaState.NONE: Q(status__in=FINAL_STATUSES) | Q(sla_due_at__isnull=True),
    }


@dataclass(frozen=True)
class Clock:
    """What a row shows: its state, how long it has been in its status, its age, its deadline."""

    state: str
    in_status: timedelta
    age: timedelta
    due_at: datetime | None
    status_entered_at: datetime
    remaining: timedelta | None      # until the deadline; negative once breached
    final: bool = False
    took: timedelta | None = None    # a final request: from its creation to its close

    @property
    def label(self) -> str:
        return "Final" if self.final else SlaState(self.state).label

    @property
    def overdue(self) -> timedelta | None:
        return -self.remaining if self.remaining is not None and self.remaining <= timedelta(0) else None


def request_clock(request: BrainRequest, now: datetime | None = None) -> Clock:
    """The clock of one request already read (no query)."""
    now = now or clock.now()
    entered = request.status_entered_at or request.created_at
    state = sla_state(request, now)
    due = request.sla_due_at if state != SlaState.NONE else None
    final = request.status in FINAL_STATUSES
    return Clock(state=state, in_status=max(now - entered, timedelta(0)),
                 age=max(now - request.created_at, timedelta(0)), due_at=due, status_entered_at=entered,
                 remaining=None if due is None else due - now, final=final,
                 took=max((request.closed_at or entered) - request.created_at, timedelta(0)) if final else None)


@dataclass(frozen=True)
class Stint:
    """One stay of a request in a status, from its history (the drill-down's "Time in each status")."""

    status: str
    entered_at: datetime
    left_at: datetime | None
    duration: timedelta
    target_minutes: int | None

    @property
    def label(self) -> str:
        return RequestStatus(self.status).label

    @property
    def met(self) -> bool | None:
        if self.target_minutes is None:
            return None
        return self.duration <= timedelta(minutes=self.target_minutes)


def request_stints(*, request: BrainRequest, events: Iterable[Any], policy: Policy | None,
                   now: datetime | None = None) -> list[Stint]:
    """Each status the request was in, for how long, against today's target for it: computed from
    the events the drill-down already read, so it is right for every past request too."""
    now = now or clock.now()
    moves = [(e.created_at, e.to_status) for e in events if e.to_status]
    moves.sort(key=lambda move: move[0])
    stints = []
    for index, (at, status) in enumerate(moves):
        if index and status == moves[index - 1][1]:
            continue
        following = next((m[0] for m in moves[index + 1:] if m[1] != status), None)
        if status in FINAL_STATUSES:
            following = at
        end = following or now
        target = (policy.target(request_type=request.request_type, priority=request.priority, clock_name=status)
                  if policy is not None and status not in FINAL_STATUSES else None)
        stints.append(Stint(status=status, entered_at=at, left_at=following, duration=max(end - at, timedelta(0)),
                            target_minutes=target))
    return [s for s in stints if s.status not in FINAL_STATUSES]


# --- the policy page's grid ------------------------------------------------------------------------

CLOCKS = (*SLA_STATUSES, SlaClock.TOTAL)


@dataclass
class PolicyGrid:
    request_type: str | None
    warn_percent: int
    hours: dict[tuple[str, str], float | None]           # (priority, clock) → the type's own hours
    inherited: dict[tuple[str, str], float | None]       # (priority, clock) → all types' hours (for a type)
    updated_by: str
    updated_at: datetime | None


def _hours(minutes: int | None) -> float | int | None:
    """Minutes as the hours a person would type: 240 → 4, 90 → 1.5."""
    if minutes is None:
        return None
    hours = round(minutes / 60, 2)
    return int(hours) if hours == int(hours) else hours


def sla_policy_grid(*, actor: Actor, request_type: str | None = None) -> PolicyGrid:
    """The targets of the actor's tenant for one request type (None: all types), in hours (two queries)."""
    policy = SlaPolicy.objects.filter(tenant_id=actor.tenant_id).first()
    rows = SlaTarget.objects.filter(tenant_id=actor.tenant_id).filter(
        Q(request_type__isnull=True) | Q(request_type=request_type) if request_type else Q(request_type__isnull=True))
    own, common = {}, {}
    for row in rows:
        (own if row.request_type == request_type else common)[(row.priority, row.clock)] = _hours(row.minutes)
    return PolicyGrid(request_type=request_type,
                      warn_percent=policy.warn_percent if policy else DEFAULT_WARN_PERCENT,
                      hours=own, inherited=common if request_type else {},
                      updated_by=policy.updated_by if policy else "", updated_at=policy.updated_at if policy else None)


# --- the services --------------------------------------------------------------------------------

def _minutes(value: Any, *, field: str) -> int | None:
    """Hours (a number, or text a person typed) to whole minutes; empty means no target."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        hours = float(str(value).strip().replace(",", "."))
    except ValueError:
        raise DomainError(f"{field}: {value!r} is not a number of hours.", field=field) from None
    minutes = round(hours * 60)
    if not (hours > 0 and 1 <= minutes <= SLA_TARGET_MAX_MINUTES):
        raise DomainError(f"{field}: a target is between one minute and {SLA_TARGET_MAX_MINUTES // 1440} days "
                          f"({SLA_TARGET_MAX_MINUTES // 60:,} hours); leave it empty for no target.", field=field)
    return minutes


def sla_policy_save(*, actor: Actor, warn_percent: Any, hours: Mapping[tuple[str, str], Any],
                    request_type: str | None = None) -> int:
    """Set the tenant's warning threshold and the targets of one request type (None: all types),
    in hours per (priority, clock); an empty target removes it. Recomputes the deadlines of the
    tenant's open requests; answers how many it recomputed. HeadOffice only."""
    if not actor.is_head_office:
        raise DomainError("The SLA policy is set by HeadOffice.", kind=Refusal.FORBIDDEN)
    if request_type is not None and request_type not in RequestType.values:
        raise DomainError(f"Request type must be one of: {', '.join(RequestType.values)}.", field="request_type")
    try:
        warn = int(str(warn_percent).strip())
    except ValueError:
        raise DomainError("Due soon at: a whole percentage between 1 and 99.", field="warn_percent") from None
    if not 1 <= warn <= 99:
        raise DomainError("Due soon at: a whole percentage between 1 and 99.", field="warn_percent")
    targets: dict[tuple[str, str], int | None] = {}
    for (priority, clock_name), value in hours.items():
        if priority not in Priority.values or clock_name not in SlaClock.values:
            raise DomainError(f"There is no SLA clock {clock_name!r} for priority {priority!r}.", field="targets")
        label = f"{Priority(priority).label}, {SlaClock(clock_name).label}"
        targets[(priority, clock_name)] = _minutes(value, field=label)

    with atomic():
        policy, _ = SlaPolicy.objects.select_for_update().get_or_create(tenant_id=actor.tenant_id)
        policy.warn_percent, policy.updated_by, policy.updated_at = warn, actor.label, clock.now()
        policy.save(update_fields=["warn_percent", "updated_by", "updated_at"])
        scope = SlaTarget.objects.filter(tenant_id=actor.tenant_id, request_type=request_type)
        existing = {(t.priority, t.clock): t for t in scope}
        for key, minutes in targets.items():
            found = existing.get(key)
            if minutes is None and found is not None:
                found.delete()
            elif minutes is not None and found is None:
                SlaTarget.objects.create(tenant_id=actor.tenant_id, request_type=request_type, priority=key[0],
                                         clock=key[1], minutes=minutes)
            elif minutes is not None and found.minutes != minutes:
                found.minutes = minutes
                found.save(update_fields=["minutes"])
        return sla_recompute(tenant_id=actor.tenant_id)


def sla_recompute(*, tenant_id: uuid.UUID) -> int:
    """Give every open request of the tenant the deadlines its policy gives it now (call inside a
    transaction; each batch is locked while it is rewritten, so a move meanwhile is not undone)."""
    with atomic():
        return _recompute(tenant_id)


def _recompute(tenant_id: uuid.UUID) -> int:
    policy = sla_policy_for(tenant_id=tenant_id)
    open_requests = BrainRequest.objects.filter(tenant_id=tenant_id).exclude(status__in=FINAL_STATUSES)
    ids = list(open_requests.order_by("pk").values_list("pk", flat=True))
    changed = 0
    for start in range(0, len(ids), RECOMPUTE_BATCH):
        batch = list(open_requests.select_for_update().filter(pk__in=ids[start:start + RECOMPUTE_BATCH])
                     .only("pk", "status", "priority", "request_type", "status_entered_at", "created_at",
                           "sla_warn_at", "sla_due_at"))
        stale = []
        for request in batch:
            values = sla_values(request, policy)
            if (request.sla_warn_at, request.sla_due_at) != (values["sla_warn_at"], values["sla_due_at"]):
                request.sla_warn_at, request.sla_due_at = values["sla_warn_at"], values["sla_due_at"]
                stale.append(request)
        BrainRequest.objects.bulk_update(stale, ["sla_warn_at", "sla_due_at"])
        changed += len(stale)
    return changed


# --- the admin's edits, one row at a time ---------------------------------------------------------

def sla_target_problem(*, target: SlaTarget) -> str | None:
    """What is wrong with one target as the admin's form would save it, in words, or None."""
    if target.minutes is None or not 1 <= target.minutes <= SLA_TARGET_MAX_MINUTES:
        return f"A target is between 1 and {SLA_TARGET_MAX_MINUTES:,} minutes ({SLA_TARGET_MAX_MINUTES // 1440} days)."
    twins = SlaTarget.objects.filter(tenant_id=target.tenant_id, request_type=target.request_type,
                                     priority=target.priority, clock=target.clock).exclude(pk=target.pk)
    if twins.exists():
        return "This tenant already has a target for this request type, priority and clock: change that one."
    return None


def sla_target_save(*, target: SlaTarget) -> int:
    """Save one target (the admin's form) and recompute the tenant's open requests' deadlines."""
    problem = sla_target_problem(target=target)
    if problem:
        raise DomainError(problem, field="minutes")
    with atomic():
        SlaPolicy.objects.get_or_create(tenant_id=target.tenant_id)
        target.save()
        return sla_recompute(tenant_id=target.tenant_id)


def sla_target_delete(*, target: SlaTarget) -> int:
    """Remove one target (the admin) and recompute the tenant's open requests' deadlines."""
    with atomic():
        target.delete()
        return sla_recompute(tenant_id=target.tenant_id)


def sla_policy_threshold_save(*, policy: SlaPolicy, actor: Actor) -> int:
    """Save the warning threshold (the admin's form) and recompute the deadlines."""
    if policy.warn_percent is None or not 1 <= policy.warn_percent <= 99:
        raise DomainError("Due soon at: a whole percentage between 1 and 99.", field="warn_percent")
    with atomic():
        policy.updated_by, policy.updated_at = actor.label, clock.now()
        policy.save()
        return sla_recompute(tenant_id=policy.tenant_id)
