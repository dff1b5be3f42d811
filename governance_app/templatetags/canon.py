"""`{{ text|canon_markdown }}`: a canon document's Markdown as sanitised HTML.

Canon text is written by people and arrives through approved amendments and imports, so it is
rendered with python-markdown and then cleaned by nh3's allow-list: no script, style, event
attribute or javascript: link survives, whatever the text holds."""

import re

import markdown as md
import nh3
from django import template
from django.utils.safestring import mark_safe

register = template.Library()


LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+\.)\s")


def _lists_apart(text: str) -> str:
    """A blank line before a list that follows a paragraph line directly, as the canon's documents
    write them ("Task event types:" then "- created"): Markdown would run such a list into the
    paragraph."""
    lines, out = text.splitlines(), []
    for line in lines:
        if LIST_ITEM.match(line) and out and out[-1].strip() and not LIST_ITEM.match(out[-1]):
            out.append("")
        out.append(line)
    return "\n".join(out)


@register.filter
def canon_markdown(text: str) -> str:
    html = md.markdown(_lists_apart(text or ""), extensions=["extra", "sane_lists"], output_format="html")
    return mark_safe(nh3.clean(html, url_schemes={"http", "https", "mailto"}))  # noqa: S308 - cleaned just above
