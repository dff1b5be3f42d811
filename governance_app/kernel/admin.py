"""The admin kit the three apps' admin modules share: read-only and no-delete mixins, one-line
text inputs, the optimistic-concurrency form, the changed-fields diff and protocol-named filters.

Events, decisions and canon amendments are append-only, so their admins are read-only for
everyone, superusers included; nothing with lineage is deleted (schema standard: append-only rule, docs/RULES.md).
"""

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import JSONField, Model
from django.http import HttpRequest

from governance_app.kernel import limits
from governance_app.kernel.tenancy import user_tenant_id
from governance_app.models import Brain, Tenant


class ReadOnlyAdminMixin:
    """No add, change or delete for anyone, superusers too; viewing stays allowed.

    Works on ModelAdmin and on inlines (whose permission methods also take `obj`).
    """

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None):
        # Every column is shown as text and none becomes a form field (created_at, say, could not).
        return displayed_field_names(self.model)

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


# ---------------------------------------------------------------------------------------------
# Tenant-bound admin
# ---------------------------------------------------------------------------------------------

EVERY_TENANT = object()  # what a superuser works on


def admin_tenant_id(request: HttpRequest):
    """The tenant whose rows this admin user sees and edits: EVERY_TENANT for a superuser, their
    own tenant for other staff, None for staff of no tenant (who see nothing)."""
    if request.user.is_superuser:
        return EVERY_TENANT
    if not hasattr(request, "_mwms_admin_tenant"):
        request._mwms_admin_tenant = user_tenant_id(request.user)
    return request._mwms_admin_tenant


def admin_brain_choices(request: HttpRequest, *, active_only: bool = False) -> list[tuple[str, str]]:
    """(slug, name) of the Brains this admin user may pick: their tenant's, or every tenant's for a
    superuser (a slug several tenants share is offered once)."""
    tenant_id = admin_tenant_id(request)
    brains = Brain.objects.order_by("name")
    if active_only:
        brains = brains.filter(is_active=True)
    if tenant_id is not EVERY_TENANT:
        brains = brains.filter(tenant_id=tenant_id)
    return list(dict.fromkeys(brains.values_list("slug", "name")))


def brain_relations(model: type[Model]) -> dict[str, Any]:
    """{column field name: its brain_of relation} for the model's Brain columns (target_brain_id → target_brain)."""
    relations = {}
    for field in model._meta.get_fields():
        if field.is_relation and field.many_to_one and not field.concrete and field.related_model is Brain:
            (column,) = [local for local in field.local_related_fields if local.name != "tenant"]
            relations[column.name] = field
    return relations


def displayed_field_names(model: type[Model]) -> list[str]:
    """The model's columns as the admin shows them: a Brain column by its relation (the Brain's name)."""
    relations = brain_relations(model)
    return [relations[f.name].name if f.name in relations else f.name for f in model._meta.concrete_fields]


def _tenant_of(model: type[Model]) -> str | None:
    """The lookup from a model to its tenant's id, or None for a model outside any tenant."""
    if model is Tenant:
        return "id"
    if model is get_user_model():
        return "tenant_link__tenant_id"
    names = {f.name for f in model._meta.concrete_fields}
    return "tenant_id" if "tenant" in names else None


