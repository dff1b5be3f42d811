"""Two tenants, each with its own registry and HeadOffice, and nothing of one reachable from the other:
not through the services, the pages, the API or the admin, and not by a row written straight into
the database (composite keys on PostgreSQL, triggers on SQLite)."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from governance_app import services as gs
from governance_app.kernel.db import DEFAULT_TENANT_ID
from governance_app.kernel.errors import DomainError
from governance_app.kernel.tenancy import member_add
from governance_app.models import (
    ApiToken,
    Brain,
    DecisionRecord,
    LessonLearned,
    Membership,
    MembershipRole,
    Tenant,
    TenantUser,
    TokenRole,
)
from requests_app.models import BrainRequest
from tests.api_client import api_as, new_request_body
from tests.conftest import PASSWORD
from tests.engine import actor, new_request
from tests.db_roles import with_no_claim
from tests.factories import make_lesson, make_request

# The tests see both tenants (the app's and the keys' refusals are under test here; row-level
# security's are tests/test_row_level_security.py's).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("every_tenant")]

User = get_user_model()


@pytest.fixture
def acme() -> Tenant:
    """A second tenant, made as an administrator makes one: its nine Brains and a reviewer."""
    return gs.tenant_create(slug="acme", name="Acme Consulting", reviewer_username="acme_reviewer",
                            reviewer_password=PASSWORD)


def acme_member(acme: Tenant, username: str, brain: str, role: str = MembershipRole.OWNER):
    user = User.objects.create_user(username=username, password=PASSWORD)
    member_add(user=user, brain=Brain.objects.get(tenant=acme, slug=brain), role=role)
    return user


# --- a registry per tenant ---------------------------------------------------------------------


def test_two_tenants_each_have_a_research_and_a_headoffice_brain(acme, brains):
    assert set(Brain.objects.filter(tenant=acme).values_list("slug", flat=True)) == set(brains)
    assert Brain.objects.filter(slug="research").count() == 2
    assert Brain.objects.filter(slug="headoffice").count() == 2


def test_each_tenants_headoffice_decides_in_its_own_tenant_only(acme, owner, reviewer):
    mwms_request = new_request(actor(owner))
    acme_reviewer = actor(User.objects.get(username="acme_reviewer"))

    assert acme_reviewer.tenant_id == acme.id and acme_reviewer.is_head_office
    assert gs.decision_authority(actor=acme_reviewer).tenant_id == acme.id
    assert gs.decision_authority(actor=actor(reviewer)).tenant_id == DEFAULT_TENANT_ID
    with pytest.raises(DomainError) as refused:
        gs.decision_record(actor=acme_reviewer, request=mwms_request, decision_summary="Approve the offer",
                           reasoning="Acme's HeadOffice has no say over MWMS's requests.")
    assert refused.value.kind == "not_found"
    assert not DecisionRecord.objects.filter(related_request=mwms_request).exists()


def test_a_request_of_the_second_tenant_names_its_own_brains(acme):
    acme_research = actor(acme_member(acme, "acme_research", "research"))

    request = new_request(acme_research)

    assert request.tenant_id == acme.id
    assert request.requesting_brain.tenant_id == acme.id
    assert request.target_brain.tenant_id == acme.id
    assert request.target_brain == Brain.objects.get(tenant=acme, slug="affiliate")


# --- a person belongs to exactly one tenant ----------------------------------------------------


def test_a_membership_of_another_tenants_brain_is_refused_and_nothing_is_written(acme, owner, brains):
    with pytest.raises(DomainError) as refused:
        member_add(user=owner, brain=Brain.objects.get(tenant=acme, slug="research"))

    assert "belongs to another tenant" in refused.value.message
    assert list(Membership.objects.filter(user=owner).values_list("tenant_id", flat=True)) == [DEFAULT_TENANT_ID]


def test_the_database_refuses_a_membership_outside_the_persons_tenant(acme, owner):
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        Membership.objects.create(user=owner, brain_id="finance", tenant_id=acme.id)
        connection.check_constraints()

    assert "mwms_memberships_user_id_tenant_fk" in str(refused.value)


def test_headoffice_is_granted_only_by_the_tenants_own_headoffice_brain(acme, brains):
    user = User.objects.create_user(username="not_a_reviewer")

    with pytest.raises(DomainError):
        member_add(user=user, brain=brains["research"], role=MembershipRole.HEAD_OFFICE_REVIEWER)
    member_add(user=user, brain=brains["research"], role=MembershipRole.OWNER)

    assert not actor(user).is_head_office
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.filter(user=user).update(role=MembershipRole.HEAD_OFFICE_REVIEWER)


# --- references stay inside a tenant, whoever writes them ---------------------------------------


def test_the_database_refuses_a_lesson_of_one_tenant_pointing_at_anothers_request(acme):
    mwms_request = make_request()

    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        make_lesson(tenant_id=acme.id, originating_brain_id="research", related_request=mwms_request)
        connection.check_constraints()

    assert "mwms_lessons_learned_related_request_id_tenant_fk" in str(refused.value)
    assert not LessonLearned.objects.filter(related_request=mwms_request).exists()


def test_raw_sql_cannot_point_a_row_of_one_tenant_at_anothers_request(acme):
    mwms_request = make_request()
    key = mwms_request.pk if connection.vendor == "postgresql" else mwms_request.pk.hex
    tenant = acme.id if connection.vendor == "postgresql" else acme.id.hex

    with pytest.raises(IntegrityError) as refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO mwms_signals (tenant_id, source_brain, signal_type, summary, request_id) "
                       "VALUES (%s, 'research', 'evidence_update', 'A signal', %s)", [tenant, key])

    assert "mwms_signals_request_id_tenant_fk" in str(refused.value)
    assert not mwms_request.signals.exists()


# --- pages and the API answer in the caller's tenant only ---------------------------------------


def test_the_workspace_page_is_the_callers_tenants_brain(client, acme, owner):
    new_request(actor(owner), request_title="MWMS research asks Affiliate")
    acme_research = acme_member(acme, "acme_research", "research")
    new_request(actor(acme_research), request_title="Acme research asks Affiliate")
    client.force_login(acme_research)

    page = client.get("/workspace/research/")

    assert page.status_code == 200
    assert b"Acme research asks Affiliate" in page.content
    assert b"MWMS research asks Affiliate" not in page.content


def test_an_api_token_sees_and_touches_only_its_tenant(acme, owner):
    mwms_request = new_request(actor(owner))
    acme_api = api_as("research", tenant_id=acme.id)

    created = acme_api.post("/requests", new_request_body())
    listed = acme_api.get("/requests")

    assert created.status_code == 201
    assert BrainRequest.objects.get(pk=created.json()["request_id"]).tenant_id == acme.id
    assert [row["request_id"] for row in listed.json()["items"]] == [created.json()["request_id"]]
    assert acme_api.get(f"/requests/{mwms_request.pk}").status_code == 404
    assert acme_api.post(f"/requests/{mwms_request.pk}/transition",
                         {"to_status": "under_review"}).status_code == 404
    assert BrainRequest.objects.get(pk=mwms_request.pk).status == mwms_request.status


# --- an inactive tenant opens nothing ----------------------------------------------------------


def test_an_inactive_tenants_tokens_and_people_are_refused(client, acme):
    acme_api = api_as("research", tenant_id=acme.id)
    acme_research = acme_member(acme, "acme_research", "research")
    Tenant.objects.filter(pk=acme.pk).update(is_active=False)

    refused = acme_api.get("/requests")
    client.force_login(acme_research)
    page = client.get("/workspace/research/")

    assert refused.status_code == 401
    assert "inactive" in refused.json()["detail"]
    # A session signed in before the tenant was made inactive opens nothing.
    assert page.status_code == 403
    client.logout()
    client.post("/accounts/login/", {"username": "acme_reviewer", "password": PASSWORD})
    assert "_auth_user_id" not in client.session


# --- tenant_create and issue_token --tenant ----------------------------------------------------


def run(command: str, *args, **options) -> str:
    """The command's output, run as from a shell: acting for no tenant until it says which."""
    out = StringIO()
    with with_no_claim():
        call_command(command, *args, stdout=out, **options)
    return out.getvalue()


