"""Search across everything the actor may see: requests, tasks, artifacts, decisions and lessons,
best match first, each hit with its kind, its title, the text it matched and the request it belongs to.

On PostgreSQL it is full-text search: each kind's document is its title (weight A) and its body
fields (weight B), `websearch_to_tsquery` reads the words as a search box would ("quoted phrase",
-not, or), and `ts_rank` orders the hits, so a word in a title ranks above the same word in a
body. The documents are written here as plain SQL with the configuration as a literal, the very
expressions of the GIN indexes (migration governance_app 0019), which a query must repeat to the
letter for PostgreSQL to match it to an index. Row-level security keeps the runtime role's own query
from any index for `@@` (not leakproof), so the ids matching are read by the owner's
`mwms_search_ids` (governance_app 0020, 0022-0024), which applies the tenant rule itself and
answers each kind's newest matches with their ranks (of each row's stored document, 0024) and
their created_at. On SQLite every
word must appear in one of the fields (`icontains`), and a hit with every word in its title ranks
first.

One UNION query reads a page of hits of every kind (on PostgreSQL ordered by the ranks the function
answered; for HeadOffice, who may see all of them, only the page's rows, picked from those ranks
and dates here), and one more the titles of their requests;
each kind's rows are scoped by its own visibility selector, so a Brain owner finds only what the
pages would show them.
"""

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import BooleanField, Exists, F, FloatField, OuterRef, Q, QuerySet, TextField, Value
from django.db.models.expressions import Case, RawSQL, When
from django.db.models.functions import Coalesce, Concat

from governance_app.kernel import fulltext
from governance_app.kernel.actors import Actor
from governance_app.selectors import decisions_visible_to, lessons_visible_to
from requests_app.selectors import requests_visible_to
from tasks_app.models import TaskArtifact
from tasks_app.selectors import tasks_visible_to

PER_PAGE = 20
NEWEST = 200           # on PostgreSQL, the matches of each kind ranked: its newest (see `_matching_ids`)
MAX_WORDS = 6          # the fallback's words, as the list filters take them
CONFIG = fulltext.CONFIG
EXCERPT = 220          # characters of body text a hit shows around its first match


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    table: str
    title: str                      # the column shown as the hit's title (weight A)
    body: tuple[str, ...]           # the columns searched and shown as its text (weight B)
    request: str                    # the lookup of the request it belongs to

    def document_sql(self, qualify: bool = True) -> str:
        """The tsvector of a row, as the GIN index on the table computes it."""
        return fulltext.document_sql(self.table, self.title, self.body, qualify=qualify)

    def index_sql(self) -> str:
        return (f"CREATE INDEX IF NOT EXISTS mwms_search_{self.key} ON {self.table} "
                f"USING gin ({self.document_sql(qualify=False)})")


KINDS = {
    "request": Kind("request", "Request", "mwms_brain_requests", "request_title",
                    ("request_summary", "response_summary", "result_summary"), "pk"),
    "task": Kind("task", "Task", "mwms_tasks", "title", ("task_type", "execution_notes", "last_error"), "request_id"),
    "artifact": Kind("artifact", "Artifact", "mwms_task_artifacts", "artifact_type", ("artifact_summary",),
                     "task__request_id"),
    "decision": Kind("decision", "Decision", "mwms_decision_records", "decision_summary",
                     ("reasoning", "evidence_used", "expected_outcome"), "related_request_id"),
    "lesson": Kind("lesson", "Lesson", "mwms_lessons_learned", "insight",
                   ("event_or_experiment", "result", "recommended_improvement"), "related_request_id"),
}


@dataclass
class Hit:
    kind: Kind
    id: Any
    title: str
    text: str                       # the body text around its first match
    request_id: Any | None
    request_title: str | None       # None when the actor may not see the request (or there is none)
    rank: float
    created_at: datetime


@dataclass
class SearchPage:
    query: str
    words: list[str]
    hits: list[Hit]
    number: int
    has_next: bool
    crowded: list[Kind] = field(default_factory=list)   # kinds with more matches than `newest`: only their newest ranked
    newest: int = 0

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def _words(text: str) -> list[str]:
    return [word for word in re.findall(r"\w[\w.-]*", text.lower()) if word][:MAX_WORDS]


