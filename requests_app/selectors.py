"""Every read of Brain Requests the UI, the API and the admin share, already scoped to the actor.

Lineage reads run a fixed number of queries however large the tree: the ancestors and the
descendants come from one recursive CTE each (works on PostgreSQL and SQLite alike).
"""

import math
import uuid
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.db.models.lookups import IsNull
from django.http import Http404

from governance_app.kernel.actors import Actor
from governance_app.kernel.findings import Finding
from governance_app.kernel.pages import EXACT_COUNT_UP_TO, RowPaginator, capped_count, planner_estimate
from governance_app.models import Brain, DecisionRecord, LessonLearned, Membership, RefusalWindow
from requests_app.filters import text_terms
from requests_app.integrity import lineage_findings, request_findings, reroutes, routing_history
from requests_app.models import (
    DESTINATION_MOVES,
    FINAL_STATUSES,
    ORIGIN_MOVES,
    BrainRequest,
    RequestEvent,
    RequestEventType,
    RequestStatus,
)

REQUEST_RELATED = ("requesting_brain", "target_brain", "review_owner", "escalation_owner", "primary_brain",
                   "assignee")


def _supporting_q(slug: str) -> Q:
    # JSON containment is PostgreSQL's; SQLite matches the quoted slug in the JSON text instead.
    if connection.vendor == "postgresql":
        return Q(supporting_brains__contains=[slug])
    return Q(supporting_brains__icontains=f'"{slug}"')


def requests_visible_to(actor: Actor) -> QuerySet[BrainRequest]:
    """HeadOffice sees the whole tenant; a Brain sees requests it sends, receives, leads, supports,
    reviews or is the escalation owner of; an integration sees what it created (the requests its
    Brain sent under its label, so a token rotated under the same label keeps its view)."""
    qs = BrainRequest.objects.filter(tenant_id=actor.tenant_id)
    if actor.is_head_office:
        return qs
    if actor.is_integration:
        return qs.filter(requesting_brain_id__in=actor.brains, created_by=actor.label)
    if not actor.brains:
        return qs.none()
    # Owners of a role on the request see it too: an authority Brain named escalation owner, or a
    # Brain named review owner, must see what it is asked to decide (protocol rule 6).
    condition = (Q(requesting_brain_id__in=actor.brains) | Q(target_brain_id__in=actor.brains)
                 | Q(primary_brain_id__in=actor.brains) | Q(escalation_owner_id__in=actor.brains)
                 | Q(review_owner_id__in=actor.brains))
    for slug in actor.brains:
        condition |= _supporting_q(slug)
    return qs.filter(condition)


def requests_for_list(*, actor: Actor) -> QuerySet[BrainRequest]:
    """The request list's rows: visible requests with their Brains joined and their task count.

    The count is a correlated subquery, not a join grouped over every task: PostgreSQL computes
    an expensive output column only for the rows the LIMIT keeps, so a page counts the tasks of
    its 25 rows, and the paginator's COUNT (which Django strips of unused annotations) reads no
    task at all."""
    tasks = BrainRequest.tasks.rel.related_model.objects.filter(request=OuterRef("pk")).order_by()
    task_count = Subquery(tasks.values("request").annotate(n=Count("pk")).values("n"))
    return (requests_visible_to(actor).select_related("requesting_brain", "target_brain", "assignee")
            .only(*LIST_ROW_FIELDS).annotate(task_count=Coalesce(task_count, 0)).order_by("-updated_at"))


# What a list row shows (requests_app/templatetags/request_list.py, whatever columns the person
# chose) and nothing more: building all 50 columns of a request and its Brains' and person's
# rows took nearly twice the CPU of reading these (5.0 against 2.8 ms for a page of 26 rows,
# measured side by side on a loaded machine).
LIST_ROW_FIELDS = (
    "id", "tenant_id", "request_title", "escalation_flag", "head_office_visible", "request_type", "status",
    "priority", "created_at", "updated_at", "status_entered_at", "closed_at", "sla_due_at", "sla_warn_at",
    "requesting_brain_id", "requesting_brain__name", "target_brain_id", "target_brain__name",
    "assignee_id", "assignee__username", "assignee__first_name", "assignee__last_name",
)


class NewestMatchesPaginator(RowPaginator):
    """The request list's pages when its free text is its only filter and it is newest first (see
    `free_text_alone`), on PostgreSQL: a page is the newest matches, so its rows are the ones
    whose ids the owner's `mwms_request_text_newest` answers (the newest up to the page's last
    and one more), not every match joined and sorted; the count comes from
    `mwms_request_text_count`, which stops at the cap, or answers the planner's estimate for a
    word so common that counting to the cap would read all its matches (requests_app 0023, 0026).
    The rows and the exact count below the cap are the ones the filtered list would have."""

    def __init__(self, object_list: Any, per_page: int, *, actor: Actor, text: str):
        super().__init__(object_list, per_page)
        self.actor, self.terms = actor, text_terms(text)

    @cached_property
    def count(self) -> int:
        capped, self.estimated = free_text_count(self.terms)
        return capped

    def _rows(self, bottom: int) -> list[Any]:
        wanted = bottom + self.per_page + 1
        newest = RawSQL("SELECT public.mwms_request_text_newest(%s, %s, %s)", [*self.terms, wanted])
        rows = requests_for_list(actor=self.actor).filter(pk__in=newest).order_by("-updated_at", "-pk")
        return list(rows[bottom:wanted])


