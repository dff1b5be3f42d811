"""`{{ text|canon_markdown }}`: a canon document's Markdown as sanitised HTML.

Canon text is written by people and arrives through approved amendments and imports, so it is
rendered with python-markdown and then cleaned by nh3's allow-list: no script, style, event
attribute or javascript: link survives, whatever the text holds."""

import markdown as md
import nh3
from django import template
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def canon_markdown(text: str) -> str:
    html = md.markdown(text or "", extensions=["extra", "sane_lists"], output_format="html")
    return mark_safe(nh3.clean(html, url_schemes={"http", "https", "mailto"}))  # noqa: S308 - cleaned just above
