"""Saved views and list columns: the services (happy path and each refusal) and the selectors."""

import pytest
from django.db import IntegrityError, transaction
from django.http import QueryDict

from governance_app.kernel.errors import DomainError, Refusal
from requests_app import saved_views as sv
from requests_app.models import ListPreference, SavedView
from tests.engine import actor, token_actor
from tests.factories import make_saved_view

pytestmark = pytest.mark.django_db


def views_of(user) -> list[tuple[str, str, str]]:
    return list(SavedView.objects.filter(owner=user).order_by("name").values_list("name", "visibility", "query"))


# --- the query string ----------------------------------------------------------------------------

def test_the_query_is_normalised_empty_page_and_foreign_parameters_dropped():
    query = "q=&status=routed&page=3&priority=high&export=csv&origin=&utm_source=mail&sort=-updated"
    assert sv.view_query_normalize(query=query) == "status=routed&priority=high&sort=-updated"


def test_a_query_with_nothing_but_empties_is_the_whole_list():
    assert sv.view_query_normalize(query="q=&status=&page=2") == ""


def test_a_views_filter_reads_in_the_lists_words():
    query = "status=routed&priority=high&escalation_flag=true&sort=-updated"
    assert sv.view_query_describe(query=query) == (
        "Status: Routed · Priority: High · Escalation flag: Yes · Sort: Updated (descending)")
    assert sv.view_query_describe(query="") == "Every request"


# --- save --------------------------------------------------------------------------------------

def test_saving_keeps_the_name_visibility_and_normalised_query(reviewer):
    view = sv.saved_view_save(actor=actor(reviewer), name="  Urgent   routed ", visibility="shared",
                              query="status=routed&priority=urgent&page=2&q=")
    assert views_of(reviewer) == [("Urgent routed", "shared", "status=routed&priority=urgent")]
    assert view.tenant_id == actor(reviewer).tenant_id


def test_a_blank_name_is_refused_and_nothing_saved(reviewer):
    with pytest.raises(DomainError) as refused:
        sv.saved_view_save(actor=actor(reviewer), name="   ", visibility="private", query="status=new")
    assert refused.value.field == "name" and "Give the view a name" in refused.value.message
    assert views_of(reviewer) == []


def test_a_name_you_already_use_is_refused_and_the_first_view_kept(reviewer):
    sv.saved_view_save(actor=actor(reviewer), name="Mine", visibility="private", query="status=new")
    with pytest.raises(DomainError) as refused:
        sv.saved_view_save(actor=actor(reviewer), name="Mine", visibility="shared", query="status=routed")
    assert "You already have a view named “Mine”" in refused.value.message
    assert views_of(reviewer) == [("Mine", "private", "status=new")]


def test_another_persons_name_is_free_to_use(reviewer, owner):
    sv.saved_view_save(actor=actor(owner), name="Mine", visibility="shared", query="status=new")
    sv.saved_view_save(actor=actor(reviewer), name="Mine", visibility="private", query="status=routed")
    assert views_of(reviewer) == [("Mine", "private", "status=routed")]


def test_an_unknown_visibility_is_refused(reviewer):
    with pytest.raises(DomainError) as refused:
        sv.saved_view_save(actor=actor(reviewer), name="Mine", visibility="public", query="")
    assert refused.value.field == "visibility" and "only you, or everyone" in refused.value.message
    assert views_of(reviewer) == []


@pytest.mark.parametrize("query, words", [
    ("status=sideways", "Status: Select a valid choice. sideways is not one of the available choices."),
    ("created_after=yesterday", "Created from: Enter a valid date."),
    ("origin=nobrain", "Origin: Select a valid choice. nobrain is not one"),
])
def test_a_filter_the_list_refuses_is_explained_and_not_saved(reviewer, query, words):
    with pytest.raises(DomainError) as refused:
        sv.saved_view_save(actor=actor(reviewer), name="Broken", visibility="private", query=query)
    assert refused.value.field == "query"
    assert "its filter does not apply" in refused.value.message and words in refused.value.message
    assert views_of(reviewer) == []


def test_a_token_has_no_views_to_save(brains):
    with pytest.raises(DomainError) as refused:
        sv.saved_view_save(actor=token_actor("research"), name="Bot", visibility="private", query="")
    assert refused.value.kind == Refusal.FORBIDDEN
    assert SavedView.objects.count() == 0


