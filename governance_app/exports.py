"""The decisions and lessons pages as downloads: the whole filtered list as CSV (a header row, one
row a record) or as a JSON list of the API's decision and lesson objects, streamed in constant memory
(governance_app.kernel.exports), scoped as the page is (selectors.decisions_visible_to,
lessons_visible_to). A lesson carries its request's id too, which the lineage API gives by nesting."""

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from governance_app import selectors
from governance_app.api import DecisionOut, LessonOut, decision_out, lesson_out
from governance_app.filters import DecisionFilter, LessonFilter
from governance_app.kernel.actors import Actor
from governance_app.kernel.exports import EXPORT_CHUNK, export_filename, export_format, export_response
from requests_app.exports import filter_refusal


def _filtered(filter_class: type, queryset: QuerySet, data: Mapping[str, str],
              brains: list[tuple[str, str]]) -> QuerySet:
    filterset = filter_class(data, queryset=queryset, brain_choices=brains)
    if not filterset.is_valid():
        raise filter_refusal(filterset)
    return filterset.qs


def _items(rows: QuerySet, out: Callable[[Any], dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for row in rows.iterator(chunk_size=EXPORT_CHUNK):
        yield out(row)


def _lesson_item(lesson: Any) -> dict[str, Any]:
    return {**lesson_out(lesson), "request_id": lesson.related_request_id}


DECISION_COLUMNS = list(DecisionOut.model_fields)
LESSON_COLUMNS = [*LessonOut.model_fields, "request_id"]


def decisions_download(*, actor: Actor, data: Mapping[str, str], brains: list[tuple[str, str]],
                       fmt: str | None) -> StreamingHttpResponse:
    """The decisions the page would list with this filter, newest first, as a download."""
    chosen = export_format(fmt)
    queryset = selectors.decisions_visible_to(actor).order_by("-created_at", "pk")
    rows = _filtered(DecisionFilter, queryset, data, brains)
    return export_response(items=_items(rows, decision_out), columns=DECISION_COLUMNS, fmt=chosen,
                           filename=export_filename("decisions", data, fmt=chosen))


def lessons_download(*, actor: Actor, data: Mapping[str, str], brains: list[tuple[str, str]],
                     fmt: str | None) -> StreamingHttpResponse:
    """The lessons the page would list with this filter, newest first, as a download."""
    chosen = export_format(fmt)
    queryset = selectors.lessons_visible_to(actor).order_by("-created_at", "pk")
    rows = _filtered(LessonFilter, queryset, data, brains)
    return export_response(items=_items(rows, _lesson_item), columns=LESSON_COLUMNS, fmt=chosen,
                           filename=export_filename("lessons", data, fmt=chosen))
