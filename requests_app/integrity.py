"""The lineage check (issue 13): what a request's lineage must hold, and what is broken in it.

Each check is one set-based query over the requests asked about (a tenant, some requests, or the
requests changed since a moment), streamed with `.iterator()`, so `lineage_verify` walks 100,000
requests and a million events in constant memory; nothing issues a query per request. What each
check finds (codes are stable; `blocking` ones refuse closing or rejecting the request):

    missing_created_event    a request with no `created` event: its history does not start
    status_without_event     the request's status is not the `to_status` of its latest status event:
                             it was moved without the event every move writes (request_commit)
    open_task                a closed or rejected request with a task still open        (blocking)
    open_child_request       a closed or rejected request with a child request, opened before it
                             closed, still open (a follow-up opened later is new work)  (blocking)
    evidence_unresolved      outcome evidence that names an id that is no artifact, event or decision
                             of the request's lineage (ancestors, itself, descendants)  (blocking)
    orphan_decision          a decision attached to no request, task or earlier decision
    orphan_lesson            a lesson attached to no request, task or decision
    lesson_lineage_mismatch  a lesson whose task or decision belongs to another request than its own
    ping_pong                an open request routed to a different Brain more than MWMS_PING_PONG_LIMIT
                             times (protocol rule 8: "requests with unclear ownership")
    no_primary_brain         several Brains work the request but none is primary (connector rule 2)
    task_result_missing      a completed task with no artifact and no execution notes

A "bounce" is a request event whose `changed_fields` records a change of `target_brain` (the
destination Brain): the route move, or a feedback classification routing elsewhere, writes one each
time the destination changes; routing to the Brain it already has is no bounce. A closed request's
ownership is settled, so only open requests are in ping-pong.

The hash chain's own findings (kernel.chain) are added per request by `request_findings`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import islice
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery

from governance_app.kernel import chain
from governance_app.kernel.findings import Finding
from governance_app.models import DecisionRecord, LessonLearned
from requests_app.models import FINAL_STATUSES, BrainRequest, RequestEvent, RequestEventType

REQUESTS = BrainRequest._meta.db_table
EVENTS = RequestEvent._meta.db_table
DECISIONS = DecisionRecord._meta.db_table
LESSONS = LessonLearned._meta.db_table
TARGET = "target_brain"   # the changed_fields key a change of destination Brain writes
BATCH = 500               # rows looked up together by the checks that need a second query

# requests_app reaches tasks through the BrainRequest.tasks relation and never imports tasks_app.
Task = BrainRequest.tasks.rel.related_model
TASKS = Task._meta.db_table


def request_findings(*, request: BrainRequest) -> list[Finding]:
    """Everything broken in one request's lineage and its history's chains (the drill-down's panel,
    the integrity endpoint and the closing guard read this)."""
    found = list(lineage_findings(tenant_id=request.tenant_id, request_ids=[request.pk]))
    return found + chain.request_chain_findings(tenant_id=request.tenant_id, request_id=request.pk)


def lineage_findings(*, tenant_id: uuid.UUID, request_ids: Iterable[uuid.UUID] | None = None,
                     since: datetime | None = None, unattached: bool = True) -> Iterator[Finding]:
    """Every lineage finding of a tenant (or of these requests, or of requests changed since), streamed
    so lineage_verify walks 100,000 requests in constant memory. `unattached=False` leaves out the
    decisions and lessons attached to nothing (a queue of requests has no row for them)."""
    requests = BrainRequest.objects.filter(tenant_id=tenant_id)
    if request_ids is not None:  # ids, or a query of them (the dashboard's latest changed requests)
        requests = requests.filter(pk__in=request_ids if isinstance(request_ids, QuerySet) else list(request_ids))
    if since is not None:
        requests = requests.filter(updated_at__gte=since)
    # A page asks about a few requests: one query says which checks can find anything, and only
    # those run. A walk of the whole tenant runs every check once instead of a pass more.
    flagged = set(CHECKS) if request_ids is None and since is None else checks_to_run(requests)
    for name, check in CHECKS.items():
        if name in flagged:
            yield from check(requests, tenant_id=tenant_id)
    if request_ids is None and unattached:  # they belong to no request: only a tenant-wide walk finds them
        yield from orphan_decisions(tenant_id=tenant_id, since=since)
        yield from orphan_lessons(tenant_id=tenant_id, since=since)


def checks_to_run(requests: QuerySet[BrainRequest]) -> set[str]:
    """The checks that can find something among these requests, by one query of the same conditions
    the checks use (evidence needs its ids looked up, so any final request runs its check)."""
    final = Q(status__in=FINAL_STATUSES)
    conditions = {
        "missing_created_event": Q(has_created=False),
        "status_without_event": Q(last_move_at__isnull=False, status_recorded=False),
        "open_task": final & Q(has_open_task=True),
        "open_child_request": final & Q(has_open_child=True),
        "evidence_unresolved": final,
        "ping_pong": ~final & Q(bounces__gt=settings.MWMS_PING_PONG_LIMIT),
        "no_primary_brain": _no_primary_q(),
        "task_result_missing": Q(has_task_without_result=True),
        "lesson_lineage_mismatch": Q(has_mismatched_lesson=True),
    }
    annotated = _status_annotated(requests).annotate(
        has_created=Exists(_created_events()), has_open_task=Exists(Task.objects.open().filter(request=OuterRef("pk"))),
        has_open_child=Exists(_open_children_at_close()), bounces=Subquery(_bounce_count()),
        has_task_without_result=Exists(_tasks_without_result().filter(request=OuterRef("pk"))),
        has_mismatched_lesson=Exists(_mismatched_lessons().filter(related_request=OuterRef("pk"))))
    counts = annotated.aggregate(**{name: Count("pk", filter=condition) for name, condition in conditions.items()})
    return {name for name, count in counts.items() if count}


# --- the checks ------------------------------------------------------------------------------------

def _created_events() -> QuerySet[RequestEvent]:
    return RequestEvent.objects.filter(request=OuterRef("pk"), event_type=RequestEventType.CREATED)


def missing_created_events(requests: QuerySet[BrainRequest], **_: Any) -> Iterator[Finding]:
    for pk, title in requests.filter(~Exists(_created_events())).values_list("pk", "request_title").iterator():
        yield Finding(code="missing_created_event", table=REQUESTS, row_id=str(pk), request_id=str(pk),
                      message=f"request “{title}” has no `created` event: its history was deleted or it "
                              f"was written straight into the database")


def _status_annotated(requests: QuerySet[BrainRequest]) -> QuerySet[BrainRequest]:
    """Each request with its latest status event's time and target, and whether an event of that
    instant moved it to the status it has. Events written in one instant (a replayed story) all
    count as the latest."""
    moves = RequestEvent.objects.filter(request=OuterRef("pk"), to_status__isnull=False).order_by("-created_at")
    recorded = RequestEvent.objects.filter(request=OuterRef("pk"), to_status=OuterRef("status"),
                                           created_at=OuterRef("last_move_at"))
    return (requests.annotate(last_move_at=Subquery(moves.values("created_at")[:1]),
                              last_to_status=Subquery(moves.values("to_status")[:1]))
            .annotate(status_recorded=Exists(recorded)))


def statuses_without_event(requests: QuerySet[BrainRequest], **_: Any) -> Iterator[Finding]:
    """The status must be what the latest status event moved it to."""
    rows = (_status_annotated(requests).filter(last_move_at__isnull=False, status_recorded=False)
            .values_list("pk", "status", "last_to_status"))
    for pk, status, last in rows.iterator():
        yield Finding(code="status_without_event", table=REQUESTS, row_id=str(pk), request_id=str(pk),
                      message=f"its status is {status} but its latest status event moved it to {last}: the "
                              f"change to {status} has no event (who, when, why are not on record)")


def open_tasks_of_final(requests: QuerySet[BrainRequest], **_: Any) -> Iterator[Finding]:
    tasks = Task.objects.open().filter(request__in=requests.filter(status__in=FINAL_STATUSES))
    for pk, request_id, title, kind, status in tasks.values_list("pk", "request_id", "title", "task_type",
                                                                 "status").iterator():
        yield Finding(code="open_task", table=TASKS, row_id=str(pk), request_id=str(request_id), blocking=True,
                      message=f"task “{title or kind}” is still {status} under a closed or rejected request: "
                              f"complete or cancel it")


def _open_children_at_close() -> QuerySet[BrainRequest]:
    # A follow-up opened after the parent closed (its next step, often) is new work, not a loose end.
    return (BrainRequest.objects.filter(parent_request=OuterRef("pk"), created_at__lt=OuterRef("closed_at"))
            .exclude(status__in=FINAL_STATUSES))


def open_children_of_final(requests: QuerySet[BrainRequest], **_: Any) -> Iterator[Finding]:
    children = (BrainRequest.objects.filter(parent_request__in=requests.filter(status__in=FINAL_STATUSES),
                                            created_at__lt=F("parent_request__closed_at"))
                .exclude(status__in=FINAL_STATUSES))
    for pk, parent, title, status in children.values_list("pk", "parent_request_id", "request_title",
                                                          "status").iterator():
        yield open_child_finding(child_id=pk, parent_id=parent, title=title, status=status)


def open_child_finding(*, child_id: Any, parent_id: Any, title: str, status: str) -> Finding:
    return Finding(code="open_child_request", table=REQUESTS, row_id=str(child_id), request_id=str(parent_id),
                   blocking=True, message=f"child request “{title}” ({child_id}) is still {status}: close or "
                                          f"reject it before its parent")


def evidence_unresolved(requests: QuerySet[BrainRequest], *, tenant_id: uuid.UUID) -> Iterator[Finding]:
    """Each id of a final request's outcome evidence must be an artifact, event or decision of its
    lineage. Looked up BATCH requests at a time: a handful of queries per batch, none per request."""
    rows = requests.filter(status__in=FINAL_STATUSES).values_list("pk", "outcome_evidence").iterator(chunk_size=BATCH)
    while batch := list(islice(rows, BATCH)):
        cited = [(pk, item) for pk, evidence in batch for item in (evidence or [])
                 if isinstance(item, dict) and item.get("kind") != "external"]
        if not cited:
            continue
        owners = _evidence_owners(tenant_id, [(_as_uuid(item.get("id")), item.get("kind")) for _pk, item in cited])
        # Evidence is mostly the request's own; ancestry is asked only for what a relative holds.
        kin = {(pk, owners[ref]) for pk, item in cited
               if (ref := _as_uuid(item.get("id"))) in owners and owners[ref] != pk}
        ancestors = _ancestors(tenant_id, {pk for pair in kin for pk in pair}) if kin else {}
        for pk, item in cited:
            ref = _as_uuid(item.get("id"))
            owner = owners.get(ref)
            if owner is None or not (owner == pk or owner in ancestors.get(pk, ()) or pk in ancestors.get(owner, ())):
                yield Finding(code="evidence_unresolved", table=REQUESTS, row_id=str(pk), request_id=str(pk),
                              blocking=True,
                              message=f"its outcome evidence names {item.get('kind', 'an item')} {item.get('id')!s}, "
                                      f"which is no artifact, event or decision of this request's lineage")


def _bounce_count() -> QuerySet[RequestEvent]:
    return (RequestEvent.objects.filter(request=OuterRef("pk"), changed_fields__has_key=TARGET)
            .values("request").annotate(n=Count("id")).values("n"))


def ping_pong(requests: QuerySet[BrainRequest], *, tenant_id: uuid.UUID) -> Iterator[Finding]:
    limit = settings.MWMS_PING_PONG_LIMIT
    bounces = (reroutes(tenant_id=tenant_id).filter(request__in=requests.exclude(status__in=FINAL_STATUSES))
               .values("request_id").annotate(n=Count("id")).filter(n__gt=limit).values_list("request_id", "n"))
    for request_id, n in bounces.iterator():
        yield Finding(code="ping_pong", table=REQUESTS, row_id=str(request_id), request_id=str(request_id),
                      message=f"routed to a different Brain {n} times (more than {limit}): HeadOffice should "
                              f"settle who owns it (protocol rule 8, requests with unclear ownership)")


def reroutes(*, tenant_id: uuid.UUID) -> QuerySet[RequestEvent]:
    """The events that changed a request's destination Brain (the partial index
    mwms_req_events_reroutes holds exactly these)."""
    return RequestEvent.objects.filter(tenant_id=tenant_id, changed_fields__has_key=TARGET)


def _no_primary_q() -> Q:
    return Q(primary_brain_id__isnull=True) & ~Q(supporting_brains=[]) & ~Q(status__in=FINAL_STATUSES)


def no_primary_brain(requests: QuerySet[BrainRequest], **_: Any) -> Iterator[Finding]:
    for pk, supporting in requests.filter(_no_primary_q()).values_list("pk", "supporting_brains").iterator():
        if supporting:
            yield Finding(code="no_primary_brain", table=REQUESTS, row_id=str(pk), request_id=str(pk),
                          message=f"several Brains work it ({', '.join(map(str, supporting))}) but none is "
                                  f"declared primary (connector rule 2)")


def _tasks_without_result() -> QuerySet:
    artifacts = Task._meta.get_field("artifacts").related_model.objects.filter(task=OuterRef("pk"))
    return Task.objects.filter(status="completed", execution_notes="").filter(~Exists(artifacts))


def task_results_missing(requests: QuerySet[BrainRequest], **_: Any) -> Iterator[Finding]:
    tasks = _tasks_without_result().filter(request__in=requests)
    for pk, request_id, title, kind in tasks.values_list("pk", "request_id", "title", "task_type").iterator():
        yield Finding(code="task_result_missing", table=TASKS, row_id=str(pk), request_id=str(request_id),
                      message=f"task “{title or kind}” completed without an artifact or notes: its result is "
                              f"not on record")


def _mismatched_lessons() -> QuerySet[LessonLearned]:
    return LessonLearned.objects.filter(
        (Q(related_task__isnull=False) & ~Q(related_task__request_id=F("related_request_id")))
        | (Q(related_decision__isnull=False)
           & ~Q(related_decision__related_request_id=F("related_request_id"))
           & ~Q(related_decision__related_task__request_id=F("related_request_id"))))


def lesson_lineage_mismatches(requests: QuerySet[BrainRequest], **_: Any) -> Iterator[Finding]:
    lessons = _mismatched_lessons().filter(related_request__in=requests)
    for pk, request_id in lessons.values_list("pk", "related_request_id").iterator():
        yield Finding(code="lesson_lineage_mismatch", table=LESSONS, row_id=str(pk), request_id=str(request_id),
                      message="the lesson's task or decision belongs to another request than the one it is "
                              "recorded on: it was re-pointed, or recorded on the wrong request")


def orphan_decisions(*, tenant_id: uuid.UUID, since: datetime | None) -> Iterator[Finding]:
    decisions = DecisionRecord.objects.filter(tenant_id=tenant_id, related_request__isnull=True,
                                              related_task__isnull=True, supersedes__isnull=True)
    if since is not None:
        decisions = decisions.filter(created_at__gte=since)
    for pk, summary in decisions.values_list("pk", "decision_summary").iterator():
        yield Finding(code="orphan_decision", table=DECISIONS, row_id=str(pk),
                      message=f"decision “{summary[:60]}” is attached to no request, task or earlier decision: "
                              f"it is disconnected from every lineage (schema standard, drift protection)")


def orphan_lessons(*, tenant_id: uuid.UUID, since: datetime | None) -> Iterator[Finding]:
    lessons = LessonLearned.objects.filter(tenant_id=tenant_id, related_request__isnull=True,
                                           related_task__isnull=True, related_decision__isnull=True)
    if since is not None:
        lessons = lessons.filter(created_at__gte=since)
    for pk, insight in lessons.values_list("pk", "insight").iterator():
        yield Finding(code="orphan_lesson", table=LESSONS, row_id=str(pk),
                      message=f"lesson “{insight[:60]}” is attached to no request, task or decision: it is "
                              f"disconnected from every lineage (schema standard, drift protection)")


# The checks of requests, by their finding's code, in the order lineage_verify prints them.
CHECKS = {
    "missing_created_event": missing_created_events,
    "status_without_event": statuses_without_event,
    "open_task": open_tasks_of_final,
    "open_child_request": open_children_of_final,
    "evidence_unresolved": evidence_unresolved,
    "ping_pong": ping_pong,
    "no_primary_brain": no_primary_brain,
    "task_result_missing": task_results_missing,
    "lesson_lineage_mismatch": lesson_lineage_mismatches,
}


# --- the closing guard -----------------------------------------------------------------------------

def closing_findings(*, request: BrainRequest) -> list[Finding]:
    """What would be broken if this request closed (or was rejected) now: its open tasks, its open
    child requests, and every blocking finding it already has (a broken digest, once chained)."""
    found = [Finding(code="open_task", table=TASKS, row_id=str(pk), request_id=str(request.pk), blocking=True,
                     message=f"task “{title or kind}” ({pk}) is still {status}: complete or cancel it first")
             for pk, title, kind, status in request.tasks.open().values_list("pk", "title", "task_type", "status")]
    children = request.children.exclude(status__in=FINAL_STATUSES).values_list("pk", "request_title", "status")
    found += [open_child_finding(child_id=pk, parent_id=request.pk, title=title, status=status)
              for pk, title, status in children]
    already = {(f.code, f.row_id) for f in found}
    found += [f for f in request_findings(request=request) if f.blocking and (f.code, f.row_id) not in already]
    return found


# --- lookups ---------------------------------------------------------------------------------------

def _as_uuid(value: Any) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


def _evidence_owners(tenant_id: uuid.UUID, refs: list[tuple[uuid.UUID | None, str | None]]
                     ) -> dict[uuid.UUID, uuid.UUID]:
    """{evidence id: the request whose lineage holds it} for the ids that are artifacts, task
    events, request events or decisions of this tenant; only the tables of the kinds cited are read."""
    by_kind: dict[str, set[uuid.UUID]] = {}
    for ref, kind in refs:
        if ref is not None:
            for table in ([kind] if kind in EVIDENCE_KINDS else EVIDENCE_KINDS):
                by_kind.setdefault(table, set()).add(ref)
    owners: dict[uuid.UUID, uuid.UUID] = {}
    artifact = Task._meta.get_field("artifacts").related_model
    task_event = Task._meta.get_field("events").related_model
    for kind, model, path in (("artifact", artifact, "task__request_id"), ("task_event", task_event, "task__request_id"),
                              ("request_event", RequestEvent, "request_id")):
        if kind in by_kind:
            owners.update(model.objects.filter(tenant_id=tenant_id, pk__in=by_kind[kind]).values_list("pk", path))
    if "decision" in by_kind:
        for pk, request_id, task_request_id in DecisionRecord.objects.filter(
                tenant_id=tenant_id, pk__in=by_kind["decision"]).values_list(
                "pk", "related_request_id", "related_task__request_id"):
            if request_id or task_request_id:
                owners[pk] = request_id or task_request_id
    return owners


EVIDENCE_KINDS = ("artifact", "task_event", "request_event", "decision")


def _ancestors(tenant_id: uuid.UUID, request_ids: set[uuid.UUID]) -> dict[uuid.UUID, set[uuid.UUID]]:
    """{request: every request above it} for these requests, in one recursive query."""
    if not request_ids:
        return {}
    prep = BrainRequest._meta.pk.get_db_prep_value
    params = [prep(pk, connection) for pk in request_ids]
    placeholders = ", ".join(["%s"] * len(params))
    sql = f"""
        WITH RECURSIVE up(start_id, parent_id, depth) AS (
            SELECT id, parent_request_id, 0 FROM {REQUESTS} WHERE id IN ({placeholders}) AND tenant_id = %s
            UNION ALL
            SELECT up.start_id, r.parent_request_id, up.depth + 1
            FROM {REQUESTS} r JOIN up ON r.id = up.parent_id
            WHERE up.depth < 1000
        )
        SELECT start_id, parent_id FROM up WHERE parent_id IS NOT NULL
    """
    tenant = BrainRequest._meta.get_field("tenant").target_field.get_db_prep_value(tenant_id, connection)
    found: dict[uuid.UUID, set[uuid.UUID]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, tenant])
        for start, parent in cursor.fetchall():
            found.setdefault(_as_uuid(start), set()).add(_as_uuid(parent))
    return found


def routing_history(*, tenant_id: uuid.UUID, request_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[dict]]:
    """{request: its changes of destination Brain, oldest first: from, to, who, when} (one query)."""
    history: dict[uuid.UUID, list[dict]] = {}
    events = reroutes(tenant_id=tenant_id).filter(request_id__in=list(request_ids)).order_by("created_at")
    for request_id, changed, actor, at in events.values_list("request_id", "changed_fields", "actor", "created_at"):
        before, after = (changed.get(TARGET) or [None, None])[:2]
        history.setdefault(request_id, []).append({"from": before, "to": after, "actor": actor, "at": at})
    return history

