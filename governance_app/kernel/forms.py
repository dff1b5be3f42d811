"""The form kit every app's forms share.

Forms only shape input; the services say what a good answer is, and their refusals come back onto
the form next to the field they name (`FormRefusalMixin`).
"""

from collections.abc import Iterable

from django import forms
from django.utils.html import format_html, format_html_join

from governance_app.kernel.errors import DomainError

TEXTAREA = forms.Textarea(attrs={"rows": 3})
YES_NO = [("", "—"), ("true", "Yes"), ("false", "No")]


class DatalistInput(forms.TextInput):
    """A text input that suggests values (an HTML <datalist>) and takes any other as well."""

    def __init__(self, suggestions: Iterable[str], attrs: dict | None = None):
        super().__init__(attrs)
        self.suggestions = list(suggestions)

    def render(self, name, value, attrs=None, renderer=None):
        attrs = dict(attrs or {})
        list_id = attrs["list"] = f"{attrs.get('id') or name}-suggestions"
        options = format_html_join("", '<option value="{}"></option>', ((s,) for s in self.suggestions))
        return format_html('{}<datalist id="{}">{}</datalist>', super().render(name, value, attrs, renderer),
                           list_id, options)


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
