"""Governance pages: the HeadOffice dashboard, escalation review, feedback classification and the MCR
gate, decisions and lessons. Views parse, call one service or selector, and render; a refused write
comes back on its bound form with status 200 and nothing changed."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page
from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.utils.http import urlencode
from django.utils.timezone import localdate
from django.views.decorators.vary import vary_on_headers

from governance_app import exports, selectors, services
from governance_app.filters import DecisionFilter, LessonFilter
from governance_app.forms import (
    ClassifyForm,
    DecisionForm,
    EscalationResolveForm,
    LessonForm,
    McrDecisionForm,
    ProposalAmendForm,
    WebhookSubscriptionForm,
)
from governance_app.kernel import webhooks
from governance_app.kernel.actors import Actor, actor_for_request
from governance_app.kernel.brains import brain_options
from governance_app.kernel.errors import DomainError, Refusal
from governance_app.kernel.pages import EXACT_COUNT_UP_TO, CappedCountPaginator, RowPaginator, capped_counts
from governance_app.models import Brain, DeliveryStatus
from mwms_site.web import htmx_partial, next_url, opened_from, render_page_or_fragment
from requests_app import canon, drilldown
from requests_app.evidence import evidence_of
from requests_app.models import BrainRequest
from requests_app.selectors import integrity_queue, ping_pong_queue, request_get, request_get_or_404
from requests_app.transitions import move_roles_held, moves_open

PAGE_SIZE = 25
Bound = tuple[BrainRequest, forms.Form] | None


# --- helpers ------------------------------------------------------------------------------------

def _here(http_request: HttpRequest, page: str) -> str:
    """Where a form on this page returns to: the page itself, or, when a refused POST re-renders
    it, the page the form was posted from."""
    if http_request.method == "POST":
        return next_url(http_request, reverse(page))
    if http_request.path != reverse(page):  # a row's form opened on a page of its own
        return reverse(page)
    return http_request.get_full_path()


def _brains(actor: Actor) -> list[tuple[str, str]]:
    return brain_options(tenant_id=actor.tenant_id)


def _move_open(request: BrainRequest, actor: Actor, name: str) -> bool:
    return any(move.name == name for move in moves_open(request, actor))


def _page(http_request: HttpRequest, rows: Any, param: str = "page", paginator: RowPaginator | None = None) -> Page:
    return (paginator or RowPaginator(rows, PAGE_SIZE)).get_page(http_request.GET.get(param))


def _query_without(data: QueryDict | None, param: str) -> str:
    """The page's query string without `param`, for links that change only that parameter."""
    if not data:
        return ""
    query = data.copy()
    query.pop(param, None)
    query.pop("export", None)  # a page's links never ask for its download again
    return query.urlencode()


def _download(http_request: HttpRequest, download: Callable[..., StreamingHttpResponse]) -> StreamingHttpResponse | None:
    """The page's whole filtered list as a download when `?export=csv` or `json` asks for it
    (governance_app.exports); None shows the page, saying why when the export was refused."""
    if "export" not in http_request.GET:
        return None
    actor = actor_for_request(http_request)
    try:
        return download(actor=actor, data=http_request.GET, brains=_brains(actor), fmt=http_request.GET.get("export"))
    except DomainError as error:
        messages.error(http_request, f"Nothing was exported: {error.message}")
        return None


