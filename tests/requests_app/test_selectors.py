"""Who sees what, and the lineage drill-down read in a fixed number of queries."""

import pytest
from django.db import connection

from requests_app.models import BrainRequest
from requests_app.selectors import (
    request_ancestor_ids,
    request_lineage,
    requests_visible_to,
)
from tasks_app.models import Task, TaskArtifact, TaskEvent
from tests.db_roles import AppQueries
from tests.engine import actor, new_request, token_actor
from tests.factories import request_fields_for

pytestmark = pytest.mark.django_db


def child_of(parent: BrainRequest, **extra) -> BrainRequest:
    fields = {"requesting_authority": "research", "requesting_brain_id": "research", "target_brain_id": "affiliate",
              "request_type": "offer_review_request", "request_title": "Child request",
              "request_summary": "A follow-up from the parent request.", "required_output": ""}
    return BrainRequest.objects.create(parent_request=parent, **{**fields, **extra})


def test_headoffice_sees_every_request_and_a_brain_only_its_own(owner, other_owner, outsider, reviewer):
    mine = new_request(actor(owner))
    supported = BrainRequest.objects.create(
        requesting_authority="ads", requesting_brain_id="ads", target_brain_id="finance",
        request_type="finance_review_request", request_title="Budget", request_summary="Budget review please.",
        required_output="", primary_brain_id="finance", supporting_brains=["content"])
    assert set(requests_visible_to(actor(reviewer))) == {mine, supported}
    assert set(requests_visible_to(actor(owner))) == {mine}
    assert set(requests_visible_to(actor(other_owner))) == {mine}       # its destination
    assert set(requests_visible_to(actor(outsider))) == {supported}     # content supports it


def test_an_integration_sees_only_what_it_created(owner):
    by_the_owner = new_request(actor(owner))
    plugin = token_actor("research", role="integration", label="wordpress-plugin")
    by_the_plugin = new_request(plugin)
    assert list(requests_visible_to(plugin)) == [by_the_plugin]
    assert not requests_visible_to(token_actor("research", role="integration", label="brain-room")).exists()
    assert not requests_visible_to(token_actor("affiliate", role="integration", label="p3")).exists()
    assert set(requests_visible_to(actor(owner))) == {by_the_owner, by_the_plugin}


def test_ancestors_run_from_the_parent_up_to_the_root(owner):
    root = new_request(actor(owner))
    middle = child_of(root)
    leaf = child_of(middle)
    assert request_ancestor_ids(request=leaf) == [middle.pk, root.pk]
    assert request_ancestor_ids(request=root) == []


def test_the_lineage_counts_the_earlier_requests_the_actor_may_not_see(owner, outsider, reviewer):
    root = new_request(actor(owner))                       # Research -> Affiliate: not Content's
    middle = child_of(root)
    leaf = child_of(middle, target_brain_id="content")     # Content's, under two it may not see
    assert request_lineage(actor=actor(outsider), request=leaf).hidden_ancestors == 2
    assert request_lineage(actor=actor(outsider), request=leaf).ancestors == []
    headoffice = request_lineage(actor=actor(reviewer), request=leaf)
    assert (headoffice.hidden_ancestors, headoffice.ancestors) == (0, [middle, root])


def test_a_descendant_below_a_hidden_request_hangs_below_its_nearest_visible_ancestor(owner, reviewer):
    not_research = {"requesting_authority": "ads", "requesting_brain_id": "ads", "target_brain_id": "finance"}
    root = new_request(actor(owner))
    a = child_of(root)
    hidden = child_of(a, **not_research)
    c = child_of(hidden)
    beside = child_of(child_of(root, **not_research))

    lineage = request_lineage(actor=actor(owner), request=root)

    shape = {n.request.pk: (n.via_hidden, [(c.request.pk, c.via_hidden) for c in n.children])
             for n in lineage.children}
    assert shape == {a.pk: (False, [(c.pk, True)]), beside.pk: (True, [])}
    headoffice = request_lineage(actor=actor(reviewer), request=root)
    assert not any(n.via_hidden for n in headoffice.children)
    below_a = next(n for n in headoffice.children if n.request.pk == a.pk).children
    assert [n.request.pk for n in below_a] == [hidden.pk]


