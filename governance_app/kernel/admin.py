"""The admin kit the three apps' admin modules share: read-only and no-delete mixins, one-line
text inputs, the optimistic-concurrency form, the changed-fields diff and protocol-named filters.

Events, decisions and canon amendments are append-only, so their admins are read-only for
everyone, superusers included; nothing with lineage is deleted (schema standard: append-only rule, docs/RULES.md).
"""

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """No add, change or delete for anyone, superusers too; viewing stays allowed.

    Works on ModelAdmin and on inlines (whose permission methods also take `obj`).
    """

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None):
        # Every column is shown as text and none becomes a form field (created_at, say, could not).
        return [f.name for f in self.model._meta.concrete_fields]

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class NoDeleteAdminMixin:
    """Lineage is never deleted: no delete button and no "delete selected" action."""

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class OneLineTextMixin:
    """Canon columns are `text`, so Django offers a textarea; names and titles read better on one line."""

    one_line_fields: tuple[str, ...] = ()

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name in self.one_line_fields:
            kwargs["widget"] = forms.TextInput(attrs={"class": "vLargeTextField"})
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class LockVersionAdminForm(forms.ModelForm):
    """Refuses a save when the row changed since the form was opened (optimistic concurrency).

    The model's lock_version is read-only in the admin; the form carries the version it saw in a
    hidden field, and clean() compares it with the row, locked for the rest of the admin's
    transaction, so two editors cannot both win.
    """

    seen_lock_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["seen_lock_version"].initial = self.instance.lock_version

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.instance.pk is not None:
            current = (
                type(self.instance).objects.select_for_update()
                .filter(pk=self.instance.pk).values_list("lock_version", flat=True).first()
            )
            if cleaned.get("seen_lock_version") != current:
                raise forms.ValidationError(
                    "Someone changed this record after you opened it. Reload the page to see their "
                    "change, then make yours again.",
                    code="stale",
                )
        return cleaned


def changed_fields_from_form(form: forms.ModelForm, before: Model, after: Model) -> dict[str, list[Any]]:
    """{field: [value in the database, value saved]} for each model field the form changed."""
    opts = type(after)._meta
    model_fields = {f.name for f in opts.concrete_fields}
    changed = {}
    for name in form.changed_data:
        if name not in model_fields:
            continue
        field = opts.get_field(name)
        old, new = field.value_from_object(before), field.value_from_object(after)
        if old != new:
            changed[name] = [old, new]
    return changed


def titled_filter(title: str) -> type[admin.FieldListFilter]:
    """A list filter that picks Django's usual filter for the field but shows `title` as heading.

    Used to head filters with the protocol's names (e.g. "request status" for `status`).
    """

    class TitledFieldListFilter(admin.FieldListFilter):
        def __new__(cls, field, request, params, model, model_admin, field_path):
            spec = admin.FieldListFilter.create(field, request, params, model, model_admin, field_path)
            spec.title = title
            return spec

    return TitledFieldListFilter
