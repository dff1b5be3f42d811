"""Sign-in throttling (django-axes): a few wrong passwords lock the account and the address for a
while, the person is told until when, an administrator can unlock, and the lockout is logged."""

import logging

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
LOGIN = reverse("login")


def sign_in(client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_five_wrong_passwords_pause_the_account_even_for_the_right_one(client, owner, settings, caplog):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        wrong = sign_in(client, "research_owner", "not-the-password")
        assert wrong.status_code == 200 and b"didn't match" in wrong.content

    with caplog.at_level(logging.WARNING, logger="axes"):
        last = sign_in(client, "research_owner", "not-the-password")
    locked = sign_in(client, "research_owner", PASSWORD)

    for response in (last, locked):
        assert response.status_code == 429
        page = response.content.decode()
        assert "Sign-in paused" in page and "paused for 15 minutes" in page and "research_owner" in page
    assert "_auth_user_id" not in client.session
    assert any("research_owner" in record.getMessage() for record in caplog.records)


def test_wrong_passwords_from_one_address_pause_that_address_for_other_accounts(client, owner, other_owner,
                                                                                 settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, f"someone-{n}", "guess", address="10.9.9.9")

    assert sign_in(client, "affiliate_owner", PASSWORD, address="10.9.9.9").status_code == 429
    assert sign_in(client, "affiliate_owner", PASSWORD, address="10.1.1.1").status_code == 302


def test_a_right_password_before_the_limit_clears_the_count(client, owner, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "research_owner", "not-the-password")
    assert sign_in(client, "research_owner", PASSWORD).status_code == 302
    client.post(reverse("logout"))

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "research_owner", "not-the-password")
    assert sign_in(client, "research_owner", PASSWORD).status_code == 302


def test_an_administrator_unlocks_an_account_in_the_admin(client, owner, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "research_owner", "not-the-password")
    assert sign_in(client, "research_owner", PASSWORD).status_code == 429
    admin = get_user_model().objects.create_superuser("root", password=PASSWORD)
    client.force_login(admin)
    attempts = list(AccessAttempt.objects.filter(username="research_owner").values_list("pk", flat=True))

    unlocked = client.post(reverse("admin:axes_accessattempt_changelist"),
                           {"action": "delete_selected", "_selected_action": attempts, "post": "yes"})
    client.post(reverse("logout"))

    assert unlocked.status_code == 302 and not AccessAttempt.objects.filter(username="research_owner").exists()
    assert sign_in(client, "research_owner", PASSWORD).status_code == 302


@pytest.mark.parametrize(("password", "reason"), [("password123", "too common"), ("research_owner1", "too similar")])
def test_common_and_similar_passwords_are_refused(owner, password, reason):
    with pytest.raises(ValidationError) as refused:
        validate_password(password, user=owner)

    assert reason in " ".join(refused.value.messages)
