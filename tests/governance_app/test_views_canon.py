"""The Canon pages (issue 15, item 1): every document readable by anyone in the tenant, rendered
from Markdown and sanitised, with its versions, any version's text and diff, search, and the
drill-down's "canon as of"."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.engine import actor, new_request
from tests.factories import make_canon_amendment, make_canon_document, make_decision_record, make_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def protocol(db):
    """A document amended once: v1.0 → v1.1."""
    document = make_canon_document(slug="request-protocol", title="Brain To Brain Request Protocol",
                                   body="# Rules\n\nEvery request names **its owner**.", version="v1.0")
    amendment = make_canon_amendment(document, version_after="v1.1",
                                     body_after="# Rules\n\nEvery request names **its owner** and its deadline.")
    document.version, document.body = "v1.1", amendment.body_after
    document.save(update_fields=["version", "body"])
    return document, amendment


def test_a_brain_owner_reads_the_canon_list(client, owner, protocol):
    client.force_login(owner)
    page = client.get(reverse("governance:canon")).content.decode()
    assert "Brain To Brain Request Protocol" in page and "v1.1" in page and "1 amendment" in page
    assert "Every Brain" in page


def test_the_list_names_the_brains_a_document_governs(client, owner):
    make_canon_document(title="Ads playbook", governs=["ads", "experimentation"])
    client.force_login(owner)
    assert "Ads Brain, Experimentation Brain" in client.get(reverse("governance:canon")).content.decode()


def test_a_document_is_rendered_from_markdown_and_sanitised(client, owner):
    make_canon_document(slug="unsafe", body="**Bold rule**\n\n<script>alert(1)</script>\n\n"
                                            "[a link](javascript:alert(2)) <img src=x onerror=alert(3)>")
    client.force_login(owner)
    page = client.get(reverse("governance:canon_document", args=["unsafe"])).content.decode()
    assert "<strong>Bold rule</strong>" in page
    assert "<script>alert(1)" not in page and "javascript:alert" not in page and "onerror" not in page


def test_the_document_lists_its_versions_newest_first(client, owner, protocol):
    client.force_login(owner)
    page = client.get(reverse("governance:canon_document", args=["request-protocol"])).content.decode()
    assert page.index(">v1.1<") < page.index(">v1.0<")
    assert "in force" in page and "the text it started from" in page and "its deadline" in page


def test_a_version_shows_its_text_and_its_diff_against_the_one_before(client, owner, protocol):
    client.force_login(owner)
    page = client.get(reverse("governance:canon_version", args=["request-protocol", "v1.1"])).content.decode()
    assert "What changed from v1.0" in page
    assert 'class="diff-del">− Every request names **its owner**.' in page
    assert 'class="diff-add">+ Every request names **its owner** and its deadline.' in page
    first = client.get(reverse("governance:canon_version", args=["request-protocol", "v1.0"])).content.decode()
    assert "The text this document started from" in first and "What changed" not in first


def test_an_unknown_document_or_version_is_not_found(client, owner, protocol):
    client.force_login(owner)
    assert client.get(reverse("governance:canon_document", args=["nothing"])).status_code == 404
    assert client.get(reverse("governance:canon_version", args=["request-protocol", "v9"])).status_code == 404


def test_search_finds_words_in_the_text_with_a_snippet(client, owner, protocol):
    make_canon_document(title="Schema standard", body="Event logs are append-only: no updates, no deletes.")
    client.force_login(owner)
    page = client.get(reverse("governance:canon"), {"q": "append-only"}).content.decode()
    assert "1 document mention" in page and "Event logs are append-only" in page
    none = client.get(reverse("governance:canon"), {"q": "blockchain"}).content.decode()
    assert "Nothing in the canon says that." in none


def test_the_drill_down_shows_the_version_in_force_when_it_was_decided(client, owner, reviewer, protocol):
    document, amendment = protocol
    request = new_request(actor(owner))
    # Decided the day before the amendment: v1.0 was in force then.
    make_decision_record(request=request, decision_summary="Proceed with the test",
                         created_at=amendment.created_at - timedelta(days=1))
    client.force_login(owner)
    page = client.get(reverse("requests:detail", args=[request.pk])).content.decode()
    assert "Canon as of its decision" in page
    assert reverse("governance:canon_version", args=["request-protocol", "v1.0"]) in page and "now v1.1" in page


def test_an_undecided_request_shows_the_canon_in_force_now(client, owner, protocol):
    request = make_request(created_at=timezone.now())
    client.force_login(owner)
    with CaptureQueriesContext(connection) as statements:
        page = client.get(reverse("requests:detail", args=[request.pk])).content.decode()
    assert "Canon as of now" in page
    assert reverse("governance:canon_version", args=["request-protocol", "v1.1"]) in page
    # Today's versions need no amendment (issue 16: one query fewer on most drill-downs).
    assert not [q for q in statements.captured_queries if "mwms_canon_amendments" in q["sql"]]


def test_a_document_for_other_brains_is_not_shown_on_the_drill_down(client, owner):
    make_canon_document(slug="finance-rules", title="Finance rules", governs=["finance"])
    request = new_request(actor(owner))
    client.force_login(owner)
    assert "Finance rules" not in client.get(reverse("requests:detail", args=[request.pk])).content.decode()


def test_a_list_right_after_a_line_is_a_list(client, owner):
    make_canon_document(slug="events", body="Task event types (recommended):\n- created\n- picked_up")
    client.force_login(owner)
    page = client.get(reverse("governance:canon_document", args=["events"])).content.decode()
    assert "<li>created</li>" in page and "<li>picked_up</li>" in page


# --- rollback from the Canon page (issue 15, item 4); Brain owners read, they do not amend ----------

WHY = "The deadline wording confused two Brains; back to the rule as it was."


def rollback_url(amendment) -> str:
    return reverse("governance:canon_rollback", args=[amendment.document.slug, amendment.pk])


def test_headoffice_sees_a_roll_back_button_and_a_brain_owner_does_not(client, owner, reviewer, protocol):
    document, amendment = protocol
    url = reverse("governance:canon_document", args=[document.slug])
    client.force_login(reviewer)
    assert f'action="{rollback_url(amendment)}"' in client.get(url).content.decode()
    client.force_login(owner)
    page = client.get(url).content.decode()
    assert "Every request names" in page and "Roll back" not in page
    refused = client.post(rollback_url(amendment), {"reason": WHY})
    assert refused.status_code == 404
    document.refresh_from_db()
    assert document.version == "v1.1" and document.body == amendment.body_after


def test_headoffice_rolls_back_from_the_canon_page(client, reviewer, protocol):
    document, amendment = protocol
    client.force_login(reviewer)
    done = client.post(rollback_url(amendment), {"reason": WHY})
    assert done.status_code == 302
    document.refresh_from_db()
    assert document.body == amendment.body_before and document.version == "v1.2"
    page = client.get(done["Location"]).content.decode()
    assert "Rolled back: Brain To Brain Request Protocol is now v1.2" in page and "rolled back by v1.2" in page
    assert f'action="{rollback_url(amendment)}"' not in page  # rolled back once, at most


def test_a_refused_rollback_says_why_next_to_the_amendment(client, reviewer, protocol):
    document, amendment = protocol
    client.force_login(reviewer)
    page = client.post(rollback_url(amendment), {"reason": ""})
    assert page.status_code == 200 and "The reason for the rollback is required" in page.content.decode()
    document.refresh_from_db()
    assert document.version == "v1.1"


@pytest.mark.parametrize("rows", [5, 200])
def test_the_document_page_takes_a_fixed_number_of_queries(client, reviewer, rows, django_assert_max_num_queries):
    from governance_app.models import CanonAmendment, CanonDocument
    document = make_canon_document(slug="many", body="# A\n\none\n")
    for n in range(rows):
        body = f"# A\n\nrevision {n}\n"
        make_canon_amendment(document, version_before=document.version, version_after=f"v2.{n}",
                             body_before=document.body, body_after=body)
        CanonDocument.objects.filter(pk=document.pk).update(body=body, version=f"v2.{n}")
        document.refresh_from_db()
    assert CanonAmendment.objects.filter(document=document).count() == rows
    client.force_login(reviewer)
    with django_assert_max_num_queries(9):
        page = client.get(reverse("governance:canon_document", args=["many"]))
    assert page.status_code == 200 and page.content.decode().count("Roll back v2.") == rows
