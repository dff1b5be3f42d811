"""Request pages: the filtered list, the lineage drill-down with its actions, creation, and each
Brain's workspace inbox. Views parse, call one service or selector, and render."""

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from governance_app.kernel.actors import actor_for_request
from governance_app.kernel.brains import brain_options
from governance_app.kernel.errors import DomainError
from governance_app.kernel.findings import Finding
from governance_app.kernel.pages import CappedCountPaginator, RowPaginator, capped_counts
from governance_app.models import Brain
from mwms_site.web import htmx_partial, next_url, opened_from, render_page_or_fragment
from requests_app import canon, drilldown, exports, integrity, notifications, saved_views, selectors, services, sla
from requests_app.bulk_views import bulk_bar
from requests_app.filters import BrainRequestFilter
from requests_app.forms import AssignForm, MoveForm, NoteForm, RequestCreateForm
from requests_app.evidence import evidence_of
from requests_app.models import BrainRequest, RequestType
from requests_app.transitions import MOVES, moves_open

PAGE_SIZE = 25
# The inbox pages each of its lists on its own: a page of what the Brain acts on, and shorter
# pages of what it waits for and of its tasks (issue 16: three lists of 25 rows were 75 rows to
# render for a page whose job is the first list).
INBOX_PAGE_SIZES = {"to_act": PAGE_SIZE, "waiting": 10, "tasks": 10}
# Each list's count stops here ("more than 100"): the three are counted in one statement, and a
# count over a LIMIT of 101 stays cheap however many rows match (issue 16: counting to 1,000 and
# then asking the planner for an estimate was half of the inbox's SQL time at 100,000 requests).
INBOX_COUNT_UP_TO = 100


def _brains(http_request: HttpRequest) -> list[tuple[str, str]]:
    return brain_options(tenant_id=actor_for_request(http_request).tenant_id)


@require_GET
@login_required
@vary_on_headers("HX-Request")
def request_list(http_request: HttpRequest) -> HttpResponse:
    actor = actor_for_request(http_request)
    brains = _brains(http_request)
    status = 200
    if "export" in http_request.GET:  # the whole filtered list as a download (requests_app.exports)
        try:
            return exports.requests_download(actor=actor, data=http_request.GET, brains=brains,
                                             fmt=http_request.GET.get("export"))
        except DomainError as error:
            messages.error(http_request, f"Nothing was exported: {error.message}")
            status = 400
    cleaned = _without_empty(http_request.GET)
    if status == 200 and cleaned != http_request.GET and not htmx_partial(http_request):
        # A form sent without JavaScript carries every empty control: the address keeps only the filters set.
        return redirect(f"{reverse('requests:list')}?{cleaned.urlencode()}" if cleaned else "requests:list")
    people = selectors.head_office_people(tenant_id=actor.tenant_id)
    queryset = selectors.requests_for_list(actor=actor)
    filterset = BrainRequestFilter(cleaned or None, queryset=queryset, brain_choices=brains, people=people,
                                   user_id=actor.user_id, tenant_id=actor.tenant_id)
    problems = filter_problems(filterset)
    if problems:  # the filters that are fine still apply; the page says in words which one did not
        filterset = BrainRequestFilter(_without(cleaned, {p.name for p in problems}) or None, queryset=queryset,
                                       brain_choices=brains, people=people, user_id=actor.user_id,
                                       tenant_id=actor.tenant_id)
    rows = filterset.qs if filterset.is_bound and filterset.is_valid() else queryset
    # Keys first from the first page: the page's ids come off an index-only walk (the sort's index
    # carries id and created_at, requests_app 0022), so a filter the sort's order does not serve
    # ("created in a month") skips index entries, not rows; then only the page's rows are read.
    # Not with free text: the page's rows keep the list's filters, and its lookup would run twice.
    text = None if problems else selectors.free_text_alone(actor=actor, data=cleaned)
    if text is not None:  # newest first, a page is the newest matches (selectors.NewestMatchesPaginator)
        paginator: RowPaginator = selectors.NewestMatchesPaginator(rows, PAGE_SIZE, actor=actor, text=text)
    elif not problems and selectors.free_text_walked(data=cleaned):
        # Free text with other filters or another order: the list without it is walked and its rows
        # asked whether they match (selectors.TextWalkPaginator).
        unmatched = BrainRequestFilter(_without(cleaned, {"q"}), queryset=queryset, brain_choices=brains,
                                       people=people, user_id=actor.user_id, tenant_id=actor.tenant_id)
        paginator = selectors.TextWalkPaginator(rows, PAGE_SIZE, unmatched=unmatched.qs, text=cleaned["q"])
    else:
        paginator = RowPaginator(rows, PAGE_SIZE, keys_from=None if cleaned.get("q") else 0)
    page = paginator.get_page(cleaned.get("page"))
    query = cleaned.copy()
    query.pop("page", None)
    query.pop("export", None)
    columns = saved_views.list_columns_for(actor=actor)  # the person's choice (issue 14)
    current_view, view_changed = saved_views.saved_view_current(actor=actor, data=cleaned)
    context = {"current_view": current_view, "view_changed": view_changed,
               "view_query": saved_views.view_query_normalize(query=cleaned),
               "filter": filterset, "filter_problems": problems, "page": page, "query": query.urlencode(),
               "sort": cleaned.get("sort", ""),
               "bulk": bulk_bar(actor=actor, page=page, query=query.urlencode(), brains=brains, people=people),
               "columns": columns}
    response = render_page_or_fragment(http_request, "requests_app/list.html", context, fragment="request-table")
    if htmx_partial(http_request):  # not a history restore (mwms_site.web.htmx_partial)
        # The address htmx pushes is the cleaned one: no empty parameters (static/js/walk.js
        # turns a push of the address already shown into a replace, so a refresh adds no entry).
        response["HX-Push-Url"] = f"{reverse('requests:list')}?{cleaned.urlencode()}" if cleaned \
            else reverse("requests:list")
    response.status_code = status
    return response


