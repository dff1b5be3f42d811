"""The form kit every app's forms share.

Forms only shape input; the services say what a good answer is, and their refusals come back onto
the form next to the field they name (`FormRefusalMixin`).
"""

from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.forms.renderers import DjangoTemplates, get_default_renderer
from django.utils.hashable import make_hashable
from django.utils.html import conditional_escape, escape, format_html, format_html_join
from django.utils.safestring import SafeData

from governance_app.kernel.errors import DomainError

TEXTAREA = forms.Textarea(attrs={"rows": 3})
YES_NO = [("", "—"), ("true", "Yes"), ("false", "No")]


class DatalistInput(forms.TextInput):
    """A text input that suggests values (an HTML <datalist>) and takes any other as well. A
    suggestion is a value, or (value, label) to show the value's name beside it."""

    def __init__(self, suggestions: Iterable[str | tuple[str, str]], attrs: dict | None = None):
        super().__init__(attrs)
        self.suggestions = [s if isinstance(s, tuple) else (s, "") for s in suggestions]

    def render(self, name, value, attrs=None, renderer=None):
        attrs = dict(attrs or {})
        list_id = attrs["list"] = f"{attrs.get('id') or name}-suggestions"
        options = format_html_join("", '<option value="{}">{}</option>', self.suggestions)
        return format_html('{}<datalist id="{}">{}</datalist>', super().render(name, value, attrs, renderer),
                           list_id, options)


class KeptSelect(forms.Select):
    """A select whose HTML each process keeps for the same name, value, attributes and choices:
    the request list's filter form draws the same dozen selects on every page, and building each
    option's context for Django's widget templates was most of that form's cost (issue 16). What
    it writes is what Select writes; only a render of the same inputs is not done twice."""

    KEEP = 512  # different selects kept before the copy starts again

    def render(self, name, value, attrs=None, renderer=None):
        try:
            key = (type(self), self.template_name, name, make_hashable(value), make_hashable(self.attrs),
                   make_hashable(attrs or {}), tuple(make_hashable(choice) for choice in self.choices),
                   type(renderer))
            html = _kept_selects.get(key)
        except TypeError:  # a value or choice that cannot be a key: drawn each time
            return super().render(name, value, attrs, renderer)
        if html is None:
            html = super().render(name, value, attrs, renderer)
            if len(_kept_selects) >= self.KEEP:
                _kept_selects.clear()
            _kept_selects[key] = html
        return html


_kept_selects: dict[tuple, str] = {}


class DocumentTextField(forms.CharField):
    """A canon document's text from a textarea: browsers send its lines ended CRLF (HTML's form
    submission rules), canon keeps them LF, so a proposal typed in a form differs from the
    document only where the writer changed it."""

    def to_python(self, value: Any) -> str:
        text = super().to_python(value)
        return text.replace("\r\n", "\n") if text else text


class FormRefusalMixin:
    """Put a service's refusal on the form: on the fields it names, else at the top."""

    def add_refusal(self, error: DomainError) -> None:
        placed = False
        for field, message in error.errors.items():
            if field in self.fields:
                self.add_error(field, message)
                placed = True
        if not placed:
            self.add_error(None, error.message)


# --- widgets rendered in Python --------------------------------------------------------------------
# A queue page shows a form on each of its 25 rows, and Django renders every input, option and
# radio button of every form through a template of its own: most of such a page's time. These
# functions write what Django's widget templates (django/forms/widgets/*.html) write, byte for
# byte: each returns its template's whole output, the file's final newline included, as an
# {% include %} of it would; the renderer strips the outermost one, as Django's does. Any other
# template goes to Django.

def _s(value: Any) -> str:
    """`{{ value|stringformat:'s' }}`: the value as text, escaped unless already safe."""
    return conditional_escape(value) if isinstance(value, SafeData) else escape(str(value))


def _attrs(attrs: dict[str, Any]) -> str:
    return "".join(f" {_s(name)}" if value is True else f' {_s(name)}="{_s(value)}"'
                   for name, value in attrs.items() if value is not False)


