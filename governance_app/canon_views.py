"""The Canon pages: every MCR document, readable by anyone in the tenant, with its version history,
any version's text and its diff against the one before, and search. The canon changes through a
HeadOffice MCR decision (Feedback & MCR); HeadOffice may roll an amendment back from here."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from governance_app import services
from governance_app.forms import RollbackForm
from governance_app.kernel.actors import actor_for_request
from governance_app.kernel.brains import active_brains
from governance_app.kernel.errors import DomainError
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


def _document_context(http_request: HttpRequest, document, *, bound: tuple | None = None) -> dict:
    actor = actor_for_request(http_request)
    amendments = canon.amendments_of(document)
    history = canon.versions(document, amendments)
    rows = []
    for v in reversed(history):
        a = v.amendment
        form = None
        if actor.is_head_office and a is not None and a.can_rollback and a.rolled_back_at is None:
            form = bound[1] if bound and bound[0] == a.pk else RollbackForm(key=a.pk)
        rows.append((v, canon.changed_sections(a.body_before, a.body_after) if a else [], form))
    return {"document": document, "versions": rows,
            "governs": _governs(document, active_brains(actor.tenant_id))}


@require_GET
@login_required
def canon_document(http_request: HttpRequest, slug: str) -> HttpResponse:
    actor = actor_for_request(http_request)
    document = canon.document_get(actor=actor, slug=slug)
    if document is None:
        raise Http404("No such canon document")
    return render(http_request, "governance_app/canon_document.html", _document_context(http_request, document))


@require_POST
@login_required
def canon_rollback(http_request: HttpRequest, slug: str, amendment_id) -> HttpResponse:
    """HeadOffice rolls an amendment back (governance_app.services.canon_rollback); a refusal comes
    back next to the amendment's form, saying why."""
    actor = actor_for_request(http_request)
    document = canon.document_get(actor=actor, slug=slug)
    if document is None or not actor.is_head_office:
        raise Http404("No such canon document")
    form = RollbackForm(http_request.POST, key=amendment_id)
    if form.is_valid():
        try:
            rollback = services.canon_rollback(actor=actor, document_slug=slug, amendment_id=amendment_id,
                                               reason=form.cleaned_data["reason"])
        except DomainError as error:
            form.add_refusal(error)
        else:
            messages.success(http_request, f"Rolled back: {document.title} is now {rollback.version_after}, "
                                           f"the text of {rollback.rolls_back.version_before} restored.")
            return redirect("governance:canon_document", slug=slug)
    messages.error(http_request, "The rollback was not made: see the message next to the amendment.")
    document.refresh_from_db()
    return render(http_request, "governance_app/canon_document.html",
                  _document_context(http_request, document, bound=(amendment_id, form)))


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