def free_text_count(terms: list[Any]) -> tuple[int, bool]:
    """How many of the tenant's requests match the free text (`text_terms`), exactly up to
    EXACT_COUNT_UP_TO, and whether it is an estimate instead: the owner's
    `mwms_request_text_count` (requests_app 0026). It sees the whole tenant, as HeadOffice does:
    for a list whose only filter is its free text, asked by HeadOffice."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT public.mwms_request_text_count(%s, %s, %s)", [*terms, EXACT_COUNT_UP_TO + 1])
        capped = cursor.fetchone()[0]
    return capped, capped > EXACT_COUNT_UP_TO    # from the cap on, the planner's estimate


class TextWalkPaginator(RowPaginator):
    """The request list's pages when it has free text and other filters or another order, on
    PostgreSQL: a page is found by walking the list without its free text (`unmatched`: the same
    filters, visibility and order, which an index serves) and asking the owner's
    `mwms_request_text_match` which of those rows match (requests_app 0027). The first pages of a
    common word fill from a few hundred rows, and the rows and their order are the filtered list's.
    The count, when the walk filled the page before the list ran out, is an estimate: the share of
    the walked rows that matched times the planner's estimate of the list without the free text;
    when the walk reached the list's end, every match was seen and it is exact.

    A word this order rarely reaches early (sorted by title, "offer" is in titles from "Intake"
    on, past half the list) cannot be walked for, and sorting every match costs their number:
    2.5–6 s at a million requests for a common word. Then the newest matches are walked for (the
    list newest first, as its default order, which an index serves), up to `candidates`: when the
    list ends within that walk, every match is known and sorted, exactly; when it does not, the
    page orders the newest `candidates` matches only and says so (`sorted_among`, which the page's
    count shows), and its count is the newest walk's estimate. When the word is rare among the
    newest too, or `candidates` is 0 (the API, which promises every match in its order), or for a
    deep page, the page is the filtered list's, as RowPaginator reads it."""

    walk_rows_per_match = 20     # rows walked for each row a page wants (a word in 5% of the list)
    walk_first_rows_per_match = 8   # of which asked about first
    walk_up_to = 500             # rows; deeper pages are the filtered list's
    candidates = 100             # the newest matches a page may order when its own order cannot be walked
    newest_first = ("-updated_at", "-id")   # the list's default order, which every filter's index serves

    def __init__(self, object_list: Any, per_page: int, *, unmatched: Any, text: str,
                 candidates: int | None = None):
        super().__init__(object_list, per_page)
        self.unmatched, self.terms = unmatched, text_terms(text)
        self.walk_rate: float | None = None
        if candidates is not None:
            self.candidates = candidates

    @cached_property
    def count(self) -> int:
        if self.walk_rate is None:
            return super().count
        self.estimated = True
        return max(round(planner_estimate(self.unmatched) * self.walk_rate), self.walk_found)

    def _rows(self, bottom: int) -> list[Any]:
        read = self.__dict__.setdefault("read", {})   # RowPaginator.page may ask twice for a last page
        if bottom not in read:
            read[bottom] = self._walked_rows(bottom)
        return read[bottom]

    def _walked_rows(self, bottom: int) -> list[Any]:
        wanted = bottom + self.per_page + 1
        if wanted > self.walk_up_to:
            return super()._rows(bottom)
        matched, walked_all, rate = self._walk(self.unmatched, wanted)
        if walked_all:                              # the whole list was walked: every match is known
            self.__dict__["count"] = len(matched)
        elif rate is not None:                      # a common word: its share of the rows walked
            self.walk_rate, self.walk_found = rate, len(matched)
        elif self._newest_candidates() is None:     # too rare here to walk for, and among the newest
            return super()._rows(bottom)
        else:
            matched = self._newest_candidates()
        shown = matched[bottom:wanted]
        rows = {row.pk: row for row in self.unmatched.filter(pk__in=shown)}
        return [rows[key] for key in shown if key in rows]

    def _walk(self, rows: Any, wanted: int) -> tuple[list[Any], bool, float | None]:
        """The matches among the first rows of `rows` (its keys in its order, wanted ×
        walk_rows_per_match of them), whether those were all its rows, and, when `wanted` matched
        before its end, their share of the rows walked to the last one wanted."""
        limit = wanted * self.walk_rows_per_match
        keys = list(rows.values_list("pk", flat=True)[:limit])
        # The first rows asked first: a word in one row of eight or more fills the page from them,
        # and each row asked about costs its document's computing. When the list ended within the
        # walk, the rest are asked too (its count is then every match's). When the first did not
        # fill the page but the walk could (the first's share over all the walk would), the rows
        # their share says the page still needs are asked, and a quarter more; the rest only if
        # those did not fill it either.
        first = wanted * self.walk_first_rows_per_match
        hits, asked = self._matching(keys[:first]), min(first, len(keys))
        could = len(hits) * len(keys) >= wanted * first
        if len(keys) < limit:
            hits |= self._matching(keys[first:])
            asked = len(keys)
        elif len(hits) < wanted and could:
            more = math.ceil((wanted - len(hits)) * first / len(hits) * 1.25)
            hits |= self._matching(keys[first:first + more])
            asked = min(first + more, len(keys))
            if len(hits) < wanted and asked < len(keys):
                hits |= self._matching(keys[asked:])
                asked = len(keys)
        matched = [key for key in keys[:asked] if key in hits]   # the rows asked: a prefix of the walk
        if len(keys) < limit:
            return matched, True, None
        if len(matched) >= wanted:
            return matched, False, wanted / (keys.index(matched[wanted - 1]) + 1)
        return matched, False, None

    def _newest_candidates(self) -> list[Any] | None:
        """The page's candidates, in the list's order, when its order cannot be walked for: every
        match when the newest walk reached the list's end, else the newest `candidates` ones
        (`sorted_among`); None when the word is rare among the newest too (or there are no
        candidates to order: `candidates` 0, or the list is already newest first)."""
        if "newest" in self.__dict__:
            return self.__dict__["newest"]
        found = None
        order = list(self.unmatched.query.order_by)
        if self.candidates and order[:1] != list(self.newest_first[:1]):   # not newest first already
            matched, walked_all, rate = self._walk(self.unmatched.order_by(*self.newest_first), self.candidates)
            if walked_all or rate is not None:
                keys = matched if walked_all else matched[:self.candidates]
                found = list(self.unmatched.filter(pk__in=keys).values_list("pk", flat=True))
                if walked_all:
                    self.__dict__["count"] = len(found)
                else:
                    self.sorted_among, self.walk_rate, self.walk_found = len(found), rate, len(found)
        self.__dict__["newest"] = found
        return found

    def _matching(self, keys: list[Any]) -> set[Any]:
        """Which of these requests match the free text (the owner's mwms_request_text_match)."""
        if not keys:
            return set()
        with connection.cursor() as cursor:
            cursor.execute("SELECT public.mwms_request_text_match(%s, %s, %s::uuid[])", [*self.terms, keys])
            return {row[0] for row in cursor.fetchall()}


