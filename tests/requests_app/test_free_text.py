"""The request list's free text (issue 16): every word must match the title or a summary, or a
word may be an offer, intake or experiment id in any case; on PostgreSQL through the owner's
`mwms_request_text_ids`, which keeps to the claim's tenant as the policies do."""

import re

import pytest
from django.db import connection
from django.urls import reverse

from governance_app import services as gs
from governance_app.kernel import claims
from governance_app.kernel.db import DEFAULT_TENANT_ID
from governance_app.kernel.db_roles import connected_as_owner
from requests_app.filters import BrainRequestFilter
from requests_app.models import BrainRequest
from tests.conftest import PASSWORD
from tests.factories import make_request

pytestmark = pytest.mark.django_db
LIST = reverse("requests:list")


def found(q: str) -> set:
    return set(BrainRequestFilter({"q": q}, queryset=BrainRequest.objects.all(), brain_choices=[]).qs.values_list("request_title", flat=True))


@pytest.fixture
def requests():
    make_request(request_title="Validate demand for the zeppelin offer", offer_id="OFF-4242")
    make_request(request_title="Price check", request_summary="Compare the zeppelin prices in two markets.")
    make_request(request_title="Creative refresh", response_summary="Rotated the banners.", intake_id="IN-77")
    make_request(request_title="Unrelated", experiment_id="EXP-9")


def test_a_word_matches_a_title_or_any_summary(requests):
    assert found("zeppelin") == {"Validate demand for the zeppelin offer", "Price check"}
    assert found("banners") == {"Creative refresh"}


def test_every_word_must_match(requests):
    assert found("zeppelin markets") == {"Price check"}
    assert found("zeppelin nowhere") == set()


@pytest.mark.parametrize(("q", "title"), [("OFF-4242", "Validate demand for the zeppelin offer"),
                                          ("off-4242", "Validate demand for the zeppelin offer"),
                                          ("in-77", "Creative refresh"), ("EXP-9", "Unrelated")])
def test_an_id_matches_in_any_case(requests, q, title):
    assert title in found(q)


def test_the_list_page_shows_the_matches(client, reviewer, requests):
    client.force_login(reviewer)
    page = client.get(LIST, {"q": "zeppelin"})
    assert page.status_code == 200
    assert "Price check" in page.text and "Creative refresh" not in page.text


# --- PostgreSQL: words, and the tenant rule of the definer function ----------------------------------

@pytest.mark.postgres
def test_a_word_finds_words_starting_with_it_and_their_stems(requests):
    assert found("zeppel") == {"Validate demand for the zeppelin offer", "Price check"}
    assert found("market") == {"Price check"}                 # "markets"
    assert found("the zeppelin") == {"Validate demand for the zeppelin offer", "Price check"}  # a stop word


@pytest.mark.postgres
def test_another_tenants_requests_are_never_found():
    acme = gs.tenant_create(slug="acme", name="Acme Consulting", reviewer_username="acme_reviewer",
                            reviewer_password=PASSWORD)
    ours = make_request(request_title="Zeppelin demand", offer_id="OFF-1")
    with claims.tenant_claim(acme.id):
        theirs = make_request(tenant_id=acme.id, request_title="Zeppelin demand", offer_id="OFF-1",
                              requesting_brain_id="affiliate", target_brain_id="research")

    def ids(tenant_id) -> set:
        with claims.tenant_claim(tenant_id), connection.cursor() as cursor:
            cursor.execute("SELECT public.mwms_request_text_ids(%s, %s)", ["zeppelin:*", ["OFF-1"]])
            return {row[0] for row in cursor.fetchall()}

    assert ids(DEFAULT_TENANT_ID) == {ours.pk}
    assert ids(acme.id) == {theirs.pk}
    with connection.cursor() as cursor:                        # no claim: nothing
        cursor.execute("SELECT set_config('request.jwt.claims', '', true)")
        cursor.execute("SELECT count(*) FROM public.mwms_request_text_ids(%s, %s)", ["zeppelin:*", ["OFF-1"]])
        assert cursor.fetchone()[0] == 0
    with claims.tenant_claim(DEFAULT_TENANT_ID):
        assert found("zeppelin") == {"Zeppelin demand"} and found("OFF-1") == {"Zeppelin demand"}
        assert set(BrainRequestFilter({"q": "zeppelin"}, queryset=BrainRequest.objects.all(), brain_choices=[]).qs) == {ours}