def _without_empty(data: QueryDict) -> QueryDict:
    """The query without its empty parameters (a GET form sends every control, set or not)."""
    kept = QueryDict(mutable=True)
    for key, values in data.lists():
        for value in values:
            if value.strip():
                kept.appendlist(key, value)
    return kept


def _without(data: QueryDict, names: set[str]) -> QueryDict:
    kept = data.copy()
    for name in names:
        kept.pop(name, None)
    return kept


@dataclass(frozen=True)
class FilterProblem:
    name: str
    label: str
    value: str
    message: str

    def __str__(self) -> str:
        return f"{self.label}: {self.message}"


FILTER_WORDS = {"invalid_choice": "“{value}” is not one of its choices, so it was left out.",
                "invalid": "“{value}” is not a date (use YYYY-MM-DD), so it was left out."}


def filter_problems(filterset: BrainRequestFilter) -> list[FilterProblem]:
    """Each bad filter value, named by the control's label, with what is wrong, in words."""
    if not filterset.is_bound or filterset.is_valid():
        return []
    form = filterset.form
    problems = []
    for name, errors in form.errors.as_data().items():
        field = form.fields.get(name)
        label = str(field.label) if field is not None and field.label else name.replace("_", " ").capitalize()
        value = filterset.data.get(name, "")
        code = errors[0].code if errors else ""
        words = FILTER_WORDS.get(code)
        message = words.format(value=value[:60]) if words else f"{' '.join(e.messages[0] for e in errors)} It was left out."
        problems.append(FilterProblem(name=name, label=label, value=value, message=message))
    return problems


def detail_context(http_request: HttpRequest, request: BrainRequest, *, bound: MoveForm | None = None,
                   note_form: NoteForm | None = None, assign_form: AssignForm | None = None,
                   opened: str = "") -> dict:
    """Everything the drill-down shows; a bound form with errors replaces its blank twin.

    Of the moves open to the reader, the page draws the form of the next step (`primary_move`),
    a refused one and the one asked for (`opened`, the address's ?move=) inline; the others as
    actions whose form loads when opened (request_move answers GET with the same form). Issue 16:
    every form, each Close and Reject with its evidence picker, was most of a busy page's work."""
    actor = actor_for_request(http_request)
    brains = _brains(http_request)
    lineage = selectors.request_lineage(actor=actor, request=request, check=False)  # see request_integrity
    records = drilldown.lineage_records(lineage)
    open_moves = moves_open(request, actor, include_decisions=False)
    decision_moves = [m.name for m in moves_open(request, actor) if m.decision]
    primary_move = _primary_move([m.name for m in open_moves] + decision_moves)
    inline = {primary_move, opened, bound.move.name if bound is not None else ""}
    evidence = drilldown.evidence_groups(records)
    forms, actions = [], []
    for move in open_moves:
        if move.name not in inline:
            actions.append((move, None))  # loaded when opened
            continue
        if bound is not None and bound.move.name == move.name:
            if "evidence_records" in bound.fields:
                bound.offer_evidence(evidence)
            bound.focus_first_error()
            form = bound
        else:
            form = _move_form(request, move, brains, evidence)
        forms.append(form)
        actions.append((move, form))
    policy = sla.sla_policy_for(tenant_id=request.tenant_id, priority=request.priority)
    authors = {item["event"].actor for item in lineage.timeline}
    if assign_form is None and _assigns(actor, request):  # the assign form's people and the authors: one query
        names, people = selectors.drilldown_people(tenant_id=request.tenant_id, usernames=authors)
        assign_form = _assign_form(actor, request, people=people)
    else:
        names = selectors.people_by_username(tenant_id=request.tenant_id, usernames=authors)
    return {
        "evidence_items": drilldown.evidence_items(request, records),
        "timeline": drilldown.timeline_entries(lineage, names),
        "primary_move": primary_move,
        "opened_move": opened,
        "next_step_owner_name": dict(brains).get(request.next_step_owner or "", request.next_step_owner),
        "requesting_authority_name": dict(brains).get(request.requesting_authority, request.requesting_authority),
        "sla_stints": sla.request_stints(request=request, events=lineage.events, policy=policy),
        "sla_has_policy": policy is not None,
        "r": request,
        "lineage": lineage,
        "move_forms": forms,
        "move_actions": actions,
        "note_form": note_form or NoteForm(),
        "decision_moves": decision_moves,
        "brains": brains,
        "supporting_brain_names": _brain_names(request.supporting_brains, brains),
        "canon": canon.canon_as_of(request=request, decisions=lineage.decisions),
        "suggestion": _suggestion(actor, request),
        "watch": notifications.watch_state(actor=actor, request=request),
        "assign_form": assign_form,
    }


