"""Saved views and list columns in the browser's terms: the nav, the saved views page, saving from the
request list, opening, renaming, deleting, and the list's columns (STYLE.md: happy path, wrong
method, anonymous, outsider, htmx, fixed query counts)."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from governance_app import services as gs
from governance_app.kernel import claims
from requests_app import saved_views as sv
from requests_app.models import SavedView
from tests.conftest import PASSWORD, said
from tests.engine import actor, new_request, routed_request
from tests.factories import make_saved_view
from tests.requests_app.test_views import HTMX, bulk_requests

pytestmark = pytest.mark.django_db
SAVE = reverse("requests:saved_view_save")
LIST = reverse("requests:list")


def signed_in(client, user):
    client.force_login(user)
    return client


# --- the nav -------------------------------------------------------------------------------------

def test_the_nav_lists_your_views_and_the_shared_ones_not_someone_elses_private_one(client, reviewer, owner):
    make_saved_view(owner=reviewer, name="My urgent ones")
    shared = make_saved_view(owner=owner, name="Research shared", visibility="shared")
    make_saved_view(owner=owner, name="Research private")
    page = signed_in(client, reviewer).get(reverse("governance:dashboard"))
    # The page draws the nav's saved views only when it is opened: the page asks for them then.
    nav = reverse("requests:saved_views_nav")
    assert f'hx-get="{nav}" hx-trigger="toggle from:#nav-saved-views once"' in page.text
    assert "My urgent ones" not in page.text and reverse("requests:saved_views") in page.text
    listed = client.get(nav, HTTP_HX_REQUEST="true")
    assert "My urgent ones" in listed.text and "Research shared" in listed.text
    assert "Research private" not in listed.text
    assert reverse("requests:saved_view_open", args=[shared.pk]) in listed.text
    assert reverse("requests:saved_views") in listed.text  # the manage link stays


def test_the_navs_saved_views_say_so_when_there_are_none_and_need_a_sign_in(client, reviewer):
    nav = reverse("requests:saved_views_nav")
    assert client.get(nav).status_code == 302  # to the sign-in page
    listed = signed_in(client, reviewer).get(nav)
    assert listed.status_code == 200 and "None yet" in listed.text


# --- saving --------------------------------------------------------------------------------------

def test_saving_the_lists_filter_returns_to_it_with_the_view_named(client, reviewer):
    answer = signed_in(client, reviewer).post(SAVE, {"name": "Routed high", "visibility": "shared",
                                                    "query": "status=routed&priority=high&q=&page=2"})
    view = SavedView.objects.get()
    assert answer.status_code == 302 and answer["Location"] == f"{LIST}?status=routed&priority=high&view={view.pk}"
    assert said(answer) == ["Saved the view “Routed high” for everyone in the organisation."]
    assert list(SavedView.objects.values_list("name", "visibility", "query")) == [
        ("Routed high", "shared", "status=routed&priority=high")]


def test_the_list_offers_to_save_its_current_filter(client, reviewer):
    page = signed_in(client, reviewer).get(LIST, {"status": "routed", "page": "1"})
    assert 'action="/requests/views/save/"' in page.text
    assert '<input type="hidden" name="query" value="status=routed">' in page.text


@pytest.mark.parametrize("fields, words", [
    ({"name": ""}, "Give the view a name"),
    ({"name": "Broken", "query": "status=sideways"}, "Status: Select a valid choice. sideways"),
    ({"name": "x" * 201}, "name: at most 200 characters."),
    ({"name": "Long search", "query": "q=" + "x" * 2001}, "The filter is too long to save"),
    ({"name": "Odd", "visibility": "public"}, "only you, or everyone in the organisation"),
])
def test_a_refused_save_comes_back_with_the_reason_and_saves_nothing(client, reviewer, fields, words):
    answer = signed_in(client, reviewer).post(SAVE, {"visibility": "private", "query": "", **fields})
    assert answer.status_code == 200
    assert words in answer.content.decode()
    assert 'id="save-view"' in answer.content.decode()  # the form again, to fix and send
    assert SavedView.objects.count() == 0


def test_a_duplicate_name_is_refused_and_the_first_view_kept(client, reviewer):
    make_saved_view(owner=reviewer, name="Mine", query="status=new")
    answer = signed_in(client, reviewer).post(SAVE, {"name": "Mine", "visibility": "private", "query": "status=routed"})
    assert answer.status_code == 200 and "You already have a view named “Mine”" in answer.content.decode()
    assert list(SavedView.objects.values_list("query", flat=True)) == ["status=new"]


def test_saving_takes_a_post_only(client, reviewer):
    assert signed_in(client, reviewer).get(SAVE).status_code == 405


def test_saving_sends_anonymous_visitors_to_sign_in(client):
    answer = client.post(SAVE, {"name": "X", "visibility": "private", "query": ""})
    assert answer.status_code == 302 and answer["Location"].startswith(reverse("login"))
    assert SavedView.objects.count() == 0


# --- opening -----------------------------------------------------------------------------------

def test_opening_a_shared_view_shows_the_list_as_the_opener_may_see_it(client, reviewer, owner, outsider):
    routed_request(actor(owner), actor(reviewer), request_title="Routed research offer")
    new_request(actor(owner), request_title="Still new")
    view = make_saved_view(owner=reviewer, name="Routed", visibility="shared", query="status=routed")
    answer = signed_in(client, owner).get(reverse("requests:saved_view_open", args=[view.pk]), follow=True)
    assert answer.redirect_chain == [(f"{LIST}?status=routed&view={view.pk}", 302)]
    assert "Routed research offer" in answer.text and "Still new" not in answer.text
    # The Content Brain's owner opens the same view and sees none of research's requests.
    answer = signed_in(client, outsider).get(reverse("requests:saved_view_open", args=[view.pk]), follow=True)
    assert "Routed research offer" not in answer.text and "No requests match" in answer.text


def test_someone_elses_private_view_is_not_found(client, reviewer, owner):
    view = make_saved_view(owner=owner, name="Private")
    assert signed_in(client, reviewer).get(reverse("requests:saved_view_open", args=[view.pk])).status_code == 404


def test_the_outsider_of_another_tenant_cannot_see_or_open_a_shared_view(client, reviewer, brains):
    view = make_saved_view(owner=reviewer, name="Demo tenant shared", visibility="shared")
    acme = gs.tenant_create(slug="acme", name="Acme", reviewer_username="acme_reviewer", reviewer_password=PASSWORD)
    with claims.tenant_claim(acme.id):
        client.force_login(get_user_model().objects.get(username="acme_reviewer"))
    nav = client.get(reverse("requests:saved_views"))
    opened = client.get(reverse("requests:saved_view_open", args=[view.pk]))
    deleted = client.post(reverse("requests:saved_view_delete", args=[view.pk]))
    assert nav.status_code == 200 and "Demo tenant shared" not in nav.content.decode()
    assert opened.status_code == 404 and deleted.status_code == 404
    assert SavedView.objects.filter(pk=view.pk).exists()


def test_opening_takes_a_get_only_and_a_signed_in_person(client, reviewer):
    view = make_saved_view(owner=reviewer)
    path = reverse("requests:saved_view_open", args=[view.pk])
    assert client.get(path).status_code == 302 and client.get(path)["Location"].startswith(reverse("login"))
    assert signed_in(client, reviewer).post(path).status_code == 405


# --- the saved views page: rename and delete ------------------------------------------------------

def test_the_page_offers_rename_and_delete_of_your_own_and_only_open_of_others(client, reviewer, owner):
    mine = make_saved_view(owner=owner, name="Mine")
    theirs = make_saved_view(owner=reviewer, name="HeadOffice shared", visibility="shared")
    page = signed_in(client, owner).get(reverse("requests:saved_views"))
    assert page.status_code == 200
    assert reverse("requests:saved_view_rename", args=[mine.pk]) in page.text
    assert reverse("requests:saved_view_delete", args=[mine.pk]) in page.text
    assert reverse("requests:saved_view_open", args=[theirs.pk]) in page.text
    assert reverse("requests:saved_view_rename", args=[theirs.pk]) not in page.text
    assert reverse("requests:saved_view_delete", args=[theirs.pk]) not in page.text


def test_renaming_your_view(client, owner):
    view = make_saved_view(owner=owner, name="Old")
    answer = signed_in(client, owner).post(reverse("requests:saved_view_rename", args=[view.pk]), {"name": "New"})
    assert answer.status_code == 302 and said(answer) == ["Renamed the view to “New”."]
    assert SavedView.objects.get(pk=view.pk).name == "New"


def test_a_refused_rename_says_why_and_changes_nothing(client, owner):
    view = make_saved_view(owner=owner, name="Old")
    answer = signed_in(client, owner).post(reverse("requests:saved_view_rename", args=[view.pk]), {"name": " "})
    assert answer.status_code == 200 and "Give the view a name" in answer.content.decode()
    assert SavedView.objects.get(pk=view.pk).name == "Old"


def test_someone_elses_shared_view_is_not_yours_to_rename(client, reviewer, owner):
    view = make_saved_view(owner=reviewer, name="Theirs", visibility="shared")
    answer = signed_in(client, owner).post(reverse("requests:saved_view_rename", args=[view.pk]), {"name": "Mine"})
    assert answer.status_code == 403 and "Only the person who saved a view" in answer.content.decode()
    assert SavedView.objects.get(pk=view.pk).name == "Theirs"


def test_headoffice_deletes_a_shared_view_a_brain_owner_is_refused(client, reviewer, owner, other_owner):
    view = make_saved_view(owner=owner, name="Shared", visibility="shared")
    path = reverse("requests:saved_view_delete", args=[view.pk])
    refused = signed_in(client, other_owner).post(path)
    assert refused.status_code == 403 and "or HeadOffice for a shared view" in refused.content.decode()
    assert SavedView.objects.filter(pk=view.pk).exists()
    answer = signed_in(client, reviewer).post(path)
    assert answer.status_code == 302 and said(answer) == ["Deleted the view “Shared”."]
    assert not SavedView.objects.filter(pk=view.pk).exists()


def test_rename_and_delete_take_a_post_only(client, owner):
    view = make_saved_view(owner=owner)
    signed_in(client, owner)
    for name in ("requests:saved_view_rename", "requests:saved_view_delete"):
        assert client.get(reverse(name, args=[view.pk])).status_code == 405
    assert SavedView.objects.filter(pk=view.pk, name=view.name).exists()


def test_the_saved_views_page_sends_anonymous_visitors_to_sign_in(client):
    answer = client.get(reverse("requests:saved_views"))
    assert answer.status_code == 302 and answer["Location"].startswith(reverse("login"))


# --- columns -----------------------------------------------------------------------------------

def test_choosing_columns_changes_the_lists_headings_and_their_order(client, reviewer, owner):
    new_request(actor(owner), request_title="Collagen gummies")
    answer = signed_in(client, reviewer).post(reverse("requests:list_columns"), {
        "columns": ["request", "status", "created"], "position_created": "1", "position_request": "2",
        "position_status": "3", "query": "q=&status=new"})
    assert answer.status_code == 302 and answer["Location"] == f"{LIST}?status=new"
    assert said(answer) == ["The request list shows Created, Request, Status."]
    page = client.get(LIST, **HTMX)
    head = page.text[page.text.rindex("<thead>"):page.text.rindex("</thead>")]  # the list's, after the columns form
    assert head.index(">Created<") < head.index(">Request<") < head.index(">Status<")
    assert "Priority" not in head and "Collagen gummies" in page.text
    row = page.text[page.text.rindex("<tbody>"):page.text.rindex("</tbody>")]  # the cells follow the headings
    assert row.index('class="small muted"') < row.index('<td class="title"') < row.index('class="badge badge-new"')
    assert row.count("<td") == 4  # the pick box and the three chosen columns, no other


def test_an_unknown_column_is_refused_and_the_columns_kept(client, reviewer):
    sv.list_columns_set(actor=actor(reviewer), columns=["request", "status"])
    answer = signed_in(client, reviewer).post(reverse("requests:list_columns"), {"columns": ["request", "colour"]})
    assert answer.status_code == 200 and "Unknown column “colour”" in answer.content.decode()
    assert sv.list_columns_for(actor=actor(reviewer)) == ["request", "status"]


def test_columns_back_to_the_default(client, reviewer):
    sv.list_columns_set(actor=actor(reviewer), columns=["request"])
    signed_in(client, reviewer).post(reverse("requests:list_columns"), {"reset": "1"})
    assert sv.list_columns_for(actor=actor(reviewer)) == sv.DEFAULT_COLUMNS


def test_the_columns_form_is_fetched_with_the_persons_columns_and_the_lists_filter(client, reviewer):
    sv.list_columns_set(actor=actor(reviewer), columns=["request", "status"])
    form = signed_in(client, reviewer).get(reverse("requests:list_columns"), {"status": "routed", "page": "2"}, **HTMX)
    text = form.content.decode()
    assert form.status_code == 200 and "<html" not in text
    assert '<input type="hidden" name="query" value="status=routed">' in text
    assert 'value="status" id="column-status" checked' in text and 'value="type" id="column-type" >' in text


def test_columns_take_a_get_or_a_post_only(client, reviewer):
    assert signed_in(client, reviewer).put(reverse("requests:list_columns")).status_code == 405


@pytest.mark.parametrize("rows", [5, 200])
def test_the_list_with_chosen_columns_takes_a_fixed_number_of_queries(client, reviewer, rows,
                                                                      django_assert_max_num_queries):
    bulk_requests(rows)
    sv.list_columns_set(actor=actor(reviewer), columns=["created", "request", "assignee", "sla", "tasks"])
    make_saved_view(owner=reviewer, name="In the nav", visibility="shared")
    signed_in(client, reviewer)
    with django_assert_max_num_queries(9):  # +1: which saved view is open (issue 14)
        page = client.get(LIST)
    assert page.status_code == 200
    assert page.text.count('<td class="title">') == min(rows, 25)


def test_the_lists_htmx_table_carries_the_save_form_and_columns_link_for_the_new_filter(client, reviewer):
    # The filter form swaps the table without reloading the page: what is inside it follows the filter.
    page = signed_in(client, reviewer).get(LIST, {"status": "routed"}, **HTMX)
    assert page.text.lstrip().startswith('<div id="request-table"') and "<html" not in page.text
    assert page.text.count('<input type="hidden" name="query" value="status=routed">') == 1
    assert 'hx-get="/requests/columns/?status=routed"' in page.text


# --- the view that is open, updating it, sharing it -----------------------------------------------------

def update_url(view) -> str:
    return reverse("requests:saved_view_update", args=[view.pk])


def test_the_list_says_which_view_is_open_when_its_filter_equals_the_views(client, reviewer):
    make_saved_view(owner=reviewer, name="Late high-priority", query="priority=high&sla=breached")
    page = signed_in(client, reviewer).get(LIST, {"sla": "breached", "priority": "high"})
    assert 'id="current-view"' in page.text and "View: <strong>Late high-priority</strong>" in page.text
    assert "changed since it was saved" not in page.text
    assert "View:" not in signed_in(client, reviewer).get(LIST, {"priority": "low"}).text


def test_a_changed_filter_of_an_opened_view_offers_to_update_it_and_updating_keeps_one_view(client, reviewer):
    view = make_saved_view(owner=reviewer, name="Late high-priority", query="priority=high")
    opened = signed_in(client, reviewer).get(reverse("requests:saved_view_open", args=[view.pk]), follow=True)
    assert "View: <strong>Late high-priority</strong>" in opened.text and "changed since" not in opened.text
    changed = client.get(LIST, {"priority": "high", "sla": "breached", "view": str(view.pk)}, **HTMX)
    assert "the filter was changed since it was saved" in changed.text
    assert f'action="{update_url(view)}"' in changed.text
    assert '<input type="hidden" name="query" value="priority=high&amp;sla=breached">' in changed.text
    answer = client.post(update_url(view), {"query": "priority=high&sla=breached&view=x&page=2"})
    assert answer.status_code == 302 and answer["Location"] == f"{LIST}?priority=high&sla=breached&view={view.pk}"
    assert said(answer) == ["Updated the view “Late high-priority” with this filter and sort."]
    assert list(SavedView.objects.values_list("pk", "name", "query")) == [
        (view.pk, "Late high-priority", "priority=high&sla=breached")]


def test_someone_elses_shared_view_shows_as_open_without_an_update_button(client, reviewer, owner):
    view = make_saved_view(owner=owner, name="Research's", visibility="shared", query="priority=high")
    page = signed_in(client, reviewer).get(LIST, {"priority": "low", "view": str(view.pk)})
    assert "View: <strong>Research&#x27;s</strong>" in page.text and "changed since it was saved" in page.text
    assert update_url(view) not in page.text


def test_only_the_owner_may_update_or_share_a_view_others_are_refused_and_nothing_changes(client, reviewer, owner):
    view = make_saved_view(owner=owner, name="Research's", visibility="shared", query="priority=high")
    before = SavedView.objects.filter(pk=view.pk).values().get()
    signed_in(client, reviewer)
    for data in ({"query": "priority=low"}, {"visibility": "private"}):
        answer = client.post(update_url(view), data)
        assert answer.status_code == 403
        assert "Only the person who saved a view may change it." in answer.content.decode()
    assert SavedView.objects.filter(pk=view.pk).values().get() == before


def test_the_owner_shares_and_unshares_a_view_from_the_saved_views_page(client, owner):
    view = make_saved_view(owner=owner, name="Mine")
    page = signed_in(client, owner).get(reverse("requests:saved_views"))
    assert f'action="{update_url(view)}"' in page.text and ">Share</button>" in page.text
    answer = client.post(update_url(view), {"visibility": "shared"})
    assert answer.status_code == 302 and answer["Location"] == reverse("requests:saved_views")
    assert said(answer) == ["The view “Mine” is now shared with everyone in the organisation."]
    assert SavedView.objects.get(pk=view.pk).visibility == "shared"
    assert ">Make private</button>" in client.get(reverse("requests:saved_views")).text
    client.post(update_url(view), {"visibility": "private"})
    assert SavedView.objects.get(pk=view.pk).visibility == "private"


def test_a_refused_update_says_why_and_changes_nothing(client, owner):
    view = make_saved_view(owner=owner, name="Mine", query="status=new")
    before = SavedView.objects.filter(pk=view.pk).values().get()
    signed_in(client, owner)
    for data, words in (({"query": "status=sideways"}, "Status: Select a valid choice. sideways"),
                        ({"visibility": "public"}, "only you, or everyone in the organisation")):
        answer = client.post(update_url(view), data)
        assert answer.status_code == 200 and words in answer.content.decode()
    assert SavedView.objects.filter(pk=view.pk).values().get() == before


def test_update_takes_a_post_a_signed_in_person_and_a_view_you_can_see(client, reviewer, owner):
    private = make_saved_view(owner=owner, name="Private")
    assert signed_in(client, owner).get(update_url(private)).status_code == 405
    assert signed_in(client, reviewer).post(update_url(private), {"visibility": "shared"}).status_code == 404
    client.logout()
    answer = client.post(update_url(private), {"visibility": "shared"})
    assert answer.status_code == 302 and answer["Location"].startswith(reverse("login"))
    assert SavedView.objects.get(pk=private.pk).visibility == "private"


def test_the_saved_views_page_names_brains_and_people_in_each_filter(client, reviewer):
    make_saved_view(owner=reviewer, name="Research to Finance",
                    query=f"origin=research&destination=finance&assignee={reviewer.pk}")
    reviewer.first_name, reviewer.last_name = "Hana", "Okafor"
    reviewer.save()
    page = signed_in(client, reviewer).get(reverse("requests:saved_views"))
    assert "Origin: Research Brain · Destination: Finance Brain · Assignee: Hana Okafor" in page.text
    assert "Origin: research" not in page.text
