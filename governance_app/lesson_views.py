"""Lessons that say the same thing (governance_app.lesson_groups), shown as groups with their
lessons, Brains and dates, most supported first; HeadOffice turns a group into a draft canon
suggestion in one step."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from governance_app import lesson_groups, services
from governance_app.kernel.actors import actor_for_request
from governance_app.kernel.errors import DomainError, Refusal
from mwms_site.api_kit import STATUS_FOR


def _page(http_request: HttpRequest, *, status: int = 200) -> HttpResponse:
    actor = actor_for_request(http_request)
    return render(http_request, "governance_app/lesson_groups.html", {
        "groups": lesson_groups.lesson_groups(actor=actor), "window": lesson_groups.WINDOW,
        "similar": int(lesson_groups.SIMILAR * 100), "can_propose": actor.is_head_office}, status=status)


@require_GET
@login_required
def lesson_groups_page(http_request: HttpRequest) -> HttpResponse:
    return _page(http_request)


@require_POST
@login_required
def lessons_propose(http_request: HttpRequest) -> HttpResponse:
    actor = actor_for_request(http_request)
    try:
        suggestion = services.lessons_propose(actor=actor, lesson_ids=http_request.POST.get("lesson_ids", ""))
    except DomainError as error:
        messages.error(http_request, f"No suggestion was drafted: {error.message}")
        # The API's status for each refusal; a form's invalid input answers 400, as the other pages do.
        status = 400 if error.kind == Refusal.INVALID else STATUS_FOR[error.kind]
        return _page(http_request, status=status)
    messages.success(http_request, f"Drafted a canon suggestion from {suggestion.evidence_items.count()} "
                                   f"lessons. Classify it on Feedback & MCR, then write its exact change.")
    return redirect(reverse("requests:detail", args=[suggestion.pk]))