def _input(widget: dict[str, Any]) -> str:
    value = f' value="{_s(widget["value"])}"' if widget["value"] is not None else ""
    return f'<input type="{_s(widget["type"])}" name="{_s(widget["name"])}"{value}{_attrs(widget["attrs"])}>\n'


def _input_option(widget: dict[str, Any]) -> str:
    if not widget.get("wrap_label"):
        return _input(widget) + "\n"
    label_for = f' for="{_s(widget["attrs"]["id"])}"' if widget["attrs"].get("id") else ""
    return f'<label{label_for}>{_input(widget)} {conditional_escape(widget["label"])}</label>\n'


def _choice_option(widget: dict[str, Any]) -> str:  # radio_option.html, checkbox_option.html
    return _input_option(widget) + "\n"


def _textarea(widget: dict[str, Any]) -> str:
    value = conditional_escape(widget["value"]) if widget["value"] else ""
    return f'<textarea name="{_s(widget["name"])}"{_attrs(widget["attrs"])}>\n{value}</textarea>\n'


def _option(widget: dict[str, Any]) -> str:
    return (f'<option value="{_s(widget["value"])}"{_attrs(widget["attrs"])}>'
            f'{conditional_escape(widget["label"])}</option>\n')


def _select(widget: dict[str, Any]) -> str:
    parts = [f'<select name="{_s(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, options, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
        parts += [f"\n  {_included(option)}" for option in options]
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>\n")
    return "".join(parts)


def _multiple_input(widget: dict[str, Any]) -> str:
    attrs = widget["attrs"]
    parts = ["<div", f' id="{conditional_escape(attrs["id"])}"' if attrs.get("id") else "",
             f' class="{conditional_escape(attrs["class"])}"' if attrs.get("class") else "", ">"]
    for group, options, _index in widget["optgroups"]:
        if group:
            parts.append(f"\n  <div><label>{conditional_escape(group)}</label>")
        parts += [f"<div>\n    {_included(option)}</div>" for option in options]
        if group:
            parts.append("\n  </div>")
    parts.append("\n</div>\n")
    return "".join(parts)


def _included(option: dict[str, Any]) -> str:
    """An option's template as {% include %} writes it (the whole output, final newline kept)."""
    render = PYTHON_WIDGETS.get(option["template_name"])
    if render is None:  # an option template of another kind: Django's own
        return get_default_renderer().render(option["template_name"], {"widget": option}) + "\n"
    return render(option)


def _through(render: Callable[[dict[str, Any]], str]) -> Callable[[dict[str, Any]], str]:
    """A template that is one {% include %} of another, and its own final newline."""
    return lambda widget: render(widget) + "\n"


PYTHON_WIDGETS: dict[str, Callable[[dict[str, Any]], str]] = {
    "django/forms/widgets/input.html": _input,
    **{f"django/forms/widgets/{kind}.html": _through(_input)
       for kind in ("text", "hidden", "number", "email", "url", "password", "date", "datetime", "time",
                    "search", "tel", "color", "checkbox")},
    "django/forms/widgets/textarea.html": _textarea,
    "django/forms/widgets/select.html": _select,
    "django/forms/widgets/select_option.html": _option,
    "django/forms/widgets/multiple_input.html": _multiple_input,
    "django/forms/widgets/radio.html": _through(_multiple_input),
    "django/forms/widgets/checkbox_select.html": _through(_multiple_input),
    "django/forms/widgets/input_option.html": _input_option,
    "django/forms/widgets/radio_option.html": _choice_option,
    "django/forms/widgets/checkbox_option.html": _choice_option,
}


class PythonWidgetRenderer(DjangoTemplates):
    """The form renderer (settings.FORM_RENDERER): the widgets above in Python, the rest (forms,
    labels, error lists, other widgets) through Django's templates as before."""

    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        render = PYTHON_WIDGETS.get(template_name)
        if render is None or "widget" not in context:
            return super().render(template_name, context, request)
        return render(context["widget"]).strip()
