"""Small display filters every page shares."""

import re
from datetime import datetime, timedelta

from django import template
from django.utils.html import conditional_escape, escape, format_html
from django.utils.safestring import mark_safe

from governance_app.kernel import wording
from governance_app.kernel.paths import path_to

register = template.Library()


@register.simple_tag
def path(name: str, *args) -> str:
    """`{% url %}` for a page's rows: the same address, from the route's kept address
    (kernel.paths), escaped as `{% url %}` escapes it. Takes positional arguments and `as name`."""
    return path_to(name, *args)


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



@register.simple_tag
def form_field(field) -> str:
    """One form field with its label, "(required)" hint, help text and errors: what every form of
    the site shows for a field (a checkbox's label after its box). In Python rather than an
    included template: a form of fifteen fields spent more time including than drawing them."""
    if getattr(field.field.widget, "input_type", None) == "checkbox":
        html = format_html('<label class="row">{} {}</label>\n', field, field.label)
    else:
        required = mark_safe(' <span class="help">(required)</span>') if getattr(field.field, "required_hint", False) else ""
        hint = format_html(' <span class="help">— {}</span>', field.help_text) if field.help_text else ""
        html = format_html("<label>{}{}{}\n{}</label>\n", field.label, required, hint, field)
    errors = field.errors
    if errors:
        html += format_html('<ul class="field-error">{}</ul>',
                            mark_safe("".join(f"<li>{rule_tip(error)}</li>" for error in errors)))
    return html


@register.simple_tag
def lazy_action(name: str, r, label: str, url: str, href: str = "", anchor: bool = False) -> str:
    """A row's action whose form is loaded when the person opens it (issue 16: a queue page of 25
    rows renders no form until one is wanted). The <details> is "{name}-{r.pk}", as the form's own;
    htmx asks `url` for the form; without JavaScript the link opens it on a page (`href` if given,
    else `url`; with `anchor`, at the element of the same id there)."""
    key = f"{name}-{r.pk}"
    return format_html('<details class="action" id="{}" hx-get="{}" hx-trigger="toggle once" '
                       'hx-target="find .action-body" hx-swap="innerHTML">\n  <summary>{}</summary>\n'
                       '  <div class="action-body"><a href="{}{}">Open the form</a></div>\n</details>\n',
                       key, url, label, href or url, f"#{key}" if anchor else "")
