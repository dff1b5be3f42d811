"""The Django admin in a real Chromium: the smallest proof that a person can sign in and find the records."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

ADMIN_PASSWORD = "admin-e2e-password-42"


@pytest.fixture
def superuser():
    return get_user_model().objects.create_superuser(
        username="admin", email="admin@example.org", password=ADMIN_PASSWORD
    )


def sign_in(page: Page, base_url: str, *, username: str, password: str) -> None:
    page.goto(f"{base_url}/admin/login/?next=/admin/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_a_superuser_signs_in_and_sees_the_brain_requests_section(page: Page, live_server, superuser, screenshot):
    sign_in(page, live_server.url, username="admin", password=ADMIN_PASSWORD)

    expect(page).to_have_url(f"{live_server.url}/admin/")
    expect(page.get_by_role("link", name="Brain Requests", exact=True)).to_be_visible()
    expect(page.locator("#user-tools")).to_contain_text("admin")
    shot = screenshot("admin-index")
    assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_a_wrong_password_shows_the_admin_login_error(page: Page, live_server, superuser):
    sign_in(page, live_server.url, username="admin", password="not-the-password")

    expect(page).to_have_url(f"{live_server.url}/admin/login/?next=/admin/")
    expect(page.locator(".errornote")).to_contain_text(
        "Please enter the correct username and password for a staff account."
    )
