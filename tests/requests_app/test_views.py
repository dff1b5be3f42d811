"""Request pages: list, drill-down, moves, creation, workspace inbox (STYLE.md: happy path, wrong
method, anonymous, outsider, htmx partial, fixed query counts)."""

import re

import pytest
from django.urls import reverse
from django.utils.html import escape

from requests_app import services as rs
from requests_app.models import BrainRequest, RequestEvent, RequestStatus
from tasks_app.models import Task, TaskEvent
from tests.conftest import PASSWORD, said
from tests.engine import OUTCOME, actor, in_progress_request, new_request, routed_request

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def signed_in(client, user):
    client.force_login(user)
    return client


def request_row(request: BrainRequest) -> dict:
    """Everything a refused move must leave as it was: the request's columns (status, lock_version,
    updated_at …), its events and its tasks."""
    return {"request": BrainRequest.objects.filter(pk=request.pk).values().get(),
            "events": RequestEvent.objects.filter(request_id=request.pk).count(),
            "tasks": Task.objects.filter(request_id=request.pk).count()}


def bound_move_form(page, move: str):
    """The refused move's form as the drill-down shows it again (it replaces its blank twin)."""
    forms = [form for form in page.context["move_forms"] if form.move.name == move]
    assert len(forms) == 1 and forms[0].is_bound, f"the {move} form is not shown bound"
    return forms[0]


def bulk_requests(n: int, **extra) -> None:
    BrainRequest.objects.bulk_create([BrainRequest(
        requesting_authority="research", requesting_brain_id="research", target_brain_id="affiliate",
        request_type="offer_review_request", request_title=f"Offer {i}", request_summary="Review this offer please.",
        required_output="", **extra) for i in range(n)])


# --- the list -----------------------------------------------------------------------------------

def test_list_shows_visible_requests_with_their_status(client, owner):
    new_request(actor(owner), request_title="Review collagen gummies")
    page = signed_in(client, owner).get(reverse("requests:list"))
    assert page.status_code == 200
    assert "Review collagen gummies" in page.text and "badge-new" in page.text


def test_the_filters_selects_follow_the_brains_and_people_as_they_change(client, reviewer, brains):
    """The filter form's class and its selects are kept per process for each set of choices
    (requests_app.filters, KeptSelect): a Brain added or renamed, or a new HeadOffice member,
    shows at once, and the Brain chosen stays chosen."""
    from django.contrib.auth import get_user_model

    from governance_app.kernel.tenancy import member_add
    from governance_app.models import Brain, MembershipRole

    signed_in(client, reviewer)
    before = client.get(reverse("requests:list")).text
    assert "Legal Brain" not in before and "Grace Hopper" not in before
    Brain.objects.create(tenant_id=brains["research"].tenant_id, slug="legal", name="Legal Brain",
                         accepted_request_types=["research_request"])
    brains["ads"].name = "Ads & Media Brain"
    brains["ads"].save()
    grace = get_user_model().objects.create_user("grace", first_name="Grace", last_name="Hopper")
    member_add(user=grace, brain=brains["headoffice"], role=MembershipRole.HEAD_OFFICE_REVIEWER)
    after = client.get(reverse("requests:list"), {"origin": "legal"}).text
    assert after.count('<option value="legal">Legal Brain</option>') == 1  # destination: not chosen
    assert '<option value="legal" selected>Legal Brain</option>' in after  # origin: chosen
    assert "Ads &amp; Media Brain" in after and "Grace Hopper" in after
    again = client.get(reverse("requests:list")).text
    assert '<option value="legal" selected>' not in again and again.count('<option value="legal">') == 2


def test_list_filters_by_status_and_keeps_the_filter_in_the_links(client, reviewer, owner):
    routed_request(actor(owner), actor(reviewer), request_title="Routed one")
    new_request(actor(owner), request_title="Still new")
    page = signed_in(client, reviewer).get(reverse("requests:list"), {"status": "routed"})
    assert "Routed one" in page.text and "Still new" not in page.text
    assert "status=routed" in page.text  # sort and page links carry the filter


def test_list_searches_titles_and_lineage_ids(client, reviewer, owner):
    new_request(actor(owner), request_title="Gummies", offer_id="offer-881")
    new_request(actor(owner), request_title="Serum")
    page = signed_in(client, reviewer).get(reverse("requests:list"), {"q": "offer-881"})
    assert "Gummies" in page.text and "Serum" not in page.text


