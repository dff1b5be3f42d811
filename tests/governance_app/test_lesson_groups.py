"""Lessons become proposals (issue 15, item 6): lessons that say the same thing are grouped, most
supported first, and HeadOffice turns a group into a draft canon suggestion in one step, which
then goes through classification and the MCR decision like any other."""

import uuid

import pytest
from django.urls import reverse

from governance_app import lesson_groups
from governance_app import services as gs
from governance_app.kernel.errors import DomainError, Refusal
from governance_app.models import LessonLearned
from governance_app.selectors import feedback_to_classify
from requests_app.models import BrainRequest
from tests.conftest import said
from tests.engine import actor, new_request
from tests.factories import make_lesson, make_request

pytestmark = pytest.mark.django_db
PAGE = reverse("governance:lesson_groups")
PROPOSE = reverse("governance:lessons_propose")

# Three lessons that say the same thing in different words, and one that says something else.
AGREEING = [
    ("Flat search volume predicted the offer's failure in the UK.",
     "Scan search demand before every offer review."),
    ("Search volume was flat and the offer failed: flat demand predicts failure.",
     "Always scan search demand before an offer review."),
    ("The offer failed where search volume stayed flat.",
     "Scan the search demand before each offer review starts."),
]
UNRELATED = ("Creative fatigue sets in after ten days of the same ad.", "Rotate ad creatives every week.")


def lessons_agreeing(brains=("research", "affiliate", "ads"), request=None) -> list[LessonLearned]:
    return [make_lesson(originating_brain_id=brain, insight=insight, recommended_improvement=improvement,
                        related_request=request)
            for brain, (insight, improvement) in zip(brains, AGREEING)]


# --- the grouping --------------------------------------------------------------------------------

def test_three_lessons_that_say_the_same_thing_form_one_group_and_an_unrelated_one_stays_apart(reviewer):
    agreeing = lessons_agreeing()
    other = make_lesson(insight=UNRELATED[0], recommended_improvement=UNRELATED[1])
    [group] = lesson_groups.lesson_groups(actor=actor(reviewer))
    assert {lesson.pk for lesson in group.lessons} == {lesson.pk for lesson in agreeing}
    assert other.pk not in {lesson.pk for lesson in group.lessons}
    assert group.brains == ["Ads Brain", "Affiliate Brain", "Research Brain"]
    assert {"search", "offer", "review", "scan"} <= set(group.shared)


def test_each_group_is_found_in_the_order_its_lessons_come():
    def lesson(insight, improvement, brain="research"):
        return LessonLearned(id=uuid.uuid4(), originating_brain_id=brain, insight=insight,
                             recommended_improvement=improvement)
    pair = [lesson(*UNRELATED), lesson("Ad creatives fatigue after ten days of the same ad.",
                                       "Rotate ad creatives weekly.")]
    trio = [lesson(*text) for text in AGREEING]
    assert [len(g) for g in lesson_groups.grouped(pair + trio)] == [2, 3]   # found in their order
    assert similarity_of(trio[0], trio[1]) >= lesson_groups.SIMILAR
    assert similarity_of(trio[0], pair[0]) < 0.1


def test_groups_come_most_supported_first_then_from_more_brains(reviewer):
    """More lessons first; between groups of as many lessons, the one from more Brains."""
    make_lesson(originating_brain_id="ads", insight=UNRELATED[0], recommended_improvement=UNRELATED[1])
    make_lesson(originating_brain_id="ads", insight="Ad creatives fatigue after ten days of the same ad.",
                recommended_improvement="Rotate ad creatives weekly.")
    lessons_agreeing(brains=("research", "research", "affiliate"))
    make_lesson(originating_brain_id="finance", insight="Refund spikes follow a price rise within a week.",
                recommended_improvement="Watch refunds for a week after every price rise.")
    make_lesson(originating_brain_id="sit", insight="Refund spikes follow each price rise within a week.",
                recommended_improvement="Watch the refunds for a week after each price rise.")
    groups = lesson_groups.lesson_groups(actor=actor(reviewer))
    assert [(len(g.lessons), g.brains) for g in groups] == [
        (3, ["Affiliate Brain", "Research Brain"]), (2, ["Finance Brain", "SIT Brain"]), (2, ["Ads Brain"])]


