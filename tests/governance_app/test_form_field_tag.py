"""{% form_field %} draws a field as the included template it replaced drew it."""

import re

from django import forms
from django.template import Context, Template
from django.utils.safestring import mark_safe

from requests_app.forms import BulkForm

# templates/_partials/_form_field.html as it was, the reference the tag is held to.
INCLUDED = (
    "{% load mwms %}<label{% if field.field.widget.input_type == 'checkbox' %} class=\"row\"{% endif %}>"
    "{% if field.field.widget.input_type == 'checkbox' %}{{ field }} {{ field.label }}{% else %}{{ field.label }}"
    "{% if field.field.required_hint %} <span class=\"help\">(required)</span>{% endif %}"
    "{% if field.help_text %} <span class=\"help\">— {{ field.help_text }}</span>{% endif %}\n"
    "{{ field }}{% endif %}</label>\n"
    "{% if field.errors %}<ul class=\"field-error\">{% for e in field.errors %}<li>{{ e|rule_tip }}</li>{% endfor %}"
    "</ul>{% endif %}\n"
)


class Sample(forms.Form):
    title = forms.CharField(label="Title <b>", help_text="What it is & why", max_length=5)
    safe_help = forms.CharField(required=False, help_text=mark_safe("See <a href='/x'>the rule</a>"))
    agree = forms.BooleanField(label="I agree", required=True)
    kind = forms.ChoiceField(choices=[("a", "A & B"), ("c", "<C>")], help_text="")
    count = forms.IntegerField(min_value=1, error_messages={"min_value": "At least one (protocol rule 7)."})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["count"].required_hint = True


def _squeezed(html: str) -> str:
    return re.sub(r">\s+", ">", re.sub(r"\s+<", "<", str(html))).strip()


def _both(field) -> tuple[str, str]:
    included = Template(INCLUDED).render(Context({"field": field}))
    tag = Template("{% load mwms %}{% form_field field %}").render(Context({"field": field}))
    return _squeezed(included), _squeezed(tag)


def test_every_kind_of_field_unbound_and_refused_is_drawn_the_same():
    for form in (Sample(), Sample(data={"title": "far too long", "count": "0"}),
                 BulkForm(brains=[("research", "Research")], people=[("1", "Ann <Lee>")]),
                 BulkForm(data={"action": "reject"}, brains=[("research", "Research")], people=[("1", "Ann")])):
        form.is_bound and form.is_valid()
        for field in form:
            included, tag = _both(field)
            assert tag == included, field.name


def test_labels_help_and_errors_are_escaped_and_rule_references_become_tips():
    form = Sample(data={"title": "far too long", "count": "0"})
    form.is_valid()
    html = Template("{% load mwms %}{% form_field form.title %}{% form_field form.count %}{% form_field form.safe_help %}"
                    ).render(Context({"form": form}))
    assert "Title &lt;b&gt;" in html and "What it is &amp; why" in html
    assert "<a href='/x'>the rule</a>" in html
    assert '<ul class="field-error"><li>Ensure this value has at most 5 characters (it has 12).</li></ul>' in html
    assert '<abbr class="rule" title="protocol rule 7">(rule)</abbr>' in html
    assert '<label>Count <span class="help">(required)</span>' in html