def test_list_htmx_request_gets_only_the_table(client, reviewer):
    page = signed_in(client, reviewer).get(reverse("requests:list"), **HTMX)
    assert page.status_code == 200
    assert page.text.lstrip().startswith('<div id="request-table"') and "<html" not in page.text
    assert "HX-Request" in page["Vary"]


def test_list_rejects_post(client, reviewer):
    assert signed_in(client, reviewer).post(reverse("requests:list")).status_code == 405


def test_list_sends_anonymous_visitors_to_sign_in(client):
    page = client.get(reverse("requests:list"))
    assert page.status_code == 302 and page["Location"].startswith(reverse("login"))


def test_list_hides_other_brains_requests(client, owner, outsider):
    new_request(actor(owner), request_title="Private to research and affiliate")
    page = signed_in(client, outsider).get(reverse("requests:list"))
    assert "Private to research" not in page.text and "No requests match" in page.text


@pytest.mark.parametrize("rows", [5, 200])
def test_list_query_count_does_not_grow_with_rows(client, reviewer, rows, django_assert_max_num_queries):
    bulk_requests(rows)
    signed_in(client, reviewer)
    # 10: the nav's saved views, the person's columns and the saved view open are one query each (issue 14).
    with django_assert_max_num_queries(10):
        assert client.get(reverse("requests:list")).status_code == 200


# --- the drill-down ---------------------------------------------------------------------------

def test_detail_shows_the_protocol_fields_owners_and_open_actions(client, reviewer, owner):
    request = new_request(actor(owner), offer_id="offer-881")
    page = signed_in(client, reviewer).get(reverse("requests:detail", args=[request.pk]))
    assert page.status_code == 200
    for text in ("Origin Brain", "Destination Brain", "Review owner", "Escalation owner", "offer-881",
                 'id="move-route-', "Timeline"):
        assert text in page.text


def test_detail_offers_a_decision_form_only_while_the_request_is_open(client, reviewer, owner):
    request = new_request(actor(owner))
    url = reverse("requests:detail", args=[request.pk])
    assert "Record a decision" in signed_in(client, reviewer).get(url).text

    rs.request_move(request=request, actor=actor(reviewer), move="reject",
                    fields={**OUTCOME, "closure_reason": "Not a request for Affiliate."})
    page = client.get(url)
    assert "Record a decision" not in page.text
    assert "A rejected request takes no more decisions." in page.text


def test_detail_names_the_supporting_brains(client, reviewer, owner):
    request = new_request(actor(owner))
    rs.request_route(request=request, actor=actor(reviewer), review_owner="headoffice", primary_brain="affiliate",
                     supporting_brains=["finance", "experimentation"])
    page = signed_in(client, reviewer).get(reverse("requests:detail", args=[request.pk]))
    assert "<dt>Supporting Brains</dt><dd>Finance Brain, Experimentation Brain</dd>" in page.text


def test_detail_says_when_earlier_requests_are_outside_the_brains_view(client, owner, outsider):
    parent = new_request(actor(owner))                      # Research -> Affiliate
    child = new_request(actor(owner), destination="content", request_type="content_support_request",
                        parent_request_id=parent.pk, request_title="Write the offer's landing copy")
    page = signed_in(client, outsider).get(reverse("requests:detail", args=[child.pk]))
    assert "1 earlier request in this chain is outside your Brain" in page.text
    assert parent.request_title not in page.text


def test_detail_marks_a_descendant_made_under_a_request_outside_the_brains_view(client, owner, reviewer):
    root = new_request(actor(owner))
    hidden = BrainRequest.objects.create(
        requesting_authority="ads", requesting_brain_id="ads", target_brain_id="finance", parent_request=root,
        request_type="finance_review_request", request_title="Budget for the test", request_summary="Budget please.",
        required_output="")
    BrainRequest.objects.create(
        requesting_authority="research", requesting_brain_id="research", target_brain_id="affiliate",
        parent_request=hidden, request_type="offer_review_request", request_title="Check the landing offer",
        request_summary="A follow-up of the budget.", required_output="")

    mine = signed_in(client, owner).get(reverse("requests:detail", args=[root.pk])).text
    headoffice = signed_in(client, reviewer).get(reverse("requests:detail", args=[root.pk])).text

    assert "Check the landing offer" in mine and "Budget for the test" not in mine
    assert 'title="made under a request outside your Brain' in mine
    assert "Budget for the test" in headoffice and "outside your Brain" not in headoffice


def test_detail_is_404_for_an_outsider(client, owner, outsider):
    request = new_request(actor(owner))
    assert signed_in(client, outsider).get(reverse("requests:detail", args=[request.pk])).status_code == 404