def free_text_slice(*, actor: Actor, rows: Any, unmatched: Any, data: Any, offset: int,
                    limit: int) -> tuple[list[Any], int, bool]:
    """The API's page of a list with free text (GET /api/v1/requests?q=, on PostgreSQL: see
    `free_text_walked`): its rows from `offset`, at most `limit`, found as the request list finds
    a page's (TextWalkPaginator: `unmatched` is the list without its free text, in its order), and
    its count, with whether that is an estimate. The count is the rows read when they reached the
    list's end; for HeadOffice with the free text as the only filter, `free_text_count`;
    otherwise the walk's. The API promises a count exact up to EXACT_COUNT_UP_TO, so an estimate
    of the walk's below that is replaced by the exact count (a short list, where it is cheap).
    The rows and the count are the filtered list's (`rows`), as reading it would find them."""
    walk = TextWalkPaginator(rows, limit, unmatched=unmatched, text=data["q"], candidates=0)
    found = walk._rows(offset)
    if len(found) <= limit and (found or offset == 0):      # the list's end: the count is known
        return found, offset + len(found), False
    if actor.is_head_office and not set(data) - {"q", "sort"}:
        count, estimated = free_text_count(walk.terms)
    else:
        count, estimated = walk.count, walk.estimated
        if estimated and count <= EXACT_COUNT_UP_TO:
            count, estimated = capped_count(rows)
    return found[:limit], count, estimated


def free_text_alone(*, actor: Actor, data: Any) -> str | None:
    """The list's free text when the NewestMatchesPaginator serves the list: on PostgreSQL, for
    HeadOffice (who sees the whole tenant, as the owner's functions answer it), when the free text
    is the only filter and the list is newest first (its default order); None otherwise."""
    text = (data.get("q") or "").strip()
    if connection.vendor != "postgresql" or not actor.is_head_office or not text:
        return None
    if set(data) - {"q", "sort", "page"} or data.get("sort", "-updated") != "-updated":
        return None
    return text


def free_text_walked(*, data: Any) -> bool:
    """Whether the TextWalkPaginator serves the list: on PostgreSQL, when it has free text (and the
    NewestMatchesPaginator does not serve it: `free_text_alone`)."""
    return connection.vendor == "postgresql" and bool((data.get("q") or "").strip())


def person_label(user: Any) -> str:
    """How a person is named on the pages and in the history: their full name, else their username."""
    return (user.get_full_name() or user.get_username()) if user is not None else "nobody"


