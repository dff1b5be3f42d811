"""Pages of rows whose cost is the page's, not the table's.

Django's Paginator counts every matching row to number the pages, so a list of 100,000 requests
pays for counting 100,000 rows on every view. `RowPaginator` counts exactly only up to
EXACT_COUNT_UP_TO rows (a COUNT over a LIMIT: it stops there); above that, on PostgreSQL, it asks
the planner how many rows the query will return and marks the count as an estimate (`estimated`),
which the page shows as "about N". Whether there is a next page is decided by the rows
themselves (one row more than a page is read), never by the estimate, so an estimate that is low
or high cannot hide a row or offer an empty page as "next".
"""

import json
import math
from functools import cached_property
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db import connections

EXACT_COUNT_UP_TO = 1000
DEEP_FROM = 500        # rows skipped from which a page reads its keys first (see `_rows`)


class RowPage(Page):
    """A page that knows from its own rows whether another follows."""

    def __init__(self, object_list: Any, number: int, paginator: "RowPaginator", *, more: bool):
        super().__init__(object_list, number, paginator)
        self.more = more

    def has_next(self) -> bool:
        return self.more

    def next_page_number(self) -> int:
        return self.number + 1


class RowPaginator(Paginator):
    """A Paginator whose count stops at EXACT_COUNT_UP_TO and estimates above it (see module)."""

    estimated = False
    capped = False      # the count stopped at `exact_up_to` and no estimate was asked for (CappedCountPaginator)
    exact_up_to = EXACT_COUNT_UP_TO
    # The rows are in the list's order among this many of its rows only (the newest matches of a
    # free text whose order could not be walked: requests_app.selectors.TextWalkPaginator), so the
    # last of them is not the list's end; the page says so.
    sorted_among: int | None = None

    def __init__(self, object_list: Any, per_page: int, *args: Any, keys_from: int | None = None, **kwargs: Any):
        """`keys_from`: the rows skipped from which a page reads its keys first (`_rows`; DEEP_FROM
        unless given); 0 for a list whose filters an index-only walk serves better than its rows."""
        super().__init__(object_list, per_page, *args, **kwargs)
        self.keys_from = keys_from

    @cached_property
    def count(self) -> int:
        rows = self.object_list
        if not hasattr(rows, "query"):
            return len(rows)
        count, self.estimated = capped_count(rows)
        return count

    def validate_number(self, number: Any) -> int:
        """A page number up to the last page; past an estimate, any page (a low estimate must not
        hide the rows after it: the page read says whether there are any)."""
        try:
            number = int(number)
        except (TypeError, ValueError) as error:
            raise PageNotAnInteger("That page number is not an integer") from error
        if number < 1:
            raise EmptyPage("That page number is less than 1")
        if number > self.num_pages and not (self.estimated or self.capped) and not (
                number == 1 and self.allow_empty_first_page):
            raise EmptyPage("That page contains no results")
        return number

    def page(self, number: Any) -> RowPage:
        """The page's rows (one more is read, to know whether another page follows). When the
        first page holds every row, or a later one the last rows, the count is what was read
        and is not asked for."""
        try:
            wanted = int(number)
        except (TypeError, ValueError):
            wanted = 0
        if wanted >= 1 and "count" not in self.__dict__:
            bottom = (wanted - 1) * self.per_page
            rows = self._rows(bottom)
            if len(rows) <= self.per_page and (rows or wanted == 1) and not self.sorted_among:
                self.__dict__["count"] = bottom + len(rows)
                return RowPage(rows, wanted, self, more=False)
            if len(rows) > self.per_page:
                self.validate_number(wanted)
                return RowPage(rows[:self.per_page], wanted, self, more=True)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        rows = self._rows(bottom)
        return RowPage(rows[:self.per_page], number, self, more=len(rows) > self.per_page)

    def _rows(self, bottom: int) -> list[Any]:
        """The page's rows and one more. Deep in a list, the rows skipped are only keys: the
        page's keys are found first (an index walk that joins and computes nothing) and only those
        rows are read in full, in the same statement; otherwise each skipped row would be joined
        to its Brains and person before being thrown away (page 200 of the request list: 66 ms).
        A list that reads its keys first from its first page (`keys_from=0`) lets a filter on a
        column the sort's index carries skip index entries instead of rows (kernel's callers)."""
        rows = self.object_list
        window = slice(bottom, bottom + self.per_page + 1)
        keys_from = DEEP_FROM if self.keys_from is None else self.keys_from
        if bottom < keys_from or not hasattr(rows, "query") or rows.query.combinator:
            return list(rows[window])
        return list(rows.filter(pk__in=rows.values("pk")[window]))

    def get_page(self, number: Any) -> RowPage:
        try:
            return self.page(number)
        except PageNotAnInteger:
            return self.page(1)
        except EmptyPage:
            return self.page(self.num_pages)

    @property
    def num_pages(self) -> int:
        if self.count == 0 and not self.allow_empty_first_page:
            return 0
        return max(1, math.ceil(self.count / self.per_page))