def _shown(http_request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """The page shown instead of a refused download answers 400."""
    if "export" in http_request.GET:
        response.status_code = 400
    return response


def _rows_with_forms(rows: Any, may: Callable[[BrainRequest], bool], bound: Bound = None,
                     ) -> list[tuple[BrainRequest, forms.Form | None, bool]]:
    """Each row, the form shown open on it (a refused one, or one opened without JavaScript: the
    others are loaded when opened, _partials/_lazy_action.html), and whether the actor may act on
    it; the bound form brings its row along if the row is not on this page."""
    rows = list(rows)
    if bound is not None and all(row.pk != bound[0].pk for row in rows):
        rows.insert(0, bound[0])
    return [(row, form, form is not None or may(row))
            for row in rows for form in [bound[1] if bound is not None and bound[0].pk == row.pk else None]]


def _form_opened(http_request: HttpRequest, fragment: str, context: dict, page: Callable[[], HttpResponse],
                 ) -> HttpResponse:
    """A row's form asked for by htmx when the person opens it (its partial, returning to the page
    it was opened on), or, without JavaScript, its page with the form open on the row."""
    if not htmx_partial(http_request):
        return page()
    return render(http_request, fragment, {**context, "next": opened_from(http_request, context["next"])})


def _refused(http_request: HttpRequest, what: str) -> None:
    messages.error(http_request, f"{what} was not saved: see the message next to the form.")


def _done(http_request: HttpRequest, request: BrainRequest, message: str) -> HttpResponse:
    messages.success(http_request, message)
    return redirect(next_url(http_request, reverse("requests:detail", args=[request.pk])))


# --- the dashboard ------------------------------------------------------------------------------

REQUEST_LIST = "requests:list"
# Where each tile leads: the request list filtered to the queue, oldest change first; the list's
# `queue` parameter covers what a status cannot say, and feedback has its own page.
QUEUE_LINKS = {
    "breached": (REQUEST_LIST, "queue=breached&sort=due"),
    "due_soon": (REQUEST_LIST, "queue=due_soon&sort=due"),
    "needs_review": (REQUEST_LIST, "queue=needs_review&sort=updated"),
    "escalated": (REQUEST_LIST, "status=escalated&sort=updated"),
    "blocked": (REQUEST_LIST, "status=blocked&sort=updated"),
    "awaiting_head_office_review": (REQUEST_LIST, "status=awaiting_head_office_review&sort=updated"),
    "feedback_to_classify": ("governance:feedback", ""),
    "awaiting_mcr_decision": (REQUEST_LIST, "status=awaiting_mcr_decision&sort=updated"),
    "stale": (REQUEST_LIST, "queue=stale&sort=updated"),
    "responded_without_outcome": (REQUEST_LIST, "queue=responded_without_outcome&sort=updated"),
}


def _tile_href(key: str) -> str:
    name, query = QUEUE_LINKS[key]
    return reverse(name) + (f"?{query}" if query else "")


@require_GET
@login_required
@vary_on_headers("HX-Request")
def dashboard(http_request: HttpRequest, landing: bool = True) -> HttpResponse:
    """The queues and health panel. At "/" (where sign-in lands) a Brain owner is sent on to their
    inbox, whose rows they act on; the same page for them is at /dashboard/ (landing=False)."""
    actor = actor_for_request(http_request)
    inbox = _owner_inbox(actor) if landing and not htmx_partial(http_request) else None
    if inbox is not None:
        return redirect(inbox)
    context: dict[str, Any] = {"tiles": [(queue, _tile_href(queue.key))
                                         for queue in selectors.dashboard_queues(actor=actor)]}
    mine = selectors.assigned_queue(actor=actor)  # issue 14: the reviewer's own queue comes first
    if mine is not None:
        context["tiles"].insert(0, (mine, reverse(REQUEST_LIST) + "?assignee=me&queue=open&sort=updated"))
    if not htmx_partial(http_request):  # the tiles refresh on their own; the health panel comes with the page
        context["health"] = selectors.dashboard_health(actor=actor)
        context["figures_seconds"] = settings.MWMS_DASHBOARD_FIGURES_SECONDS
    return render_page_or_fragment(http_request, "governance_app/dashboard.html", context,
                                   fragment="dashboard-queues")


def _owner_inbox(actor: Actor) -> str | None:
    """The workspace inbox of a Brain owner who is not HeadOffice (the first of their Brains by slug)."""
    if actor.is_head_office:
        return None
    slugs = sorted(b for b in actor.brains if b != Brain.HEADOFFICE)
    return reverse("requests:workspace", args=[slugs[0]]) if slugs else None


def integrity_queues(actor: Actor) -> dict[str, Any]:
    """The dashboard's Integrity and ping-pong queues (issue 13), in their own partial."""
    return {"integrity_rows": integrity_queue(actor=actor), "ping_pong_rows": ping_pong_queue(actor=actor),
            "integrity_scan": settings.MWMS_INTEGRITY_QUEUE_SCAN, "ping_pong_limit": settings.MWMS_PING_PONG_LIMIT}


@require_GET
@login_required
@vary_on_headers("HX-Request")
def dashboard_integrity(http_request: HttpRequest) -> HttpResponse:
    """The Integrity and ping-pong queues, which the dashboard fetches once it is shown: checking the
    lineage of the requests changed last is most of the dashboard's work (issue 16), and the queues
    and figures above it need not wait for it. Without JavaScript, the dashboard links here."""
    return render_page_or_fragment(http_request, "governance_app/integrity_queues.html",
                                   integrity_queues(actor_for_request(http_request)), fragment="integrity-queues")


# --- escalation review --------------------------------------------------------------------------

def _resolve_form(request: BrainRequest, actor: Actor) -> EscalationResolveForm | None:
    # Only the escalation owner's members and HeadOffice may resolve (the transition table says so).
    if not _move_open(request, actor, "resolve_escalation"):
        return None
    return EscalationResolveForm(key=request.pk, initial={"lock_version": request.lock_version,
                                                          "next_step_owner": request.requesting_brain_id})


def _offer_evidence(form: forms.Form, request: BrainRequest) -> None:
    """A resolution form's evidence picker: its request's own records, as its drill-down's Close
    form offers them (the form is loaded for one row when opened, so one row's records)."""
    form.offer_evidence(drilldown.evidence_groups_for(requests=[request]).get(request.pk, []))


def _escalations_context(http_request: HttpRequest, *, bound: Bound = None) -> dict:
    actor = actor_for_request(http_request)
    page = _page(http_request, selectors.escalations_for(actor=actor))
    if bound is not None:  # a refused resolution comes back open, with its evidence picker
        _offer_evidence(bound[1], bound[0])
    return {"page": page, "query": _query_without(http_request.GET, "page"),
            "rows": _rows_with_forms(page.object_list, lambda r: _move_open(r, actor, "resolve_escalation"), bound),
            "next": _here(http_request, "governance:escalations")}


@require_GET
@login_required
@vary_on_headers("HX-Request")
def escalations(http_request: HttpRequest) -> HttpResponse:
    return render_page_or_fragment(http_request, "governance_app/escalations.html",
                                   _escalations_context(http_request), fragment="escalation-list")


@require_http_methods(["GET", "POST"])
@login_required
@vary_on_headers("HX-Request")
def escalation_resolve(http_request: HttpRequest, request_id) -> HttpResponse:
    actor = actor_for_request(http_request)
    request = request_get_or_404(actor=actor, request_id=request_id)
    if http_request.method == "GET":
        form = _resolve_form(request, actor)
        if form is None:
            raise Http404("No escalation you can resolve")
        _offer_evidence(form, request)
        return _form_opened(
            http_request, "governance_app/_escalation_form.html#resolve-form",
            {"r": request, "form": form, "next": reverse("governance:escalations")},
            lambda: render(http_request, "governance_app/escalations.html",
                           _escalations_context(http_request, bound=(request, form))))
    form = EscalationResolveForm(http_request.POST, key=request.pk)
    if form.is_valid():
        try:
            resolved = services.escalation_resolve(request=request, actor=actor, **form.service_kwargs())
        except DomainError as error:
            form.add_refusal(error)
        else:
            return _done(http_request, resolved, f"Escalation resolved: “{resolved}” is now "
                                                 f"{resolved.get_status_display().lower()}.")
    _refused(http_request, "The resolution")
    return render(http_request, "governance_app/escalations.html",
                  _escalations_context(http_request, bound=(request, form)))


# --- feedback classification and the MCR gate -----------------------------------------------------

def _decision_request_or_404(http_request: HttpRequest, request_id, move: str) -> tuple[Actor, BrainRequest]:
    """The request, when the actor holds a role the transition table lets make this move (for
    classification and MCR decisions: HeadOffice, protocol rule 13); a refusal from the current
    status is the service's to explain."""
    actor = actor_for_request(http_request)
    request = request_get_or_404(actor=actor, request_id=request_id)
    if not move_roles_held(request, move, actor):
        raise Http404("No such request")
    return actor, request


def _canon_options(actor: Actor) -> list[tuple[str, str]]:
    return [(str(d.pk), f"{d.title} ({d.version})") for d in selectors.canon_documents_for(actor=actor)]


def _classify_form(actor: Actor, request: BrainRequest, brains: list[tuple[str, str]]) -> ClassifyForm | None:
    if not _move_open(request, actor, "classify"):
        return None
    return ClassifyForm(key=request.pk, brains=brains, initial={"lock_version": request.lock_version})


def _feedback_context(http_request: HttpRequest, *, classify: Bound = None, mcr: Bound = None) -> dict:
    actor = actor_for_request(http_request)
    # Both queues counted in one statement, up to EXACT_COUNT_UP_TO ("more than 1000" above it):
    # issue 16, a COUNT each was two round trips and two compiled statements of a 25 ms budget.
    lists = {"page": selectors.feedback_to_classify(actor=actor), "mcr_page": selectors.mcr_decision_queue(actor=actor)}
    counts = capped_counts(lists, cap=EXACT_COUNT_UP_TO)
    feedback_page, mcr_page = (
        CappedCountPaginator(rows, PAGE_SIZE, count=counts[param], cap=EXACT_COUNT_UP_TO)
        .get_page(http_request.GET.get(param)) for param, rows in lists.items())
    mcr_rows = _rows_with_forms(mcr_page.object_list, lambda r: _move_open(r, actor, "mcr_decide"), mcr)
    proposals = canon.proposals_of([row for row, _form, _may in mcr_rows])
    cited = evidence_of(actor=actor, requests=[row for row, _form, _may in mcr_rows])
    return {"feedback_page": feedback_page, "feedback_query": _query_without(http_request.GET, "page"),
            "feedback_rows": _rows_with_forms(feedback_page.object_list, lambda r: _move_open(r, actor, "classify"),
                                              classify),
            "mcr_page": mcr_page, "mcr_query": _query_without(http_request.GET, "mcr_page"),
            "mcr_rows": [(row, form, may, proposals.get(row.pk), cited.get(row.pk, [])) for row, form, may in mcr_rows],
            "next": _here(http_request, "governance:feedback")}


@require_GET
@login_required
@vary_on_headers("HX-Request")
def feedback(http_request: HttpRequest) -> HttpResponse:
    # Each list pages on its own; htmx names the one it replaces.
    fragment = "mcr-queue" if htmx_partial(http_request) and http_request.htmx.target == "mcr-queue" \
        else "feedback-queue"
    return render_page_or_fragment(http_request, "governance_app/feedback.html", _feedback_context(http_request),
                                   fragment=fragment)


@require_http_methods(["GET", "POST"])
@login_required
@vary_on_headers("HX-Request")
def classify(http_request: HttpRequest, request_id) -> HttpResponse:
    actor, request = _decision_request_or_404(http_request, request_id, "classify")
    if http_request.method == "GET":
        form = _classify_form(actor, request, _brains(actor))
        if form is None:
            raise Http404("No feedback you can classify")
        return _form_opened(
            http_request, "governance_app/_classify_form.html#classify-form",
            {"r": request, "form": form, "next": reverse("governance:feedback")},
            lambda: render(http_request, "governance_app/feedback.html",
                           _feedback_context(http_request, classify=(request, form))))
    form = ClassifyForm(http_request.POST, key=request.pk, brains=_brains(actor))
    if form.is_valid():
        try:
            decision = services.feedback_classify(request=request, actor=actor, **form.service_kwargs())
        except DomainError as error:
            form.add_refusal(error)
        else:
            return _done(http_request, request, f"{decision.decision_summary} — recorded on “{request}”.")
    _refused(http_request, "The classification")
    return render(http_request, "governance_app/feedback.html",
                  _feedback_context(http_request, classify=(request, form)))


def _mcr_review_context(http_request: HttpRequest, request: BrainRequest, *, decide: forms.Form | None = None,
                        amend: forms.Form | None = None) -> dict:
    actor = actor_for_request(http_request)
    review = selectors.mcr_review(actor=actor, request=request)
    may_decide = _move_open(request, actor, "mcr_decide")
    initial = {"lock_version": request.lock_version}
    documents = _canon_options(actor) if may_decide else []
    if may_decide and amend is None:
        amend = ProposalAmendForm(documents=documents, initial={
            **initial, "proposed_text": review.proposal.proposed_text if review.proposal else ""})
    if may_decide and decide is None:
        decide = McrDecisionForm(initial=initial)
    impact = review.impact
    links = {}
    if impact is not None:
        base = reverse("requests:list")
        links["open"] = f"{base}?{urlencode({'canon': review.document.slug, 'queue': 'open'})}"
        if impact.since is not None:
            links["decided"] = f"{base}?{urlencode({'canon': review.document.slug, 'decided_after': localdate(impact.since).isoformat()})}"
    return {"r": request, "review": review, "decide_form": decide if may_decide else None,
            "cited": evidence_of(actor=actor, requests=[request]).get(request.pk, []),
            "amend_form": amend if may_decide else None, "links": links,
            "next_version": canon.next_version(review.document.version) if review.document else ""}


@require_GET
@login_required
def mcr_review(http_request: HttpRequest, request_id) -> HttpResponse:
    """The approval screen of one suggestion: the current text, the proposed text, their diff side
    by side, the impact, the proposal's revisions, and HeadOffice's forms (amend, decide)."""
    actor = actor_for_request(http_request)
    request = request_get_or_404(actor=actor, request_id=request_id)
    if not request.is_feedback:
        raise Http404("No such suggestion")
    return render(http_request, "governance_app/mcr_review.html", _mcr_review_context(http_request, request))


@require_POST
@login_required
def mcr_decide(http_request: HttpRequest, request_id) -> HttpResponse:
    actor, request = _decision_request_or_404(http_request, request_id, "mcr_decide")
    form = McrDecisionForm(http_request.POST, key="")
    if form.is_valid():
        try:
            decision = services.mcr_decide(request=request, actor=actor, **form.service_kwargs())
        except DomainError as error:
            form.add_refusal(error)
        else:
            amendment = decision.amendments.select_related("document").first()
            if amendment is not None:
                messages.success(http_request, f"{decision.decision_summary}: {amendment.document.title} is now "
                                               f"{amendment.version_after}.")
                return redirect("governance:canon_document", slug=amendment.document.slug)
            return _done(http_request, request, f"{decision.decision_summary} — recorded on “{request}”.")
    _refused(http_request, "The MCR decision")
    return render(http_request, "governance_app/mcr_review.html", _mcr_review_context(http_request, request,
                                                                                       decide=form))


@require_POST
@login_required
def proposal_amend(http_request: HttpRequest, request_id) -> HttpResponse:
    actor, request = _decision_request_or_404(http_request, request_id, "mcr_decide")
    form = ProposalAmendForm(http_request.POST, documents=_canon_options(actor))
    if form.is_valid():
        try:
            proposal = services.canon_proposal_amend(request=request, actor=actor, **form.service_kwargs())
        except DomainError as error:
            form.add_refusal(error)
        else:
            messages.success(http_request, f"Proposal amended (revision {proposal.revision}).")
            return redirect("governance:mcr_review", request_id=request.pk)
    _refused(http_request, "The amended proposal")
    return render(http_request, "governance_app/mcr_review.html", _mcr_review_context(http_request, request,
                                                                                       amend=form))


# --- decisions --------------------------------------------------------------------------------

def _may_decide(actor: Actor) -> bool:
    try:
        services.decision_authority(actor=actor)
    except DomainError:
        return False
    return True


def _filter_data(http_request: HttpRequest, subject: BrainRequest | None) -> QueryDict | None:
    # A refused POST shows the page as it is for that request: its own decisions or lessons.
    if http_request.method == "POST" and subject is not None:
        return QueryDict(f"request={subject.pk}")
    return http_request.GET or None


def _subject(actor: Actor, filterset: Any) -> BrainRequest | None:
    """The request the page is narrowed to (?request=), if the actor can see it."""
    request_id = filterset.form.cleaned_data.get("request") if filterset.is_valid() else None
    return request_get(actor=actor, request_id=request_id) if request_id else None


def _decisions_context(http_request: HttpRequest, *, subject: BrainRequest | None = None,
                       form: DecisionForm | None = None) -> dict:
    actor = actor_for_request(http_request)
    queryset = selectors.decisions_for_list(actor=actor)
    data = _filter_data(http_request, subject)
    filterset = DecisionFilter(data, queryset=queryset, brain_choices=_brains(actor))
    rows = filterset.qs if filterset.is_bound and filterset.is_valid() else queryset
    subject = subject or _subject(actor, filterset)
    # A closed or rejected request takes no more decisions (services.decisions_open_check).
    if subject is not None and form is None and not subject.is_final and _may_decide(actor):
        form = DecisionForm(decisions=selectors.request_decision_options(request=subject))
    paginator = selectors.decisions_or_lessons_paginator(actor=actor, rows=rows, per_page=PAGE_SIZE)
    return {"filter": filterset, "page": _page(http_request, rows, paginator=paginator),
            "query": _query_without(data, "page"),
            "subject": subject, "form": form, "next": _here(http_request, "governance:decisions")}


@require_GET
@login_required
@vary_on_headers("HX-Request")
def decisions(http_request: HttpRequest) -> HttpResponse:
    return _download(http_request, exports.decisions_download) or _shown(http_request, render_page_or_fragment(
        http_request, "governance_app/decisions.html", _decisions_context(http_request), fragment="decision-table"))


@require_POST
@login_required
def decision_create(http_request: HttpRequest, request_id) -> HttpResponse:
    actor = actor_for_request(http_request)
    request = request_get_or_404(actor=actor, request_id=request_id)
    form = DecisionForm(http_request.POST, decisions=selectors.request_decision_options(request=request))
    if form.is_valid():
        try:
            decision = services.decision_record(actor=actor, request=request, **form.service_kwargs())
        except DomainError as error:
            form.add_refusal(error)
        else:
            return _done(http_request, request, f"Decision recorded by {decision.authority}: "
                                                f"{decision.decision_summary}")
    _refused(http_request, "The decision")
    return render(http_request, "governance_app/decisions.html",
                  _decisions_context(http_request, subject=request, form=form))


# --- lessons ------------------------------------------------------------------------------------

def _lesson_brains(actor: Actor, brains: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The Brains a lesson may be recorded for: the actor's own; HeadOffice may record for any."""
    if actor.is_head_office:
        return sorted(brains, key=lambda b: b[0] != Brain.HEADOFFICE)
    return [b for b in brains if b[0] in actor.brains]


def _lesson_form(actor: Actor, request: BrainRequest, data: QueryDict | None = None) -> LessonForm:
    return LessonForm(data, brains=_lesson_brains(actor, _brains(actor)),
                      tasks=selectors.request_task_options(request=request),
                      decisions=selectors.request_decision_options(request=request))


def _lessons_context(http_request: HttpRequest, *, subject: BrainRequest | None = None,
                     form: LessonForm | None = None) -> dict:
    actor = actor_for_request(http_request)
    queryset = selectors.lessons_for_list(actor=actor)
    data = _filter_data(http_request, subject)
    filterset = LessonFilter(data, queryset=queryset, brain_choices=_brains(actor))
    rows = filterset.qs if filterset.is_bound and filterset.is_valid() else queryset
    subject = subject or _subject(actor, filterset)
    if subject is not None and form is None and (actor.is_head_office or actor.brains):
        form = _lesson_form(actor, subject)
    paginator = selectors.decisions_or_lessons_paginator(actor=actor, rows=rows, per_page=PAGE_SIZE)
    return {"filter": filterset, "page": _page(http_request, rows, paginator=paginator),
            "query": _query_without(data, "page"),
            "subject": subject, "form": form, "next": _here(http_request, "governance:lessons")}


@require_GET
@login_required
@vary_on_headers("HX-Request")
def lessons(http_request: HttpRequest) -> HttpResponse:
    return _download(http_request, exports.lessons_download) or _shown(http_request, render_page_or_fragment(
        http_request, "governance_app/lessons.html", _lessons_context(http_request), fragment="lesson-table"))


@require_POST
@login_required
def lesson_create(http_request: HttpRequest, request_id) -> HttpResponse:
    actor = actor_for_request(http_request)
    request = request_get_or_404(actor=actor, request_id=request_id)
    form = _lesson_form(actor, request, http_request.POST)
    if form.is_valid():
        try:
            lesson = services.lesson_record(actor=actor, request=request, **form.service_kwargs())
        except DomainError as error:
            form.add_refusal(error)
        else:
            return _done(http_request, request, f"Lesson recorded for {lesson.originating_brain}: {lesson.insight}")
    _refused(http_request, "The lesson")
    return render(http_request, "governance_app/lessons.html", _lessons_context(http_request, subject=request,
                                                                                form=form))


# --- webhooks ---------------------------------------------------------------------------------------

def _head_office_only(actor: Actor) -> None:
    if not actor.is_head_office:
        raise PermissionDenied("Webhooks are managed by HeadOffice.")


def _webhooks_context(http_request: HttpRequest, *, form: WebhookSubscriptionForm | None = None) -> dict:
    actor = actor_for_request(http_request)
    status = http_request.GET.get("status") or ""
    return {"subscriptions": selectors.webhook_subscriptions_for(actor=actor),
            "page": _page(http_request, selectors.webhook_deliveries_for(actor=actor, status=status)),
            "query": _query_without(http_request.GET, "page"), "status": status,
            "statuses": DeliveryStatus.choices, "form": form or WebhookSubscriptionForm(key="webhook")}


@require_GET
@login_required
@vary_on_headers("HX-Request")
def webhooks_page(http_request: HttpRequest) -> HttpResponse:
    _head_office_only(actor_for_request(http_request))
    return render_page_or_fragment(http_request, "governance_app/webhooks.html", _webhooks_context(http_request),
                                   fragment="delivery-table")


@require_POST
@login_required
def webhook_subscribe(http_request: HttpRequest) -> HttpResponse:
    actor = actor_for_request(http_request)
    _head_office_only(actor)
    form = WebhookSubscriptionForm(http_request.POST, key="webhook")
    if form.is_valid():
        try:
            subscription, secret = webhooks.subscription_add(actor=actor, **form.service_kwargs())
        except DomainError as error:
            form.add_refusal(error)
        else:
            messages.success(http_request, f"Subscribed {subscription.url} to {', '.join(subscription.event_types)}. "
                             f"Its signing secret, shown only this once — give it to the receiver: {secret}")
            return redirect("governance:webhooks")
    _refused(http_request, "The subscription")
    return render(http_request, "governance_app/webhooks.html", _webhooks_context(http_request, form=form))


@require_POST
@login_required
def webhook_switch(http_request: HttpRequest, subscription_id) -> HttpResponse:
    actor = actor_for_request(http_request)
    _head_office_only(actor)
    active = http_request.POST.get("active") == "true"
    try:
        subscription = webhooks.subscription_set_active(actor=actor, subscription_id=subscription_id, active=active)
    except DomainError as error:
        raise Http404(error.message) from None
    messages.success(http_request, f"{subscription.name}: deliveries {'on' if active else 'off'}.")
    return redirect("governance:webhooks")


@require_POST
@login_required
def webhook_resend(http_request: HttpRequest, delivery_id) -> HttpResponse:
    actor = actor_for_request(http_request)
    _head_office_only(actor)
    try:
        copy = webhooks.delivery_resend(actor=actor, delivery_id=delivery_id)
    except DomainError as error:
        if error.kind == Refusal.NOT_FOUND:
            raise Http404(error.message) from None
        messages.error(http_request, error.message)
    else:
        messages.success(http_request, f"Sent again as a new delivery ({copy.event_type} to {copy.subscription.name}).")
    return redirect(next_url(http_request, reverse("governance:webhooks")))