def _rows(kind: Kind, queryset: QuerySet, words: list[str], matching: "Matching | None") -> QuerySet:
    """One kind's matches as the UNION's columns: kind, id, title, text, request, rank, created_at."""
    title = F(kind.title)
    if kind.key == "task":  # a task without a title is shown by its type
        title = Case(When(title="", then=F("task_type")), default=F("title"))
    text_of = {"output_field": TextField()}
    body = Concat(*[part for name in kind.body
                    for part in (Coalesce(F(name), Value("", **text_of), **text_of), Value(" ", **text_of))], **text_of)
    request = F(kind.request)
    if kind.key in ("decision", "lesson"):  # recorded on a task, it belongs to the task's request
        request = Coalesce(F("related_request_id"), F("related_task__request_id"))
    if matching is not None:
        # The matching ids and their ranks come from the owner's mwms_search_ids (`_matching_ids`),
        # each list sent as one array literal (200 parameters a kind cost more to send than to run).
        ids = "{" + ",".join(map(str, matching.ids[:NEWEST])) + "}"       # array literals: quicker sent
        ranks = "{" + ",".join(map(repr, matching.ranks[:NEWEST])) + "}"   # each float4's exact decimal
        queryset = queryset.filter(RawSQL(f'"{kind.table}"."id" = ANY(%s::uuid[])', [ids], output_field=BooleanField()))
        rank = RawSQL(f'(%s::real[])[array_position(%s::uuid[], "{kind.table}"."id")]', [ranks, ids],
                      output_field=FloatField())
    else:
        for word in words:
            condition = Q(**{f"{kind.title}__icontains": word})
            for name in kind.body:
                condition |= Q(**{f"{name}__icontains": word})
            queryset = queryset.filter(condition)
        in_title = Q()
        for word in words:
            in_title &= Q(**{f"{kind.title}__icontains": word})
        rank = Case(When(in_title, then=Value(1.0)), default=Value(0.5), output_field=FloatField())
    return (queryset.order_by()
            .annotate(hit_kind=RawSQL(f"'{kind.key}'", [], output_field=TextField()), hit_id=F("pk"),
                      hit_title=title, hit_text=body, hit_request=request, hit_rank=rank, hit_at=F("created_at"))
            .values("hit_kind", "hit_id", "hit_title", "hit_text", "hit_request", "hit_rank", "hit_at"))


def _visible(actor: Actor) -> dict[str, QuerySet]:
    tasks = tasks_visible_to(actor)
    return {
        "request": requests_visible_to(actor),
        "task": tasks,
        # EXISTS per candidate artifact (an index lookup of its task), not `task__in` every visible task.
        "artifact": TaskArtifact.objects.filter(Exists(tasks.filter(pk=OuterRef("task_id"))),
                                                tenant_id=actor.tenant_id),
        "decision": decisions_visible_to(actor),
        "lesson": lessons_visible_to(actor),
    }


