"""The canon as a versioned registry (issue 15, items 2-5): a suggestion carries its exact change,
an approval applies exactly that, HeadOffice may amend it first (recorded), amendments have seed
004's shape, a rollback is a new amendment that restores the earlier text, and the approval screen's
impact counts what the change would touch."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction

from governance_app import services as gs
from governance_app.kernel import clock, digests
from governance_app.kernel.errors import DomainError, Refusal
from governance_app.models import (
    AmendmentType,
    CanonAmendment,
    CanonDocument,
    CanonProposal,
    DecisionKind,
    DecisionRecord,
)
from requests_app import canon
from requests_app.models import BrainRequest, RequestStatus
from tests.engine import CANON_BODY, actor, canon_document, new_request, suggestion
from tests.factories import make_decision_record, make_request

pytestmark = pytest.mark.django_db
WHY = "Three Brains asked for the same status in the same month; the evidence is consistent."

BODY = ("Preamble line.\n\n# Statuses\n\nnew, routed, closed.\n\n# Escalation\n\nTo HeadOffice.  \n\n"
        "# Evidence\n\nLinks only.\n")


def proposed(owner, reviewer, **extra) -> BrainRequest:
    request = suggestion(actor(owner), **extra)
    gs.feedback_classify(request=request, actor=actor(reviewer), classification="propose_mcr_update", note=WHY)
    return BrainRequest.objects.get(pk=request.pk)


def approve(request, reviewer, **extra):
    return gs.mcr_decide(request=request, actor=actor(reviewer), decision="approved", reasoning=WHY, **extra)


def amended(document: CanonDocument, owner, reviewer, text: str):
    """An approved suggestion that makes `document` read `text`; returns its amendment."""
    request = proposed(owner, reviewer, document=document, proposed_text=text)
    approve(request, reviewer)
    return CanonAmendment.objects.get(request=request)


def document_state(document: CanonDocument) -> dict:
    return {"document": CanonDocument.objects.filter(pk=document.pk).values("body", "version").get(),
            "amendments": CanonAmendment.objects.filter(document=document).count()}


# --- a suggestion carries its exact change, and an approval applies exactly that --------------------

def test_a_suggestion_with_section_edits_approved_makes_the_proposal_the_new_version(owner, reviewer):
    document = canon_document(body=BODY)
    request = suggestion(actor(owner), document=document, proposed_text=None,
                         section_edits={"Statuses": "# Statuses\n\nnew, routed, awaiting_data, closed.\n\n"})
    proposal = CanonProposal.objects.get(request=request)
    assert proposal.sections == ["Statuses"] and proposal.base_version == "v1.2" and proposal.revision == 1
    assert proposal.proposed_text == BODY.replace("new, routed, closed.", "new, routed, awaiting_data, closed.")
    assert request.mcr_update_suggested
    gs.feedback_classify(request=request, actor=actor(reviewer), classification="propose_mcr_update", note=WHY)

    decision = approve(BrainRequest.objects.get(pk=request.pk), reviewer)

    document.refresh_from_db()
    amendment = CanonAmendment.objects.get()
    assert document.body == proposal.proposed_text and document.version == "v1.3"
    assert amendment.diff == canon.unified_diff(BODY, proposal.proposed_text, "v1.2", "v1.3")
    assert "+new, routed, awaiting_data, closed." in amendment.diff
    assert (amendment.decision, amendment.request_id, amendment.proposal) == (decision, request.pk, proposal)
    assert decision.decision_kind == DecisionKind.MCR_DECISION and decision.related_request_id == request.pk
    assert (amendment.body_before, amendment.body_after) == (BODY, proposal.proposed_text)
    assert amendment.amendment_type == AmendmentType.MANUAL_UPDATE and amendment.approved_at == decision.created_at
    assert amendment.approved_by == "reviewer" and amendment.can_rollback and amendment.rolled_back_at is None
    assert amendment.evidence["proposal_id"] == str(proposal.pk)
    assert BrainRequest.objects.get(pk=request.pk).status == RequestStatus.CLOSED


def test_a_rejected_suggestion_changes_nothing_in_canon(owner, reviewer):
    document = canon_document()
    request = proposed(owner, reviewer)
    before = document_state(document)

    gs.mcr_decide(request=request, actor=actor(reviewer), decision="rejected", reasoning=WHY)

    assert document_state(document) == before
    assert BrainRequest.objects.get(pk=request.pk).status == RequestStatus.REJECTED


def test_approving_a_suggestion_that_names_no_document_is_refused_and_changes_nothing(owner, reviewer):
    document = canon_document()
    request = new_request(actor(owner), destination="headoffice", request_type="mcr_update_suggestion")
    gs.feedback_classify(request=request, actor=actor(reviewer), classification="propose_mcr_update", note=WHY)
    request = BrainRequest.objects.get(pk=request.pk)
    before = (document_state(document), DecisionRecord.objects.count(), request.lock_version)

    with pytest.raises(DomainError) as refused:
        approve(request, reviewer)

    assert refused.value.kind == Refusal.CONFLICT and "names no canon document" in refused.value.message
    after = BrainRequest.objects.get(pk=request.pk)
    assert (document_state(document), DecisionRecord.objects.count(), after.lock_version) == before
    assert after.status == RequestStatus.AWAITING_MCR_DECISION


@pytest.mark.parametrize(("fields", "field", "says"), [
    ({"canon_document": "no-such-document", "proposed_text": "x"}, "canon_document", "No canon document"),
    ({"canon_document": "request-protocol", "proposed_text": CANON_BODY}, "proposed_text", "proposes no change"),
    ({"canon_document": "request-protocol", "proposed_text": "  "}, "proposed_text", "is required"),
    ({"proposed_text": "New text."}, "canon_document", "Name the canon document"),
])
def test_a_suggestion_whose_change_is_unusable_is_refused_and_nothing_is_created(owner, fields, field, says):
    canon_document()
    with pytest.raises(DomainError) as refused:
        new_request(actor(owner), destination="headoffice", request_type="mcr_update_suggestion", **fields)
    assert refused.value.field == field and says in refused.value.message
    assert not BrainRequest.objects.exists() and not CanonProposal.objects.exists()


def test_only_a_suggestion_proposes_a_change_to_canon(owner):
    canon_document()
    with pytest.raises(DomainError) as refused:
        new_request(actor(owner), canon_document="request-protocol", proposed_text="Other text.")
    assert refused.value.field == "canon_document" and not BrainRequest.objects.exists()


def test_headoffice_amends_the_proposal_and_the_approval_applies_the_amended_one(owner, reviewer):
    document = canon_document()
    request = proposed(owner, reviewer)
    text = CANON_BODY.replace("To HeadOffice.", "To HeadOffice, within a day.")

    revision = gs.canon_proposal_amend(request=request, actor=actor(reviewer), proposed_text=text,
                                       note="Escalation needs a deadline too.")

    assert (revision.revision, revision.proposed_by, revision.note) == (2, "reviewer", "Escalation needs a deadline too.")
    assert revision.sections == ["Escalation"]
    event = request.events.order_by("-created_at").first()
    assert "reviewer amended the proposed change" in event.event_summary and "Escalation" in event.event_summary
    assert CanonProposal.objects.filter(request=request).count() == 2  # the first is kept as it was
    approve(BrainRequest.objects.get(pk=request.pk), reviewer)
    document.refresh_from_db()
    assert document.body == text and CanonAmendment.objects.get().proposal == revision


def test_a_brain_owner_cannot_amend_a_proposal(owner, reviewer):
    request = proposed(owner, reviewer)
    with pytest.raises(DomainError) as refused:
        gs.canon_proposal_amend(request=request, actor=actor(owner), proposed_text="Mine.", note=WHY)
    assert refused.value.kind == Refusal.FORBIDDEN and CanonProposal.objects.count() == 1


def test_a_proposal_written_against_an_older_version_is_refused_until_amended(owner, reviewer):
    document = canon_document()
    first, second = proposed(owner, reviewer), proposed(owner, reviewer)
    approve(first, reviewer)
    before = document_state(document)

    with pytest.raises(DomainError) as refused:
        approve(second, reviewer)

    assert refused.value.kind == Refusal.CONFLICT and "written against v1.2" in refused.value.message
    assert document_state(document) == before


# --- seed 004's shape, enforced by the database ----------------------------------------------------

def _raw_amendment(document, decision, **columns):
    """INSERT an amendment by raw SQL, with every column the database needs."""
    row = CanonAmendment(tenant_id=document.tenant_id, document=document, decision=decision,
                         version_before="v1.2", version_after="v9", approved_by="sql", **columns)
    digests.seal(row)
    values = {f.column: f.get_db_prep_value(getattr(row, f.attname), connection)
              for f in CanonAmendment._meta.concrete_fields}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO mwms_canon_amendments ({', '.join(values)}) "
                       f"VALUES ({', '.join(['%s'] * len(values))})", list(values.values()))


@pytest.mark.parametrize(("columns", "constraint"), [
    ({"amendment_type": "self_modification"}, "amendment_type_valid"),
    ({"amendment_type": "rollback"}, "rollback_names_its_amendment"),
    ({"amendment_type": "manual_update", "request": None}, "proposed_by_a_request"),
])
def test_the_database_refuses_an_amendment_outside_its_rules(owner, reviewer, columns, constraint):
    document = canon_document()
    request = make_request(request_type="mcr_update_suggestion")
    decision = make_decision_record(related_request=None)
    with pytest.raises(IntegrityError) as refused:
        _raw_amendment(document, decision, **{"request": request, **columns})
    assert constraint in str(refused.value) or "CHECK" in str(refused.value)


def test_an_amendment_is_rolled_back_at_most_once_in_the_database(owner, reviewer):
    document = canon_document()
    original = amended(document, owner, reviewer, CANON_BODY + "\n# Appendix\n\nMore.\n")
    gs.canon_rollback(actor=actor(reviewer), document_slug=document.slug, amendment_id=original.pk, reason=WHY)
    document.refresh_from_db()
    with pytest.raises(IntegrityError):
        _raw_amendment(document, make_decision_record(related_request=None), amendment_type="rollback",
                       rolls_back=original, request=None, body_before=document.body, body_after=CANON_BODY)


def test_amendments_and_proposals_refuse_update_in_the_database(owner, reviewer):
    document = canon_document()
    amended(document, owner, reviewer, CANON_PROPOSED_TEXT)
    for table in ("mwms_canon_amendments", "mwms_canon_proposals"):
        with pytest.raises(Exception) as refused, transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET created_at = created_at")
        # The trigger on SQLite and for the owner; the runtime role has no UPDATE grant at all.
        assert any(words in str(refused.value) for words in ("append-only", "Cannot update", "permission denied"))


CANON_PROPOSED_TEXT = CANON_BODY.replace("closed.", "closed, archived.")


def test_an_amendment_sealed_before_the_new_columns_keeps_its_digest():
    # The columns added later are left out of the digest at the value the older rows hold.
    row = CanonAmendment(document_id=None, version_before="v1", version_after="v2", approved_by="x")
    old_layout = {c: digests._value(k, getattr(row, a)) for c, a, k in digests.layout(CanonAmendment)
                  if a not in CanonAmendment.DIGEST_ADDED_LATER}
    assert digests.row_digest(row) == digests.sha256_hex(digests.canonical_json(old_layout))
    row.amendment_type = AmendmentType.GOVERNANCE_TIGHTENING  # any other value is digested
    assert digests.row_digest(row) != digests.sha256_hex(digests.canonical_json(old_layout))


# --- rollback ----------------------------------------------------------------------------------

def test_a_rollback_restores_the_earlier_text_byte_for_byte_and_records_a_decision(owner, reviewer):
    document = canon_document(body=BODY)
    original = amended(document, owner, reviewer, BODY.replace("To HeadOffice.  \n", "To Finance.\r\n"))

    rollback = gs.canon_rollback(actor=actor(reviewer), document_slug=document.slug, amendment_id=original.pk,
                                 reason="Finance never agreed to take escalations.")

    document.refresh_from_db()
    assert document.body == BODY and document.body.encode() == BODY.encode()
    assert (rollback.amendment_type, rollback.rolls_back, rollback.request) == ("rollback", original, None)
    assert (rollback.version_before, rollback.version_after, document.version) == ("v1.3", "v1.4", "v1.4")
    assert rollback.decision.reasoning == "Finance never agreed to take escalations."
    assert rollback.decision.related_request is None and rollback.decision.decision_kind == DecisionKind.MCR_DECISION
    assert rollback.decision.supersedes == original.decision  # the approval it corrects
    original = CanonAmendment.objects.get(pk=original.pk)
    assert original.rolled_back_at == rollback.approved_at


def test_a_rollback_is_refused_while_a_later_amendment_overlaps_and_names_it(owner, reviewer):
    document = canon_document(body=BODY)
    first = amended(document, owner, reviewer, BODY.replace("new, routed, closed.", "new, routed, parked, closed."))
    document.refresh_from_db()
    later = amended(document, owner, reviewer, document.body.replace("parked, closed.", "parked, archived."))
    before = document_state(document)

    with pytest.raises(DomainError) as refused:
        gs.canon_rollback(actor=actor(reviewer), document_slug=document.slug, amendment_id=first.pk, reason=WHY)

    assert refused.value.kind == Refusal.CONFLICT
    assert "roll them back first" in refused.value.message and "v1.3 → v1.4 (Statuses)" in refused.value.message
    assert document_state(document) == before
    # Rolled back newest first, both go.
    gs.canon_rollback(actor=actor(reviewer), document_slug=document.slug, amendment_id=later.pk, reason=WHY)
    gs.canon_rollback(actor=actor(reviewer), document_slug=document.slug, amendment_id=first.pk, reason=WHY)
    document.refresh_from_db()
    assert document.body == BODY


def test_a_later_amendment_of_other_sections_stays_when_an_earlier_one_is_rolled_back(owner, reviewer):
    document = canon_document(body=BODY)
    first = amended(document, owner, reviewer, BODY.replace("new, routed, closed.", "new, closed."))
    document.refresh_from_db()
    amended(document, owner, reviewer, document.body.replace("Links only.", "Links and artifacts."))

    gs.canon_rollback(actor=actor(reviewer), document_slug=document.slug, amendment_id=first.pk, reason=WHY)

    document.refresh_from_db()
    assert document.body == BODY.replace("Links only.", "Links and artifacts.")


def test_a_rollback_is_refused_when_the_amendment_may_not_be_rolled_back_or_was_already(owner, reviewer):
    document = canon_document()
    request = proposed(owner, reviewer, document=document)
    approve(request, reviewer, can_rollback=False)
    fixed = CanonAmendment.objects.get(request=request)
    with pytest.raises(DomainError) as refused:
        gs.canon_rollback(actor=actor(reviewer), document_slug=document.slug, amendment_id=fixed.pk, reason=WHY)
    assert "cannot be rolled back" in refused.value.message

    document2 = canon_document(slug="other")
    done = amended(document2, owner, reviewer, CANON_PROPOSED_TEXT)
    gs.canon_rollback(actor=actor(reviewer), document_slug="other", amendment_id=done.pk, reason=WHY)
    with pytest.raises(DomainError) as again:
        gs.canon_rollback(actor=actor(reviewer), document_slug="other", amendment_id=done.pk, reason=WHY)
    assert "rolled back already" in again.value.message


def test_a_brain_owner_cannot_roll_back(owner, reviewer):
    document = canon_document()
    done = amended(document, owner, reviewer, CANON_PROPOSED_TEXT)
    before = document_state(document)
    with pytest.raises(DomainError) as refused:
        gs.canon_rollback(actor=actor(owner), document_slug=document.slug, amendment_id=done.pk, reason=WHY)
    assert refused.value.kind == Refusal.FORBIDDEN and document_state(document) == before


# --- sections --------------------------------------------------------------------------------

def test_sections_join_back_to_the_text_and_name_what_changed():
    text = "Intro\n# A\none\n```\n# not a heading\n```\n## B\ntwo\n# A\nagain"
    parts = canon.sections(text)
    assert "".join(chunk for _, chunk in parts) == text
    assert [name for name, _ in parts] == [canon.PREAMBLE, "A", "B", "A (2)"]
    assert canon.changed_sections(text, text.replace("two", "three")) == ["B"]
    assert canon.changed_sections(text, text + "\n# C\nnew") == ["A (2)", "C"]


# --- impact ----------------------------------------------------------------------------------

def test_the_impact_counts_the_covered_requests_open_now_and_decided_in_the_window(reviewer):
    document = canon_document(governs=["research", "ads"], request_types=["offer_review_request"])
    now = clock.now()
    covered_open = [make_request(requesting_brain_id="research", request_type="offer_review_request",
                                 status=RequestStatus.ROUTED) for _ in range(2)]
    covered_closed = make_request(requesting_brain_id="ads", request_type="offer_review_request",
                                  status=RequestStatus.CLOSED)
    make_request(requesting_brain_id="content", target_brain_id="affiliate",
                 request_type="offer_review_request", status=RequestStatus.ROUTED)        # another Brain
    make_request(requesting_brain_id="research", request_type="finance_review_request",
                 status=RequestStatus.ROUTED)                                              # another type
    make_decision_record(related_request=covered_closed)                                  # decided now
    with clock.clock_set(lambda: now - timedelta(days=120)):
        make_decision_record(related_request=covered_open[1])                             # before the window
    requests = BrainRequest.objects.all()

    found = canon.impact(requests=requests, document=document, sections_changed=["Statuses"],
                         amendments=[], brain_names={"research": "Research Brain", "ads": "Ads Brain"})

    assert found.brains == ["Research Brain", "Ads Brain"] and found.request_types == ["Offer review request"]
    assert found.open_requests == 2
    assert found.decided_requests == 1  # covered_closed: covered_open[1]'s decision is 120 days old
    assert found.since >= now - timedelta(days=90, seconds=5)
    none_yet = canon.impact(requests=requests, document=document, sections_changed=["A new section"],
                            amendments=[], brain_names={})
    assert none_yet.since is None and none_yet.decided_requests == 0
