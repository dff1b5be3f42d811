"""Saved views and the request list's columns: the page that lists and manages them, opening one,
and the forms that save, rename, delete and choose columns. Views parse, call one service or
selector from requests_app.saved_views, and render or redirect."""

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from governance_app.kernel.actors import Actor, actor_for_request
from governance_app.kernel.brains import brain_options
from governance_app.kernel.errors import DomainError, Refusal
from requests_app import saved_views, selectors
from requests_app.models import ViewVisibility


class SaveViewForm(forms.Form):
    name = forms.CharField(label="Name", max_length=saved_views.NAME_MAX, required=False)
    visibility = forms.ChoiceField(label="Who sees it", choices=ViewVisibility.choices, widget=forms.RadioSelect,
                                   initial=ViewVisibility.PRIVATE, required=False)
    query = forms.CharField(widget=forms.HiddenInput, required=False)


def column_choices(columns: list[str]) -> list[dict[str, Any]]:
    """The columns form's rows: every column, the chosen ones first in their order."""
    rest = [key for key, _ in saved_views.LIST_COLUMNS if key not in columns]
    return [{"key": key, "label": saved_views.COLUMN_LABELS[key], "shown": key in columns, "position": i,
             "required": key in saved_views.REQUIRED_COLUMNS}
            for i, key in enumerate([*columns, *rest], start=1)]


def _list_url(query: str) -> str:
    return reverse("requests:list") + (f"?{query}" if query else "")


def _view_url(view) -> str:
    """The request list with the view's filter and sort, naming the view, so the list says which
    view is open and whether its filter was changed since (saved_views.saved_view_current)."""
    return _list_url("&".join(part for part in (view.query, f"view={view.pk}") if part))


def _page(http_request: HttpRequest, *, save_form: SaveViewForm | None = None, problem: str = "",
          columns: list[str] | None = None, status: int = 200) -> HttpResponse:
    actor = actor_for_request(http_request)
    brains = dict(brain_options(tenant_id=actor.tenant_id))
    people = dict(selectors.head_office_people(tenant_id=actor.tenant_id))
    views = [(view, view.owner_id == actor.user_id, saved_views.saved_view_deletable(actor=actor, view=view),
              saved_views.view_query_describe(query=view.query, brains=brains, people=people))
             for view in saved_views.saved_views_visible_to(actor)]
    context = {"views": views, "save_form": save_form, "problem": problem,
               "columns": column_choices(columns or saved_views.list_columns_for(actor=actor))}
    return render(http_request, "requests_app/saved_views.html", context, status=status)


@require_GET
@login_required
def saved_view_list(http_request: HttpRequest) -> HttpResponse:
    return _page(http_request)


@require_GET
@login_required
def saved_views_nav(http_request: HttpRequest) -> HttpResponse:
    """The nav's list of saved views, fetched by htmx when it is opened (so no page pays for it)."""
    views = saved_views.saved_views_for_nav(actor_for_request(http_request))
    return render(http_request, "requests_app/_nav_saved_views.html", {"views": views})


@require_GET
@login_required
def saved_view_open(http_request: HttpRequest, view_id) -> HttpResponse:
    """Open a view: the request list with its filter and sort, as the person opening it sees it."""
    try:
        view = saved_views.saved_view_for(actor=actor_for_request(http_request), view_id=view_id)
    except DomainError as error:
        raise Http404(error.message) from None
    return redirect(_view_url(view))


@require_POST
@login_required
def saved_view_save(http_request: HttpRequest) -> HttpResponse:
    form = SaveViewForm(http_request.POST)  # shown again, with the reason, when the save is refused
    data = http_request.POST  # the service checks every field and says what is wrong
    try:
        view = saved_views.saved_view_save(actor=actor_for_request(http_request), name=data.get("name", ""),
                                           visibility=data.get("visibility") or ViewVisibility.PRIVATE,
                                           query=data.get("query", ""))
    except DomainError as error:
        form.add_error(None, error.message)
        return _page(http_request, save_form=form, status=403 if error.kind == Refusal.FORBIDDEN else 200)
    messages.success(http_request, f"Saved the view “{view.name}”"
                     f"{' for everyone in the organisation' if view.visibility == ViewVisibility.SHARED else ''}.")
    return redirect(_view_url(view))