def people_by_username(*, tenant_id: Any, usernames: Any) -> dict[str, str]:
    """How each of these usernames is named (person_label), for this tenant's people; a username
    that names nobody of it is left out (one query, none when there is no username)."""
    names = {name for name in usernames if name and not name.startswith("token:")}
    if not names:
        return {}
    users = get_user_model().objects.filter(username__in=names, tenant_link__tenant_id=tenant_id).only(
        "username", "first_name", "last_name")
    return {user.get_username(): person_label(user) for user in users}


def head_office_people(*, tenant_id: Any) -> list[tuple[str, str]]:
    """(user id, name) of the tenant's HeadOffice members, the people a request can be assigned to,
    by name (one query)."""
    users = get_user_model().objects.filter(
        is_active=True, memberships__tenant_id=tenant_id, memberships__brain_id=Brain.HEADOFFICE,
    ).distinct().order_by("first_name", "last_name", "username").only("id", "username", "first_name", "last_name")
    return [(str(user.pk), person_label(user)) for user in users]


def drilldown_people(*, tenant_id: Any, usernames: Any) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """people_by_username and head_office_people in one query, for the drill-down that shows both
    (its timeline's authors and its assign form): issue 16, two queries of the same table whose
    compiling cost more than running them. A HeadOffice member is one with a membership of the
    HeadOffice Brain of the tenant (as head_office_people's join), and is offered only if active."""
    names = {name for name in usernames if name and not name.startswith("token:")}
    head_office = Membership.objects.filter(user=OuterRef("pk"), tenant_id=tenant_id, brain_id=Brain.HEADOFFICE)
    users = (get_user_model().objects.filter(tenant_link__tenant_id=tenant_id)
             .annotate(head_office=Exists(head_office)).filter(Q(username__in=names) | Q(head_office=True))
             .only("id", "username", "first_name", "last_name", "is_active")
             .order_by("first_name", "last_name", "username"))
    by_username, people = {}, []
    for user in users:
        if user.get_username() in names:
            by_username[user.get_username()] = person_label(user)
        if user.head_office and user.is_active:
            people.append((str(user.pk), person_label(user)))
    return by_username, people


@dataclass
class Inbox:
    to_act: QuerySet[BrainRequest]       # open requests whose next move is this Brain's
    waiting: QuerySet[BrainRequest]      # open requests it is part of, waiting on another Brain or HeadOffice
    tasks: QuerySet[Any]                 # this Brain's open tasks, with their requests


# What the inbox's rows show (templates/requests_app/workspace.html), as LIST_ROW_FIELDS for the list.
INBOX_ROW_FIELDS = (
    "id", "tenant_id", "request_title", "escalation_flag", "request_type", "response_summary", "status",
    "priority", "lock_version", "created_at", "updated_at", "status_entered_at", "closed_at", "sla_due_at",
    "sla_warn_at", "requesting_brain_id", "requesting_brain__name", "target_brain_id", "target_brain__name",
)
INBOX_TASK_FIELDS = ("id", "tenant_id", "request_id", "assigned_brain_id", "title", "task_type", "status", "attempts", "max_attempts",
                     "priority", "created_at", "request__id", "request__tenant_id", "request__request_title")


# Where the next move is the Brain's own (requests_app.transitions): as destination it accepts a
# routed request and responds to one in progress; as origin it submits a new one, closes a
# response, resubmits a returned one and provides the evidence asked for; as review owner it closes.
def _next_move_q(slug: str) -> Q:
    return (Q(target_brain_id=slug, status__in=DESTINATION_MOVES)
            | Q(requesting_brain_id=slug, status__in=ORIGIN_MOVES)
            | Q(review_owner_id=slug, status=RequestStatus.RESPONDED))


def workspace_inbox(*, actor: Actor, brain: Any) -> Inbox:
    """A Brain's workspace: what to act on, what it waits for, and its tasks, each a query the
    page reads a page of (25 rows, the page's views paginate each list on its own).

    For a member of the Brain or HeadOffice only (anyone else gets empty lists). Every request a
    Brain takes part in is one its members may see (requests_visible_to), so the lists filter on
    taking part alone: the inbox's indexes serve that, and PostgreSQL can estimate it (the view's
    OR, with its JSON branch, made it expect a dozen rows where there are a thousand, and sort
    them all instead of reading the page in order)."""
    if not (actor.is_head_office or actor.belongs_to(brain.slug)):
        return Inbox(to_act=BrainRequest.objects.none(), waiting=BrainRequest.objects.none(),
                     tasks=brain.tasks.none())
    slug = brain.slug
    open_requests = (BrainRequest.objects.filter(tenant_id=actor.tenant_id).exclude(status__in=FINAL_STATUSES)
                     .select_related("requesting_brain", "target_brain").only(*INBOX_ROW_FIELDS)
                     .order_by("-updated_at"))
    involved = (Q(target_brain_id=slug) | Q(primary_brain_id=slug) | _supporting_q(slug)
                | Q(requesting_brain_id=slug))
    # _next_move_q's first two branches name the Brain as destination or origin, so take part.
    to_act = open_requests.filter(Q(target_brain_id=slug, status__in=DESTINATION_MOVES)
                                  | Q(requesting_brain_id=slug, status__in=ORIGIN_MOVES)
                                  | (Q(review_owner_id=slug, status=RequestStatus.RESPONDED) & involved))
    waiting = open_requests.filter(involved).exclude(_next_move_q(slug))
    tasks = brain.tasks.open().filter(tenant_id=actor.tenant_id).select_related(
        "request").only(*INBOX_TASK_FIELDS).order_by("created_at")
    return Inbox(to_act=to_act, waiting=waiting, tasks=tasks)