def _suggestion(actor, request: BrainRequest) -> dict | None:
    """An mcr_update_suggestion's proposal, reason and evidence (two queries, for suggestions only)."""
    if request.request_type != RequestType.MCR_UPDATE_SUGGESTION:
        return None
    proposal = canon.proposal_of(request)
    return {"proposal": proposal, "reason": proposal.reason if proposal else "",
            "cited": evidence_of(actor=actor, requests=[request]).get(request.pk, [])}


def _assigns(actor, request: BrainRequest) -> bool:
    """Whether the drill-down offers its assign / unassign: to HeadOffice, on an open request."""
    return actor.is_head_office and not request.is_final


def _assign_form(actor, request: BrainRequest, *, people: list[tuple[str, str]]) -> AssignForm:
    """The drill-down's assign / unassign form, offering these people (selectors.drilldown_people)."""
    return AssignForm(people=people, initial={"assignee": str(request.assignee_id or ""),
                                              "lock_version": request.lock_version})


# Where a finding's row is shown: an anchor on this page, another request's page, or its admin page.
FINDING_ANCHORS = {"mwms_request_events": "event", "mwms_task_events": "event", "mwms_tasks": "task",
                   "mwms_decision_records": "decision", "mwms_lessons_learned": "lesson"}
FINDING_ADMIN = {"mwms_task_artifacts": "admin:tasks_app_taskartifact_change"}


def finding_href(finding: Finding, request: BrainRequest) -> str:
    """The link to the row a finding names, so a reader goes straight to it: a row of the drill-down
    by the drill-down's address and its anchor (on the drill-down itself, a jump within the page;
    from the lineage check's own page, the way there)."""
    here = reverse("requests:detail", args=[request.pk])
    if finding.table == BrainRequest._meta.db_table:
        return f"{here}#integrity" if finding.row_id == str(request.pk) else reverse("requests:detail",
                                                                                        args=[finding.row_id])
    if finding.table in FINDING_ANCHORS:
        return f"{here}#{FINDING_ANCHORS[finding.table]}-{finding.row_id}"
    if finding.table in FINDING_ADMIN:
        return reverse(FINDING_ADMIN[finding.table], args=[finding.row_id])
    return ""


def _brain_names(slugs: list[str], brains: list[tuple[str, str]]) -> list[str]:
    """Each slug's Brain name; a slug no active Brain has any more is shown as it is."""
    names = dict(brains)
    return [names.get(slug, slug) for slug in slugs]


# The one next step a drill-down emphasises: the first of these the reader may take.
NEXT_STEPS = ("accept", "respond", "route", "submit_for_review", "resubmit", "close", "provide_evidence",
              "classify", "mcr_decide", "resolve_escalation", "unblock", "unpark")


def _primary_move(open_moves: list[str]) -> str:
    return next((name for name in NEXT_STEPS if name in open_moves), "")


def _initial(request: BrainRequest, move) -> dict:
    initial = {"lock_version": request.lock_version}
    if move.name == "route":
        initial.update({"destination_brain": request.target_brain_id, "review_owner": request.review_owner_id
                        or Brain.HEADOFFICE})
    if move.name in ("close", "reject"):
        initial.update({"outcome_type": request.outcome_type, "next_step_owner": request.requesting_brain_id})
    return initial