def test_tenant_create_makes_the_nine_brains_and_a_reviewer_who_can_sign_in(client):
    said = run("tenant_create", "beta", name="Beta Ltd", reviewer="beta_reviewer", password=PASSWORD)

    beta = Tenant.objects.get(slug="beta")
    assert "Created tenant beta (Beta Ltd) with 9 Brains" in said
    assert Brain.objects.filter(tenant=beta).count() == 9
    reviewer = User.objects.get(username="beta_reviewer")
    assert TenantUser.objects.get(user=reviewer).tenant_id == beta.id
    assert actor(reviewer).is_head_office and actor(reviewer).tenant_id == beta.id
    client.post("/accounts/login/", {"username": "beta_reviewer", "password": PASSWORD})
    assert client.session["_auth_user_id"] == str(reviewer.pk)


@pytest.mark.parametrize(("args", "options", "message"), [
    (["mwms"], {"name": "Again", "reviewer": "someone_new", "password": PASSWORD}, "exists already"),
    (["Not A Slug"], {"name": "X", "reviewer": "someone_new", "password": PASSWORD}, "lowercase letters"),
    (["gamma"], {"name": "Gamma", "reviewer": "reviewer", "password": PASSWORD}, "exists already"),
    (["gamma"], {"name": "Gamma", "reviewer": "someone_new", "password": "short"}, "too short"),
    (["gamma"], {"name": "  ", "reviewer": "someone_new", "password": PASSWORD}, "Name"),
])
def test_tenant_create_refuses_bad_input_in_one_line_and_changes_nothing(reviewer, args, options, message):
    tenants, brains, users = Tenant.objects.count(), Brain.objects.count(), User.objects.count()

    with pytest.raises(CommandError) as refused:
        run("tenant_create", *args, **options)

    assert message in str(refused.value) and "\n" not in str(refused.value)
    assert (Tenant.objects.count(), Brain.objects.count(), User.objects.count()) == (tenants, brains, users)