def test_the_database_refuses_a_blank_name_or_an_unknown_visibility(reviewer):
    for fields in ({"name": "  "}, {"visibility": "public"}):
        with pytest.raises(IntegrityError), transaction.atomic():
            make_saved_view(owner=reviewer, **fields)
    make_saved_view(owner=reviewer, name="Once")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_saved_view(owner=reviewer, name="Once")
    assert views_of(reviewer) == [("Once", "private", "status=new")]


# --- update: the same view with a new filter, or shared / private ------------------------------

def test_updating_re_saves_the_same_view_with_the_new_filter_normalised(reviewer):
    view = make_saved_view(owner=reviewer, name="Urgent", query="status=new")
    sv.saved_view_update(actor=actor(reviewer), view_id=view.pk, query="status=routed&q=&page=2&view=x")
    assert list(SavedView.objects.values_list("pk", "name", "visibility", "query")) == [
        (view.pk, "Urgent", "private", "status=routed")]


def test_changing_who_sees_a_view_leaves_its_filter(reviewer):
    view = make_saved_view(owner=reviewer, name="Urgent", query="status=new")
    sv.saved_view_update(actor=actor(reviewer), view_id=view.pk, visibility="shared")
    assert views_of(reviewer) == [("Urgent", "shared", "status=new")]


@pytest.mark.parametrize("change, words", [
    ({"query": "status=sideways"}, "its filter does not apply"),
    ({"visibility": "public"}, "only you, or everyone in the organisation"),
])
def test_a_bad_update_is_refused_and_the_view_kept(reviewer, change, words):
    view = make_saved_view(owner=reviewer, name="Urgent", query="status=new")
    with pytest.raises(DomainError) as refused:
        sv.saved_view_update(actor=actor(reviewer), view_id=view.pk, **change)
    assert words in refused.value.message
    assert views_of(reviewer) == [("Urgent", "private", "status=new")]


def test_someone_elses_shared_view_cannot_be_updated_even_by_headoffice(reviewer, owner):
    view = make_saved_view(owner=owner, name="Theirs", visibility="shared", query="status=new")
    for change in ({"query": "status=routed"}, {"visibility": "private"}):
        with pytest.raises(DomainError) as refused:
            sv.saved_view_update(actor=actor(reviewer), view_id=view.pk, **change)
        assert refused.value.kind == Refusal.FORBIDDEN
        assert refused.value.message == "Only the person who saved a view may change it."
    assert views_of(owner) == [("Theirs", "shared", "status=new")]


def test_the_open_view_is_the_one_named_else_an_exact_match_yours_first(reviewer, owner):
    theirs = make_saved_view(owner=owner, name="A shared", visibility="shared", query="priority=high")
    mine = make_saved_view(owner=reviewer, name="Z mine", query="priority=high")
    assert sv.saved_view_current(actor=actor(reviewer), data=QueryDict("priority=high")) == (mine, False)
    named = QueryDict(f"priority=low&view={theirs.pk}")
    assert sv.saved_view_current(actor=actor(reviewer), data=named) == (theirs, True)
    assert sv.saved_view_current(actor=actor(reviewer), data=QueryDict("priority=low&view=nonsense")) == (None, False)


def test_a_views_filter_names_brains_and_people_when_told_them():
    query = "origin=research&destination=finance&assignee=7"
    assert sv.view_query_describe(query=query, brains={"research": "Research Brain", "finance": "Finance Brain"},
                                  people={"7": "Hana Okafor"}) == (
        "Origin: Research Brain · Destination: Finance Brain · Assignee: Hana Okafor")


# --- rename and delete ---------------------------------------------------------------------------

def test_renaming_your_own_view(reviewer):
    view = make_saved_view(owner=reviewer, name="Old")
    sv.saved_view_rename(actor=actor(reviewer), view_id=view.pk, name="New")
    assert views_of(reviewer) == [("New", "private", "status=new")]


def test_renaming_to_a_blank_or_taken_name_is_refused(reviewer):
    view = make_saved_view(owner=reviewer, name="Old")
    make_saved_view(owner=reviewer, name="Taken")
    for name, words in (("", "Give the view a name"), ("Taken", "already have a view named “Taken”")):
        with pytest.raises(DomainError) as refused:
            sv.saved_view_rename(actor=actor(reviewer), view_id=view.pk, name=name)
        assert words in refused.value.message
    assert [n for n, _, _ in views_of(reviewer)] == ["Old", "Taken"]


