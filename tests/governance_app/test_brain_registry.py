"""The Brain registry each process keeps (governance_app/kernel/brains.py): changes made here are seen at
once, changes made elsewhere within KEEP_SECONDS, and a kept registry costs no query."""

import pytest

from governance_app.kernel import brains as registry
from governance_app.kernel.actors import actor_for_user
from governance_app.kernel.errors import DomainError
from governance_app.models import Brain
from requests_app.services import request_create

pytestmark = pytest.mark.django_db

ASK = {"request_type": "research_request", "request_title": "Check the demand signal",
       "request_summary": "Check whether the demand signal for the offer holds across regions."}


def test_a_brain_deactivated_here_is_refused_at_once(owner, brains):
    actor = actor_for_user(owner)
    assert request_create(actor=actor, destination_brain="content", **ASK).target_brain_id == "content"

    content = Brain.objects.get(slug="content")
    content.is_active = False
    content.save()  # as the admin saves it

    with pytest.raises(DomainError) as refused:
        request_create(actor=actor, destination_brain="content", **ASK)
    assert refused.value.field == "destination_brain"
    assert "no active Brain called 'content'" in refused.value.message


def test_a_change_made_by_another_process_is_seen_within_keep_seconds(brains, monkeypatch):
    tenant_id = brains["content"].tenant_id
    clock = [1000.0]
    monkeypatch.setattr(registry, "_clock", lambda: clock[0])
    assert "content" in registry.active_brains(tenant_id)

    Brain.objects.filter(slug="content").update(is_active=False)  # no signal: as another process would
    clock[0] += registry.KEEP_SECONDS - 0.1
    assert "content" in registry.active_brains(tenant_id)
    clock[0] += 0.2
    assert "content" not in registry.active_brains(tenant_id)


def test_a_kept_registry_costs_no_query(brains, django_assert_num_queries):
    tenant_id = brains["research"].tenant_id
    with django_assert_num_queries(1):
        first = registry.active_brains(tenant_id)
    with django_assert_num_queries(0):
        again = registry.active_brains(tenant_id)
    assert again is first
    assert set(first) == {slug for slug, brain in brains.items() if brain.is_active}


def test_a_brain_added_here_can_be_asked_at_once(owner, brains):
    actor = actor_for_user(owner)
    registry.active_brains(actor.tenant_id)  # kept before the new Brain exists
    Brain.objects.create(tenant_id=actor.tenant_id, slug="legal", name="Legal Brain",
                         accepted_request_types=["research_request"])
    assert request_create(actor=actor, destination_brain="legal", **ASK).target_brain_id == "legal"
