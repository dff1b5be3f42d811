"""Downloads of a whole filtered list, as CSV or JSON, in constant memory.

A list page or an API call hands this module an iterator of rows (a queryset read with
`.iterator(chunk_size=EXPORT_CHUNK)`: a server-side cursor on PostgreSQL, `fetchmany` on SQLite) and
gets back a StreamingHttpResponse that writes them as they come. Nothing builds the whole list: at
any moment one chunk of rows is in memory, so 100,000 rows export like 100. The JSON is one list,
written item by item. The file name says what was exported and with which filter, so two downloads
of one list told apart by their filter are told apart by their names.

On PostgreSQL the rows are read after the view returns, while the server sends the body:
mwms_site.web.TenantClaimMiddleware reads a streaming answer in a transaction of its own acting for
the same tenant, so row-level security applies to every chunk.
"""

import csv
import datetime as dt
import json
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import StreamingHttpResponse
from django.utils.text import slugify

from governance_app.kernel import clock
from governance_app.kernel.errors import DomainError

FORMATS = ("csv", "json")
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}
# Rows read per round trip; with prefetch_related, one more query per chunk fetches their children.
EXPORT_CHUNK = 500
# Rows written per piece of the body sent (a piece per row costs a write call each).
ROWS_PER_PIECE = 200
# Parameters that shape the page or the order, not which rows: they stay out of the file name.
NOT_FILTERS = frozenset({"page", "export", "format", "limit", "offset", "sort"})
NAME_LIMIT = 150  # characters of the file name's filter part; the date and extension come after
# A cell a spreadsheet would run as a formula (OWASP "CSV injection") gets a leading apostrophe.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def export_format(value: str | None) -> str:
    """The format asked for ("csv" or "json"), or a DomainError saying which are offered."""
    chosen = (value or "").strip().lower()
    if chosen not in FORMATS:
        raise DomainError(f"Export as csv or json, not “{value}”.", field="export")
    return chosen


def export_filename(noun: str, filters: Mapping[str, Any], *, fmt: str, today: dt.date | None = None) -> str:
    """`requests-status-open-priority-high-2026-12-02.csv`: what, each filter given (name and value,
    in the order given), and the day."""
    parts = []
    for name, value in filters.items():
        if name in NOT_FILTERS or value in (None, ""):
            continue
        parts += [slugify(str(name).replace("_", "-")), slugify(str(value).replace("_", "-")) or "x"]
    middle = "-".join(part for part in parts if part)[:NAME_LIMIT].strip("-")
    day = (today or clock.now().date()).isoformat()
    return "-".join(part for part in (slugify(noun), middle, day) if part) + f".{fmt}"


def csv_cell(value: Any) -> str:
    """A value as one CSV cell: empty for None, true/false, ISO times, JSON for lists and objects."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | int | float):
        return str(value)
    if isinstance(value, list | dict):
        return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Line:
    """A file-like object that hands back what csv.writer writes to it."""

    def write(self, value: str) -> str:
        return value


def csv_pieces(columns: Sequence[str], items: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """The header row, then each item's columns, a few hundred rows per piece."""
    writer = csv.writer(_Line())
    yield writer.writerow(columns)
    piece: list[str] = []
    for item in items:
        piece.append(writer.writerow([csv_cell(item.get(column)) for column in columns]))
        if len(piece) >= ROWS_PER_PIECE:
            yield "".join(piece)
            piece = []
    if piece:
        yield "".join(piece)


def json_pieces(items: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """One JSON list, written item by item."""
    encoder = DjangoJSONEncoder(ensure_ascii=False)
    yield "["
    piece: list[str] = []
    first = True
    for item in items:
        piece.append(("" if first else ",\n") + encoder.encode(item))
        first = False
        if len(piece) >= ROWS_PER_PIECE:
            yield "".join(piece)
            piece = []
    yield "".join(piece) + "]\n"


def export_response(*, items: Iterable[Mapping[str, Any]], columns: Sequence[str], fmt: str,
                    filename: str) -> StreamingHttpResponse:
    """The download: a StreamingHttpResponse that reads `items` only as it sends them."""
    pieces = csv_pieces(columns, items) if fmt == "csv" else json_pieces(items)
    response = StreamingHttpResponse((piece.encode("utf-8") for piece in pieces), content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"  # the rows are the caller's to see, and change
    return response