def test_someone_elses_shared_view_cannot_be_renamed_even_by_headoffice(reviewer, owner):
    view = make_saved_view(owner=owner, name="Theirs", visibility="shared")
    with pytest.raises(DomainError) as refused:
        sv.saved_view_rename(actor=actor(reviewer), view_id=view.pk, name="Mine now")
    assert refused.value.kind == Refusal.FORBIDDEN and "Only the person who saved" in refused.value.message
    assert SavedView.objects.get(pk=view.pk).name == "Theirs"


def test_someone_elses_private_view_is_not_there(reviewer, owner):
    view = make_saved_view(owner=owner, name="Private")
    for attempt in (lambda: sv.saved_view_rename(actor=actor(reviewer), view_id=view.pk, name="X"),
                    lambda: sv.saved_view_delete(actor=actor(reviewer), view_id=view.pk)):
        with pytest.raises(DomainError) as refused:
            attempt()
        assert refused.value.kind == Refusal.NOT_FOUND
    assert SavedView.objects.filter(pk=view.pk, name="Private").exists()


def test_deleting_your_own_view(owner):
    view = make_saved_view(owner=owner, name="Gone soon")
    assert sv.saved_view_delete(actor=actor(owner), view_id=view.pk) == "Gone soon"
    assert not SavedView.objects.filter(pk=view.pk).exists()


def test_headoffice_may_delete_a_shared_view_a_brain_owner_may_not(reviewer, owner, other_owner):
    view = make_saved_view(owner=owner, name="Shared", visibility="shared")
    with pytest.raises(DomainError) as refused:
        sv.saved_view_delete(actor=actor(other_owner), view_id=view.pk)
    assert refused.value.kind == Refusal.FORBIDDEN and "or HeadOffice for a shared view" in refused.value.message
    assert SavedView.objects.filter(pk=view.pk).exists()
    sv.saved_view_delete(actor=actor(reviewer), view_id=view.pk)
    assert not SavedView.objects.filter(pk=view.pk).exists()


# --- what each person sees ---------------------------------------------------------------------

def test_the_nav_lists_your_views_and_the_shared_ones_by_name(reviewer, owner, other_owner):
    make_saved_view(owner=owner, name="b mine private")
    make_saved_view(owner=other_owner, name="a theirs shared", visibility="shared")
    make_saved_view(owner=other_owner, name="c theirs private")
    assert [v.name for v in sv.saved_views_for_nav(actor(owner))] == ["a theirs shared", "b mine private"]
    assert [v.name for v in sv.saved_views_for_nav(actor(reviewer))] == ["a theirs shared"]


def test_the_nav_is_one_query(reviewer, owner, django_assert_num_queries):
    for i in range(30):
        make_saved_view(owner=owner, name=f"View {i:02}", visibility="shared")
    person = actor(reviewer)
    with django_assert_num_queries(1):
        names = [v.name for v in sv.saved_views_for_nav(person)]
    assert len(names) == sv.NAV_LIMIT and names[0] == "View 00"


# --- columns -----------------------------------------------------------------------------------

def test_no_choice_is_every_default_column(reviewer):
    assert sv.list_columns_for(actor=actor(reviewer)) == sv.DEFAULT_COLUMNS


def test_columns_are_kept_per_person_in_their_order(reviewer, owner):
    sv.list_columns_set(actor=actor(reviewer), columns=["status", "request", "created"])
    assert sv.list_columns_for(actor=actor(reviewer)) == ["status", "request", "created"]
    assert sv.list_columns_for(actor=actor(owner)) == sv.DEFAULT_COLUMNS
    sv.list_columns_set(actor=actor(reviewer), columns=["request", "priority"])
    assert list(ListPreference.objects.filter(user=reviewer).values_list("columns", flat=True)) == [
        ["request", "priority"]]


@pytest.mark.parametrize("columns, words", [
    (["request", "colour"], "Unknown column “colour”"),
    (["request", "status", "status"], "Each column can be shown once."),
    (["status"], "The Request column holds each request's link and is always shown."),
    ([], "The Request column"),
])
def test_a_bad_column_choice_is_refused_and_the_old_one_kept(reviewer, columns, words):
    sv.list_columns_set(actor=actor(reviewer), columns=["request", "status"])
    with pytest.raises(DomainError) as refused:
        sv.list_columns_set(actor=actor(reviewer), columns=columns)
    assert refused.value.field == "columns" and words in refused.value.message
    assert sv.list_columns_for(actor=actor(reviewer)) == ["request", "status"]
