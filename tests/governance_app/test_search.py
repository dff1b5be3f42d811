"""Search across everything from the header (issue 14, item 9): requests, tasks, artifacts, decisions and
lessons, ranked, scoped to the person, paginated, in a fixed number of queries; full-text search with
GIN indexes on PostgreSQL, icontains on SQLite."""

import psycopg
import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.urls import reverse

from governance_app import services as gs
from governance_app.kernel import claims
from governance_app.kernel.db_roles import owner_settings
from governance_app.kernel.tenancy import member_add
from governance_app.models import Brain, MembershipRole
from governance_app.search import KINDS, PER_PAGE, search_everything
from requests_app.models import BrainRequest
from tests.conftest import PASSWORD
from tests.engine import actor
from tests.factories import make_decision_record, make_lesson, make_request, make_task, make_task_artifact

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("every_tenant")]
SEARCH = reverse("governance:search")


def signed_in(client, user):
    client.force_login(user)
    return client


def hits(user, text: str, page: int = 1) -> list[tuple[str, str]]:
    return [(hit.kind.key, hit.title) for hit in search_everything(actor=actor(user), text=text, page=page).hits]


@pytest.fixture
def lineage():
    """One request from Affiliate to Research with a task, an artifact, a decision and a lesson, each
    holding the word 'zeppelin' somewhere."""
    request = make_request(request_title="Zeppelin airship offer", status="routed", review_owner_id="headoffice")
    task = make_task(request=request, title="Scan zeppelin demand")
    make_task_artifact(task=task, artifact_type="report", artifact_summary="Zeppelin demand is up in DE.")
    make_decision_record(request=request, decision_summary="Test the zeppelin offer in DE")
    make_lesson(related_request=request, insight="Zeppelin buyers read reviews first.")
    return request


# --- what is found --------------------------------------------------------------------------------

def test_every_kind_is_found_with_the_request_it_belongs_to(reviewer, lineage):
    page = search_everything(actor=actor(reviewer), text="zeppelin")
    assert {hit.kind.key for hit in page.hits} == set(KINDS)
    assert {hit.request_id for hit in page.hits} == {lineage.pk}
    assert {hit.request_title for hit in page.hits} == {"Zeppelin airship offer"}


def test_a_title_hit_ranks_above_a_body_hit(reviewer):
    make_request(request_title="Quarterly review", request_summary="About the gondola market, among others.")
    make_request(request_title="Gondola offer", request_summary="Check the market.")
    assert hits(reviewer, "gondola") == [("request", "Gondola offer"), ("request", "Quarterly review")]


def test_every_word_must_be_found(reviewer):
    make_request(request_title="Gondola offer for Venice")
    make_request(request_title="Gondola offer for Lucerne")
    assert hits(reviewer, "gondola venice") == [("request", "Gondola offer for Venice")]


def test_words_are_matched_as_each_database_can(reviewer):
    make_request(request_title="Offers of zeppelins", request_summary="A summary.")
    if connection.vendor == "postgresql":
        # Full-text search stems: "zeppelin" finds "zeppelins", a part of a word finds nothing.
        assert hits(reviewer, "zeppelin") == [("request", "Offers of zeppelins")]
        assert hits(reviewer, "zeppel") == []
    else:
        # The SQLite fallback finds any part of a word.
        assert hits(reviewer, "zeppel") == [("request", "Offers of zeppelins")]


def test_a_search_of_no_words_finds_nothing(reviewer, lineage):
    assert hits(reviewer, "  ,;  ") == []


def test_hits_are_paginated(reviewer):
    BrainRequest.objects.bulk_create([BrainRequest(
        requesting_authority="research", requesting_brain_id="research", target_brain_id="affiliate",
        request_type="offer_review_request", request_title=f"Gondola {i}", request_summary="A summary.",
        required_output="") for i in range(PER_PAGE + 3)])
    first = search_everything(actor=actor(reviewer), text="gondola")
    second = search_everything(actor=actor(reviewer), text="gondola", page=2)
    assert len(first.hits) == PER_PAGE and first.has_next and not first.has_previous
    assert len(second.hits) == 3 and not second.has_next and second.has_previous
    assert not {h.id for h in first.hits} & {h.id for h in second.hits}


