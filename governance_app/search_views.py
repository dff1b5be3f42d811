"""The search page behind the header's search box (governance_app.search): every kind of record the
person may see, best match first, each hit linked to itself and to its request."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from governance_app.kernel.actors import actor_for_request
from governance_app.search import search_everything
from mwms_site.web import render_page_or_fragment

QUERY_LIMIT = 200  # characters of a search


class SearchForm(forms.Form):
    q = forms.CharField(label="Search", max_length=QUERY_LIMIT, required=False)
    page = forms.IntegerField(min_value=1, max_value=10_000, required=False)


@require_GET
@login_required
@vary_on_headers("HX-Request")
def search(http_request: HttpRequest) -> HttpResponse:
    form = SearchForm(http_request.GET)
    results = None
    if form.is_valid() and form.cleaned_data["q"]:
        results = search_everything(actor=actor_for_request(http_request), text=form.cleaned_data["q"],
                                    page=form.cleaned_data["page"] or 1)
    return render_page_or_fragment(http_request, "governance_app/search.html",
                                   {"form": form, "results": results, "q": http_request.GET.get("q", "")},
                                   fragment="search-results")


# The records a canon suggestion may cite (requests_app.evidence), for the form's evidence picker.
EVIDENCE_KINDS = ("request", "decision", "lesson")


@require_GET
@login_required
def evidence_search(http_request: HttpRequest) -> HttpResponse:
    """The suggestion form's search-as-you-type: the requests, decisions and lessons the person may
    see that match, each with a button that adds it to the form's evidence (static/js/evidence_picker.js)."""
    form = SearchForm(http_request.GET)
    results = None
    if form.is_valid() and form.cleaned_data["q"]:
        results = search_everything(actor=actor_for_request(http_request), text=form.cleaned_data["q"],
                                    kinds=EVIDENCE_KINDS)
    return render(http_request, "governance_app/_evidence_hits.html", {"form": form, "results": results})