def test_lineage_builds_the_tree_of_descendants(owner, reviewer):
    root = new_request(actor(owner))
    a, b = child_of(root), child_of(root)
    a1 = child_of(a)
    lineage = request_lineage(actor=actor(reviewer), request=root)
    tree = {node.request.pk: [c.request.pk for c in node.children] for node in lineage.children}
    assert tree == {a.pk: [a1.pk], b.pk: []}
    assert request_lineage(actor=actor(reviewer), request=a1).root == root


def _grow(root: BrainRequest, *, depth: int, tasks: int) -> BrainRequest:
    leaf = root
    for _ in range(depth):
        leaf = child_of(leaf)
        child_of(leaf)
    for n in range(tasks):
        task = Task.objects.create(request=leaf, task_type=f"t{n}", assigned_brain_id="affiliate")
        TaskEvent.objects.create(task=task, event_type="created", event_summary="created")
        TaskArtifact.objects.create(task=task, artifact_type="note", artifact_summary="n")
    return leaf


def _queries(reviewer, request) -> int:
    with AppQueries(connection) as captured:
        lineage = request_lineage(actor=actor(reviewer), request=request)
        [len(t.events.all()) + len(t.artifacts.all()) for t in lineage.tasks]
    return len(captured.captured_queries)


def test_the_lineage_read_does_not_grow_with_the_tree(owner, reviewer):
    small = _grow(new_request(actor(owner)), depth=1, tasks=1)
    large = _grow(new_request(actor(owner)), depth=12, tasks=15)
    assert _queries(reviewer, small) == _queries(reviewer, large)


def test_the_lineage_check_names_what_is_broken(owner, reviewer):
    request = BrainRequest.objects.create(
        requesting_authority="research", requesting_brain_id="research", target_brain_id="affiliate",
        request_type="offer_review_request", request_title="Split work", request_summary="Work across Brains.",
        required_output="", supporting_brains=["content"])
    Task.objects.create(request=request, task_type="t", assigned_brain_id="affiliate", status="completed")
    warnings = request_lineage(actor=actor(reviewer), request=request).warnings
    assert any("none is declared primary" in w for w in warnings)
    assert any("completed without an artifact" in w for w in warnings)


def test_the_timeline_merges_request_and_task_events_in_time_order(owner, reviewer):
    request = new_request(actor(owner))
    task = Task.objects.create(request=request, task_type="t", assigned_brain_id="affiliate")
    TaskEvent.objects.create(task=task, event_type="created", event_summary="created")
    timeline = request_lineage(actor=actor(reviewer), request=request).timeline
    assert [item["kind"] for item in timeline] == ["request", "task"]
    assert [item["at"] for item in timeline] == sorted(item["at"] for item in timeline)


def test_the_inbox_lists_what_the_brain_takes_part_in_and_is_empty_for_a_brain_not_ones_own(owner, other_owner):
    from governance_app.models import Brain
    from requests_app.selectors import workspace_inbox

    research = Brain.objects.get(slug="research")
    sent = new_request(actor(owner), request_title="Sent by research")                      # to act on: submit
    supported = BrainRequest.objects.create(                                                # waiting: supporting
        requesting_authority="ads", requesting_brain_id="ads", target_brain_id="finance", status="routed",
        request_type="finance_review_request", request_title="Supported", request_summary="Budget review please.",
        required_output="", primary_brain_id="finance", supporting_brains=["research"],
        **request_fields_for("routed"))
    reviewed = BrainRequest.objects.create(                                                 # neither: only reviews
        requesting_authority="ads", requesting_brain_id="ads", target_brain_id="finance", status="responded",
        request_type="finance_review_request", request_title="Reviewed", request_summary="Budget review please.",
        required_output="", **{**request_fields_for("responded"), "review_owner_id": "research"})
    inbox = workspace_inbox(actor=actor(owner), brain=research)
    assert list(inbox.to_act) == [sent] and list(inbox.waiting) == [supported]
    assert reviewed not in list(inbox.to_act) + list(inbox.waiting)   # a review owner that takes no part
    elsewhere = workspace_inbox(actor=actor(other_owner), brain=research)
    assert not elsewhere.to_act.exists() and not elsewhere.waiting.exists() and not elsewhere.tasks.exists()