# --- who finds what -----------------------------------------------------------------------------

def test_a_brain_owner_finds_only_what_they_may_see(reviewer, owner, other_owner, outsider, lineage):
    make_request(request_title="Zeppelin for Finance", requesting_brain_id="finance", target_brain_id="sit",
                 requesting_authority="finance")
    assert len(hits(reviewer, "zeppelin")) == 6
    assert {kind for kind, _ in hits(owner, "zeppelin")} == set(KINDS)  # research is the destination
    assert ("request", "Zeppelin for Finance") not in hits(owner, "zeppelin")
    assert len(hits(other_owner, "zeppelin")) == 5   # affiliate sent it
    assert hits(outsider, "zeppelin") == []


def test_another_tenants_records_are_never_found(client, reviewer, lineage):
    acme = gs.tenant_create(slug="acme", name="Acme Consulting", reviewer_username="acme_reviewer",
                            reviewer_password=PASSWORD)
    acme_research = get_user_model().objects.create_user(username="acme_research", password=PASSWORD)
    member_add(user=acme_research, brain=Brain.objects.get(tenant=acme, slug="research"), role=MembershipRole.OWNER)
    make_request(tenant=acme, request_title="Acme zeppelin", requesting_brain_id="research",
                 target_brain_id="affiliate", requesting_authority="research")

    assert BrainRequest.objects.filter(tenant=acme, request_title="Acme zeppelin").exists()
    acme_reviewer = get_user_model().objects.get(username="acme_reviewer")
    assert hits(acme_reviewer, "zeppelin") == [("request", "Acme zeppelin")]
    ours = signed_in(client, reviewer).get(SEARCH, {"q": "zeppelin"})
    theirs = signed_in(client, get_user_model().objects.get(username="acme_reviewer")).get(SEARCH, {"q": "zeppelin"})

    assert "<mark>Zeppelin</mark> airship offer" in ours.text and "Acme" not in ours.text
    assert "Acme <mark>zeppelin</mark>" in theirs.text and "airship" not in theirs.text


def test_a_decision_on_a_request_the_owner_may_not_see_shows_no_link_to_it(client, brains):
    finance_owner = get_user_model().objects.create_user(username="finance_owner", password=PASSWORD)
    member_add(user=finance_owner, brain=brains["finance"], role=MembershipRole.OWNER)
    request = make_request(request_title="Hidden from Finance")
    make_decision_record(request=request, authority_id="finance", decision_summary="Budget the zeppelin test")

    page = signed_in(client, finance_owner).get(SEARCH, {"q": "zeppelin"})

    assert "Budget the <mark>zeppelin</mark> test" in page.text
    assert "On a request you cannot open" in page.text and "Hidden from Finance" not in page.text


# --- the page -----------------------------------------------------------------------------------

def test_the_page_shows_each_hit_with_its_kind_match_and_request(client, reviewer, lineage):
    page = signed_in(client, reviewer).get(SEARCH, {"q": "zeppelin"})
    assert page.status_code == 200
    for label in ("Request", "Task", "Artifact", "Decision", "Lesson"):
        assert f'<span class="badge badge-kind">{label}</span>' in page.text
    assert "<mark>Zeppelin</mark> demand is up in DE." in page.text
    assert f'href="{reverse("requests:detail", args=[lineage.pk])}"' in page.text


def test_the_header_has_the_search_box_on_every_page(client, reviewer):
    page = signed_in(client, reviewer).get(reverse("requests:list"))
    assert f'action="{SEARCH}"' in page.text and 'class="header-search"' in page.text


def test_the_htmx_request_gets_only_the_results(client, reviewer, lineage):
    page = signed_in(client, reviewer).get(SEARCH, {"q": "zeppelin"}, HTTP_HX_REQUEST="true")
    assert page.text.lstrip().startswith('<div id="search-results"') and "<html" not in page.text
    assert "HX-Request" in page["Vary"]


def test_an_empty_search_asks_for_words(client, reviewer):
    page = signed_in(client, reviewer).get(SEARCH)
    assert page.status_code == 200 and "Type a few words to search." in page.text


