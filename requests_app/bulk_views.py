"""The request list's bulk bar and its action (requests_app.bulk).

A plain form POST without JavaScript: the ticked rows' boxes belong to the bar's form (`form=`),
"every request on this page" sends the page's ids, "every request matching the filter" sends the
list's query, which is read again here with the list's own FilterSet. With htmx the result is
swapped in above the table, which the filter form then reloads.
"""

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.urls import reverse
from django.views.decorators.http import require_POST

from governance_app.kernel.actors import Actor, actor_for_request
from governance_app.kernel.brains import brain_options
from governance_app.kernel.errors import DomainError, Refusal
from mwms_site.web import htmx_partial, render_page_or_fragment
from requests_app import bulk, selectors
from requests_app.filters import BrainRequestFilter
from requests_app.forms import BulkForm


def bulk_bar(*, actor: Actor, page: Any, query: str, brains: list[tuple[str, str]],
             people: list[tuple[str, str]]) -> dict[str, Any] | None:
    """What the list's bulk bar shows, for HeadOffice; None for anyone else (no controls at all)."""
    if not bulk.bulk_allowed(actor):
        return None
    return {"form": BulkForm(brains=brains, people=people, initial={"query": query}, auto_id="bulk_%s"),
            "page_ids": [row.pk for row in page.object_list], "limit": bulk.bulk_limit()}


def _matching(actor: Actor, query: str, brains: list[tuple[str, str]], people: list[tuple[str, str]]) -> list[Any]:
    """The ids of the requests the list's filter matches, refused above the bulk limit."""
    filterset = BrainRequestFilter(QueryDict(query), queryset=selectors.requests_visible_to(actor).order_by(
        "-updated_at"), brain_choices=brains, people=people, user_id=actor.user_id)
    if not filterset.is_valid():
        raise DomainError("The list's filter is not valid any more: apply it again, then choose the requests.",
                          field="query")
    limit = bulk.bulk_limit()
    ids = list(filterset.qs.values_list("pk", flat=True)[:limit + 1])
    if len(ids) > limit:
        raise DomainError(f"The filter matches more than {limit} requests, and a bulk action takes at most "
                          f"{limit}. Narrow the filter (a status, a Brain, a queue) and try again.", field="scope")
    return ids


def _chosen(form: BulkForm, actor: Actor, brains, people) -> list[Any]:
    scope = form.cleaned_data["scope"]
    if scope == "filter":
        return _matching(actor, form.cleaned_data["query"], brains, people)
    return form.cleaned_data["page_ids" if scope == "page" else "selected"]


def _fields(form: BulkForm) -> dict[str, Any]:
    action = form.cleaned_data["action"]
    if action == bulk.BulkAction.ROUTE:
        return form.route_fields()
    if action == bulk.BulkAction.REJECT:
        return form.reject_fields()
    if action == bulk.BulkAction.ASSIGN:
        return {"assignee": form.cleaned_data["assignee"] or None}
    return {}


@require_POST
@login_required
def request_bulk(http_request: HttpRequest) -> HttpResponse:
    actor = actor_for_request(http_request)
    brains = brain_options(tenant_id=actor.tenant_id)
    people = selectors.head_office_people(tenant_id=actor.tenant_id) if bulk.bulk_allowed(actor) else []
    form = BulkForm(http_request.POST, brains=brains, people=people)
    result, problem, status = None, "", 200
    if not bulk.bulk_allowed(actor):
        problem, status = "Bulk actions are HeadOffice's: act on each request from its own page.", 403
    elif not form.is_valid():
        problem = " ".join(f"{form.fields[f].label or f}: {' '.join(e)}" if f != "__all__" else " ".join(e)
                           for f, e in form.errors.items())
    else:
        try:
            result = bulk.requests_bulk(actor=actor, action=form.cleaned_data["action"],
                                        request_ids=_chosen(form, actor, brains, people),
                                        fields=_fields(form), note=form.cleaned_data["note"])
        except DomainError as error:
            problem, status = error.message, 403 if error.kind == Refusal.FORBIDDEN else 200
    query = http_request.POST.get("query", "")
    context = {"result": result, "problem": problem,
               "back": reverse("requests:list") + (f"?{query}" if query else "")}
    response = render_page_or_fragment(http_request, "requests_app/bulk_result.html", context,
                                       fragment="bulk-result")
    response.status_code = status
    if result is not None and result.done and htmx_partial(http_request):
        response["HX-Trigger"] = "requests-changed"  # the list's filter form reloads the table below
    return response
