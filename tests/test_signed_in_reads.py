"""What every signed-in page reads first (its session, its person, their memberships) is what
Django's own session store and backend, and the ORM, would read: sessions.py, ActiveTenantBackend.get_user,
actors.actor_for_user."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.utils import timezone

from governance_app.kernel.actors import TenantInactive, actor_for_user
from governance_app.kernel.tenancy import ActiveTenantBackend
from governance_app.models import Tenant
from mwms_site.sessions import SessionStore
from tests.factories import make_membership, make_user

pytestmark = pytest.mark.django_db


def _person(username: str, brains: list[str], **extra):
    user = make_user(username=username, **extra)
    for brain in brains:
        make_membership(user=user, brain_id=brain)
    return user


def test_a_session_is_read_until_it_expires(client):
    store = SessionStore()
    store["x"] = "y"
    store.create()
    assert SessionStore(store.session_key).load() == {"x": "y"}
    Session.objects.filter(pk=store.session_key).update(expire_date=timezone.now() - timedelta(seconds=1))
    expired = SessionStore(store.session_key)
    assert expired.load() == {} and expired.session_key is None
    assert SessionStore("n" * 32).load() == {}


def test_the_backend_finds_an_active_person_only(brains):
    user = _person("ann", ["research"])
    assert ActiveTenantBackend().get_user(user.pk) == user
    assert ActiveTenantBackend().get_user(str(user.pk)).username == "ann"
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    assert ActiveTenantBackend().get_user(user.pk) is None
    assert ActiveTenantBackend().get_user(user.pk + 999) is None


def test_a_signed_in_page_shows_the_person_and_signing_out_ends_the_session(client, brains):
    _person("ann", ["research"], password="a-long-pass-1")
    assert client.post("/accounts/login/", {"username": "ann", "password": "a-long-pass-1"}).status_code == 302
    page = client.get("/workspace/research/")
    assert page.status_code == 200 and "ann" in page.content.decode()
    client.post("/accounts/logout/")
    assert client.get("/workspace/research/").status_code == 302


def test_the_actor_names_the_tenant_brains_and_head_office(brains):
    owner = _person("ann", ["research", "ads"])
    actor = actor_for_user(owner)
    assert actor.brains == frozenset({"research", "ads"}) and not actor.is_head_office
    assert actor.tenant_id == Tenant.objects.get().pk and actor.user_id == owner.pk and actor.label == "ann"
    assert actor_for_user(_person("rev", ["headoffice"])).is_head_office


def test_an_inactive_tenant_refuses_its_people(brains):
    owner = _person("ann", ["research"])
    Tenant.objects.update(is_active=False)
    with pytest.raises(TenantInactive):
        actor_for_user(owner)