def test_issue_token_issues_in_the_named_tenant_and_refuses_an_unknown_one(acme):
    said = run("issue_token", tenant="acme", brain="headoffice", role=TokenRole.HEADOFFICE, label="acme-dashboard")

    token = ApiToken.objects.get(label="acme-dashboard")
    assert token.tenant_id == acme.id and token.brain.tenant_id == acme.id
    assert "of acme" in said
    with pytest.raises(CommandError, match="Unknown tenant 'nope'"):
        run("issue_token", tenant="nope", brain="research", role="brain", label="x")
    assert run("issue_token", brain="research", role="brain", label="mwms-default").count("of mwms") == 1


# --- the admin is tenant-bound ---------------------------------------------------------------


@pytest.fixture
def acme_staff(acme):
    """Staff of Acme with every admin permission, but not a superuser."""
    from django.contrib.auth.models import Permission

    user = acme_member(acme, "acme_admin", "headoffice", MembershipRole.HEAD_OFFICE_REVIEWER)
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.all())
    return user


def test_staff_of_one_tenant_see_and_reach_none_of_anothers_rows_in_the_admin(client, acme_staff, owner):
    mwms_request = new_request(actor(owner), request_title="An MWMS request")
    acme_request = new_request(actor(User.objects.get(username="acme_admin")), request_title="An Acme request")
    client.force_login(acme_staff)

    listed = client.get("/admin/requests_app/brainrequest/")
    other = client.get(f"/admin/requests_app/brainrequest/{mwms_request.pk}/change/")
    own = client.get(f"/admin/requests_app/brainrequest/{acme_request.pk}/change/")
    people = client.get("/admin/auth/user/")
    brains = client.get("/admin/governance_app/brain/")

    assert listed.status_code == 200
    assert b"An Acme request" in listed.content and b"An MWMS request" not in listed.content
    assert other.status_code == 302 and own.status_code == 200  # the admin's "does not exist" redirect
    assert b"research_owner" not in people.content and b"acme_admin" in people.content
    assert brains.content.count(b"Research Brain") == 1


def test_staff_cannot_add_a_person_of_another_tenant_to_their_brain(client, acme_staff, owner):
    client.force_login(acme_staff)

    page = client.post("/admin/governance_app/membership/add/",
                       {"user": owner.pk, "brain_id": "research", "role": MembershipRole.MEMBER})

    assert page.status_code == 200 and b"errorlist" in page.content
    assert list(Membership.objects.filter(user=owner).values_list("tenant_id", flat=True)) == [DEFAULT_TENANT_ID]


def test_a_superuser_sees_every_tenant_with_a_tenant_column(client, acme, owner):
    admin_user = User.objects.create_superuser("root", password=PASSWORD)
    new_request(actor(owner), request_title="An MWMS request")
    new_request(actor(acme_member(acme, "acme_research", "research")), request_title="An Acme request")
    client.force_login(admin_user)

    listed = client.get("/admin/requests_app/brainrequest/")

    assert b"An Acme request" in listed.content and b"An MWMS request" in listed.content
    assert b"Acme Consulting" in listed.content and b"column-tenant" in listed.content