def test_detail_htmx_request_gets_the_partial(client, reviewer, owner):
    request = new_request(actor(owner))
    page = signed_in(client, reviewer).get(reverse("requests:detail", args=[request.pk]), **HTMX)
    assert page.text.lstrip().startswith('<div id="request-detail"') and "<html" not in page.text


def test_detail_rejects_post(client, reviewer, owner):
    request = new_request(actor(owner))
    assert signed_in(client, reviewer).post(reverse("requests:detail", args=[request.pk])).status_code == 405


def _grow_lineage(request: BrainRequest, n: int) -> None:
    for i in range(n):
        child = BrainRequest.objects.create(
            requesting_authority="affiliate", requesting_brain_id="affiliate", target_brain_id="research",
            request_type="research_request", request_title=f"Child {i}", request_summary="A follow-up.",
            required_output="", parent_request=request)
        task = Task.objects.create(request=request, task_type=f"t{i}", assigned_brain_id="affiliate")
        TaskEvent.objects.create(task=task, event_type="created", event_summary="created")
        RequestEvent.objects.create(request=child, event_type="created", actor="x")


@pytest.mark.parametrize("rows", [5, 200])
def test_detail_query_count_does_not_grow_with_the_lineage(client, reviewer, owner, other_owner, rows,
                                                          django_assert_max_num_queries):
    request = in_progress_request(actor(owner), actor(reviewer), actor(other_owner))
    _grow_lineage(request, rows)
    signed_in(client, reviewer)
    # 24 before issues 14 and 15; whether the reader watches it and the canon in force add 3; the
    # HeadOffice people a reviewer can assign it to, 1; the SLA targets of its priority, 1.
    with django_assert_max_num_queries(31):  # +1: the nav's saved views; +1: the timeline's people (issue 14)
        assert client.get(reverse("requests:detail", args=[request.pk])).status_code == 200


# --- moves --------------------------------------------------------------------------------------

def test_routing_from_the_drill_down_moves_the_request_and_says_so(client, reviewer, owner):
    request = new_request(actor(owner))
    page = signed_in(client, reviewer).post(
        reverse("requests:move", args=[request.pk, "route"]),
        {"route-review_owner": "headoffice", "route-destination_brain": "affiliate",
         "route-lock_version": request.lock_version}, follow=True)
    assert BrainRequest.objects.get(pk=request.pk).status == RequestStatus.ROUTED
    assert said(page) == ["Request sent to Affiliate Brain; HeadOffice reviews it."]


def test_closing_with_done_shows_the_refusal_keeps_the_input_and_changes_nothing(client, reviewer, owner, other_owner):
    request = in_progress_request(actor(owner), actor(reviewer), actor(other_owner))
    from requests_app import services

    services.request_respond(request=request, actor=actor(other_owner), outcome_type="recommendation_delivered",
                             response_summary="Recommend a capped test in two markets.")
    data = {f"close-{k}": v for k, v in OUTCOME.items() if k != "outcome_evidence"}
    data.update({"close-result_summary": "done", "close-outcome_evidence": "RPT-2026-11 in Affiliate Workspace",
                 "close-head_office_review_required": "false"})
    before = request_row(request)
    page = signed_in(client, owner).post(reverse("requests:move", args=[request.pk, "close"]), data)
    assert page.status_code == 200
    assert "is a placeholder, not an outcome" in page.text
    assert "RPT-2026-11 in Affiliate Workspace" in page.text  # what the user typed is still there
    assert BrainRequest.objects.get(pk=request.pk).status == RequestStatus.RESPONDED
    errors = bound_move_form(page, "close").errors
    assert list(errors) == ["result_summary"] and "is a placeholder, not an outcome" in errors["result_summary"][0]
    assert f'<ul class="field-error"><li>{escape(errors["result_summary"][0])}' in page.text   # by its field
    assert said(page) == [f"Close was not saved: Close needs a complete outcome: {errors['result_summary'][0]}"]
    assert request_row(request) == before


def test_a_move_the_user_may_not_make_is_refused_without_change(client, owner, reviewer):
    request = routed_request(actor(owner), actor(reviewer))
    before = request_row(request)
    page = signed_in(client, owner).post(reverse("requests:move", args=[request.pk, "accept"]), {})
    assert page.status_code == 200 and "needs one of these roles" in page.text
    assert BrainRequest.objects.get(pk=request.pk).status == RequestStatus.ROUTED
    # Accept is not the origin's to make, so the drill-down has no accept form to show the refusal
    # on: the message says it.
    assert all(form.move.name != "accept" for form in page.context["move_forms"])
    assert said(page) == ["Accept was not saved: Accept needs one of these roles on this request: "
                          "destination, head office."]
    assert request_row(request) == before