@pytest.mark.postgres
def test_free_text_alone_newest_first_pages_the_newest_matches(client, reviewer):
    # The list's free text alone, newest first: its pages come from the owner's newest matches
    # (requests_app.selectors.NewestMatchesPaginator), the same rows in the same order as the
    # filtered list, and its count from the capped count.
    from datetime import timedelta

    from django.utils import timezone

    from requests_app.selectors import NewestMatchesPaginator

    now = timezone.now()
    for i in range(30):
        request = make_request(request_title=f"Zeppelin {i:02}")
        BrainRequest.objects.filter(pk=request.pk).update(updated_at=now - timedelta(minutes=i))
    make_request(request_title="Unrelated")
    client.force_login(reviewer)
    newest = [f"Zeppelin {i:02}" for i in range(30)]
    first, second = (client.get(LIST, {"q": "zeppelin", "page": n}).context["page"] for n in (1, 2))
    assert isinstance(first.paginator, NewestMatchesPaginator)
    assert [r.request_title for r in first.object_list] == newest[:25] and first.has_next()
    assert [r.request_title for r in second.object_list] == newest[25:] and not second.has_next()
    assert first.paginator.count == 30 and not first.paginator.estimated
    sorted_page = client.get(LIST, {"q": "zeppelin", "sort": "-updated"}).context["page"]
    assert isinstance(sorted_page.paginator, NewestMatchesPaginator)
    other = client.get(LIST, {"q": "zeppelin", "sort": "title"}).context["page"]  # another order: the filtered list
    assert not isinstance(other.paginator, NewestMatchesPaginator)
    assert [r.request_title for r in other.object_list] == sorted(newest)[:25] and other.paginator.count == 30


@pytest.mark.postgres
def test_the_newest_matches_and_their_count_keep_to_the_claims_tenant():
    acme = gs.tenant_create(slug="acme", name="Acme Consulting", reviewer_username="acme_reviewer",
                            reviewer_password=PASSWORD)
    ours = make_request(request_title="Zeppelin demand")
    with claims.tenant_claim(acme.id):
        make_request(tenant_id=acme.id, request_title="Zeppelin demand", requesting_brain_id="affiliate",
                     target_brain_id="research")

    def read(tenant_id) -> tuple[list, int]:
        with claims.tenant_claim(tenant_id), connection.cursor() as cursor:
            cursor.execute("SELECT public.mwms_request_text_newest(%s, %s, %s)", ["zeppelin:*", ["ZEPPELIN"], 10])
            newest = [row[0] for row in cursor.fetchall()]
            cursor.execute("SELECT public.mwms_request_text_count(%s, %s, %s)", ["zeppelin:*", ["ZEPPELIN"], 10])
            return newest, cursor.fetchone()[0]

    assert read(DEFAULT_TENANT_ID) == ([ours.pk], 1)
    with connection.cursor() as cursor:                        # no claim: nothing
        cursor.execute("SELECT set_config('request.jwt.claims', '', true)")
        cursor.execute("SELECT public.mwms_request_text_count(%s, %s, %s)", ["zeppelin:*", ["ZEPPELIN"], 10])
        assert cursor.fetchone()[0] == 0


@pytest.mark.postgres
def test_which_of_these_requests_match_keeps_to_the_claims_tenant_whatever_ids_it_is_given():
    """mwms_request_text_match (requests_app 0027) is the runtime role's to call with any ids: one
    of another tenant is never answered, and without a claim nothing is."""
    acme = gs.tenant_create(slug="acme", name="Acme Consulting", reviewer_username="acme_reviewer",
                            reviewer_password=PASSWORD)
    ours, other = make_request(request_title="Zeppelin demand"), make_request(request_title="Balloon demand")
    with claims.tenant_claim(acme.id):
        theirs = make_request(tenant_id=acme.id, request_title="Zeppelin demand", requesting_brain_id="affiliate",
                              target_brain_id="research")
    asked = [ours.pk, other.pk, theirs.pk]

    def match(tenant_id) -> set:
        with claims.tenant_claim(tenant_id), connection.cursor() as cursor:
            cursor.execute("SELECT public.mwms_request_text_match(%s, %s, %s::uuid[])", ["zeppelin:*", ["ZEPPELIN"], asked])
            return {row[0] for row in cursor.fetchall()}

    assert match(DEFAULT_TENANT_ID) == {ours.pk}
    assert match(acme.id) == {theirs.pk}
    with connection.cursor() as cursor:                        # no claim: nothing
        cursor.execute("SELECT set_config('request.jwt.claims', '', true)")
        cursor.execute("SELECT public.mwms_request_text_match(%s, %s, %s::uuid[])", ["zeppelin:*", ["ZEPPELIN"], asked])
        assert cursor.fetchall() == []