def _move_form(request: BrainRequest, move, brains: list[tuple[str, str]], evidence: list) -> MoveForm:
    """A move's blank form as the drill-down draws it: prefilled from the request, with this
    lineage's records to tick when the move takes evidence."""
    return MoveForm(move=move, brains=brains, initial=_initial(request, move), prefix=move.name, evidence=evidence)


@require_GET
@login_required
@vary_on_headers("HX-Request")
def request_detail(http_request: HttpRequest, request_id) -> HttpResponse:
    request = selectors.request_detail_get_or_404(actor=actor_for_request(http_request), request_id=request_id)
    # ?move=<name>: that move's form drawn open, where a form loaded on opening is asked for without
    # JavaScript (request_move's GET sends it here).
    opened = http_request.GET.get("move", "")
    return render_page_or_fragment(http_request, "requests_app/detail.html",
                                   detail_context(http_request, request, opened=opened), fragment="request-detail")


@require_GET
@login_required
@vary_on_headers("HX-Request")
def request_integrity(http_request: HttpRequest, request_id) -> HttpResponse:
    """The drill-down's lineage check, which the page fetches once shown (each finding links to its
    row on the drill-down); without JavaScript, a page of its own linked from the drill-down."""
    request = selectors.request_checked_get_or_404(actor=actor_for_request(http_request), request_id=request_id)
    findings = integrity.request_findings(request=request)
    return render_page_or_fragment(http_request, "requests_app/integrity.html", {
        "r": request, "integrity": [(finding, finding_href(finding, request)) for finding in findings],
        "integrity_blocking": sum(finding.blocking for finding in findings)}, fragment="integrity-panel")


def _move_form_opened(http_request: HttpRequest, request: Any, rule: Any) -> HttpResponse:
    """A move's form, asked for by htmx when its action is opened (on the drill-down, the workspace
    inbox), returning to the page it was opened on: the form the drill-down draws inline, with the
    request's values filled in and, for a final move, this lineage's records to tick. Without
    JavaScript, the drill-down with this move's form drawn open."""
    actor = actor_for_request(http_request)
    if all(m.name != rule.name for m in moves_open(request, actor)):
        raise Http404("No such move open to you")
    detail = reverse("requests:detail", args=[request.pk])
    if not htmx_partial(http_request):
        return redirect(f"{detail}?move={rule.name}#move-{rule.name}-{request.pk}")
    takes_evidence = "outcome_evidence" in (*rule.required, *rule.optional)
    # The records the drill-down offers, in four queries rather than the whole lineage's.
    evidence = drilldown.evidence_groups_for(requests=[request])[request.pk] if takes_evidence else []
    form = _move_form(request, rule, _brains(http_request), evidence)
    # Opened on the drill-down, the form returns there as its inline twin does (not to a ?move= address).
    back = opened_from(http_request, detail)
    return render(http_request, "requests_app/_move_form.html#move-form",
                  {"form": form, "r": request, "next": "" if back.split("?")[0] == detail else back})


@require_http_methods(["GET", "POST"])
@login_required
@vary_on_headers("HX-Request")
def request_move(http_request: HttpRequest, request_id, move: str) -> HttpResponse:
    request = selectors.request_get_or_404(actor=actor_for_request(http_request), request_id=request_id)
    rule = next((m for m in MOVES if m.name == move and not m.decision), None)
    if rule is None:
        raise Http404("No such move")
    if http_request.method == "GET":
        return _move_form_opened(http_request, request, rule)
    brains = _brains(http_request)
    form = MoveForm(http_request.POST, move=rule, brains=brains, prefix=move, evidence=[])
    problem = "check the form"
    if form.is_valid():
        try:
            moved = services.request_move(request=request, actor=actor_for_request(http_request), move=move,
                                          fields=form.move_fields(), note=form.cleaned_data.get("note", ""),
                                          expected_version=form.cleaned_data.get("lock_version"))
        except DomainError as error:
            form.add_refusal(error)
            problem = error.message
        else:
            messages.success(http_request, drilldown.move_done_message(move=move, request=moved, names=dict(brains)))
            return redirect(next_url(http_request, reverse("requests:detail", args=[request.pk])))
    messages.error(http_request, f"{rule.label} was not saved: {problem}")
    return render(http_request, "requests_app/detail.html", detail_context(http_request, request, bound=form))