# --- decisions and lessons the actor may see (the governance pages and a suggestion's evidence) ---

def _on_a_visible_request(actor: Actor) -> IsNull:
    """The row's request is one the actor may see: a lookup of that one request, so a page of
    rows costs a page of lookups (`related_request__in=<visible>` had PostgreSQL collect every
    visible request first, a fifth of the table for a Brain owner).

    A scalar subquery (`(SELECT id … LIMIT 1) IS NOT NULL`), not EXISTS: under an OR, PostgreSQL
    plans an EXISTS with a hashed alternative (every visible request collected once), and the
    generic plan of a prepared statement (psycopg prepares one run five times), which cannot tell
    how many rows the Brain's roles keep, chose it: decisions as a Brain owner then took 150–200 ms
    a page at 100,000 requests instead of 3 (README). A scalar subquery has no such alternative."""
    request = requests_visible_to(actor).filter(pk=OuterRef("related_request_id")).order_by().values("pk")[:1]
    return IsNull(Subquery(request), False)


def decisions_visible_to(actor: Actor) -> QuerySet[DecisionRecord]:
    """HeadOffice sees every decision of the tenant; a Brain sees those on requests it can see and
    those taken in its own authority."""
    qs = DecisionRecord.objects.filter(tenant_id=actor.tenant_id)
    if actor.is_head_office:
        return qs
    # The Brain's own authority first: PostgreSQL tests an OR's branches in the order written.
    return qs.filter(Q(authority_id__in=actor.brains) | _on_a_visible_request(actor))


def lessons_visible_to(actor: Actor) -> QuerySet[LessonLearned]:
    """HeadOffice sees every lesson; a Brain sees lessons of requests it can see and its own."""
    qs = LessonLearned.objects.filter(tenant_id=actor.tenant_id)
    if actor.is_head_office:
        return qs
    return qs.filter(Q(originating_brain_id__in=actor.brains) | _on_a_visible_request(actor))


def request_get(*, actor: Actor, request_id: Any) -> BrainRequest | None:
    """One request the actor may see, with its owners joined, or None."""
    try:
        pk = uuid.UUID(str(request_id))
    except ValueError:
        return None
    return requests_visible_to(actor).select_related(*REQUEST_RELATED).filter(pk=pk).first()


def request_get_or_404(*, actor: Actor, request_id: Any) -> BrainRequest:
    """One request the actor may see, or Http404: the same answer for hidden and missing."""
    found = request_get(actor=actor, request_id=request_id)
    if found is None:
        raise Http404("No such request")
    return found


# What the drill-down shows of a request's Brains and assignee (templates/requests_app/detail.html):
# their names. All of the request's own columns are shown or used by its moves.
DETAIL_ROW_FIELDS = (
    *(field.name for field in BrainRequest._meta.concrete_fields),
    *(f"{brain}__name" for brain in REQUEST_RELATED if brain != "assignee"),
    "assignee__username", "assignee__first_name", "assignee__last_name",
)


def request_detail_get_or_404(*, actor: Actor, request_id: Any) -> BrainRequest:
    """One request the actor may see, for its drill-down, or Http404 (as request_get_or_404): its
    Brains and assignee by name only, one row without an ORDER BY. Issue 16: the six joined rows'
    every column, each hashed when Django compiles the ordering `.first()` adds, cost more CPU than
    the query took to run."""
    return _one_or_404(requests_visible_to(actor).select_related(*REQUEST_RELATED).only(*DETAIL_ROW_FIELDS),
                       request_id)


def _one_or_404(rows: QuerySet[BrainRequest], request_id: Any) -> BrainRequest:
    """The request of this id among `rows`, read as one row without an ORDER BY, or Http404."""
    try:
        pk = uuid.UUID(str(request_id))
    except ValueError:
        raise Http404("No such request") from None
    found = list(rows.filter(pk=pk)[:1])
    if not found:
        raise Http404("No such request")
    return found[0]


# What the lineage check reads of the request itself (requests_app.views.request_integrity and
# integrity.request_findings, which read everything else by the request's id): issue 16, the
# check's fragment read the request's 115 columns and its six joined rows for a title.
CHECKED_ROW_FIELDS = ("id", "tenant_id", "request_title")


def request_checked_get_or_404(*, actor: Actor, request_id: Any) -> BrainRequest:
    """One request the actor may see, for its lineage check, or Http404 (as request_get_or_404)."""
    return _one_or_404(requests_visible_to(actor).only(*CHECKED_ROW_FIELDS), request_id)


