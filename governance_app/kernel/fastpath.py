"""The statements on the busiest paths, built once per process instead of compiled on every call.

Why this exists: every request move, task move and event goes through `insert_row`,
`versioned_update` and `load_row`, and on the API's busiest calls (creating a request, claiming a
task) compiling the ORM's statement cost more than running it. Each function here does what the
ORM call named in its docstring does, through the same field methods (get_db_prep_save, from_db,
the backend's converters); only the statement's text is kept. `bench/api_compare.py` measured the
gain side by side with the ORM (+20% request creations, +28% claims per second, README
"Benchmarks"): run it again before changing this module, and delete the module when the ORM
catches up.

The shortcut never changes what a save means. `insert_row` falls back to `save()` whenever the two
could differ: a model that overrides `save()` (other than AppendOnlyModel, whose override only
refuses to rewrite a stored row), a parent table, a column whose value must be read back, a field
with a placeholder of its own. The pre_save and post_save receivers are sent as `save()` sends them,
around the INSERT. `versioned_update` is a `QuerySet.update()`, which calls no `save()` either.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import connections, models, router
from django.db.models.signals import post_save, pre_save

_statements: dict[tuple, Any] = {}

# psycopg converts each statement's text (finding its %s placeholders) once and caches it, but only
# for statements of at most MAX_CACHED_STATEMENT_PARAMS (50) parameters, to keep one-off bulk
# INSERTs of many rows out of its cache (of 128 statements). A request's INSERT here has 54, so its
# text was split again on every creation: a tenth of the call's CPU. These statements are few and
# fixed, so let the cache take statements of up to one request row's width.
try:
    from psycopg import _queries as _psycopg_queries
except ImportError:  # pragma: no cover - SQLite-only installs
    pass
else:
    _psycopg_queries.MAX_CACHED_STATEMENT_PARAMS = max(_psycopg_queries.MAX_CACHED_STATEMENT_PARAMS, 80)


def _connection_for_write(instance: models.Model):
    return connections[router.db_for_write(type(instance), instance=instance)]


def _plain(fields: Iterable[models.Field]) -> bool:
    """Fields whose value is always sent as one plain parameter (no field-specific placeholder)."""
    return not any(hasattr(field, "get_placeholder") for field in fields)


def _save_is_plain(model: type[models.Model]) -> bool:
    """Whether saving a new row of this model is a plain INSERT: Django's own save(), or an
    override that says so (`save.plain_insert = True`, as AppendOnlyModel's does)."""
    return model.save is models.Model.save or getattr(model.save, "plain_insert", False)


def insert_row(instance: models.Model) -> models.Model:
    """INSERT the new row `instance` holds: `instance.save(force_insert=True)` without the compiling.

    Whenever the shortcut could differ from save() it is save() that runs: the model overrides
    save() (beyond AppendOnlyModel's plain insert), the model has a parent table, or a column must
    be read back after the insert (read_back_only_database_choices leaves only columns without a
    Python default there). Connected pre_save and post_save receivers get the signals save() sends
    (`Model.save_base`), before the values are read and after the row is stored (django-tasks-db's
    queue rows have one, which fills in run_after).
    """
    model = type(instance)
    meta = model._meta
    if not instance._state.adding:
        raise ValueError(f"insert_row() is for new rows; this {meta.object_name} is already stored.")
    fields = meta.local_concrete_fields
    plain = _statements.get(("plain", model))
    if plain is None:
        plain = _statements["plain", model] = _plain(fields)
    if (meta.db_returning_fields or meta.parents or meta.proxy or meta.auto_created or not plain
            or not _save_is_plain(model)):
        instance.save(force_insert=True)
        return instance
    connection = _connection_for_write(instance)
    if pre_save.has_listeners(model):
        pre_save.send(sender=model, instance=instance, raw=False, using=connection.alias, update_fields=None)
    key = ("insert", connection.vendor, model)
    sql = _statements.get(key)
    if sql is None:
        quote = connection.ops.quote_name
        sql = _statements[key] = (
            f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))})"
        )
    params = [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    instance._state.db = connection.alias
    instance._state.adding = False
    if post_save.has_listeners(model):
        post_save.send(sender=model, instance=instance, created=True, update_fields=None, raw=False,
                       using=connection.alias)
    return instance


def versioned_update(instance: models.Model, values: Mapping[str, Any]) -> bool:
    """Write `values` to the row of `instance` and count lock_version up, only if the row still has
    the lock_version `instance` was read with; False when another change came first (nothing is
    written then). The same as `Model.objects.filter(pk=…, lock_version=…).update(**values,
    lock_version=F("lock_version") + 1)`; a model instance as a value stands for its key.
    """
    model = type(instance)
    meta = model._meta
    connection = _connection_for_write(instance)
    fields = [_own_column(meta.get_field(name)) for name in values]
    key = ("update", connection.vendor, model, tuple(values))
    sql = _statements.get(key)
    if sql is None:
        if not _plain(fields):
            raise TypeError(f"versioned_update() cannot write {', '.join(f.name for f in fields)} as plain values.")
        quote = connection.ops.quote_name
        version = quote(meta.get_field("lock_version").column)
        assignments = "".join(f"{quote(field.column)} = %s, " for field in fields)
        sql = _statements[key] = (
            f"UPDATE {quote(meta.db_table)} SET {assignments}{version} = {version} + 1 "
            f"WHERE {quote(meta.pk.column)} = %s AND {version} = %s"
        )
    params = []
    for name, field, value in zip(values, fields, values.values()):
        if hasattr(value, "prepare_database_save"):
            relation = meta.get_field(name)
            if relation is not field:  # a tenant-matched relation: its own column takes the key
                value = getattr(value, dict(relation.related_fields)[field].attname)
            elif not field.remote_field:
                raise TypeError(f"{field.name} cannot take a model instance ({value!r}).")
            else:
                value = value.prepare_database_save(field)
        params.append(field.get_db_prep_save(value, connection))
    params += [meta.pk.get_db_prep_value(instance.pk, connection), instance.lock_version]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount == 1


def _own_column(field: models.Field) -> models.Field:
    """The column a field writes: itself, or for a relation matched on (tenant, key) such as a
    Brain column's `brain_of`, the row's own key column (the tenant column is not rewritten)."""
    if field.column is not None or not field.is_relation:
        return field
    (own,) = [local for local in field.local_related_fields if local.name != "tenant"]
    return own


def load_row(model: type[models.Model], row: Iterable[Any], connection) -> models.Model:
    """An instance from a row of all the model's columns (in `concrete_fields` order), as a queryset
    would make it: the backend's and the fields' converters, then `from_db`."""
    meta = model._meta
    key = ("load", connection.alias, model)
    loading = _statements.get(key)
    if loading is None:
        converting = []
        for index, field in enumerate(meta.concrete_fields):
            column = field.get_col(meta.db_table)
            converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
            if converters:
                converting.append((index, column, converters))
        loading = _statements[key] = ([field.attname for field in meta.concrete_fields], converting)
    names, converting = loading
    values = list(row)
    for index, column, converters in converting:
        value = values[index]
        for convert in converters:
            value = convert(value, column, connection)
        values[index] = value
    return model.from_db(connection.alias, names, values)


def first_row(model: type[models.Model], **conditions: Any) -> models.Model | None:
    """`model._default_manager.filter(**conditions).first()` for a model without ordering, as one
    statement built once per process: the lookups of every signed-in page (the session, the
    person) cost more to compile than to run. A condition is a field's name (`pk` for the key)
    for equality, or `name__gt` for "greater than"; its value is prepared by its field."""
    meta = model._meta
    connection = connections[router.db_for_read(model)]
    key = ("first", connection.alias, model, tuple(conditions))
    built = _statements.get(key)
    if built is None:
        quote = connection.ops.quote_name
        fields, tests = [], []
        for condition in conditions:
            name, _, lookup = condition.partition("__")
            field = meta.pk if name == "pk" else meta.get_field(name)
            if lookup not in ("", "gt") or not field.concrete:
                raise TypeError(f"first_row() takes equality and __gt on columns, not {condition}.")
            fields.append(field)
            tests.append(f"{quote(field.column)} {'>' if lookup else '='} %s")
        columns = ", ".join(quote(field.column) for field in meta.concrete_fields)
        built = _statements[key] = (
            f"SELECT {columns} FROM {quote(meta.db_table)} WHERE {' AND '.join(tests)} LIMIT 1", fields)
    sql, fields = built
    params = [field.get_db_prep_value(value, connection) for field, value in zip(fields, conditions.values())]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else load_row(model, row, connection)


def read_back_only_database_choices(model: type[models.Model]) -> None:
    """After an INSERT, read back (RETURNING) only the columns whose value the database chose.

    Every column here has a database default for direct writers, and nearly every one a Python
    default too, so the ORM always sends the value. Django 5.2 still reads back every column with
    a database default after each insert and converts it again (JSON parsed, timestamps loaded):
    a quarter of the CPU that creating a request cost. A column without a Python default keeps
    being read back, so the instance never misses a value the database filled in.
    """
    meta = model._meta
    meta.db_returning_fields = [field for field in meta.db_returning_fields if not field.has_default()]
