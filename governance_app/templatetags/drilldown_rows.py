"""The drill-down's timeline rows, written in Python (as queue_rows writes the queues' heads).

Issue 16: the busiest request's timeline, an included loop of a dozen lookups and filters per row,
was a quarter of the drill-down's template time; the row needs none of the template language.
"""

from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from governance_app.kernel import wording
from governance_app.templatetags.mwms import rule_tip

register = template.Library()


@register.simple_tag
def timeline_row(item: dict[str, Any]) -> SafeString:
    """One timeline entry (requests_app.drilldown.timeline_entries) as its <li>: when, what kind,
    its task and move, its summaries, a refusal window's count, its notes and who wrote it."""
    event, at = item["event"], item["at"]
    parts = [format_html('<li id="event-{}"><time datetime="{}">{}</time>\n  <div>\n    ', event.pk,
                         timezone.localtime(at).isoformat(), wording.when(at))]
    parts.append(format_html_join("", '<span id="event-{}"></span>', ((e.pk,) for e in item["events"][1:])))
    parts.append(format_html_join("", '<span class="badge badge-{}">{}</span> ', item["kinds"]))
    if item["task"]:
        parts.append(format_html('<span class="muted small">task “{}”</span>', item["task"]))
    if item["move"]:
        parts.append(format_html('<span class="small">{}</span>', item["move"]))
    parts.append(mark_safe("".join(f"<div>{rule_tip(summary)}</div>" for summary in item["summaries"])))
    if getattr(event, "refusal_count", 0) > 1:
        parts.append(format_html('<div class="small refusal-count"><strong>Refused {} times</strong> in this '
                                 '{}-minute window (recorded once)</div>', event.refusal_count,
                                 (event.event_payload or {}).get("window_minutes", "")))
    parts.append(format_html_join("", '<div class="muted">“{}”</div>', ((note,) for note in item["notes"])))
    by = format_html('<span title="{}">{}</span>', item["by_username"], item["by"]) if item["by_username"] \
        else format_html("{}", item["by"])
    parts.append(format_html('\n    <div class="muted small">by {}</div>\n  </div>\n</li>\n', by))
    return mark_safe("".join(parts))