def _pk_param(pk: uuid.UUID) -> Any:
    return BrainRequest._meta.pk.get_db_prep_value(pk, connection)


def _pk_value(raw: Any) -> uuid.UUID:
    return raw if isinstance(raw, uuid.UUID) else uuid.UUID(str(raw))


# The chain above a request (itself at depth 0) and the tree below it, as WITH RECURSIVE terms the
# three readers below share; {table} is the requests' table.
_CHAIN_ABOVE = """chain(id, parent_request_id, depth) AS (
            SELECT id, parent_request_id, 0 FROM {table} WHERE id = %s
            UNION ALL
            SELECT r.id, r.parent_request_id, chain.depth + 1
            FROM {table} r JOIN chain ON r.id = chain.parent_request_id
            WHERE chain.depth < 1000
        )"""
_TREE_BELOW = """tree(id, parent_request_id, depth) AS (
            SELECT id, parent_request_id, 0 FROM {table} WHERE parent_request_id = %s
            UNION ALL
            SELECT r.id, r.parent_request_id, tree.depth + 1
            FROM {table} r JOIN tree ON r.parent_request_id = tree.id
            WHERE tree.depth < 1000
        )"""


def request_ancestor_ids(*, request: BrainRequest) -> list[uuid.UUID]:
    """The chain from the request's parent up to its root, nearest first (one query)."""
    table = BrainRequest._meta.db_table
    sql = f"WITH RECURSIVE {_CHAIN_ABOVE.format(table=table)} SELECT id FROM chain WHERE depth > 0 ORDER BY depth"
    with connection.cursor() as cursor:
        cursor.execute(sql, [_pk_param(request.pk)])
        return [_pk_value(row[0]) for row in cursor.fetchall()]


def request_descendant_rows(*, request: BrainRequest) -> list[tuple[uuid.UUID, uuid.UUID, int]]:
    """(id, parent id, depth) of every request below this one (one query)."""
    table = BrainRequest._meta.db_table
    sql = f"WITH RECURSIVE {_TREE_BELOW.format(table=table)} SELECT id, parent_request_id, depth FROM tree"
    with connection.cursor() as cursor:
        cursor.execute(sql, [_pk_param(request.pk)])
        return [(_pk_value(a), _pk_value(b), depth) for a, b, depth in cursor.fetchall()]


def request_chain_rows(*, request: BrainRequest) -> tuple[list[uuid.UUID], list[tuple[uuid.UUID, uuid.UUID, int]]]:
    """request_ancestor_ids and request_descendant_rows in one statement (the drill-down's)."""
    table = BrainRequest._meta.db_table
    sql = (f"WITH RECURSIVE {_CHAIN_ABOVE.format(table=table)}, {_TREE_BELOW.format(table=table)} "
           "SELECT 0, id, parent_request_id, depth FROM chain WHERE depth > 0 "
           "UNION ALL SELECT 1, id, parent_request_id, depth FROM tree")
    ancestors, descendants = [], []
    with connection.cursor() as cursor:
        cursor.execute(sql, [_pk_param(request.pk)] * 2)
        for below, pk, parent_pk, depth in cursor.fetchall():
            if below:
                descendants.append((_pk_value(pk), _pk_value(parent_pk), depth))
            else:
                ancestors.append((depth, _pk_value(pk)))
    return [pk for _depth, pk in sorted(ancestors)], descendants


@dataclass
class TreeNode:
    request: BrainRequest
    children: list["TreeNode"] = field(default_factory=list)
    via_hidden: bool = False   # hangs below the node above it through requests the actor may not see


@dataclass
class Lineage:
    request: BrainRequest
    ancestors: list[BrainRequest]            # parent first, root last
    children: list[TreeNode]                 # the tree of descendants the actor may see
    tasks: list[Any]                         # with events and artifacts prefetched
    decisions: list[Any]
    lessons: list[Any]
    events: list[RequestEvent]
    timeline: list[dict[str, Any]]           # request and task events merged, oldest first
    findings: list[Finding]                  # what the lineage check finds broken (requests_app.integrity)
    hidden_ancestors: int = 0                # earlier requests in the chain the actor may not see

    @property
    def warnings(self) -> list[str]:
        """The findings in words (the lineage API's `warnings`)."""
        return [finding.message for finding in self.findings]

    @property
    def verified(self) -> bool:
        return not self.findings

    @property
    def parent(self) -> BrainRequest | None:
        """The request's parent, when the actor may see it (not a further ancestor in its place)."""
        first = self.ancestors[0] if self.ancestors else None
        return first if first is not None and first.pk == self.request.parent_request_id else None

    @property
    def root(self) -> BrainRequest:
        """The earliest request of the chain the actor may see."""
        return self.ancestors[-1] if self.ancestors else self.request


# What the chain's other requests show, on the drill-down (templates/requests_app/detail.html and
# _tree_node.html) and in the API's lineage (requests_app.api.request_ref): issue 16, their Brains'
# and people's rows and every column of their own were read for a title and a status.
CHAIN_ROW_FIELDS = ("id", "tenant_id", "parent_request_id", "request_title", "request_type", "status",
                    "requesting_brain", "target_brain", "created_at")


