"""Saved views and the request list's columns (issue 14): the writes and the reads the pages share.

A saved view is the request list's query string (filters and sort), normalised: only the list's
own parameters, none empty, no page, in the FilterSet's order, so two saves of one view hold the
same text. A view that the list's filter form refuses is not saved, and the refusal says why in
the form's words. Opening a view runs the query as the person who opens it: a shared view never
shows anyone a request they could not see already.
"""

from typing import Any
from uuid import UUID

import django_filters
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import QueryDict

from governance_app.kernel import clock, limits
from governance_app.kernel.actors import Actor
from governance_app.kernel.brains import brain_options
from governance_app.kernel.errors import DomainError, Refusal, not_found
from requests_app import selectors
from requests_app.filters import BrainRequestFilter
from requests_app.models import BrainRequest, ListName, ListPreference, SavedView, ViewVisibility

NAME_MAX = limits.columns("mwms_saved_views")["name"]
QUERY_MAX = limits.columns("mwms_saved_views")["query"]
NAV_LIMIT = 20  # the nav lists this many; the saved views page lists them all

# The request list's columns, in their default order: (key, heading). The Request column holds
# each row's link, so it is always shown.
LIST_COLUMNS: tuple[tuple[str, str], ...] = (
    ("request", "Request"), ("type", "Type"), ("owners", "Origin → destination"), ("status", "Status"),
    ("priority", "Priority"), ("sla", "SLA"), ("tasks", "Tasks"), ("assignee", "Assignee"),
    ("updated", "Updated"), ("created", "Created"),
)
COLUMN_LABELS = dict(LIST_COLUMNS)
REQUIRED_COLUMNS = ("request",)
DEFAULT_COLUMNS = [key for key, _ in LIST_COLUMNS if key != "created"]
FILTER_KEYS = tuple(BrainRequestFilter.base_filters)
# The list's own words for the filters whose form field has no label of its own.
FILTER_LABELS = {"status": "Status", "origin": "Origin", "destination": "Destination", "request_type": "Type",
                 "priority": "Priority"}


# --- the query string ----------------------------------------------------------------------------

def view_query_normalize(*, query: str | QueryDict) -> str:
    """The list's query string as a view keeps it: its own parameters only, none empty, no page."""
    data = QueryDict(query) if isinstance(query, str) else query
    kept = QueryDict(mutable=True)
    for key in FILTER_KEYS:
        values = [value.strip() for value in data.getlist(key) if value.strip()]
        if values:
            kept.setlist(key, values)
    return kept.urlencode()


def view_query_describe(*, query: str, brains: dict[str, str] | None = None,
                        people: dict[str, str] | None = None) -> str:
    """A view's filter in the list's words ("Status: Routed · Origin: Research Brain · Sort: priority"),
    for the page that lists views: Brains by name (`brains`: slug → name), people by name (`people`:
    user id → person_label)."""
    data = QueryDict(query)
    parts = []
    named = {"origin": brains or {}, "destination": brains or {},
             "assignee": {"me": "Me", "nobody": "Nobody", **(people or {})}}
    for key in FILTER_KEYS:
        for value in data.getlist(key):
            field = BrainRequestFilter.base_filters[key]
            label = FILTER_LABELS.get(key) or field.label or key
            choices = named.get(key) or dict(field.extra.get("choices") or ())
            if isinstance(field, django_filters.BooleanFilter):
                choices = {"true": "Yes", "false": "No"}
            parts.append(f"{label}: {choices.get(value, value)}")
    return " · ".join(parts) or "Every request"


def _filter_problem(*, actor: Actor, query: str) -> str:
    """What the list's filter form says of this query, in its labels' words ('' when it applies)."""
    filterset = BrainRequestFilter(QueryDict(query), queryset=BrainRequest.objects.none(),
                                   brain_choices=brain_options(tenant_id=actor.tenant_id),
                                   people=selectors.head_office_people(tenant_id=actor.tenant_id),
                                   user_id=actor.user_id, tenant_id=actor.tenant_id)
    if filterset.is_valid():
        return ""
    form = filterset.form
    return " ".join(f"{FILTER_LABELS.get(name) or form.fields[name].label or name}: {' '.join(errors)}"
                    if name in form.fields else " ".join(errors) for name, errors in form.errors.items())