class StorableJSONField(forms.JSONField):
    """The admin's JSON input, refusing what the database could not store, next to the field: a
    NUL anywhere in it (PostgreSQL's jsonb holds no \\u0000) or more than the column's size limit."""

    def __init__(self, *args, limit: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit = limit

    def validate(self, value: Any) -> None:
        super().validate(value)
        problem = limits.unstorable_json(value)
        if problem:
            raise forms.ValidationError(f"The JSON {problem}.", code="unstorable")
        too_large = limits.too_large(value, self.limit) if self.limit else None
        if too_large:
            raise forms.ValidationError(f"The JSON must be {too_large}.", code="too_large")


class TenantMatchedAdminForm(forms.ModelForm):
    """Refuses, field by field, a Brain or a row of another tenant than the record's own.

    Staff who are not superusers are only offered their tenant's rows anyway; this is what stops a
    superuser, who is offered every tenant's, from pointing one tenant's record into another (the
    database would refuse it too, with an error rather than a form message).
    """

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        tenant = cleaned.get("tenant")
        tenant_id = tenant.pk if tenant is not None else getattr(self.instance, "tenant_id", None)
        if tenant_id is None:
            return cleaned
        relations = brain_relations(self._meta.model)
        for name, value in list(cleaned.items()):
            if name in relations and value:
                if not Brain.objects.filter(tenant_id=tenant_id, slug=value).exists():
                    self.add_error(name, f"There is no Brain {value!r} in this record's tenant.")
            elif isinstance(value, Model) and name != "tenant" and getattr(value, "tenant_id", tenant_id) != tenant_id:
                self.add_error(name, f"This {value._meta.verbose_name} belongs to another tenant.")
        return cleaned


class TenantScopedAdminMixin:
    """A staff user who is not a superuser sees and edits only their tenant's rows, and every
    choice a form offers (foreign keys, Brains) is of their tenant; new rows land in it. Superusers
    see every tenant, with a tenant column and filter in the lists."""

    form = TenantMatchedAdminForm

    def get_queryset(self, request: HttpRequest):
        qs = super().get_queryset(request)
        tenant_id = admin_tenant_id(request)
        if tenant_id is EVERY_TENANT:
            return qs
        lookup = _tenant_of(self.model)
        return qs.filter(**{lookup: tenant_id}) if tenant_id is not None and lookup else qs.none()

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        tenant_id = admin_tenant_id(request)
        lookup = _tenant_of(db_field.related_model)
        if tenant_id is not EVERY_TENANT and lookup:
            kwargs["queryset"] = db_field.related_model._default_manager.filter(**{lookup: tenant_id})
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_dbfield(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name in brain_relations(self.model):
            choices = admin_brain_choices(request, active_only=True)
            return forms.TypedChoiceField(
                choices=[("", "---------"), *choices] if db_field.null else choices,
                required=not db_field.null, empty_value=None, label=db_field.name.removesuffix("_id").replace("_", " "),
            )
        if isinstance(db_field, JSONField):
            kwargs.update(form_class=StorableJSONField,
                          limit=limits.JSON_COLUMNS.get(self.model._meta.db_table, {}).get(db_field.column))
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_form(self, request: HttpRequest, obj: Model | None = None, change: bool = False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        tenant_id = admin_tenant_id(request)
        if obj is not None or tenant_id in (EVERY_TENANT, None) or _tenant_of(self.model) != "tenant_id":
            return form

        class InOwnTenant(form):
            # A new row of a staff user's form is of their tenant from the start, so the form
            # checks its Brains and references against that tenant.
            def __init__(self, *args, **form_kwargs):
                super().__init__(*args, **form_kwargs)
                self.instance.tenant_id = tenant_id

        return InOwnTenant

    def _shows_tenant(self, request: HttpRequest) -> bool:
        """A superuser's lists carry the row's tenant (column, filter, and its join)."""
        return request.user.is_superuser and _tenant_of(self.model) == "tenant_id"

    def get_list_display(self, request: HttpRequest):
        shown = list(super().get_list_display(request))
        if self._shows_tenant(request) and "tenant" not in shown:
            shown.append("tenant")
        return shown

    def get_list_select_related(self, request: HttpRequest):
        related = super().get_list_select_related(request)
        if self._shows_tenant(request) and related is not True:
            return (*(related or ()), "tenant")  # the superuser's tenant column, in the same query
        return related

    def get_list_filter(self, request: HttpRequest):
        filters = list(super().get_list_filter(request))
        if self._shows_tenant(request) and "tenant" not in filters:
            filters.append("tenant")
        return filters

    def save_model(self, request: HttpRequest, obj: Model, form, change: bool) -> None:
        tenant_id = admin_tenant_id(request)
        if not change and tenant_id is not EVERY_TENANT and _tenant_of(type(obj)) == "tenant_id":
            obj.tenant_id = tenant_id  # new rows land in the staff user's own tenant
        super().save_model(request, obj, form, change)


class BrainListFilter(admin.SimpleListFilter):
    """Filter a list by one of its Brain columns, offering the Brains of the admin user's tenant."""

    column = ""

    def lookups(self, request, model_admin):
        return admin_brain_choices(request)

    def queryset(self, request, queryset):
        return queryset.filter(**{self.column: self.value()}) if self.value() else queryset


def brain_filter(column: str, title: str | None = None) -> type[BrainListFilter]:
    """A list filter on the Brain column `column` (e.g. "target_brain_id"), headed `title`."""
    name = column.removesuffix("_id")
    return type(f"{name.title().replace('_', '')}Filter", (BrainListFilter,),
                {"column": column, "parameter_name": name, "title": title or name.replace("_", " ")})