def request_lineage(*, actor: Actor, request: BrainRequest, check: bool = True) -> Lineage:
    """Everything the lineage drill-down shows, in a fixed number of queries. `check=False` leaves
    the lineage check out (its findings empty): the drill-down fetches it on its own
    (requests_app.views.request_integrity), since verifying a busy request's hash chains costs more
    than the rest of the page."""
    # The chain above and the tree below in one statement, then the rows of both the actor may
    # see in one more, none for a chain of one (most requests; Django still compiles an empty IN).
    ancestor_ids, rows = request_chain_rows(request=request)
    chain_ids = [*ancestor_ids, *(row[0] for row in rows)]
    shown = {r.pk: r for r in requests_visible_to(actor).only(*CHAIN_ROW_FIELDS).filter(pk__in=chain_ids)} \
        if chain_ids else {}
    ancestors = [shown[pk] for pk in ancestor_ids if pk in shown]
    descendants = {pk: shown[pk] for pk, _parent_pk, _depth in rows if pk in shown}
    nodes = {pk: TreeNode(r) for pk, r in descendants.items()}
    parent_of = {pk: parent_pk for pk, parent_pk, _depth in rows}
    children: list[TreeNode] = []
    for pk, parent_pk, _depth in sorted(rows, key=lambda row: row[2]):
        if pk not in nodes:
            continue
        while parent_pk != request.pk and parent_pk not in nodes:  # climb past what the actor may not see
            parent_pk = parent_of[parent_pk]
            nodes[pk].via_hidden = True
        (nodes[parent_pk].children if parent_pk in nodes else children).append(nodes[pk])

    tasks = request.tasks.all()
    if actor.is_executor:  # it works its Brain's tasks and sees no other (tasks_app.selectors.tasks_visible_to)
        tasks = tasks.filter(assigned_brain_id__in=actor.brains)
    tasks = list(tasks.select_related("assigned_brain").prefetch_related("events", "artifacts").order_by("created_at"))
    decisions = list(request.decisions.select_related("authority", "supersedes").order_by("created_at"))
    lessons = list(request.lessons.select_related("originating_brain").order_by("created_at"))
    events = list(request.events.order_by("created_at"))

    timeline = [{"at": e.created_at, "kind": "request", "event": e, "task": None} for e in events]
    for task in tasks:
        timeline += [{"at": e.created_at, "kind": "task", "event": e, "task": task} for e in task.events.all()]
    timeline.sort(key=lambda item: item["at"])
    refusal_counts_attach([item["event"] for item in timeline], tenant_id=request.tenant_id)
    return Lineage(request=request, ancestors=ancestors, children=children, tasks=tasks, decisions=decisions,
                   lessons=lessons, events=events, timeline=timeline,
                   findings=request_findings(request=request) if check else [],
                   hidden_ancestors=len(ancestor_ids) - len(ancestors))


def refusal_counts_attach(events: list[Any], *, tenant_id: uuid.UUID) -> None:
    """Give each rule_violation event its `refusal_count` (any other, 0): the refused calls of its window, the
    first one included (kernel.refusals). One query, and none when there is no violation."""
    # Task events share the value (TaskEventType.RULE_VIOLATION). Every other event gets 0: a
    # template asking an instance for an attribute it lacks has Django list the instance's
    # attributes (dir()) to tell a missing one from a failing property, 0.1 ms an event.
    violations = []
    for event in events:
        if event.event_type == RequestEventType.RULE_VIOLATION:
            violations.append(event)
        else:
            event.refusal_count = 0
    if not violations:
        return
    counts = dict(RefusalWindow.objects.filter(tenant_id=tenant_id, event_id__in=[e.pk for e in violations])
                  .values_list("event_id", "refusal_count"))
    for event in violations:
        event.refusal_count = counts.get(event.pk, 1)  # recorded before windows were kept: one


def lineage_evidence_kinds(*, request: BrainRequest, refs: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Which of these ids are artifacts, events or decisions of this request's lineage (its
    ancestors, itself and its descendants), and of what kind."""
    tree = [request.pk, *request_ancestor_ids(request=request),
            *(row[0] for row in request_descendant_rows(request=request))]
    # The lineage's tasks, reached through the BrainRequest.tasks relation (no task module imported).
    tasks = BrainRequest.tasks.rel.related_model.objects.filter(request__in=tree)
    kinds: dict[uuid.UUID, str] = tasks.evidence_kinds(refs)
    for kind, qs in (
        ("request_event", RequestEvent.objects.filter(request__in=tree)),
        ("decision", DecisionRecord.objects.filter(Q(related_request__in=tree) | Q(related_task__request__in=tree))),
    ):
        kinds.update({pk: kind for pk in qs.filter(pk__in=refs).values_list("pk", flat=True)})
    return kinds


def request_latest_event_id(*, request: BrainRequest) -> uuid.UUID | None:
    """The id of the request's latest event: the state it was in when someone acted on it (one query)."""
    return (RequestEvent.objects.filter(request=request, tenant_id=request.tenant_id)
            .order_by("-chain_seq").values_list("pk", flat=True).first())