def similarity_of(a, b) -> float:
    return lesson_groups.similarity(lesson_groups.lesson_words(a), lesson_groups.lesson_words(b))


def test_words_fold_endings_and_drop_stop_words():
    assert lesson_groups.words("The offers were offered; offering it") == {"offer"}


def test_a_brain_owner_sees_groups_only_of_the_lessons_they_may_see(owner, reviewer):
    theirs = new_request(actor(owner))
    elsewhere = make_request(requesting_brain_id="ads", target_brain_id="affiliate")
    lessons_agreeing(brains=("affiliate", "affiliate", "affiliate"), request=elsewhere)   # not theirs
    assert lesson_groups.lesson_groups(actor=actor(owner)) == []
    lessons_agreeing(brains=("affiliate", "affiliate", "affiliate"), request=theirs)
    [group] = lesson_groups.lesson_groups(actor=actor(owner))
    assert {lesson.related_request_id for lesson in group.lessons} == {theirs.pk}
    assert [len(g.lessons) for g in lesson_groups.lesson_groups(actor=actor(reviewer))] == [6]


# --- turning a group into a suggestion -------------------------------------------------------------

def test_headoffice_drafts_a_suggestion_with_the_lessons_as_its_evidence(reviewer):
    lessons = lessons_agreeing()
    suggestion = gs.lessons_propose(actor=actor(reviewer), lesson_ids=[lesson.pk for lesson in lessons])
    suggestion.refresh_from_db()
    assert suggestion.request_type == "mcr_update_suggestion" and suggestion.status == "new"
    assert suggestion.requesting_brain_id == suggestion.target_brain_id == "headoffice"
    assert suggestion.mcr_update_suggested and suggestion.mcr_update_status == "suggested"
    # The lessons are its evidence, as any suggestion's is (oldest first), and nothing else names them.
    assert [(e.kind, e.cited_lesson_id) for e in suggestion.evidence_items.order_by("position")] == [
        ("lesson", lesson.pk) for lesson in lessons]
    assert "lesson_ids" not in suggestion.meta_json
    for lesson in lessons:
        assert lesson.insight in suggestion.request_summary
    assert suggestion.request_summary.startswith("3 lessons from Ads Brain, Affiliate Brain, Research Brain")
    assert suggestion in feedback_to_classify(actor=actor(reviewer))   # classification comes next
    assert suggestion.events.get().event_type == "created"
    [group] = lesson_groups.lesson_groups(actor=actor(reviewer))
    assert group.suggestions == [suggestion]


@pytest.mark.parametrize(("ids", "kind", "words"), [
    (lambda lessons: [lessons[0].pk], Refusal.INVALID, "two lessons or more"),
    (lambda lessons: [lessons[0].pk, lessons[0].pk], Refusal.INVALID, "two lessons or more"),
    (lambda lessons: [lessons[0].pk, "not-an-id"], Refusal.INVALID, "not lesson ids"),
    (lambda lessons: [lessons[0].pk, uuid.uuid4()], Refusal.NOT_FOUND, "do not exist"),
])
def test_a_bad_choice_of_lessons_is_refused_and_drafts_nothing(reviewer, ids, kind, words):
    lessons = lessons_agreeing()
    with pytest.raises(DomainError) as refused:
        gs.lessons_propose(actor=actor(reviewer), lesson_ids=ids(lessons))
    assert refused.value.kind == kind and words in refused.value.message
    assert not BrainRequest.objects.exists()