def test_a_stale_form_is_refused_as_a_conflict(client, reviewer, owner):
    request = new_request(actor(owner))
    before = request_row(request)
    page = signed_in(client, reviewer).post(reverse("requests:move", args=[request.pk, "route"]), {
        "route-review_owner": "headoffice", "route-lock_version": request.lock_version - 1})
    assert "Someone else changed this request" in page.text
    why = ("Someone else changed this request while you were looking at it. Reload it to see the change, "
           "then try again.")
    assert page.status_code == 200
    assert bound_move_form(page, "route").errors == {"__all__": [why]}
    assert said(page) == [f"Route was not saved: {why}"]
    assert request_row(request) == before
    assert (before["request"]["status"], before["request"]["lock_version"]) == (RequestStatus.NEW, request.lock_version)


def test_moves_are_post_only_and_need_sign_in(client, reviewer, owner):
    request = new_request(actor(owner))
    before = request_row(request)
    url = reverse("requests:move", args=[request.pk, "route"])
    anonymous = client.post(url, {"route-review_owner": "headoffice", "route-lock_version": request.lock_version})
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))
    assert signed_in(client, reviewer).put(url).status_code == 405   # GET opens the form (below)
    assert request_row(request) == before


def test_the_inbox_loads_a_rows_move_form_when_it_is_opened(client, owner, other_owner, reviewer):
    request = in_progress_request(actor(owner), actor(reviewer), actor(other_owner))
    inbox = reverse("requests:workspace", args=["affiliate"])
    url = reverse("requests:move", args=[request.pk, "respond"])
    page = signed_in(client, other_owner).get(inbox)
    assert f'id="move-respond-{request.pk}" hx-get="{url}"' in page.text
    assert 'name="respond-response_summary"' not in page.text      # issue 16: no form until opened
    form = client.get(url, HTTP_HX_CURRENT_URL=f"http://testserver{inbox}?to_act_page=2", **HTMX)
    assert form.status_code == 200 and "HX-Request" in form["Vary"]
    assert form.text.lstrip().startswith(f'<form method="post" action="{url}"')
    assert 'name="respond-response_summary"' in form.text and f'name="next" value="{inbox}?to_act_page=2"' in form.text
    assert f'name="respond-lock_version" value="{request.lock_version}"' in form.text


def test_the_inbox_loads_its_new_request_form_when_it_comes_into_view(client, owner):
    inbox = reverse("requests:workspace", args=["research"])
    create = reverse("requests:create")
    page = signed_in(client, owner).get(inbox)
    assert f'hx-get="{create}?origin_brain=research" hx-trigger="revealed"' in page.text
    assert f'href="{create}?origin_brain=research"' in page.text and 'name="request_title"' not in page.text
    form = client.get(f"{create}?origin_brain=research", HTTP_HX_CURRENT_URL=f"http://testserver{inbox}", **HTMX)
    assert form.status_code == 200 and "<html" not in form.text and "HX-Request" in form["Vary"]
    assert form.text.lstrip().startswith(f'<form method="post" action="{create}"')
    assert f'name="next" value="{inbox}"' in form.text and 'name="request_title"' in form.text
    assert '<option value="research" selected>' in form.text


def test_a_move_form_opened_without_javascript_is_drawn_open_on_the_drill_down(client, owner, other_owner, reviewer):
    request = in_progress_request(actor(owner), actor(reviewer), actor(other_owner))
    page = signed_in(client, other_owner).get(reverse("requests:move", args=[request.pk, "respond"]))
    assert page.status_code == 302
    detail = reverse("requests:detail", args=[request.pk])
    assert page["Location"] == f"{detail}?move=respond#move-respond-{request.pk}"  # that form drawn open


def test_a_move_form_not_open_to_the_actor_is_404(client, owner, other_owner, reviewer, outsider):
    request = in_progress_request(actor(owner), actor(reviewer), actor(other_owner))
    url = reverse("requests:move", args=[request.pk, "respond"])
    assert signed_in(client, owner).get(url, **HTMX).status_code == 404      # the origin does not respond
    assert signed_in(client, outsider).get(url, **HTMX).status_code == 404   # nor sees it


def test_an_outsider_cannot_move_a_request_they_cannot_see(client, owner, outsider):
    request = new_request(actor(owner))
    before = request_row(request)
    assert signed_in(client, outsider).post(reverse("requests:move", args=[request.pk, "submit_for_review"])
                                            ).status_code == 404
    assert request_row(request) == before