def test_a_search_too_long_is_refused_in_words(client, reviewer):
    page = signed_in(client, reviewer).get(SEARCH, {"q": "x" * 201})
    assert page.status_code == 200
    assert "Ensure this value has at most 200 characters (it has 201)." in page.text


def test_a_bad_page_number_is_refused_in_words(client, reviewer):
    page = signed_in(client, reviewer).get(SEARCH, {"q": "offer", "page": "last"})
    assert "Enter a whole number." in page.text


def test_the_page_refuses_post_and_anonymous_visitors(client, reviewer):
    anonymous = client.get(SEARCH, {"q": "offer"})
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))
    assert signed_in(client, reviewer).post(SEARCH, {"q": "offer"}).status_code == 405


def test_an_outsider_finds_nothing_of_others(client, outsider, lineage):
    page = signed_in(client, outsider).get(SEARCH, {"q": "zeppelin"})
    assert "Nothing you can see matches" in page.text and "Zeppelin airship" not in page.text


@pytest.mark.parametrize("rows", [5, 200])
def test_query_count_does_not_grow_with_hits(client, reviewer, rows, django_assert_num_queries):
    for _ in range(rows // 5):
        request = make_request(request_title="Zeppelin offer", status="routed", review_owner_id="headoffice")
        task = make_task(request=request, title="Zeppelin scan")
        make_task_artifact(task=task, artifact_summary="Zeppelin report")
        make_decision_record(request=request, decision_summary="Zeppelin decision")
        make_lesson(related_request=request, insight="Zeppelin lesson")
    signed_in(client, reviewer)
    # The session, the user and their memberships; the page of hits; the titles of their requests;
    # on PostgreSQL first the matching ids of each kind (governance_app.search._matching_ids).
    with django_assert_num_queries(5 + (connection.vendor == "postgresql")):
        page = client.get(SEARCH, {"q": "zeppelin"})
    assert page.text.count('class="search-hit"') == min(rows, PER_PAGE)


# --- PostgreSQL: the indexes ----------------------------------------------------------------------

def _plan(kind: str, cursor) -> str:
    sql = (f"EXPLAIN SELECT 1 FROM {KINDS[kind].table} WHERE {KINDS[kind].document_sql()} "
           f"@@ websearch_to_tsquery('english'::regconfig, 'zeppelin')")
    cursor.execute("SET LOCAL enable_seqscan = off")
    cursor.execute(sql)
    return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.postgres
@pytest.mark.parametrize("kind", list(KINDS))
def test_each_search_matches_its_gin_index(kind):
    """The query repeats the index's expression to the letter, so PostgreSQL matches it to the index:
    planned by the owner, who is not subject to row-level security."""
    owner = owner_settings("default")
    with psycopg.connect(host=owner["HOST"], port=owner["PORT"] or 5432, user=owner["USER"],
                         password=owner["PASSWORD"], dbname=connection.settings_dict["NAME"]) as conn:
        with conn.transaction(), conn.cursor() as cursor:
            plan = _plan(kind, cursor)
    assert f"mwms_search_{kind}" in plan, plan


@pytest.mark.postgres
def test_under_row_level_security_the_runtime_roles_own_match_cannot_use_the_index():
    """PostgreSQL uses an index under row-level security only for a leakproof operator, which the
    text-match operator @@ is not (pg_proc.proleakproof): the runtime role's own plan reads the
    tenant's rows. Hence the owner's functions below (README, "Search")."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT proleakproof FROM pg_proc WHERE proname = 'ts_match_vq'")
        assert cursor.fetchone()[0] is False
        plan = _plan("request", cursor)
    assert "mwms_search_request" not in plan, plan


@pytest.mark.postgres
@pytest.mark.parametrize(("function", "kind"), [("mwms_search_ids", key) for key in KINDS]
                         + [("mwms_request_text_ids", "request")])
def test_the_owners_search_functions_match_each_document_as_its_index_does(function, kind):
    """The owner's functions, which the runtime role's search and list call, repeat each kind's
    indexed document to the letter (the plan test above shows the owner's query on that document
    uses the index), and run as the owner, past row-level security."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT prosrc, prosecdef FROM pg_proc WHERE proname = %s", [function])
        source, definer = cursor.fetchone()
    assert definer and KINDS[kind].document_sql(qualify=False) in source


