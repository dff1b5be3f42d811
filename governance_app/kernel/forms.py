"""The form kit every app's forms share.

Forms only shape input; the services say what a good answer is, and their refusals come back onto
the form next to the field they name (`FormRefusalMixin`).
"""

from django import forms

from governance_app.kernel.errors import DomainError

TEXTAREA = forms.Textarea(attrs={"rows": 3})
YES_NO = [("", "—"), ("true", "Yes"), ("false", "No")]


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
