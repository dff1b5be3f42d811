"""The request filters: one FilterSet for the request list page and for GET /api/v1/requests
(the API also takes its older parameter names, see API_ALIASES). The URL keeps them, so a filtered
view can be bookmarked and shared."""

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from requests_app.models import Priority, RequestStatus, RequestType
from requests_app.queues import QUEUE_SPECS, queue_conditions

ANY_YES_NO = (("", "Any"), ("true", "Yes"), ("false", "No"))


class BrainRequestFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    status = django_filters.ChoiceFilter(choices=RequestStatus.choices, empty_label="Any status")
    origin = django_filters.ChoiceFilter(field_name="requesting_brain_id", empty_label="Any origin")
    destination = django_filters.ChoiceFilter(field_name="target_brain_id", empty_label="Any destination")
    request_type = django_filters.ChoiceFilter(choices=RequestType.choices, empty_label="Any type")
    priority = django_filters.ChoiceFilter(choices=Priority.choices, empty_label="Any priority")
    escalation_flag = django_filters.BooleanFilter(label="Escalation flag", widget=forms.Select(choices=ANY_YES_NO))
    head_office_visible = django_filters.BooleanFilter(label="HeadOffice-visible",
                                                       widget=forms.Select(choices=ANY_YES_NO))
    queue = django_filters.ChoiceFilter(method="in_queue", label="Queue", empty_label="Any queue",
                                        choices=[("open", "Open"), *((q.key, q.label) for q in QUEUE_SPECS)])
    created_after = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte", label="Created from",
                                              widget=forms.DateInput(attrs={"type": "date"}))
    created_before = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte", label="Created to",
                                               widget=forms.DateInput(attrs={"type": "date"}))
    sort = django_filters.OrderingFilter(
        fields=(("updated_at", "updated"), ("created_at", "created"), ("request_title", "title"),
                ("status", "status"), ("priority", "priority"), ("requesting_brain", "origin"),
                ("target_brain", "destination")),
        label="Sort",
    )

    def __init__(self, *args, brain_choices: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["origin"].extra["choices"] = brain_choices
        self.filters["destination"].extra["choices"] = brain_choices

    def in_queue(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(queue_conditions()[value])

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        words = value.split()
        for word in words[:6]:
            queryset = queryset.filter(
                Q(request_title__icontains=word) | Q(request_summary__icontains=word)
                | Q(offer_id__iexact=word) | Q(intake_id__iexact=word) | Q(experiment_id__iexact=word)
                | Q(source_origin__icontains=word)
            )
        return queryset


# The API's names for the filters above, kept so that no client breaks (page name: API name).
API_ALIASES = {"status": "request_status", "origin": "origin_brain", "destination": "destination_brain"}
