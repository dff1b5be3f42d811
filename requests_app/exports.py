"""The request list as a download: the whole filtered set the page (or GET /api/v1/requests/export)
would list, as CSV with a header row or as a JSON list of the API's request objects, streamed in
constant memory (governance_app.kernel.exports).

One filter for the page, the API and the export (requests_app.filters.BrainRequestFilter), and one
scope (selectors.requests_visible_to): a Brain owner exports what their list shows, never more.
"""

from collections import defaultdict
from collections.abc import Iterator, Mapping
from itertools import islice
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from governance_app.kernel.actors import Actor
from governance_app.kernel.errors import DomainError
from governance_app.kernel.exports import EXPORT_CHUNK, export_filename, export_format, export_response
from requests_app.api import RequestOut, request_out
from requests_app.filters import BrainRequestFilter
from requests_app.models import BrainRequest
from requests_app.selectors import head_office_people, requests_visible_to

# Every field of the API's request object; a CSV row has one cell each (the moves open to the
# caller are the JSON's alone: a list of objects is no cell).
CSV_COLUMNS = [name for name in RequestOut.model_fields if name != "moves_open"]


def filter_refusal(filterset: Any, names: Mapping[str, str] | None = None) -> DomainError:
    """A bad filter in words: each field by the name the caller used, and what is wrong with it."""
    names = names or {}
    fields = {names.get(name, name): " ".join(messages) for name, messages in filterset.errors.items()}
    return DomainError("; ".join(f"{name}: {message}" for name, message in fields.items()),
                       field=next(iter(fields), None), errors=fields)


def requests_filtered(*, actor: Actor, data: Mapping[str, str], brains: list[tuple[str, str]],
                      names: Mapping[str, str] | None = None) -> QuerySet[BrainRequest]:
    """The requests the actor may see that the filter keeps, in the list page's order (most recently
    changed first, or the filter's `sort`); a DomainError naming each bad filter."""
    queryset = requests_visible_to(actor).order_by("-updated_at", "-pk")
    # The people an assignee filter may name are read only when it names one (me and nobody need none).
    person = (data.get("assignee") or "") not in ("", "me", "nobody")
    filterset = BrainRequestFilter(data, queryset=queryset, brain_choices=brains, user_id=actor.user_id,
                                   people=head_office_people(tenant_id=actor.tenant_id) if person else None,
                                   tenant_id=actor.tenant_id)
    if not filterset.is_valid():
        raise filter_refusal(filterset, names)
    return filterset.qs


def request_items(*, actor: Actor, requests: QuerySet[BrainRequest]) -> Iterator[dict[str, Any]]:
    """Each request as the API shows it, read EXPORT_CHUNK rows at a time, with one query for the
    task ids of each chunk (`prefetch_related` would do the same, but its per-row querysets hold
    references in cycles that only the garbage collector frees, so memory climbs between its runs)."""
    task_model = BrainRequest._meta.get_field("tasks").related_model
    rows = requests.iterator(chunk_size=EXPORT_CHUNK)
    while chunk := list(islice(rows, EXPORT_CHUNK)):
        task_ids: dict[Any, list[Any]] = defaultdict(list)
        tasks = task_model.objects.filter(request_id__in=[r.pk for r in chunk]).order_by("created_at")
        for request_id, task_id in tasks.values_list("request_id", "id"):
            task_ids[request_id].append(task_id)
        for brain_request in chunk:
            yield request_out(brain_request, actor, task_ids=task_ids.get(brain_request.pk, []))


def requests_download(*, actor: Actor, data: Mapping[str, str], brains: list[tuple[str, str]], fmt: str | None,
                      names: Mapping[str, str] | None = None) -> StreamingHttpResponse:
    """The filtered request list as a CSV or JSON download, named for its filter."""
    chosen = export_format(fmt)
    requests = requests_filtered(actor=actor, data=data, brains=brains, names=names)
    filters = {names.get(key, key) if names else key: value for key, value in data.items()}
    return export_response(items=request_items(actor=actor, requests=requests), columns=CSV_COLUMNS, fmt=chosen,
                           filename=export_filename("requests", filters, fmt=chosen))