@pytest.mark.postgres
def test_the_search_function_keeps_to_the_claimed_tenant_and_refuses_an_unknown_kind(lineage):
    acme = gs.tenant_create(slug="acme", name="Acme Consulting", reviewer_username="acme_reviewer",
                            reviewer_password=PASSWORD)
    with claims.tenant_claim(acme.id):
        theirs = make_request(tenant_id=acme.id, request_title="Zeppelin of Acme",
                              requesting_brain_id="affiliate", target_brain_id="research")

    def ids(kind="request") -> set:
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM public.mwms_search_ids(%s, %s, %s)", [kind, "zeppelin", 10])
            return {row[0] for row in cursor.fetchall()}

    ours = set(BrainRequest.objects.filter(request_title__icontains="zeppelin").values_list("pk", flat=True))
    assert ours and ids() == ours
    with claims.tenant_claim(acme.id):
        assert ids() == {theirs.pk}
    with pytest.raises(DatabaseError, match="unknown kind"), transaction.atomic():
        ids("users")


@pytest.mark.postgres
def test_the_search_function_answers_the_newest_matches_up_to_its_limit(brains):
    made = [make_request(request_title=f"Zeppelin {i}") for i in range(3)]
    BrainRequest.objects.filter(pk=made[0].pk).update(created_at=made[0].created_at.replace(year=2020))
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM public.mwms_search_ids('request', 'zeppelin', 2)")
        assert {row[0] for row in cursor.fetchall()} == {made[1].pk, made[2].pk}


@pytest.mark.postgres
def test_with_more_matches_than_it_ranks_the_page_says_so_to_headoffice(client, reviewer, owner, monkeypatch):
    from governance_app import search

    monkeypatch.setattr(search, "NEWEST", 2)
    made = [make_request(request_title=f"Zeppelin {i}", requesting_brain_id="affiliate", target_brain_id="research")
            for i in range(3)]
    BrainRequest.objects.filter(pk=made[0].pk).update(created_at=made[0].created_at.replace(year=2020))
    page = search_everything(actor=actor(reviewer), text="zeppelin")
    assert [kind.key for kind in page.crowded] == ["request"]
    assert {hit.title for hit in page.hits} == {"Zeppelin 1", "Zeppelin 2"}  # the oldest was not ranked
    assert search_everything(actor=actor(owner), text="zeppelin").crowded == []
    shown = signed_in(client, reviewer).get(SEARCH, {"q": "zeppelin"})
    assert "More than 2 requests match: the best of the newest 2 of each are shown." in shown.text


@pytest.mark.postgres
@pytest.mark.parametrize("kind", list(KINDS))
def test_walked_newest_first_each_kind_finds_the_same_newest_matches_in_the_same_order(kind):
    """mwms_search_ids walks each kind's rows newest first (governance_app 0023); asked to walk as far
    as it takes, to walk too little and never to walk, it answers the same ids in the same order,
    each with the same rank:
    created_at newest first, then id, ties cut where the sort cuts them, only the claim's tenant."""
    from datetime import timedelta

    from django.utils import timezone

    from governance_app.kernel.db import DEFAULT_TENANT_ID
    acme = gs.tenant_create(slug="acme", name="Acme Consulting", reviewer_username="acme_reviewer",
                            reviewer_password=PASSWORD)
    now = timezone.now()
    for n in range(12):
        at = now - timedelta(minutes=n % 4)     # three rows at each time: ties
        word = "Zeppelin" if n % 3 else "Other"
        request = make_request(request_title=f"{word} demand {n}", created_at=at,
                               request_summary="Prices of zeppelins." if n == 4 else "A summary.")
        task = make_task(request=request, title=f"{word} demand scan {n}", created_at=at)
        make_task_artifact(task=task, artifact_summary=f"{word} demand report {n}", created_at=at)
        make_decision_record(request=request, decision_summary=f"{word} demand decision {n}", created_at=at)
        make_lesson(related_request=request, insight=f"{word} demand lesson {n}", created_at=at)
    with claims.tenant_claim(acme.id):
        theirs = make_request(tenant_id=acme.id, request_title="Zeppelin demand, elsewhere", created_at=now,
                              requesting_brain_id="affiliate", target_brain_id="research")
        make_task(request=theirs, title="Zeppelin demand scan, elsewhere", created_at=now)

    def newest(query: str, limit: int, walk: int | None) -> list[tuple]:
        """The ids, newest first, each with its rank."""
        with claims.tenant_claim(DEFAULT_TENANT_ID), connection.cursor() as cursor:
            cursor.execute("SELECT id, rank FROM public.mwms_search_ids(%s, %s, %s, %s)", [kind, query, limit, walk])
            return cursor.fetchall()

    for query in ("zeppelin", "zeppelin -prices", '"zeppelin demand"', "other or prices", "nothing"):
        for limit in (1, 2, 3, 4, 5, 201):
            sorted_ = newest(query, limit, 0)
            # Walks too short for some (they give way to the sort), enough for others, and the
            # default (NULL: the planner's estimate decides; with these few rows, the sort).
            for walk in (1, 2, 3, 1000, None):
                assert newest(query, limit, walk) == sorted_, (query, limit, walk)
    model = next(m for m in apps.get_models() if m._meta.db_table == KINDS[kind].table)
    matching = Q()
    for name in (KINDS[kind].title, *KINDS[kind].body):
        matching |= Q(**{f"{name}__icontains": "zeppelin"})
    expected = list(model.objects.filter(matching, tenant_id=DEFAULT_TENANT_ID).order_by("-created_at", "id")
                    .values_list("pk", flat=True))
    walked = newest("zeppelin", 201, 1000)
    assert [pk for pk, _rank in walked] == expected and len(expected) == 8  # not the other tenant's
    assert all(rank > 0 for _pk, rank in walked)
    assert newest("zeppelin", 0, 1000) == []


