"""`manage.py issue_token`: prints the new token last, stores only its hash, refuses bad input."""

import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from governance_app.models import ApiToken

pytestmark = pytest.mark.django_db


def issue(**options) -> list[str]:
    out = StringIO()
    call_command("issue_token", stdout=out, **options)
    return out.getvalue().strip().splitlines()


def test_it_prints_the_token_as_the_last_line_and_stores_only_its_sha256():
    lines = issue(brain="research", role="executor", label="research-executor-1")

    secret = lines[-1]
    token = ApiToken.objects.get()
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {token.token_hash, token.label, token.prefix}
    assert secret.startswith(token.prefix) and len(token.prefix) < len(secret) // 3
    assert (token.brain_id, token.role, token.label, token.revoked_at) == (
        "research", "executor", "research-executor-1", None)


def test_each_token_is_new():
    first, second = issue(brain="research", role="brain", label="a")[-1], issue(brain="research", role="brain",
                                                                                label="a")[-1]

    assert first != second
    assert ApiToken.objects.count() == 2


def test_the_printed_token_opens_the_api(client):
    secret = issue(brain="headoffice", role="headoffice", label="dashboard")[-1]

    response = client.get("/api/v1/requests", headers={"Authorization": f"Bearer {secret}"})

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"brain": "nowhere", "role": "brain", "label": "x"}, "Unknown Brain 'nowhere'"),
        ({"brain": "research", "role": "admin", "label": "x"}, "Unknown role 'admin'"),
        ({"brain": "research", "role": "brain", "label": "   "}, "The label is required"),
        ({"brain": "research", "role": "headoffice", "label": "x"}, "belongs to the headoffice Brain"),
    ],
)
def test_bad_input_is_a_clear_command_error_and_writes_nothing(options, message):
    with pytest.raises(CommandError, match=message):
        issue(**options)

    assert ApiToken.objects.count() == 0


def test_the_unknown_role_message_lists_the_roles():
    with pytest.raises(CommandError, match="brain, executor, integration, headoffice"):
        issue(brain="research", role="owner", label="x")


def test_brain_role_and_label_are_required():
    with pytest.raises(CommandError, match="--label"):
        call_command("issue_token", "--brain", "research", "--role", "brain", stdout=StringIO())

    assert ApiToken.objects.count() == 0
