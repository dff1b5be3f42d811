"""What the admin tests of the three apps share: a model's admin URL, the POST a change page would
send unchanged, and the checks every registered model's pages get (each module passes its own
builders)."""

from collections.abc import Callable
from typing import Any

from django.db import connection
from django.db.models import Model
from django.test.utils import CaptureQueriesContext
from django.urls import reverse


def admin_url(model: type[Model], view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def change_form_data(page) -> dict[str, Any]:
    """The POST the change page would send unchanged: its form's values and its inlines' management forms."""
    form = page.context["adminform"].form
    data: dict[str, Any] = {"_save": "Save"}
    for name in form.fields:
        value = form[name].value()
        if value is True:
            data[name] = "on"
        elif value is not None and value is not False:
            data[name] = value
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in management.fields:
            data[management[name].html_name] = management[name].value()
    return data


def assert_pages_answer(client, model: type[Model], build: Callable[[], Model]) -> None:
    """The changelist and a change page of the model answer 200."""
    obj = build()
    assert client.get(admin_url(model, "changelist")).status_code == 200
    assert client.get(admin_url(model, "change", obj.pk)).status_code == 200


def assert_changelist_query_count_is_flat(client, model: type[Model], build: Callable[[], Model],
                                          assert_max_num_queries) -> None:
    """The changelist runs no more queries with 30 rows than with 3."""
    url = admin_url(model, "changelist")
    for _ in range(3):
        build()
    client.get(url)  # warm caches (content types, session) before counting
    with CaptureQueriesContext(connection) as with_three:
        assert client.get(url).status_code == 200

    for _ in range(27):
        build()
    with assert_max_num_queries(len(with_three)):
        response = client.get(url)
    assert response.context["cl"].result_count >= 30
