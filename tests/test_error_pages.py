"""403, 404 and 500 answers have the site's look, the admin's included, and /favicon.ico is the
site's mark rather than a 404."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD
from tests.factories import make_task_event

pytestmark = pytest.mark.django_db


def _looks_like_the_site(page: str) -> None:
    assert 'class="topbar"' in page and "MWMS HeadOffice" in page and "css/app.css" in page


def test_a_missing_page_is_the_sites_404(client, reviewer):
    client.force_login(reviewer)
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    page = response.content.decode()
    _looks_like_the_site(page)
    assert "Not found" in page and "Back to the dashboard" in page


def test_the_admins_delete_page_of_an_event_is_the_sites_403(client, brains):
    event = make_task_event()
    admin = get_user_model().objects.create_superuser("root", password=PASSWORD)
    client.force_login(admin)

    response = client.get(reverse("admin:tasks_app_taskevent_delete", args=[event.pk]))

    assert response.status_code == 403
    page = response.content.decode()
    _looks_like_the_site(page)
    assert "Not allowed" in page and "append-only" in page
    assert event.__class__.objects.filter(pk=event.pk).exists()


def test_a_server_error_is_the_sites_500_without_a_traceback(reviewer, monkeypatch):
    from governance_app import selectors

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(selectors, "dashboard_queues", broken)
    client = Client(raise_request_exception=False)
    client.force_login(reviewer)

    response = client.get(reverse("governance:dashboard"))

    assert response.status_code == 500
    page = response.content.decode()
    _looks_like_the_site(page)
    assert "Something went wrong" in page and "boom" not in page and "Traceback" not in page


def test_the_favicon_is_the_sites_mark(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 302 and response["Location"] == static("img/mark.svg")
    assert finders.find("img/mark.svg")