def counted_keys(rows: Any, cap: int) -> Any:
    """The rows' keys, at most cap + 1 of them: what a capped count counts. Only the key is
    selected, so an annotation (the list's task count) is not computed for the rows counted."""
    return rows.order_by().values("pk")[:cap + 1]


def capped_count(rows: Any) -> tuple[int, bool]:
    """How many rows the query matches, exactly up to EXACT_COUNT_UP_TO, and whether it is the
    planner's estimate instead (above it, on PostgreSQL)."""
    capped = counted_keys(rows, EXACT_COUNT_UP_TO).count()
    if capped <= EXACT_COUNT_UP_TO:
        return capped, False
    return max(planner_estimate(rows), capped), True


class CappedCountPaginator(RowPaginator):
    """A RowPaginator given its count (capped_counts: exact up to `cap`, cap + 1 above it). Above
    the cap the page says "more than cap" and offers the next page while rows follow; nothing
    is estimated (for a page whose lists are counted together, in one statement)."""

    def __init__(self, object_list: Any, per_page: int, *, count: int, cap: int):
        super().__init__(object_list, per_page)
        self.exact_up_to, self.capped = cap, count > cap
        self.__dict__["count"] = count  # what `count` (a cached_property) would have worked out


class CountedUpToPaginator(RowPaginator):
    """A RowPaginator that counts up to `cap` and, above it, says "more than cap" and offers the
    next page while rows follow (as CappedCountPaginator), with no estimate. For a list whose rows
    a condition keeps that the planner cannot estimate and no index serves, so that each row
    counted costs a lookup of its own (a Brain's decisions, visible through their request): its
    estimate is far off (every decision of the tenant), and counting to EXACT_COUNT_UP_TO read
    a thousand rows' requests or more for every view."""

    def __init__(self, object_list: Any, per_page: int, *, cap: int):
        super().__init__(object_list, per_page)
        self.exact_up_to = cap

    @cached_property
    def count(self) -> int:
        counted = counted_keys(self.object_list, self.exact_up_to).count()
        self.capped = counted > self.exact_up_to
        return counted


def capped_counts(querysets: dict[str, Any], *, cap: int) -> dict[str, int]:
    """How many rows each query matches, counted up to cap + 1 (a COUNT over a LIMIT: it stops
    there), all in one statement: a page of several lists pays one round trip, not one a list.
    An empty queryset (`.none()`) counts 0 and adds nothing to the statement."""
    counts, parts, params, db = {}, [], [], None
    for name, rows in querysets.items():
        try:
            key = counted_keys(rows, cap)
            sql, found = key.query.get_compiler(key.db).as_sql()
        except EmptyResultSet:
            counts[name] = 0
            continue
        parts.append((name, f"(SELECT COUNT(*) FROM ({sql}) AS counted_{len(parts)})"))
        params.extend(found)
        db = rows.db
    if parts:
        with connections[db].cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(part for _name, part in parts), params)
            counts.update(zip((name for name, _part in parts), cursor.fetchone()))
    return {name: counts[name] for name in querysets}


def planner_estimate(rows: Any) -> int:
    """How many rows PostgreSQL's planner expects the query to return (no rows are read). On
    another database there is no estimate: the exact count."""
    if connections[rows.db].vendor != "postgresql":
        return rows.order_by().count()
    # The key alone: the same rows, but a plan without the page's joins and annotations is made in
    # a fraction of the time (planning the list's full query cost more than running it).
    plan = json.loads(rows.order_by().values("pk").explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])