@pytest.mark.postgres
@pytest.mark.parametrize("kind", ["task", "artifact", "decision", "lesson"])   # a request's is computed
def test_each_kinds_stored_document_is_its_indexed_document(kind, lineage):
    """The function walks and ranks each row's stored `search_document` (governance_app 0024), the
    very document its GIN index holds: PostgreSQL generates the column from the same expression, for
    every row written, and a row's own value cannot be written."""
    table = KINDS[kind].table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), count(*) FILTER (WHERE search_document = {KINDS[kind].document_sql()}) "
                       f"FROM {table}")
        rows, same = cursor.fetchone()
        assert rows >= 1 and same == rows
        with pytest.raises(DatabaseError, match="generated"), transaction.atomic():
            cursor.execute(f"UPDATE {table} SET search_document = to_tsvector('english', 'zeppelin')")


@pytest.mark.postgres
def test_a_changed_text_is_found_walked_and_sorted_by_its_new_words(lineage):
    """A request's or a task's text changes after it is written; the task's stored document follows,
    so the walk (which reads it, or computes a request's) and the sort (which reads the index) find
    the new word and not the old."""
    task = lineage.tasks.get()
    BrainRequest.objects.filter(pk=lineage.pk).update(request_title="Airship offer",
                                                      request_summary="Dirigible prices.")
    task.__class__.objects.filter(pk=task.pk).update(title="Scan dirigible demand")

    def ids(kind: str, text: str, walk: int) -> list:
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM public.mwms_search_ids(%s, %s, %s, %s)", [kind, text, 10, walk])
            return [row[0] for row in cursor.fetchall()]

    for walk in (0, 1000):
        assert ids("request", "dirigible", walk) == [lineage.pk], walk
        assert ids("request", "zeppelin", walk) == [], walk
        assert ids("task", "dirigible", walk) == [task.pk], walk
        assert ids("task", "zeppelin", walk) == [], walk


@pytest.fixture
def ties(brains):
    """Matches of three kinds, many with the same rank and the same created_at: ties for the page's
    order to settle (kind, then id)."""
    from django.utils import timezone
    at = timezone.now()
    for n in range(14):
        request = make_request(request_title="Zeppelin offer" if n % 2 else "Offer", created_at=at,
                               request_summary="Zeppelin prices." if n % 2 == 0 else "A summary.")
        task = make_task(request=request, title="Zeppelin scan", created_at=at)
        make_task_artifact(task=task, artifact_summary="Zeppelin report", created_at=at)