# --- creation and the inbox ------------------------------------------------------------------

def test_a_brain_owner_creates_a_request_with_lineage(client, owner):
    parent = new_request(actor(owner))
    page = signed_in(client, owner).post(reverse("requests:create"), {
        "origin_brain": "research", "destination_brain": "affiliate", "request_type": "offer_review_request",
        "priority": "high", "request_title": "Follow-up review", "operating_layer": "operational",
        "request_summary": "The first review missed the refund terms; review them.",
        "parent_request_id": str(parent.pk), "offer_id": "offer-9", "head_office_visible": "on"})
    created = BrainRequest.objects.get(request_title="Follow-up review")
    assert page.status_code == 302 and (created.parent_request, created.offer_id) == (parent, "offer-9")


def test_creation_refusal_is_shown_on_the_field(client, owner):
    page = signed_in(client, owner).post(reverse("requests:create"), {
        "origin_brain": "research", "destination_brain": "affiliate", "request_type": "offer_review_request",
        "priority": "high", "request_title": "Vague", "request_summary": "ok", "operating_layer": "operational"})
    assert page.status_code == 200 and "is a placeholder" in page.text
    assert not BrainRequest.objects.exists()
    errors = page.context["form"].errors
    assert list(errors) == ["request_summary"] and "is a placeholder" in errors["request_summary"][0]
    assert f'<ul class="field-error"><li>{escape(errors["request_summary"][0])}' in page.text   # by its field
    assert 'value="Vague"' in page.text                                                         # the input is kept
    assert not RequestEvent.objects.exists()


def test_the_inbox_lists_incoming_outgoing_and_tasks(client, owner, other_owner, reviewer):
    incoming = routed_request(actor(owner), actor(reviewer), request_title="Please review")
    page = signed_in(client, other_owner).get(reverse("requests:workspace", args=["affiliate"]))
    assert page.status_code == 200 and "Please review" in page.text
    assert reverse("requests:move", args=[incoming.pk, "accept"]) in page.text


def test_the_inbox_shows_a_page_of_each_list_and_pages_on(client, other_owner):
    bulk_requests(30)  # research → affiliate, all new: the next move is research's, affiliate waits
    inbox = reverse("requests:workspace", args=["affiliate"])
    # "Waiting on others" pages by 10 (issue 16: the inbox's job is its first list, which pages by 25).
    first = signed_in(client, other_owner).get(inbox)
    assert first.text.count('<tr id="wait-') == 10 and "30 requests · page 1 of 3" in first.text
    assert "waiting_page=2" in first.text
    pages = [first] + [client.get(inbox, {"waiting_page": n}) for n in (2, 3)]
    assert pages[2].text.count('<tr id="wait-') == 10 and "page 3 of 3" in pages[2].text
    shown = [row for page in pages for row in re.findall(r'<tr id="wait-([^"]+)"', page.text)]
    assert len(shown) == len(set(shown)) == 30  # every request once, none twice


def test_accepting_from_the_inbox_returns_to_the_inbox(client, owner, other_owner, reviewer):
    request = routed_request(actor(owner), actor(reviewer))
    inbox = reverse("requests:workspace", args=["affiliate"])
    page = signed_in(client, other_owner).post(reverse("requests:move", args=[request.pk, "accept"]),
                                               {"next": inbox})
    assert page.status_code == 302 and page["Location"] == inbox
    assert BrainRequest.objects.get(pk=request.pk).status == RequestStatus.IN_PROGRESS


def test_the_inbox_of_another_brain_is_404(client, owner):
    assert signed_in(client, owner).get(reverse("requests:workspace", args=["finance"])).status_code == 404


def test_the_inbox_htmx_request_gets_the_partial(client, owner):
    page = signed_in(client, owner).get(reverse("requests:workspace", args=["research"]), **HTMX)
    assert page.text.lstrip().startswith('<div id="workspace-inbox"')


def test_sign_in_page_works(client, owner):
    assert client.get(reverse("login")).status_code == 200
    page = client.post(reverse("login"), {"username": "research_owner", "password": PASSWORD})
    assert page.status_code == 302


def test_the_inbox_offers_a_new_task_on_work_in_progress(client, owner, other_owner, reviewer):
    request = in_progress_request(actor(owner), actor(reviewer), actor(other_owner))
    page = signed_in(client, other_owner).get(reverse("requests:workspace", args=["affiliate"]))
    assert f'{reverse("requests:detail", args=[request.pk])}#tasks' in page.text