def excerpt(text: str, words: list[str], width: int = EXCERPT) -> str:
    """The part of `text` around the first of the words it holds (its start when it holds none)."""
    text = " ".join(text.split())
    lowered = text.lower()
    found = [i for i in (lowered.find(word) for word in words) if i >= 0]
    start = max(0, min(found) - width // 3) if found else 0
    piece = text[start:start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(text) else "")


@dataclass(frozen=True)
class Matching:
    """A kind's matching ids, newest first, the rank of each (its document's ts_rank) and its
    created_at."""
    ids: list[Any]
    ranks: list[float]
    ats: list[datetime] = field(default_factory=list)


def _matching_ids(text: str, kinds: list[str], dated: bool = False) -> dict[str, Matching] | None:
    """On PostgreSQL, the ids of each kind's rows that match, newest first, at most NEWEST and one
    more (which says the kind has more), with their ranks (and, `dated`, their created_at), in one
    statement; None elsewhere.

    They come from the owner's `mwms_search_ids` (governance_app 0024), which keeps to the claim's
    tenant and can use the GIN index that row-level security keeps from the runtime role's own
    query. Ranking every match of a common word meant computing tens of thousands of documents for
    one page (1.8 s at 100,000 requests); the newest few hundred of each kind are what a person
    searching a queue is after, and the page says when there were more. A common word's newest are
    found by walking the kind newest first, checking each row's stored document; the function ranks
    what it found (`ts_rank` of the document, as the hits query did), and the hits query only reads
    them."""
    if connection.vendor != "postgresql":
        return None
    dates = "coalesce(array_agg(s.created_at ORDER BY s.n), '{}')" if dated else "NULL"
    each = ("(SELECT coalesce(array_agg(s.id ORDER BY s.n), '{}'), coalesce(array_agg(s.rank ORDER BY s.n), '{}'), "
            + dates + " FROM public.mwms_search_ids(%s, %s, %s) WITH ORDINALITY AS s(id, rank, created_at, n)) AS k{}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM " + ", ".join(each.replace("k{}", f"k{i}") for i in range(len(kinds))),
                       [value for key in kinds for value in (key, text, NEWEST + 1)])
        found = cursor.fetchone()
    return {key: Matching(ids=list(found[3 * i]), ranks=list(found[3 * i + 1]), ats=list(found[3 * i + 2] or ()))
            for i, key in enumerate(kinds)}


ORDER = ("-hit_rank", "-hit_at", "hit_kind", "hit_id")   # best first, then newest; kind and id settle ties


def _window(matching: dict[str, Matching], size: int) -> dict[str, Matching]:
    """The first `size` of every kind's ranked matches in the hits' order (ORDER), kind by kind.

    For HeadOffice, who may see every row of the tenant (the function's), these are the very rows the
    hits query would order first: it then reads and orders only them, not all the kinds' 1,000."""
    candidates = [(m.ranks[n], m.ats[n], key, pk) for key, m in matching.items() for n, pk in enumerate(m.ids[:NEWEST])]
    candidates.sort(key=lambda c: (c[2], c[3]))                    # ties: kind, then id, ascending
    candidates.sort(key=lambda c: (c[0], c[1]), reverse=True)      # best, then newest (stable)
    kept = candidates[:size]
    return {key: Matching(ids=[c[3] for c in kept if c[2] == key], ranks=[c[0] for c in kept if c[2] == key])
            for key in matching}


def search_everything(*, actor: Actor, text: str, page: int = 1, kinds: tuple[str, ...] | None = None) -> SearchPage:
    """A page of the hits of `text` among everything the actor may see (or only of `kinds`), best
    first (three queries on PostgreSQL, one when nothing matches; two elsewhere)."""
    words = _words(text)
    page = max(1, page)
    if not words:
        return SearchPage(query=text, words=[], hits=[], number=1, has_next=False)
    wanted = [key for key in KINDS if kinds is None or key in kinds]
    matching = _matching_ids(text, wanted, dated=actor.is_head_office)   # HeadOffice's page is picked here
    # Said to HeadOffice only: the matches counted are the tenant's, not only those a Brain owner may see.
    crowded = ([KINDS[key] for key, found in (matching or {}).items() if len(found.ids) > NEWEST]
               if actor.is_head_office else [])
    bottom = (page - 1) * PER_PAGE
    visible = _visible(actor)

    def hits_of(found: dict[str, Matching] | None) -> list[dict]:
        # On PostgreSQL a kind without a match is left out of the UNION (and with none, the query).
        parts = [_rows(KINDS[key], queryset, words, found[key] if found is not None else None)
                 for key, queryset in visible.items()
                 if key in wanted and (found is None or found[key].ids)]
        if not parts:
            return []
        union = parts[0].union(*parts[1:], all=True).order_by(*ORDER)
        return list(union[bottom:bottom + PER_PAGE + 1])

    if matching is not None and actor.is_head_office:
        # Only the page's rows read (and one more, which says there is a next page): HeadOffice may
        # see every match the function answered. Should one of them not be visible after all (a
        # HeadOffice executor sees its Brain's tasks), the page is read as for everyone else.
        window = _window(matching, bottom + PER_PAGE + 1)
        rows = hits_of(window)
        if len(rows) != max(0, sum(len(m.ids) for m in window.values()) - bottom):
            rows = hits_of(matching)
    else:
        rows = hits_of(matching)
    request_ids = {row["hit_request"] for row in rows[:PER_PAGE] if row["hit_request"]}
    titles = dict(requests_visible_to(actor).filter(pk__in=request_ids).values_list("pk", "request_title")) \
        if request_ids else {}
    hits = [Hit(kind=KINDS[row["hit_kind"]], id=row["hit_id"], title=row["hit_title"] or "",
                text=excerpt(row["hit_text"] or "", words), request_id=row["hit_request"],
                request_title=titles.get(_uuid(row["hit_request"])), rank=row["hit_rank"], created_at=row["hit_at"])
            for row in rows[:PER_PAGE]]
    return SearchPage(query=text, words=words, hits=hits, number=page, has_next=len(rows) > PER_PAGE,
                      crowded=crowded, newest=NEWEST)


def _uuid(value: Any) -> Any:
    """A request id from the UNION's values (SQLite hands back the hex text of a uuid column)."""
    if value is None or isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return value