# --- checks --------------------------------------------------------------------------------------

def _person(actor: Actor) -> None:
    if actor.user_id is None or actor.tenant_id is None:
        raise DomainError("Saved views and columns belong to a person signed in to an organisation.",
                          kind=Refusal.FORBIDDEN)


def _name_clean(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise DomainError("Give the view a name, so it can be found in the nav.", field="name")
    if len(name) > NAME_MAX:
        raise DomainError(f"name: at most {NAME_MAX:,} characters.", field="name")
    return name


def _name_free(*, actor: Actor, name: str, other_than: UUID | None = None) -> None:
    taken = SavedView.objects.filter(tenant_id=actor.tenant_id, owner_id=actor.user_id, name=name)
    if other_than is not None:
        taken = taken.exclude(pk=other_than)
    if taken.exists():
        raise DomainError(f"You already have a view named “{name}”: choose another name, or delete that one first.",
                          field="name")


def _duplicate(name: str) -> DomainError:
    return DomainError(f"You already have a view named “{name}”: choose another name.", field="name")


# --- services ------------------------------------------------------------------------------------

def _visibility_clean(visibility: str) -> str:
    if visibility not in ViewVisibility.values:
        raise DomainError("Choose who sees the view: only you, or everyone in the organisation.", field="visibility")
    return visibility


def _query_clean(*, actor: Actor, query: str | QueryDict) -> str:
    query = view_query_normalize(query=query)
    if len(query) > QUERY_MAX:
        raise DomainError(f"The filter is too long to save (at most {QUERY_MAX:,} characters): narrow the search.",
                          field="query")
    problem = _filter_problem(actor=actor, query=query)
    if problem:
        raise DomainError(f"The view was not saved: its filter does not apply. {problem} "
                          "Fix the filter on the list, then save it.", field="query")
    return query


def _own(view: SavedView, actor: Actor, what: str) -> SavedView:
    if view.owner_id != actor.user_id:
        raise DomainError(f"Only the person who saved a view may {what} it.", kind=Refusal.FORBIDDEN)
    return view


def saved_view_save(*, actor: Actor, name: str, visibility: str, query: str | QueryDict) -> SavedView:
    """Save the request list's current filter and sort under a name, private or shared."""
    _person(actor)
    name = _name_clean(name)
    visibility = _visibility_clean(visibility)
    query = _query_clean(actor=actor, query=query)
    try:
        with transaction.atomic():
            _name_free(actor=actor, name=name)
            return SavedView.objects.create(tenant_id=actor.tenant_id, owner_id=actor.user_id, name=name,
                                            visibility=visibility, query=query)
    except IntegrityError:  # the same name saved at the same moment from another tab
        raise _duplicate(name) from None


def saved_view_rename(*, actor: Actor, view_id: UUID, name: str) -> SavedView:
    """Rename one of your own views."""
    _person(actor)
    try:
        with transaction.atomic():
            # The view first: of a view you cannot see, nothing is said, not even that the name is blank.
            view = _own(saved_view_for(actor=actor, view_id=view_id, for_update=True), actor, "rename")
            name = _name_clean(name)
            _name_free(actor=actor, name=name, other_than=view.pk)
            view.name, view.updated_at = name, clock.now()
            view.save(update_fields=["name", "updated_at"])
            return view
    except IntegrityError:
        raise _duplicate(name) from None


def saved_view_update(*, actor: Actor, view_id: UUID, query: str | QueryDict | None = None,
                      visibility: str | None = None) -> SavedView:
    """Re-save one of your own views with the list's current filter and sort (the same view, not a
    copy), and/or change who sees it; None leaves that part as it is."""
    _person(actor)
    with transaction.atomic():
        # The view first: of a view you cannot see, nothing is said, not even that the input is wrong.
        view = _own(saved_view_for(actor=actor, view_id=view_id, for_update=True), actor, "change")
        changed = ["updated_at"]
        if visibility is not None:
            view.visibility = _visibility_clean(visibility)
            changed.append("visibility")
        if query is not None:
            view.query = _query_clean(actor=actor, query=query)
            changed.append("query")
        view.updated_at = clock.now()
        view.save(update_fields=changed)
        return view


def saved_view_delete(*, actor: Actor, view_id: UUID) -> str:
    """Delete one of your own views; HeadOffice may delete a shared one. Answers its name."""
    _person(actor)
    with transaction.atomic():
        view = saved_view_for(actor=actor, view_id=view_id, for_update=True)
        if not saved_view_deletable(actor=actor, view=view):
            raise DomainError("Only the person who saved a view, or HeadOffice for a shared view, may delete it.",
                              kind=Refusal.FORBIDDEN)
        view.delete()
    return view.name


def list_columns_set(*, actor: Actor, columns: list[str]) -> list[str]:
    """Choose the request list's columns and their order; the Request column is always among them."""
    _person(actor)
    unknown = [c for c in columns if c not in COLUMN_LABELS]
    if unknown:
        raise DomainError(f"Unknown column “{unknown[0]}”: the request list has "
                          f"{', '.join(label for _, label in LIST_COLUMNS)}.", field="columns")
    if len(set(columns)) != len(columns):
        raise DomainError("Each column can be shown once.", field="columns")
    missing = [COLUMN_LABELS[c] for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise DomainError(f"The {missing[0]} column holds each request's link and is always shown.", field="columns")
    with transaction.atomic():
        ListPreference.objects.update_or_create(
            tenant_id=actor.tenant_id, user_id=actor.user_id, list_name=ListName.REQUESTS,
            defaults={"columns": list(columns), "updated_at": clock.now()})
    return list(columns)


# --- selectors -----------------------------------------------------------------------------------

def saved_views_visible_to(actor: Actor) -> QuerySet[SavedView]:
    """Your own views and the tenant's shared ones, by name."""
    if actor.user_id is None or actor.tenant_id is None:
        return SavedView.objects.none()
    return (SavedView.objects.filter(tenant_id=actor.tenant_id)
            .filter(Q(owner_id=actor.user_id) | Q(visibility=ViewVisibility.SHARED))
            .select_related("owner").order_by("name", "created_at"))


def saved_views_for_nav(actor: Actor) -> QuerySet[SavedView]:
    """What the nav lists: your own views and the shared ones, at most NAV_LIMIT (one query)."""
    return saved_views_visible_to(actor)[:NAV_LIMIT]


def saved_view_for(*, actor: Actor, view_id: Any, for_update: bool = False) -> SavedView:
    """A view you may open, or not_found: another tenant's, or someone's private one, is not there."""
    views = saved_views_visible_to(actor)
    if for_update:
        views = views.select_for_update(of=("self",))
    view = views.filter(pk=view_id).first()
    if view is None:
        raise not_found("saved view")
    return view


def saved_view_current(*, actor: Actor, data: QueryDict) -> tuple[SavedView | None, bool]:
    """The saved view the request list shows, and whether its filter was changed since: the view its
    address names (`view`, which opening a view adds), else one whose filter is exactly the list's,
    the person's own first. One query."""
    query = view_query_normalize(query=data)
    try:
        named = UUID(data.get("view", ""))
    except ValueError:
        named = None
    match = Q(query=query) | Q(pk=named) if named else Q(query=query)
    views = list(saved_views_visible_to(actor).filter(match)[:NAV_LIMIT])
    opened = next((v for v in views if v.pk == named), None)
    if opened is not None:
        return opened, opened.query != query
    same = sorted((v for v in views if v.query == query), key=lambda v: (v.owner_id != actor.user_id, v.name))
    return (same[0] if same else None), False


def saved_view_deletable(*, actor: Actor, view: SavedView) -> bool:
    return view.owner_id == actor.user_id or (actor.is_head_office and view.visibility == ViewVisibility.SHARED)


def list_columns_for(*, actor: Actor) -> list[str]:
    """The request list's columns for this person, in order (one query)."""
    if actor.user_id is None:
        return list(DEFAULT_COLUMNS)
    chosen = (ListPreference.objects.filter(tenant_id=actor.tenant_id, user_id=actor.user_id,
                                            list_name=ListName.REQUESTS).values_list("columns", flat=True).first())
    # A column the list no longer has is left out, not an error.
    columns = [c for c in (chosen or []) if c in COLUMN_LABELS]
    return columns or list(DEFAULT_COLUMNS)