@require_POST
@login_required
def request_note(http_request: HttpRequest, request_id) -> HttpResponse:
    request = selectors.request_get_or_404(actor=actor_for_request(http_request), request_id=request_id)
    form = NoteForm(http_request.POST)
    if form.is_valid():
        try:
            services.request_note_add(request=request, actor=actor_for_request(http_request),
                                      note=form.cleaned_data["note"])
        except DomainError as error:
            form.add_refusal(error)
        else:
            messages.success(http_request, "Note added.")
            return redirect("requests:detail", request.pk)
    messages.error(http_request, "The note was not added: check the form.")
    return render(http_request, "requests_app/detail.html", detail_context(http_request, request, note_form=form))


@require_POST
@login_required
def request_assign(http_request: HttpRequest, request_id) -> HttpResponse:
    actor = actor_for_request(http_request)
    request = selectors.request_get_or_404(actor=actor, request_id=request_id)
    form = AssignForm(http_request.POST, people=selectors.head_office_people(tenant_id=actor.tenant_id))
    if form.is_valid():
        try:
            assigned = services.request_assign(request=request, actor=actor,
                                               assignee=form.cleaned_data["assignee"] or None,
                                               expected_version=form.cleaned_data.get("lock_version"))
        except DomainError as error:
            form.add_refusal(error)
        else:
            who = assigned.assignee
            messages.success(http_request, f"Assigned to {selectors.person_label(who)}." if who else "Unassigned.")
            return redirect(next_url(http_request, reverse("requests:detail", args=[request.pk])))
    problems = " ".join(message for errors in form.errors.values() for message in errors)
    messages.error(http_request, f"The assignment was not saved: {problems}")
    return render(http_request, "requests_app/detail.html", detail_context(http_request, request, assign_form=form))


def _origins(http_request: HttpRequest, brains: list[tuple[str, str]]) -> list[tuple[str, str]]:
    actor = actor_for_request(http_request)
    return brains if actor.is_head_office else [b for b in brains if b[0] in actor.brains]


@require_http_methods(["GET", "POST"])
@login_required
@vary_on_headers("HX-Request")
def request_create(http_request: HttpRequest) -> HttpResponse:
    brains = _brains(http_request)
    origins = _origins(http_request, brains)
    if not origins:
        raise Http404("You belong to no Brain")
    initial = {k: v for k, v in http_request.GET.items() if k in RequestCreateForm.base_fields}
    documents = canon.document_options(tenant_id=actor_for_request(http_request).tenant_id)
    form = RequestCreateForm(http_request.POST or None, origins=origins, brains=brains, initial=initial,
                             documents=documents)
    if http_request.method == "POST" and form.is_valid():
        try:
            created = services.request_create(actor=actor_for_request(http_request), **form.cleaned_data)
        except DomainError as error:
            form.add_refusal(error)
        else:
            messages.success(http_request, f"Request “{created}” sent to {created.target_brain}.")
            return redirect(next_url(http_request, reverse("requests:detail", args=[created.pk])))
    if http_request.method == "GET" and htmx_partial(http_request):  # the form a workspace loads into itself
        return render(http_request, "requests_app/_create_form.html",
                      {"form": form, "next": opened_from(http_request, "")})
    return render(http_request, "requests_app/create.html", {"form": form})


def _query_without(http_request: HttpRequest, param: str) -> str:
    query = http_request.GET.copy()
    query.pop(param, None)
    return query.urlencode()


@require_GET
@login_required
@vary_on_headers("HX-Request")
def workspace(http_request: HttpRequest, brain: str) -> HttpResponse:
    actor = actor_for_request(http_request)
    if not (actor.belongs_to(brain) or actor.is_head_office):
        raise Http404("No such workspace")
    found = Brain.objects.filter(slug=brain, tenant_id=actor.tenant_id).first()
    if found is None:
        raise Http404("No such Brain")
    inbox = selectors.workspace_inbox(actor=actor, brain=found)
    lists = {name: getattr(inbox, name) for name in INBOX_PAGE_SIZES}
    counts = capped_counts(lists, cap=INBOX_COUNT_UP_TO)
    pages = {name: CappedCountPaginator(rows, INBOX_PAGE_SIZES[name], count=counts[name], cap=INBOX_COUNT_UP_TO)
             .get_page(http_request.GET.get(f"{name}_page")) for name, rows in lists.items()}
    context = {
        "brain": found, "pages": pages,
        "queries": {name: _query_without(http_request, f"{name}_page") for name in pages},
        # The rows' respond and close forms are loaded when opened (request_move answers GET).
        "moves": {m.name: m for m in MOVES if m.name in ("respond", "close")},
    }
    return render_page_or_fragment(http_request, "requests_app/workspace.html", context, fragment="workspace-inbox")