@dataclass
class EvidenceRows:
    """One request's own records a final move may name as evidence, as the drill-down's Close form
    offers them (requests_app.drilldown.evidence_groups_for)."""

    artifacts: list[Any] = field(default_factory=list)       # each with its task
    decisions: list[Any] = field(default_factory=list)
    events: list[tuple[Any, Any]] = field(default_factory=list)   # (event, its task or None), oldest first


def evidence_rows_for(*, requests: list[BrainRequest]) -> dict[uuid.UUID, EvidenceRows]:
    """The artifacts, decisions and request and task events of each of these requests (which the
    caller already scoped to the actor), for a page of them: four queries at any number of rows,
    none when there is no request."""
    if not requests:
        return {}
    ids, tenant = [r.pk for r in requests], {"tenant_id": requests[0].tenant_id}
    found = {pk: EvidenceRows() for pk in ids}
    task_model = BrainRequest.tasks.rel.related_model  # the tasks app, reached through the relation
    artifact_model, task_event_model = task_model.artifacts.rel.related_model, task_model.events.rel.related_model
    for artifact in (artifact_model.objects.filter(task__request__in=ids, **tenant).select_related("task")
                     .order_by("created_at", "pk")):
        found[artifact.task.request_id].artifacts.append(artifact)
    for decision in (DecisionRecord.objects.filter(related_request__in=ids, **tenant).select_related("related_task")
                     .order_by("created_at", "pk")):
        found[decision.related_request_id].decisions.append(decision)
    events = [(e, None) for e in RequestEvent.objects.filter(request__in=ids, **tenant)]
    events += [(e, e.task) for e in task_event_model.objects.filter(task__request__in=ids, **tenant)
               .select_related("task")]
    for event, task in sorted(events, key=lambda pair: pair[0].created_at):
        found[task.request_id if task is not None else event.request_id].events.append((event, task))
    return found


# --- the dashboard's integrity and ping-pong queues (issue 13) ---------------------------------------

@dataclass
class IntegrityRow:
    request: BrainRequest
    findings: list[Finding]


def integrity_queue(*, actor: Actor, limit: int = 20) -> list[IntegrityRow]:
    """Of the MWMS_INTEGRITY_QUEUE_SCAN requests changed last, those whose lineage check finds
    something broken, most findings first. The checks read those requests' own rows through their
    indexes, so a page view costs the same at any size and never scans the history (measured at
    100,000 requests: README); `manage.py lineage_verify` checks every request."""
    latest = (BrainRequest.objects.filter(tenant_id=actor.tenant_id).order_by("-updated_at")
              .values("pk")[:settings.MWMS_INTEGRITY_QUEUE_SCAN])
    found: dict[uuid.UUID, list[Finding]] = {}
    for finding in lineage_findings(tenant_id=actor.tenant_id, request_ids=latest):
        if finding.request_id:
            found.setdefault(uuid.UUID(finding.request_id), []).append(finding)
    visible = requests_visible_to(actor).select_related("target_brain").in_bulk(list(found))
    rows = [IntegrityRow(visible[pk], findings) for pk, findings in found.items() if pk in visible]
    rows.sort(key=lambda row: (-len(row.findings), row.request.updated_at))
    return rows[:limit]


@dataclass
class PingPongRow:
    request: BrainRequest
    moves: list[dict[str, Any]]     # from, to, actor, at: each change of destination Brain, oldest first


def ping_pong_queue(*, actor: Actor, limit: int = 20) -> list[PingPongRow]:
    """Open requests routed to a different Brain more than MWMS_PING_PONG_LIMIT times, with their
    routing history, so HeadOffice can settle who owns them (protocol rule 8, "requests with unclear
    ownership"). Three queries; the first reads only the partial index of destination changes."""
    visible = requests_visible_to(actor).exclude(status__in=FINAL_STATUSES)
    # COUNT(*), not of the ids: the partial index holds the tenant and the request, so the count
    # is read from it alone. PostgreSQL cannot tell how few reroutes there are (no statistics of a
    # JSON key), and with each guessed row read from the table its plan cost so much at a million
    # requests that it was compiled (JIT) first: 15 ms of a page, for a query that reads nothing.
    counts = (reroutes(tenant_id=actor.tenant_id).filter(request__in=visible).values("request_id")
              .annotate(n=Count("*")).filter(n__gt=settings.MWMS_PING_PONG_LIMIT).order_by("-n")
              .values_list("request_id", flat=True))
    requests = visible.select_related("target_brain").in_bulk(list(counts[:limit]))
    history = routing_history(tenant_id=actor.tenant_id, request_ids=list(requests))
    rows = [PingPongRow(r, history.get(pk, [])) for pk, r in requests.items()]
    rows.sort(key=lambda row: -len(row.moves))
    return rows
