"""`manage.py issue_token`: prints the new token last, stores only its hash, refuses bad input."""

import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from governance_app.kernel.tokens import token_hash
from governance_app.models import ApiToken, DecisionRecord
from requests_app.models import BrainRequest, RequestStatus
from tests.api_client import OUTCOME
from tests.factories import make_api_token, make_request

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
        # A token of the HeadOffice Brain is a headoffice token (issue 17): any other role is refused.
        ({"brain": "headoffice", "role": "brain", "label": "x"}, "has the headoffice role, not brain"),
        ({"brain": "headoffice", "role": "executor", "label": "x"}, "has the headoffice role, not executor"),
        ({"brain": "headoffice", "role": "integration", "label": "x"}, "has the headoffice role, not integration"),
    ],
)
def test_bad_input_is_a_clear_command_error_and_writes_nothing(options, message):
    with pytest.raises(CommandError, match=message):
        issue(**options)

    assert ApiToken.objects.count() == 0


def test_a_headoffice_brain_token_of_another_role_is_refused_in_one_line():
    with pytest.raises(CommandError) as refused:
        issue(brain="headoffice", role="brain", label="sneaky")

    assert str(refused.value) == ("A token of the headoffice Brain has the headoffice role, not brain: use --role "
                                  "headoffice, or issue the brain token for another Brain.")
    assert "\n" not in str(refused.value)
    assert ApiToken.objects.count() == 0


@pytest.mark.parametrize("role", ["brain", "executor", "integration"])
def test_a_headoffice_brain_token_of_another_role_issued_before_the_rule_opens_nothing(client, brains, role):
    """Such a token held HeadOffice's place (review owner, decision authority) without being
    HeadOffice's token; one issued before the rule is refused at every call, and changes nothing."""
    secret = "mwms_issued-before-the-rule"
    make_api_token(brain_id="headoffice", role=role, label="old-token", token_hash=token_hash(secret))
    request = make_request(status=RequestStatus.UNDER_REVIEW)
    before = BrainRequest.objects.filter(pk=request.pk).values().get()
    bearer = {"Authorization": f"Bearer {secret}"}

    listed = client.get("/api/v1/requests", headers=bearer)
    rejected = client.post(f"/api/v1/requests/{request.pk}/transition", {"to_status": "rejected", **OUTCOME},
                           content_type="application/json", headers=bearer)
    decided = client.post(f"/api/v1/requests/{request.pk}/decisions",
                          {"decision_summary": "Cap the test at 500 EUR", "reasoning": "Pacing limits apply."},
                          content_type="application/json", headers=bearer)

    assert [listed.status_code, rejected.status_code, decided.status_code] == [401, 401, 401]
    assert rejected.json()["detail"] == (f"This token (old-token) is a {role} token of the headoffice Brain, which "
                                         f"only headoffice tokens may be; ask HeadOffice for a new one.")
    assert BrainRequest.objects.filter(pk=request.pk).values().get() == before
    assert not DecisionRecord.objects.exists()


def test_the_unknown_role_message_lists_the_roles():
    with pytest.raises(CommandError, match="brain, executor, integration, headoffice"):
        issue(brain="research", role="owner", label="x")


def test_brain_role_and_label_are_required():
    with pytest.raises(CommandError, match="--label"):
        call_command("issue_token", "--brain", "research", "--role", "brain", stdout=StringIO())

    assert ApiToken.objects.count() == 0
