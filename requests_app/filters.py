"""The request filters: one FilterSet for the request list page and for GET /api/v1/requests
(the API also takes its older parameter names, see API_ALIASES). The URL keeps them, so a filtered
view can be bookmarked and shared."""

from datetime import date, datetime, time, timedelta
from typing import Any

import django_filters
from django import forms
from django.db import connection
from django.db.models import F, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from governance_app.kernel import fulltext
from governance_app.kernel.forms import KeptSelect
from requests_app import canon
from requests_app.models import Priority, RequestStatus, RequestType
from requests_app.queues import QUEUE_SPECS, queue_conditions
from requests_app.sla import SlaState, sla_conditions

ANY_YES_NO = (("", "Any"), ("true", "Yes"), ("false", "No"))


class ChoiceFilter(django_filters.ChoiceFilter):
    """A choice filter whose select each process draws once per value and choices (KeptSelect)."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("widget", KeptSelect)
        super().__init__(*args, **kwargs)


class RequestOrdering(django_filters.OrderingFilter):
    """The list's sorts. A column many rows share (status, priority, origin, destination) is
    followed by updated_at in the same direction: pages never overlap among ties, and the index
    (tenant, column, updated_at) returns the rows in that order (requests_app.models). Origin and
    destination sort by the Brain's slug, which the index holds, not by its name, which a join
    would have to sort."""

    def filter(self, qs: QuerySet, value: Any) -> QuerySet:
        if not value:
            return qs
        ordering: list[Any] = [self.get_ordering_value(param) for param in value]
        last = ordering[-1]
        if last.lstrip("-") in TIED_SORTS:
            ordering.append("-updated_at" if last.startswith("-") else "updated_at")
        # By due time, soonest first, the requests with no SLA clock after them; descending, the
        # reverse. The order of the (tenant, sla_due_at, updated_at) index on PostgreSQL read
        # forwards or backwards, and the same on SQLite, whose NULLs sort first unless told.
        ordering = [F("sla_due_at").asc(nulls_last=True) if o == "sla_due_at"
                    else F("sla_due_at").desc(nulls_first=True) if o == "-sla_due_at" else o for o in ordering]
        return qs.order_by(*ordering)


def _midnight(day: date) -> datetime:
    """The day's first moment in the site's time zone (what created_at__date compares against)."""
    return timezone.make_aware(datetime.combine(day, time.min))


TIED_SORTS = frozenset({"status", "priority", "requesting_brain_id", "target_brain_id", "sla_due_at"})


FORM_CLASSES_KEPT = 64  # sets of Brain and assignee choices kept before the copy starts again
_form_classes: dict[tuple, type[forms.Form]] = {}


class BrainRequestFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    status = ChoiceFilter(choices=RequestStatus.choices, empty_label="Any status")
    origin = ChoiceFilter(field_name="requesting_brain_id", label="Origin", empty_label="Any origin")
    destination = ChoiceFilter(field_name="target_brain_id", label="Destination", empty_label="Any destination")
    request_type = ChoiceFilter(choices=RequestType.choices, label="Type", empty_label="Any type")
    priority = ChoiceFilter(choices=Priority.choices, empty_label="Any priority")
    escalation_flag = django_filters.BooleanFilter(label="Escalation flag", widget=KeptSelect(choices=ANY_YES_NO))
    head_office_visible = django_filters.BooleanFilter(label="HeadOffice-visible",
                                                       widget=KeptSelect(choices=ANY_YES_NO))
    queue = ChoiceFilter(method="in_queue", label="Queue", empty_label="Any queue",
                         choices=[("open", "Open"), *((q.key, q.label) for q in QUEUE_SPECS)])
    # Personal assignment (issue 14): me, nobody, or a HeadOffice member by id.
    assignee = ChoiceFilter(method="assigned_to", label="Assignee", empty_label="Anyone")
    sla = ChoiceFilter(method="in_sla_state", label="SLA", empty_label="Any SLA state", choices=SlaState.choices)
    # Days as ranges of created_at from local midnight, not created_at::date: the cast would keep
    # the (tenant, created_at) index from serving the filter.
    created_after = django_filters.DateFilter(method="created_from", label="Created from",
                                              widget=forms.DateInput(attrs={"type": "date"}))
    created_before = django_filters.DateFilter(method="created_to", label="Created to",
                                               widget=forms.DateInput(attrs={"type": "date"}))
    # The impact of a canon change links here (issue 15): the requests a canon document covers, and
    # those with a decision from a day on.
    canon = django_filters.CharFilter(method="covered_by", label="Covered by the canon document")
    decided_after = django_filters.DateFilter(method="decided_from", label="Decided from",
                                              widget=forms.DateInput(attrs={"type": "date"}))
    sort = RequestOrdering(
        fields=(("updated_at", "updated"), ("created_at", "created"), ("request_title", "title"),
                ("status", "status"), ("priority", "priority"), ("requesting_brain_id", "origin"),
                ("target_brain_id", "destination"), ("sla_due_at", "due")),
        label="Sort",
    )

    def __init__(self, *args, brain_choices: list[tuple[str, str]], people: list[tuple[str, str]] | None = None,
                 user_id: int | None = None, tenant_id: Any = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant_id = tenant_id
        self.filters["origin"].extra["choices"] = brain_choices
        self.filters["destination"].extra["choices"] = brain_choices
        self.filters["assignee"].extra["choices"] = [("me", "Me"), ("nobody", "Nobody"), *(people or [])]
        self.user_id = user_id

    def get_form_class(self) -> type[forms.Form]:
        """django-filter's form class, made once per process for each set of Brain and assignee
        choices (the only parts that differ): making it makes a new field for every filter, and
        did so on every page (issue 16). Each form made from it still has fields of its own."""
        key = (tuple(self.filters["origin"].extra["choices"]), tuple(self.filters["assignee"].extra["choices"]))
        form_class = _form_classes.get(key)
        if form_class is None:
            form_class = super().get_form_class()
            if len(_form_classes) >= FORM_CLASSES_KEPT:
                _form_classes.clear()
            _form_classes[key] = form_class
        return form_class

    def assigned_to(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "me":
            return queryset.filter(assignee_id=self.user_id) if self.user_id else queryset.none()
        if value == "nobody":
            return queryset.filter(assignee__isnull=True)
        return queryset.filter(assignee_id=int(value))  # one of the choices: a HeadOffice member's id

    def created_from(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        return queryset.filter(created_at__gte=_midnight(value))

    def created_to(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        return queryset.filter(created_at__lt=_midnight(value + timedelta(days=1)))

    def covered_by(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        document = canon.document_in(tenant_id=self.tenant_id, slug=value) if self.tenant_id else None
        return queryset.filter(canon.covered(document)) if document is not None else queryset.none()

    def decided_from(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        return queryset.filter(canon.decided_since(_midnight(value)))

    def in_queue(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(queue_conditions()[value])

    def in_sla_state(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(sla_conditions()[value])

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """The requests whose title or summaries hold every word (up to six), or whose offer,
        intake or experiment id is one of the words, in any case.

        On PostgreSQL the words are read through the requests' full-text document: each matches a
        word there starting with it, stemmed ("offers" finds "offer"), and a stop word ("the")
        is left out. The owner's `mwms_request_text_ids` (requests_app 0017) answers the ids: it
        applies the tenant rule itself and so can use the GIN and id indexes that row-level
        security keeps from the runtime role's own query. On SQLite the title or a summary must
        contain each word."""
        words = value.split()[:6]
        if not words:
            return queryset
        if connection.vendor == "postgresql":
            return queryset.filter(pk__in=RawSQL("SELECT public.mwms_request_text_ids(%s, %s)", text_terms(value)))
        text = Q()
        for word in words:
            text &= (Q(request_title__icontains=word) | Q(request_summary__icontains=word)
                     | Q(response_summary__icontains=word) | Q(result_summary__icontains=word))
        ids = Q()
        for word in words:
            ids |= Q(offer_id__iexact=word) | Q(intake_id__iexact=word) | Q(experiment_id__iexact=word)
        return queryset.filter(text | ids)


def text_terms(value: str) -> list[Any]:
    """The free text's arguments to the owner's lookups (requests_app 0017, 0023): the tsquery
    its words make (each a prefix, every one required; None when no word has a letter or digit)
    and the words upper-cased, matched to the offer, intake and experiment ids."""
    words = value.split()[:6]
    query = " & ".join(filter(None, (fulltext.prefix_query(word) for word in words)))
    return [query or None, [word.upper() for word in words]]


# The API's names for the filters above, kept so that no client breaks (page name: API name).
API_ALIASES = {"status": "request_status", "origin": "origin_brain", "destination": "destination_brain"}