def _refused(http_request: HttpRequest, error: DomainError) -> HttpResponse:
    if error.kind == Refusal.NOT_FOUND:
        raise Http404(error.message)
    return _page(http_request, problem=error.message, status=403 if error.kind == Refusal.FORBIDDEN else 200)


@require_POST
@login_required
def saved_view_rename(http_request: HttpRequest, view_id) -> HttpResponse:
    try:
        view = saved_views.saved_view_rename(actor=actor_for_request(http_request), view_id=view_id,
                                             name=http_request.POST.get("name", ""))
    except DomainError as error:
        return _refused(http_request, error)
    messages.success(http_request, f"Renamed the view to “{view.name}”.")
    return redirect("requests:saved_views")


VISIBILITY_DONE = {ViewVisibility.SHARED: "is now shared with everyone in the organisation",
                   ViewVisibility.PRIVATE: "is now private: only you see it"}


@require_POST
@login_required
def saved_view_update(http_request: HttpRequest, view_id) -> HttpResponse:
    """Re-save a view with the list's current filter and sort (`query`), or change who sees it (`visibility`)."""
    data = http_request.POST
    try:
        view = saved_views.saved_view_update(actor=actor_for_request(http_request), view_id=view_id,
                                             query=data["query"] if "query" in data else None,
                                             visibility=data.get("visibility") or None)
    except DomainError as error:
        return _refused(http_request, error)
    if "query" in data:
        messages.success(http_request, f"Updated the view “{view.name}” with this filter and sort.")
        return redirect(_view_url(view))
    messages.success(http_request, f"The view “{view.name}” {VISIBILITY_DONE[view.visibility]}.")
    return redirect("requests:saved_views")


@require_POST
@login_required
def saved_view_delete(http_request: HttpRequest, view_id) -> HttpResponse:
    try:
        name = saved_views.saved_view_delete(actor=actor_for_request(http_request), view_id=view_id)
    except DomainError as error:
        return _refused(http_request, error)
    messages.success(http_request, f"Deleted the view “{name}”.")
    return redirect("requests:saved_views")


def _chosen_columns(http_request: HttpRequest) -> list[str]:
    """The ticked columns, in the order of their position selects (unnumbered ones keep theirs)."""
    ticked = http_request.POST.getlist("columns")

    def position(item: tuple[int, str]) -> tuple[int, int]:
        index, key = item
        value = http_request.POST.get(f"position_{key}", "")
        return (int(value) if value.isdigit() else index + 1, index)

    return [key for _, key in sorted(enumerate(ticked), key=position)]


@require_http_methods(["GET", "POST"])
@login_required
def list_columns(http_request: HttpRequest) -> HttpResponse:
    """GET: the columns form (the list fetches it when its Columns menu opens); POST: choose them."""
    actor: Actor = actor_for_request(http_request)
    if http_request.method == "GET":
        return render(http_request, "requests_app/_columns_form.html", {
            "columns": column_choices(saved_views.list_columns_for(actor=actor)),
            "query": saved_views.view_query_normalize(query=http_request.GET)})
    if http_request.POST.get("reset"):
        columns = list(saved_views.DEFAULT_COLUMNS)
    else:
        columns = _chosen_columns(http_request)
    try:
        saved_views.list_columns_set(actor=actor, columns=columns)
    except DomainError as error:
        return _page(http_request, problem=f"The columns were not changed: {error.message}",
                     status=403 if error.kind == Refusal.FORBIDDEN else 200)
    messages.success(http_request, "The request list shows "
                     + ", ".join(saved_views.COLUMN_LABELS[c] for c in columns) + ".")
    return redirect(_list_url(saved_views.view_query_normalize(query=http_request.POST.get("query", ""))))