@pytest.mark.postgres
def test_a_common_word_walked_newest_first_finds_the_same_newest_matches_in_the_same_order():
    """mwms_request_text_newest walks the list's order first (requests_app 0024); asked to walk
    as far as it takes and never to walk, it answers the same."""
    from datetime import timedelta

    from django.utils import timezone
    acme = gs.tenant_create(slug="acme", name="Acme Consulting", reviewer_username="acme_reviewer",
                            reviewer_password=PASSWORD)
    now = timezone.now()
    for n in range(12):
        made = make_request(request_title=f"Zeppelin demand {n}" if n % 3 else f"Other {n}",
                            request_summary="Prices of zeppelins." if n == 4 else "A summary.", offer_id=f"OFF-{n}")
        BrainRequest.objects.filter(pk=made.pk).update(updated_at=now - timedelta(minutes=n % 5))  # ties too
    with claims.tenant_claim(acme.id):
        make_request(tenant_id=acme.id, request_title="Zeppelin demand, elsewhere", requesting_brain_id="affiliate",
                     target_brain_id="research")

    def newest(query: str, ids: list, limit: int, walk: int) -> list:
        with claims.tenant_claim(DEFAULT_TENANT_ID), connection.cursor() as cursor:
            cursor.execute("SELECT public.mwms_request_text_newest(%s, %s, %s, %s)", [query, ids, limit, walk])
            return [row[0] for row in cursor.fetchall()]

    for query, ids in (("zeppelin:*", ["ZEPPELIN"]), ("demand:* & zeppelin:*", []), ("nothing:*", ["OFF-7"])):
        for limit in (1, 3, 26):
            walked, sorted_ = newest(query, ids, limit, 1000), newest(query, ids, limit, 0)
            assert newest(query, ids, limit, 1) == sorted_  # a walk too short gives way to the sorted matches
            assert walked == sorted_, (query, limit)
    everything = newest("zeppelin:*", ["ZEPPELIN"], 26, 1000)
    expected = list(BrainRequest.objects.filter(tenant_id=DEFAULT_TENANT_ID, request_title__icontains="zeppelin")
                    .order_by("-updated_at", "-id").values_list("pk", flat=True))
    assert everything == expected and len(expected) == 8  # the other tenant's is not among them
    assert newest("nothing:*", ["OFF-7"], 26, 1000) == [BrainRequest.objects.get(offer_id="OFF-7").pk]
    assert newest("zeppelin:*", [], 0, 1000) == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_word_far_more_common_than_the_cap_is_counted_by_the_planners_estimate(client, reviewer, monkeypatch):
    """mwms_request_text_count (requests_app 0026): when the planner expects ten times the cap or
    more, it answers that estimate and reads no match; a rarer word is still counted, exactly below
    the cap; the list says "about" of the estimate only."""
    # Words enough for the statistics to hold a hundred or more (PostgreSQL estimates a prefix,
    # as the list's words are, from them only then).
    for n in range(66):
        make_request(request_title=f"{'Balloon' if n < 6 else 'Zeppelin' if n < 46 else 'Airship'} demand {n}",
                     request_summary=f"Markets alpha{n} beta{n} gamma{n}.")
    with connected_as_owner() as swapped, connection.cursor() as cursor:
        assert swapped
        cursor.execute("ANALYZE public.mwms_brain_requests")

    def count(query: str, cap: int) -> int:
        with claims.tenant_claim(DEFAULT_TENANT_ID), connection.cursor() as cursor:
            cursor.execute("SELECT public.mwms_request_text_count(%s, %s, %s)", [query, [query.upper()], cap])
            return cursor.fetchone()[0]

    assert count("balloon:*", 100) == 6                         # rare: exact
    assert count("zeppelin:*", 100) == 40                       # under ten times the cap: exact
    assert 20 <= count("zeppelin:*", 2) <= 80                   # far above the cap: the estimate, not 2
    assert count("balloon:*", 2) >= 2                           # counted to the cap: at least the cap

    monkeypatch.setattr("requests_app.selectors.EXACT_COUNT_UP_TO", 2)
    client.force_login(reviewer)
    page = client.get(LIST, {"q": "zeppelin"})
    assert page.status_code == 200
    estimated = re.search(r"about ([\d,]+) requests \(estimated\)", page.text)
    assert estimated and int(estimated[1].replace(",", "")) >= 20
    page = client.get(LIST, {"q": "balloon"})                  # one page of them: its rows are the count
    assert "(estimated)" not in page.text and "6 requests" in page.text

    # No match is read for the estimate: with the statistics out of date (38 of the 40 retitled,
    # fewer changes than make autovacuum analyse again), it still says about 40, not 2.
    with claims.tenant_claim(DEFAULT_TENANT_ID):
        retitled = BrainRequest.objects.filter(request_title__startswith="Zeppelin").order_by("created_at")[:38]
        assert BrainRequest.objects.filter(pk__in=list(retitled.values_list("pk", flat=True))).update(
            request_title="Dirigible") == 38
    assert count("zeppelin:*", 3) >= 30
    assert count("zeppelin:*", 100) == 2


