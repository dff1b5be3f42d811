"""The Canon pages: every MCR document, readable by anyone in the tenant, with its version history,
any version's text and its diff against the one before, and search. Reading only: the canon changes
through a HeadOffice MCR decision (Feedback & MCR)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from governance_app.kernel.actors import actor_for_request
from governance_app.kernel.brains import active_brains
from requests_app import canon


def _governs(document, names) -> str:
    return ", ".join(str(names.get(s, s)) for s in document.governs) if document.governs else "Every Brain"


@require_GET
@login_required
def canon_list(http_request: HttpRequest) -> HttpResponse:
    actor = actor_for_request(http_request)
    q = http_request.GET.get("q", "").strip()[:200]
    names = active_brains(actor.tenant_id)
    documents = [(d, _governs(d, names)) for d in canon.documents_for(actor=actor)]
    return render(http_request, "governance_app/canon_list.html", {
        "documents": documents, "q": q, "results": canon.search(actor=actor, q=q) if q else None})


@require_GET
@login_required
def canon_document(http_request: HttpRequest, slug: str) -> HttpResponse:
    actor = actor_for_request(http_request)
    document = canon.document_get(actor=actor, slug=slug)
    if document is None:
        raise Http404("No such canon document")
    history = canon.versions(document)
    return render(http_request, "governance_app/canon_document.html", {
        "document": document, "versions": list(reversed(history)),
        "governs": _governs(document, active_brains(actor.tenant_id))})


@require_GET
@login_required
def canon_version(http_request: HttpRequest, slug: str, version: str) -> HttpResponse:
    actor = actor_for_request(http_request)
    document = canon.document_get(actor=actor, slug=slug)
    found = canon.version_get(document, version) if document else None
    if found is None:
        raise Http404("No such version")
    this, previous = found
    return render(http_request, "governance_app/canon_version.html", {
        "document": document, "v": this, "previous": previous,
        "diff": canon.diff_lines(previous.body, this.body) if previous else None})
