"""Filters of the decisions and lessons pages; the URL keeps them, so a filtered view can be shared."""

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from governance_app.models import (
    Classification,
    DecisionKind,
    DecisionRecord,
    LessonLearned,
)

DATE = forms.DateInput(attrs={"type": "date"})


def _search(queryset: QuerySet, fields: tuple[str, ...], value: str) -> QuerySet:
    """Every word must appear in one of the fields (at most six words)."""
    for word in value.split()[:6]:
        condition = Q()
        for field in fields:
            condition |= Q(**{f"{field}__icontains": word})
        queryset = queryset.filter(condition)
    return queryset


class DecisionFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    authority = django_filters.ChoiceFilter(field_name="authority_id", empty_label="Any authority")
    kind = django_filters.ChoiceFilter(field_name="decision_kind", choices=DecisionKind.choices,
                                       empty_label="Any kind")
    classification = django_filters.ChoiceFilter(choices=Classification.choices, empty_label="Any classification")
    decided_after = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte", label="From",
                                              widget=DATE)
    decided_before = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte", label="To",
                                               widget=DATE)
    request = django_filters.UUIDFilter(field_name="related_request", label="Request id",
                                        widget=forms.HiddenInput)

    class Meta:
        model = DecisionRecord
        fields: list[str] = []

    def __init__(self, *args, brain_choices: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["authority"].extra["choices"] = brain_choices

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return _search(queryset, ("decision_summary", "reasoning", "evidence_used", "expected_outcome",
                                  "recorded_by", "related_request__request_title"), value)


class LessonFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    brain = django_filters.ChoiceFilter(field_name="originating_brain_id", empty_label="Any Brain",
                                        label="Originating Brain")
    request = django_filters.UUIDFilter(field_name="related_request", label="Request id",
                                        widget=forms.HiddenInput)

    class Meta:
        model = LessonLearned
        fields: list[str] = []

    def __init__(self, *args, brain_choices: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["brain"].extra["choices"] = brain_choices

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return _search(queryset, ("event_or_experiment", "result", "insight", "recommended_improvement",
                                  "related_request__request_title"), value)
