"""The heads of the governance queues' rows, written in Python.

The feedback and MCR queues show a head on each of their rows (title, status, type, summary, who
sent it and when); as an included template it took a third of the page's time, most of it in
the template language's lookups and filters rather than in anything the row needs.
"""

from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.timesince import timesince

from governance_app.kernel import wording
from governance_app.kernel.paths import path_to

register = template.Library()

_MCR = mark_safe('<span class="badge badge-proposed">suggests an MCR update</span>')


@register.simple_tag
def feedback_head(r: Any) -> SafeString:
    """What HeadOffice needs to judge one feedback request, as the head of its row."""
    brain = r.requesting_brain.name if r.requesting_brain_id and r.requesting_brain else ""
    return format_html(
        '<div class="row">\n  <h3><a href="{}">{}</a></h3>\n  <span class="badge badge-{}">{}</span>\n'
        '  <span class="badge">{}</span>\n  {}\n</div>\n<p>{}</p>\n'
        '<p class="muted small">From {}{} · sent <time datetime="{}" title="{}">{} ago</time></p>\n',
        path_to("requests:detail", r.pk), r.request_title, r.status, r.get_status_display(),
        r.get_request_type_display(), _MCR if r.mcr_update_suggested else "",
        Truncator(r.request_summary).words(60, truncate=" …"),
        brain or "—", format_html(" · {}", r.source_origin) if r.source_origin else "",
        timezone.localtime(r.created_at).isoformat(), wording.when(r.created_at), timesince(r.created_at))


_NO_PROPOSAL = mark_safe('<p class="small muted">Names no canon document and no proposed text yet: it cannot be '
                         'approved until the proposal is amended.</p>\n')


@register.simple_tag
def mcr_row_body(r: Any, proposal: Any, cited: list[Any]) -> SafeString:
    """An MCR queue row under its head: the classification that proposed it, the change it makes
    and the suggestion's reason and evidence (templates/requests_app/_suggestion_evidence.html,
    compact). In Python for the reason feedback_head is (issue 16: with the evidence an included
    template, these were half of the queue's time)."""
    parts = []
    classified = r.proposals[0] if getattr(r, "proposals", None) else None
    if classified is not None:
        parts.append(format_html(
            '<p class="small"><strong>Proposed by {}</strong> <time datetime="{}">{} ago</time>: {}</p>\n',
            classified.recorded_by or "HeadOffice", timezone.localtime(classified.created_at).isoformat(),
            timesince(classified.created_at), classified.reasoning))
    if proposal:
        sections = format_html(": {}", ", ".join(str(conditional_escape(s)) for s in proposal.sections)) \
            if proposal.sections else ""
        revision = format_html(" · revision {} by {}", proposal.revision, proposal.proposed_by) \
            if proposal.revision > 1 else ""
        parts.append(format_html('<p class="small">Changes <strong>{}</strong> ({}){}{}</p>\n', proposal.document.title,
                                 proposal.base_version, mark_safe(sections), revision))
    else:
        parts.append(_NO_PROPOSAL)
    reason = proposal.reason if proposal else ""
    if reason:
        parts.append(format_html('<p class="suggestion-reason small"><strong>Why:</strong> {}</p>\n', reason))
    if cited:
        items = "".join(
            format_html('<li><span class="badge badge-evidence">{}</span> {}</li>\n', c.label,
                        format_html('<a href="{}">{}</a>', c.href, c.title) if c.href
                        else format_html('<span class="muted">{}</span>', c.title)) for c in cited)
        parts.append(format_html('<ul class="plain evidence-cited small" aria-label="Evidence">\n{}</ul>\n',
                                 mark_safe(items)))
    return mark_safe("".join(parts))
