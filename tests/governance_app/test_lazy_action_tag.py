"""{% lazy_action %} writes the lazily loaded row action as the included template it replaced did."""

import re
import uuid
from types import SimpleNamespace

from django.template import Context, Template

# templates/_partials/_lazy_action.html as it was (its comment left out), the reference the tag is held to.
INCLUDED = '<details class="action" id="{{ name }}-{{ r.pk }}" hx-get="{{ url }}" hx-trigger="toggle once" hx-target="find .action-body" hx-swap="innerHTML">\n  <summary>{{ label }}</summary>\n  <div class="action-body"><a href="{{ href|default:url }}{% if anchor %}#{{ name }}-{{ r.pk }}{% endif %}">Open the form</a></div>\n</details>\n'


def _squeezed(html: str) -> str:
    return re.sub(r">\s+", ">", re.sub(r"\s+<", "<", html)).strip()


def test_the_tag_writes_what_the_template_wrote_with_and_without_a_page_to_open_it_on():
    row = SimpleNamespace(pk=uuid.uuid4())
    for extra, tag_args in (({}, ""), ({"href": "/requests/x/", "anchor": True}, " href=href anchor=True"),
                            ({"href": "/requests/x/"}, " href=href")):
        context = {"name": "move-close", "r": row, "label": "Close & <record>", "url": f"/requests/{row.pk}/moves/close/",
                   **extra}
        included = Template(INCLUDED).render(Context(context))
        tag = Template("{% load mwms %}{% lazy_action name r label url" + tag_args + " %}").render(Context(context))
        assert _squeezed(tag) == _squeezed(included)
        assert "Close &amp; &lt;record&gt;" in tag and f'id="move-close-{row.pk}"' in tag
