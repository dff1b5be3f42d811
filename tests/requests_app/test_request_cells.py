"""The request list's cells, built in Python (requests_app.templatetags.request_list): what each
column shows, escaped, in the person's order."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.template import Context, Template
from django.urls import reverse

from governance_app.kernel import wording
from requests_app.saved_views import LIST_COLUMNS
from requests_app.selectors import requests_for_list
from tests.engine import actor
from tests.factories import make_request

pytestmark = pytest.mark.django_db


def cells(row, columns) -> str:
    return Template("{% load request_list %}{% request_cells row columns %}").render(
        Context({"row": row, "columns": columns}))


def listed(reviewer, **fields):
    made = make_request(**fields)
    return requests_for_list(actor=actor(reviewer)).get(pk=made.pk)


def test_every_column_has_a_cell_and_they_come_in_the_columns_order(reviewer):
    row = listed(reviewer)
    html = cells(row, [key for key, _label in LIST_COLUMNS])
    assert html.count("<td") == len(LIST_COLUMNS)
    assert cells(row, ["status", "request"]).index("badge-new") < cells(row, ["status", "request"]).index('class="title"')


def test_the_request_cell_links_the_drill_down_and_escapes_the_title(reviewer):
    row = listed(reviewer, request_title="<script>x</script> & co", escalation_flag=True, escalation_reason="Late",
                 head_office_visible=False)
    html = cells(row, ["request"])
    assert f'href="{reverse("requests:detail", args=[row.pk])}"' in html
    assert "&lt;script&gt;x&lt;/script&gt; &amp; co" in html and "<script>" not in html
    assert 'title="Escalation flag"' in html and "hidden from HO" in html


def test_owners_assignee_and_times(reviewer):
    row = listed(reviewer)
    assert f">{row.requesting_brain.name} → {row.target_brain.name}<" in cells(row, ["owners"])
    row.requesting_brain = None
    assert ">— → " in cells(row, ["owners"])
    assert cells(row, ["assignee"]) == '<td class="hide-sm"></td>'
    row.assignee = get_user_model().objects.create_user("ada", first_name="Ada", last_name="Lovelace")
    assert 'title="Assigned to Ada Lovelace">AL<' in cells(row, ["assignee"])
    row.updated_at = datetime(2026, 3, 4, 9, 5, tzinfo=UTC)
    assert 'title="4 Mar 2026, 09:05"' in cells(row, ["updated"]) and " ago<" in cells(row, ["updated"])


def test_when_is_the_date_filters_format_in_the_current_time_zone(settings):
    from django.template import Template as T
    from django.utils import timezone

    moment = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    with timezone.override("Europe/Berlin"):
        assert wording.when(moment) == T("{{ m|date:'j M Y, H:i' }}").render(Context({"m": moment})) == "1 Jan 2027, 00:30"
    assert wording.when(None) == ""
