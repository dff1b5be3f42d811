"""The notification inbox (the header's link and its unread count), email preferences, and watching
a request. Views parse, call one service or selector from requests_app.notifications, and render."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from governance_app.kernel.actors import actor_for_request
from governance_app.kernel.errors import DomainError
from mwms_site.web import next_url, render_page_or_fragment
from requests_app import notifications
from requests_app.models import EmailMode

PAGE_SIZE = 25


class EmailModeForm(forms.Form):
    email_mode = forms.ChoiceField(label="Email me", choices=EmailMode.choices, widget=forms.RadioSelect)


@require_GET
@login_required
@vary_on_headers("HX-Request")
def inbox(http_request: HttpRequest) -> HttpResponse:
    actor = actor_for_request(http_request)
    page = Paginator(notifications.notifications_for(actor=actor).select_related("request"),
                     PAGE_SIZE).get_page(http_request.GET.get("page"))
    context = {"page": page, "query": "", "unread": notifications.unread_count(actor=actor),
               "email_form": EmailModeForm(initial={"email_mode": notifications.email_mode_of(actor=actor)})}
    return render_page_or_fragment(http_request, "requests_app/notifications.html", context,
                                   fragment="notification-list")


@require_GET
@login_required
def unread_badge(http_request: HttpRequest) -> HttpResponse:
    """The header's unread count, fetched by htmx after the page has loaded (so no page pays for it)."""
    count = notifications.unread_count(actor=actor_for_request(http_request))
    return render(http_request, "requests_app/_unread_badge.html", {"count": count})


@require_GET
@login_required
def notification_open(http_request: HttpRequest, notification_id) -> HttpResponse:
    """Follow a notification to its request, marking it read on the way."""
    actor = actor_for_request(http_request)
    found = notifications.notifications_for(actor=actor).filter(pk=notification_id).first()
    if found is None:
        raise Http404("No such notification")
    notifications.mark_read(actor=actor, notification_id=found.pk)
    return redirect("requests:detail", found.request_id)


@require_POST
@login_required
def notifications_read(http_request: HttpRequest) -> HttpResponse:
    count = notifications.mark_read(actor=actor_for_request(http_request))
    messages.success(http_request, f"Marked {count} notification(s) read.")
    return redirect(next_url(http_request, reverse("requests:notifications")))


@require_POST
@login_required
def email_mode(http_request: HttpRequest) -> HttpResponse:
    form = EmailModeForm(http_request.POST)
    if not form.is_valid():
        messages.error(http_request, "Choose how to be emailed: at once, a daily digest, or not at all.")
        return redirect("requests:notifications")
    notifications.email_mode_set(actor=actor_for_request(http_request), email_mode=form.cleaned_data["email_mode"])
    messages.success(http_request, f"Email: {EmailMode(form.cleaned_data['email_mode']).label.lower()}.")
    return redirect("requests:notifications")


@require_POST
@login_required
def watch(http_request: HttpRequest, request_id) -> HttpResponse:
    watching = http_request.POST.get("watching") == "true"
    try:
        notifications.watch_set(actor=actor_for_request(http_request), request_id=request_id, watching=watching)
    except DomainError as error:
        raise Http404(error.message) from None
    messages.success(http_request, "You watch this request: its changes come to your notifications." if watching
                     else "You no longer watch this request.")
    return redirect(next_url(http_request, reverse("requests:detail", args=[request_id])))
