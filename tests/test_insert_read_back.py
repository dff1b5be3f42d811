"""Inserts read back only what the database chose (governance_app.kernel.fastpath.read_back_only_database_choices):
the ORM sends every column's value, so nothing comes back, and the saved instance still matches
its row exactly."""

import pytest
from django.apps import apps
from django.db import connection

from governance_app.kernel.actors import actor_for_user
from requests_app.services import request_create, request_event_write
from tests.db_roles import AppQueries

pytestmark = pytest.mark.django_db


def test_creating_a_request_reads_nothing_back_and_matches_its_rows(owner):
    with AppQueries(connection) as queries:
        created = request_create(actor=actor_for_user(owner), destination_brain="affiliate",
                                 request_type="offer_review_request", request_title="Review the offer",
                                 request_summary="Review the offer against the latest research signal.")
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 2
    assert not [sql for sql in inserts if "RETURNING" in sql.upper()]

    event = request_event_write(request=created, actor=actor_for_user(owner), event_type="note",
                                summary="A note on the request", payload={"n": 1})
    for instance in (created, event):
        stored = type(instance).objects.get(pk=instance.pk)
        for field in type(instance)._meta.concrete_fields:
            assert getattr(instance, field.attname) == getattr(stored, field.attname), field.name


@pytest.mark.parametrize("label", ["governance_app", "requests_app", "tasks_app"])
def test_only_columns_without_a_python_default_are_read_back(label):
    for model in apps.get_app_config(label).get_models():
        expected = [f for f in model._meta.concrete_fields if f.has_db_default() and not f.has_default()]
        assert model._meta.db_returning_fields == expected, model.__name__