# --- PostgreSQL: free text with other filters or another order, walked (requests_app 0027) --------

@pytest.fixture
def walked_list():
    """70 requests, newest created last: every third is a zeppelin; the priorities alternate; five
    are between Ads and Finance, which the Research owner does not see (two of them zeppelins)."""
    from datetime import timedelta

    from django.utils import timezone
    start = timezone.now() - timedelta(days=1)
    made = []
    for n in range(70):
        hidden = n in (3, 10, 30, 31, 33)
        request = make_request(request_title=f"{'Zeppelin' if n % 3 == 0 or n == 31 else 'Other'} demand {n:02d}",
                               priority="high" if n % 2 else "low",
                               **({"requesting_brain_id": "ads", "target_brain_id": "finance"} if hidden else {}))
        BrainRequest.objects.filter(pk=request.pk).update(created_at=start + timedelta(minutes=n))
        made.append(request)
    return made


def list_page(client, user, **query) -> tuple[list, object]:
    client.force_login(user)
    response = client.get(LIST, query)
    assert response.status_code == 200
    return [row.pk for row in response.context["page"].object_list], response.context["page"].paginator


def filtered(user, query: dict) -> list:
    """The same list's ids in its order, read the plain way: the filtered queryset, no walk."""
    from requests_app import selectors
    from tests.engine import actor
    rows = BrainRequestFilter(query, queryset=selectors.requests_for_list(actor=actor(user)), brain_choices=[]).qs
    return list(rows.values_list("pk", flat=True))


@pytest.mark.postgres
@pytest.mark.parametrize("query", [{"q": "zeppelin", "sort": "created"}, {"q": "zeppelin", "sort": "-created"},
                                   {"q": "zeppelin", "priority": "high"}, {"q": "zeppelin demand", "sort": "title"}])
def test_free_text_with_another_filter_or_order_pages_the_same_rows_in_the_same_order(
        client, reviewer, owner, walked_list, monkeypatch, query):
    from requests_app.selectors import TextWalkPaginator
    monkeypatch.setattr("requests_app.views.PAGE_SIZE", 3)
    monkeypatch.setattr(TextWalkPaginator, "walk_rows_per_match", 4)   # 16 rows walked for page 1,
    monkeypatch.setattr(TextWalkPaginator, "walk_first_rows_per_match", 1)   # the first 4 asked first
    for user in (reviewer, owner):
        expected = filtered(user, query)
        assert expected and len(expected) > 6
        seen, number = [], 1
        while True:
            rows, paginator = list_page(client, user, **query, page=number)
            assert isinstance(paginator, TextWalkPaginator)
            seen += rows
            if not rows or len(seen) >= len(expected):
                break
            number += 1
        assert seen == expected                  # and so the Research owner never sees Ads → Finance


