"""The heads of the governance queues' rows, written in Python.

The feedback and MCR queues show a head on each of their rows (title, status, type, summary, who
sent it and when); as an included template it took a third of the page's time, most of it in
the template language's lookups and filters rather than in anything the row needs.
"""

from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html
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
