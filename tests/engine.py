"""Builders for engine tests: actors for the fixed cast and requests walked to a given point."""

from governance_app.kernel.actors import Actor, actor_for_token, actor_for_user
from governance_app.models import ApiToken, TokenRole
from requests_app import services as rs
from requests_app.models import BrainRequest

OUTCOME = {
    "outcome_type": "recommendation_delivered",
    "result_summary": "Offer reviewed against the research signal; conversion evidence is strong.",
    "outcome_decision": "Proceed to a controlled test with a capped budget.",
    "outcome_evidence": ["https://wiki.example.org/affiliate/research-dossier-2026-11-01"],
    "next_step": "Experimentation Brain designs the test structure.",
    "next_step_owner": "experimentation",
    "head_office_review_required": False,
}


def actor(user) -> Actor:
    return actor_for_user(user)


def token_actor(brain: str, role: str = TokenRole.EXECUTOR, label: str = "executor-1") -> Actor:
    token = ApiToken.objects.create(brain_id=brain, role=role, label=label, prefix=label[:6],
                                    token_hash=f"hash-{brain}-{role}-{label}")
    return actor_for_token(token)


def new_request(by: Actor, *, destination: str = "affiliate", request_type: str = "offer_review_request",
                **extra) -> BrainRequest:
    fields = {
        "destination_brain": destination, "request_type": request_type,
        "request_title": "Review the new supplement offer",
        "request_summary": "Research found a rising demand signal for this offer; please review it.",
        **extra,
    }
    return rs.request_create(actor=by, **fields)


CANON_BODY = "# Request Protocol\n\n## Statuses\n\nnew, routed, closed.\n\n## Escalation\n\nTo HeadOffice.\n"
CANON_PROPOSED = CANON_BODY.replace("new, routed, closed.", "new, routed, awaiting_data, closed.")


def canon_document(slug: str = "request-protocol", **extra):
    """A canon document of the default tenant (the one the cast belongs to), made once per slug."""
    from governance_app.models import CanonDocument

    fields = {"title": "Request Protocol", "version": "v1.2", "body": CANON_BODY, **extra}
    return CanonDocument.objects.get_or_create(slug=slug, defaults=fields)[0]


def suggestion(by: Actor, *, document=None, proposed_text: str = CANON_PROPOSED, **extra) -> BrainRequest:
    """An mcr_update_suggestion to HeadOffice carrying its exact change to a canon document."""
    document = document or canon_document()
    return new_request(by, destination="headoffice", request_type="mcr_update_suggestion",
                       canon_document=document.slug, proposed_text=proposed_text, **extra)


def routed_request(by: Actor, head_office: Actor, **extra) -> BrainRequest:
    request = new_request(by, **extra)
    return rs.request_route(request=request, actor=head_office, review_owner="headoffice")


def in_progress_request(by: Actor, head_office: Actor, destination_actor: Actor, **extra) -> BrainRequest:
    request = routed_request(by, head_office, **extra)
    return rs.request_accept(request=request, actor=destination_actor)