@pytest.mark.postgres
def test_the_walked_lists_count_is_exact_when_the_walk_reached_its_end_and_an_estimate_when_it_stopped(
        client, reviewer, walked_list, monkeypatch):
    from requests_app.selectors import TextWalkPaginator
    monkeypatch.setattr("requests_app.views.PAGE_SIZE", 3)
    query = {"q": "zeppelin", "sort": "created"}
    _rows, paginator = list_page(client, reviewer, **query)     # 80 rows walked: all 70
    assert (paginator.count, paginator.estimated) == (len(filtered(reviewer, query)), False)

    monkeypatch.setattr(TextWalkPaginator, "walk_rows_per_match", 4)
    rows, paginator = list_page(client, reviewer, **query)     # 16 rows walked: 6 zeppelins, 4 wanted
    assert paginator.walk_rate is not None and paginator.estimated and paginator.count >= 4
    assert rows == filtered(reviewer, query)[:3]

    rows, paginator = list_page(client, reviewer, q="demand 05", sort="created")  # in 16 rows: too rare
    assert paginator.walk_rate is None and not paginator.estimated
    assert rows == filtered(reviewer, {"q": "demand 05", "sort": "created"})[:3]


@pytest.mark.postgres
def test_an_order_the_walk_cannot_serve_sorts_the_newest_matches_only_and_says_so(
        client, reviewer, owner, walked_list, monkeypatch):
    """Sorted by title the zeppelins come after every "Other": the walk in title order finds none.
    The page then orders the newest `candidates` matches (of the rows the person may see) in that
    order, says so, and offers no page past them; its count is an estimate, never their number."""
    from requests_app.selectors import TextWalkPaginator
    monkeypatch.setattr("requests_app.views.PAGE_SIZE", 3)
    monkeypatch.setattr(TextWalkPaginator, "walk_rows_per_match", 4)
    monkeypatch.setattr(TextWalkPaginator, "walk_first_rows_per_match", 1)
    monkeypatch.setattr(TextWalkPaginator, "candidates", 4)
    for user in (reviewer, owner):
        newest = filtered(user, {"q": "zeppelin", "sort": "-updated"})[:4]
        expected = [pk for pk in filtered(user, {"q": "zeppelin", "sort": "title"}) if pk in newest]
        assert len(expected) == 4
        client.force_login(user)
        first = client.get(LIST, {"q": "zeppelin", "sort": "title"})
        page = first.context["page"]
        assert [row.pk for row in page.object_list] == expected[:3] and page.has_next()
        assert page.paginator.sorted_among == 4 and page.paginator.estimated
        assert "in this order among the newest 4 matches only" in first.text and "(estimated)" in first.text
        last = client.get(LIST, {"q": "zeppelin", "sort": "title", "page": 2})
        page = last.context["page"]
        assert [row.pk for row in page.object_list] == expected[3:] and not page.has_next()
        assert page.paginator.estimated and "among the newest 4 matches only" in last.text
        assert "4 requests ·" not in last.text                     # not their number as the count

    # When the newest walk reaches the list's end (20 candidates: 80 rows walked for them, of 70),
    # every match is known: sorted exactly, and counted.
    monkeypatch.setattr(TextWalkPaginator, "candidates", 20)
    rows, paginator = list_page(client, reviewer, q="zeppelin", sort="title")
    assert rows == filtered(reviewer, {"q": "zeppelin", "sort": "title"})[:3] and not paginator.sorted_among
    assert (paginator.count, paginator.estimated) == (len(filtered(reviewer, {"q": "zeppelin"})), False)


# --- PostgreSQL: the API's free text, walked as the list walks it (issue 16) ----------------------

def api_filtered(user_or_actor, query: dict) -> list:
    """The API's list's ids in its order (newest created first unless sorted), read the plain way."""
    from requests_app import selectors
    rows = BrainRequestFilter(query, brain_choices=[], queryset=selectors.requests_visible_to(user_or_actor)
                              .order_by("-created_at", "-id")).qs
    return list(rows.values_list("pk", flat=True))


