"""The SLA policy page (issue 14): HeadOffice sets, per priority (and optionally per request type),
the target time of each status and of the whole request, and when a clock counts as due soon."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from governance_app.kernel.actors import Actor, actor_for_request
from governance_app.kernel.errors import DomainError
from mwms_site.web import render_page_or_fragment
from requests_app import sla
from requests_app.models import Priority, RequestType, SlaClock

TEMPLATE = "requests_app/sla_policy.html"


def _request_type(value: str | None) -> str | None:
    return value if value in RequestType.values else None


def _field(priority: str, clock: str) -> str:
    return f"t-{priority}-{clock}"


def _context(actor: Actor, request_type: str | None, *, posted: Any = None, error: str = "") -> dict[str, Any]:
    grid = sla.sla_policy_grid(actor=actor, request_type=request_type)
    rows = []
    for clock in sla.CLOCKS:
        cells = []
        for priority in Priority.values:
            name = _field(priority, clock)
            value = posted.get(name, "") if posted is not None else grid.hours.get((priority, clock))
            cells.append({"name": name, "value": "" if value is None else value,
                          "inherited": grid.inherited.get((priority, clock)), "label":
                          f"{Priority(priority).label}, {SlaClock(clock).label}"})
        rows.append({"clock": clock, "label": SlaClock(clock).label, "cells": cells})
    return {"grid": grid, "rows": rows, "priorities": Priority.choices, "request_types": RequestType.choices,
            "warn_percent": posted.get("warn_percent", "") if posted is not None else grid.warn_percent,
            "error": error, "editable": actor.is_head_office}


@require_http_methods(["GET", "POST"])
@login_required
@vary_on_headers("HX-Request")
def sla_policy(http_request: HttpRequest) -> HttpResponse:
    actor = actor_for_request(http_request)
    if not actor.is_head_office:
        raise PermissionDenied("The SLA policy is set by HeadOffice.")
    data = http_request.POST if http_request.method == "POST" else http_request.GET
    request_type = _request_type(data.get("request_type"))
    if http_request.method == "GET":
        return render_page_or_fragment(http_request, TEMPLATE, _context(actor, request_type), fragment="sla-policy")
    hours = {(p, c): data.get(_field(p, c), "") for p in Priority.values for c in sla.CLOCKS}
    try:
        recomputed = sla.sla_policy_save(actor=actor, warn_percent=data.get("warn_percent", ""), hours=hours,
                                         request_type=request_type)
    except DomainError as error:
        messages.error(http_request, f"The SLA policy was not saved: {error.message}")
        return render(http_request, TEMPLATE, _context(actor, request_type, posted=data, error=error.message))
    scope = RequestType(request_type).label.lower() + "s" if request_type else "all request types"
    messages.success(http_request, f"SLA targets for {scope} saved; {recomputed} open "
                                   f"request{'s' if recomputed != 1 else ''} got new deadlines.")
    return redirect(reverse("requests:sla_policy") + (f"?request_type={request_type}" if request_type else ""))
