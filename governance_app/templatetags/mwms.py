"""Small display filters every page shares."""

import re
from datetime import datetime, timedelta

from django import template
from django.utils.html import conditional_escape, escape, format_html
from django.utils.safestring import mark_safe

from governance_app.kernel import wording

register = template.Library()


@register.filter
def ago(value: datetime | None) -> str:
    return wording.ago(value)


@register.filter
def minutes(value: timedelta | None) -> str:
    """A wait as a person says it: '15 minutes', '1 minute'."""
    if not value:
        return "a moment"
    count = max(1, round(value.total_seconds() / 60))
    return f"{count} minute{'s' if count != 1 else ''}"


@register.filter
def initials(user) -> str:
    return wording.initials(user)


@register.filter
def person(user) -> str:
    return wording.person(user)


@register.filter
def marked(text: str, words: list[str]) -> str:
    """The text, escaped, with each of the words marked where it occurs (a search hit's match)."""
    words = [word for word in words or [] if word]
    if not words:
        return escape(text)
    pattern = re.compile("|".join(re.escape(word) for word in sorted(words, key=len, reverse=True)), re.IGNORECASE)
    pieces, last = [], 0
    for found in pattern.finditer(text):
        pieces += [escape(text[last:found.start()]), format_html("<mark>{}</mark>", found.group())]
        last = found.end()
    pieces.append(escape(text[last:]))
    return mark_safe("".join(str(piece) for piece in pieces))  # every piece was escaped above


# "(protocol rule 13)", "(connector rule 2)", "(rule 7)": a reference for those who want it, not
# part of the sentence a person reads.
RULE_REFERENCE = re.compile(r"\s*\(((?:protocol |connector )?rule \d+)\)")


@register.filter
def rule_tip(text) -> str:
    """The text with each rule reference moved into a tooltip: <abbr title="protocol rule 13">."""
    escaped = conditional_escape(text)
    return mark_safe(RULE_REFERENCE.sub(lambda m: f' <abbr class="rule" title="{m.group(1)}">(rule)</abbr>', escaped))


RECORD_KINDS = {"mwms_brain_requests": "request", "mwms_request_events": "request event", "mwms_tasks": "task",
                "mwms_task_events": "task event", "mwms_task_artifacts": "artifact",
                "mwms_decision_records": "decision", "mwms_lessons_learned": "lesson"}


@register.filter
def record_kind(table: str) -> str:
    """A table's rows in words ("task" for mwms_tasks), for pages that name a record."""
    return RECORD_KINDS.get(table, table)


class PartialEachNode(template.Node):
    """Renders, for each name in a list, this template's partial "<prefix><name>" in the current
    context (see `partial_each`)."""

    def __init__(self, names: template.base.FilterExpression, prefix: str, parser: template.base.Parser):
        self.names = names
        self.prefix = prefix
        self.partials = parser.extra_data.setdefault("partials", {})  # django-template-partials' own store

    def render(self, context: template.Context) -> str:
        return "".join(self.partials[f"{self.prefix}{name}"].render(context) for name in self.names.resolve(context))


@register.tag
def partial_each(parser: template.base.Parser, token: template.base.Token) -> PartialEachNode:
    """{% partial_each columns "cell-" %}: the partials cell-<column> of this template, in the
    list's order. A table whose columns a person chooses renders each cell straight from its own
    partial, instead of asking every cell which of ten columns it is (an if-chain that, at 25 rows,
    was most of the list page's time)."""
    bits = token.split_contents()
    if len(bits) != 3 or bits[2][0] not in "\"'" or bits[2][0] != bits[2][-1]:
        raise template.TemplateSyntaxError("partial_each takes a list and a quoted prefix: {% partial_each columns \"cell-\" %}")
    return PartialEachNode(parser.compile_filter(bits[1]), bits[2][1:-1], parser)