@pytest.mark.postgres
@pytest.mark.parametrize("query", [{"q": "zeppelin"}, {"q": "zeppelin", "sort": "created"},
                                   {"q": "zeppelin", "priority": "high"}, {"q": "zeppelin demand", "sort": "-updated"}])
@pytest.mark.parametrize("step", [3, 4])
def test_the_apis_free_text_pages_the_plain_querys_rows_and_counts_them_honestly(walked_list, monkeypatch, query, step):
    """GET /api/v1/requests?q= walks the list without its free text (selectors.free_text_slice):
    every offset's rows are the plain filtered query's, as HeadOffice and as a Brain that sees
    part of the list (never the Ads → Finance requests); the count is exact at the list's end and
    wherever it is at most the cap, an estimate (said so) only above it."""
    from governance_app.kernel.actors import actor_for_token
    from governance_app.models import ApiToken
    from requests_app.selectors import TextWalkPaginator
    from tests.api_client import api_as

    monkeypatch.setattr(TextWalkPaginator, "walk_rows_per_match", 4)        # 16 rows walked for 4 wanted,
    monkeypatch.setattr(TextWalkPaginator, "walk_first_rows_per_match", 1)  # the first 4 asked first
    walks = []
    monkeypatch.setattr(TextWalkPaginator, "_matching", lambda self, keys, real=TextWalkPaginator._matching: (
        walks.append(len(keys)), real(self, keys))[1])
    for api in (api_as("headoffice", "headoffice"), api_as("affiliate", "brain")):
        token = ApiToken.objects.get(label=api.label)
        expected = api_filtered(actor_for_token(token), query)
        assert len(expected) > 2 * step
        seen, offset = [], 0
        while True:
            response = api.get("/requests", {**query, "limit": step, "offset": offset})
            assert response.status_code == 200, response.json()
            body = response.json()
            items = [item["request_id"] for item in body["items"]]
            assert items == [str(pk) for pk in expected[offset:offset + step]]
            assert body["count_estimated"] is False and body["count"] == len(expected)   # all under the cap
            if not items:
                break
            seen += items
            offset += step
        assert seen == [str(pk) for pk in expected]
        hidden = {str(r.pk) for r in walked_list if r.requesting_brain_id == "ads"}
        assert bool(hidden & set(seen)) is (api.label == "headoffice-headoffice")   # only HeadOffice sees them
    assert walks   # the walk answered the rows (not the filtered query)

    # Above the cap (2 here) the count is an estimate and says so; the rows stay the plain query's.
    monkeypatch.setattr("requests_app.selectors.EXACT_COUNT_UP_TO", 2)
    monkeypatch.setattr("governance_app.kernel.pages.EXACT_COUNT_UP_TO", 2)
    api = api_as("headoffice", "headoffice", label="ho-capped")
    body = api.get("/requests", {**query, "limit": step}).json()
    expected = api_filtered(actor_for_token(ApiToken.objects.get(label="ho-capped")), query)
    assert [item["request_id"] for item in body["items"]] == [str(pk) for pk in expected[:step]]
    assert body["count_estimated"] is True and body["count"] >= 3


@pytest.mark.postgres
def test_a_list_already_newest_first_is_not_walked_for_its_newest_matches_again(
        client, owner, walked_list, monkeypatch):
    """A Brain owner's free text, newest first (the list's default order), too rare for its walk:
    the page is the filtered list's, exactly, not the newest matches walked for a second time."""
    from requests_app.selectors import TextWalkPaginator
    monkeypatch.setattr("requests_app.views.PAGE_SIZE", 3)
    monkeypatch.setattr(TextWalkPaginator, "walk_rows_per_match", 2)
    monkeypatch.setattr(TextWalkPaginator, "walk_first_rows_per_match", 1)
    monkeypatch.setattr(TextWalkPaginator, "candidates", 4)
    walks = []
    monkeypatch.setattr(TextWalkPaginator, "_walk", lambda self, rows, wanted, real=TextWalkPaginator._walk: (
        walks.append(list(rows.query.order_by)), real(self, rows, wanted))[1])
    rows, paginator = list_page(client, owner, q="demand 05")      # one request: rare in 8 rows
    assert rows == filtered(owner, {"q": "demand 05"}) and len(rows) == 1
    assert not paginator.sorted_among and len(walks) == 1
