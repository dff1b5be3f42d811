"""Sign-in throttling through the real login form: wrong passwords pause the account, the page says
for how long, and the right password no longer opens it until an administrator unlocks it."""

from axes.utils import reset
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD


def _try(page: Page, base_url: str, password: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill("research_owner")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_wrong_passwords_pause_sign_in_and_an_unlock_lets_the_owner_in(page: Page, live_server, owner, settings,
                                                                       screenshot):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _try(page, live_server.url, "not-my-password")
        expect(page.get_by_text("Your username and password didn't match")).to_be_visible()
    _try(page, live_server.url, "not-my-password")
    expect(page.get_by_role("heading", name="Sign-in paused")).to_be_visible()

    _try(page, live_server.url, PASSWORD)
    expect(page.get_by_role("heading", name="Sign-in paused")).to_be_visible()
    expect(page.get_by_text("sign-in is paused for 15 minutes")).to_be_visible()
    screenshot("sign-in-paused")

    reset(username="research_owner")  # what deleting the attempts in the admin does
    _try(page, live_server.url, PASSWORD)
    expect(page.get_by_role("link", name="Dashboard")).to_be_visible()