def test_lessons_drafted_once_are_not_drafted_again(reviewer):
    lessons = lessons_agreeing()
    first = gs.lessons_propose(actor=actor(reviewer), lesson_ids=[lesson.pk for lesson in lessons[:2]])
    with pytest.raises(DomainError) as refused:
        gs.lessons_propose(actor=actor(reviewer), lesson_ids=[lesson.pk for lesson in lessons[1:]])
    assert refused.value.kind == Refusal.CONFLICT and first.request_title in refused.value.message
    assert BrainRequest.objects.count() == 1


def test_only_headoffice_drafts_a_suggestion_from_lessons(owner):
    request = new_request(actor(owner))
    lessons = lessons_agreeing(brains=("research",) * 3, request=request)
    with pytest.raises(DomainError) as refused:
        gs.lessons_propose(actor=actor(owner), lesson_ids=[lesson.pk for lesson in lessons])
    assert refused.value.kind == Refusal.FORBIDDEN
    assert BrainRequest.objects.count() == 1


# --- the page --------------------------------------------------------------------------------------

def test_the_page_shows_each_group_with_its_lessons_and_the_draft_button(client, reviewer):
    lessons = lessons_agreeing()
    client.force_login(reviewer)
    page = client.get(PAGE)
    assert page.status_code == 200
    assert "3 lessons from Ads Brain, Affiliate Brain, Research Brain" in page.text
    assert all(lesson.insight.replace("'", "&#x27;") in page.text for lesson in lessons)
    assert "Draft a canon suggestion from these 3 lessons" in page.text
    answer = client.post(PROPOSE, {"lesson_ids": ",".join(str(lesson.pk) for lesson in lessons)})
    suggestion = BrainRequest.objects.get()
    assert answer.status_code == 302 and answer.url == reverse("requests:detail", args=[suggestion.pk])
    assert said(answer) == ["Drafted a canon suggestion from 3 lessons. Classify it on Feedback & MCR, "
                            "then write its exact change."]
    page = client.get(PAGE)
    assert "Drafted into" in page.text and "Draft a canon suggestion" not in page.text


def test_a_refused_draft_is_explained_on_the_page(client, reviewer):
    lesson = lessons_agreeing()[0]
    client.force_login(reviewer)
    page = client.post(PROPOSE, {"lesson_ids": str(lesson.pk)})
    assert page.status_code == 400
    assert "No suggestion was drafted: Choose two lessons or more" in " ".join(said(page))
    assert not BrainRequest.objects.exists()


def test_a_brain_owner_reads_groups_but_has_no_draft_button_and_is_refused(client, owner):
    request = new_request(actor(owner))
    lessons = lessons_agreeing(brains=("research",) * 3, request=request)
    client.force_login(owner)
    page = client.get(PAGE)
    assert "3 lessons from Research Brain" in page.text and "Draft a canon suggestion" not in page.text
    answer = client.post(PROPOSE, {"lesson_ids": ",".join(str(lesson.pk) for lesson in lessons)})
    assert answer.status_code == 403 and BrainRequest.objects.count() == 1


def test_anonymous_is_sent_to_sign_in_and_wrong_methods_are_refused(client, reviewer):
    assert client.get(PAGE).status_code == 302 and client.post(PROPOSE).status_code == 302
    client.force_login(reviewer)
    assert client.post(PAGE).status_code == 405 and client.get(PROPOSE).status_code == 405


@pytest.mark.parametrize("groups", [2, 40])
def test_the_query_count_does_not_grow_with_groups(client, reviewer, groups, django_assert_num_queries):
    for i in range(groups):
        for brain in ("research", "ads", "affiliate", "sit", "finance"):   # five lessons on each topic
            make_lesson(originating_brain_id=brain, insight=f"Markets alpha{i} and bravo{i} reward charlie{i}.",
                        recommended_improvement=f"Run delta{i} tests with echo{i} first.")
    client.force_login(reviewer)
    # The session, the user and their memberships; the lessons; the suggestions drafted from them
    # (the nav's saved views are fetched when it is opened).
    with django_assert_num_queries(5):
        page = client.get(PAGE)
    assert page.text.count("5 lessons from") == groups