@pytest.mark.postgres
def test_headoffices_page_read_from_its_own_rows_is_the_page_of_all_the_matches(reviewer, ties, monkeypatch):
    """For HeadOffice the search orders the function's matches itself and reads only the page's rows;
    page by page, the hits are those the hits query orders from all the matches, ties included."""
    from governance_app import search

    def pages(user) -> list[list]:
        found = [[(hit.kind.key, hit.id, hit.rank) for hit in search_everything(actor=actor(user), text="zeppelin",
                                                                              page=n).hits] for n in (1, 2, 3)]
        assert search_everything(actor=actor(user), text="zeppelin", page=3).has_next is False
        return found

    own = pages(reviewer)
    monkeypatch.setattr(search, "_window", lambda matching, size: matching)   # every match read and ordered
    every = pages(reviewer)
    assert own == every and sum(map(len, own)) == 42 and all(own)
    assert len({rank for page in own for _kind, _pk, rank in page}) > 1          # best first, then the ties


@pytest.mark.postgres
def test_a_match_headoffice_may_not_see_sends_its_page_to_the_hits_query(brains, monkeypatch):
    """A HeadOffice executor token sees only its Brain's tasks: the page read from the function's best
    matches (tasks it may not see) would miss the rows after them, so it is read again from all the
    matches, with the visibility rules."""
    from governance_app import search
    from governance_app.kernel.actors import Actor
    from governance_app.kernel.db import DEFAULT_TENANT_ID
    from governance_app.models import TokenRole

    holder = make_request(request_title="Other", request_summary="A summary.")
    for _ in range(PER_PAGE + 2):
        make_task(request=holder, title="Zeppelin zeppelin zeppelin")     # ranked first, not the executor's
    plain = make_request(request_title="Plain", request_summary="A zeppelin, once.")
    executor = Actor(tenant_id=DEFAULT_TENANT_ID, label="executor", brains=frozenset({"headoffice"}),
                     is_head_office=True, token_role=TokenRole.EXECUTOR)

    own = search_everything(actor=executor, text="zeppelin")
    monkeypatch.setattr(search, "_window", lambda matching, size: matching)
    assert [hit.id for hit in own.hits] == [plain.pk] == [hit.id for hit in search_everything(
        actor=executor, text="zeppelin").hits]


@pytest.mark.postgres
def test_with_nothing_matching_the_hits_are_not_asked_for(reviewer, lineage, django_assert_num_queries):
    headoffice = actor(reviewer)
    with django_assert_num_queries(1):   # only the function's matches
        page = search_everything(actor=headoffice, text="dirigible")
    assert page.hits == [] and not page.has_next


@pytest.mark.postgres
def test_a_requests_signature_holds_every_lexeme_a_query_needs(lineage):
    """A request's walk computes its document only where its signature (governance_app 0025) has
    every bit of the query's: a query joining lexemes by AND or in a phrase has a signature that
    every matching document's holds; one with OR or NOT has none (every row is checked)."""
    def signature(query: str):
        with connection.cursor() as cursor:
            cursor.execute("SELECT public.mwms_search_query_signature(websearch_to_tsquery('english', %s))::text",
                           [query])
            return cursor.fetchone()[0]

    assert signature("zeppelin or airship") is None and signature("zeppelin -airship") is None
    assert signature("the") is None                                   # no lexeme: matches nothing anyway
    with connection.cursor() as cursor:
        for query in ("zeppelin", "zeppelin airship", '"airship offer"', "zeppelins' offers", "it's"):
            cursor.execute(
                "SELECT count(*), count(*) FILTER (WHERE (search_signature & q) = q) FROM mwms_brain_requests, "
                "public.mwms_search_query_signature(websearch_to_tsquery('english', %s)) AS q "
                f"WHERE {KINDS['request'].document_sql()} @@ websearch_to_tsquery('english', %s)", [query, query])
            matching, signed = cursor.fetchone()
            assert signed == matching, query
            assert query == "it's" or matching == 1, query
        cursor.execute(f"SELECT count(*) FILTER (WHERE search_signature = public.mwms_search_signature("
                       f"{KINDS['request'].document_sql()})), count(*) FROM mwms_brain_requests")
        same, rows = cursor.fetchone()
        assert same == rows >= 1
