"""The Brains the protocol names (protocol: scope, docs/RULES.md), as the registry starts."""

from typing import TypedDict


class BrainSpec(TypedDict):
    slug: str
    name: str
    authority: str
    accepted_request_types: list[str]
    may_record_decisions: bool
    charter: str


BRAINS: list[BrainSpec] = [
    {
        "slug": "research", "name": "Research Brain", "authority": "operational", "may_record_decisions": False,
        "accepted_request_types": ["research_request", "data_validation_request", "brain_room_request"],
        "charter": "Finds and qualifies opportunity signals, demand shifts and evidence.",
    },
    {
        "slug": "affiliate", "name": "Affiliate Brain", "authority": "operational", "may_record_decisions": False,
        "accepted_request_types": ["offer_review_request", "brain_room_request"],
        "charter": "Evaluates offers and decides which become test candidates.",
    },
    {
        "slug": "ads", "name": "Ads Brain", "authority": "operational", "may_record_decisions": False,
        "accepted_request_types": ["ads_signal_request", "brain_room_request"],
        "charter": "Runs campaigns and flags performance instability upward.",
    },
    {
        "slug": "experimentation", "name": "Experimentation Brain", "authority": "operational",
        "may_record_decisions": False,
        "accepted_request_types": ["experimentation_request", "data_validation_request", "brain_room_request"],
        "charter": "Designs tests and reads their results.",
    },
    {
        "slug": "finance", "name": "Finance Brain", "authority": "authority", "may_record_decisions": True,
        "accepted_request_types": ["finance_review_request", "risk_review_request", "escalation_request",
                                   "brain_room_request"],
        "charter": "Owns capital exposure: budgets, limits, pacing and financial escalation.",
    },
    {
        "slug": "sit", "name": "SIT Brain", "authority": "authority", "may_record_decisions": True,
        "accepted_request_types": ["sit_integrity_request", "compliance_review_request", "risk_review_request",
                                   "data_validation_request", "escalation_request"],
        "charter": "Guards structural integrity, compliance and data integrity.",
    },
    {
        "slug": "aibs", "name": "AIBS Brain", "authority": "operational", "may_record_decisions": False,
        "accepted_request_types": ["plugin_ui_build_request", "dashboard_update_request", "brain_room_request"],
        "charter": "Builds the AI business systems: plugins, dashboards and executors.",
    },
    {
        "slug": "content", "name": "Content Brain", "authority": "operational", "may_record_decisions": False,
        "accepted_request_types": ["content_support_request", "brain_room_request"],
        "charter": "Produces and maintains content for the other Brains.",
    },
    {
        "slug": "headoffice", "name": "HeadOffice", "authority": "governance", "may_record_decisions": True,
        "accepted_request_types": ["head_office_review_request", "mcr_update_suggestion", "escalation_request",
                                   "compliance_review_request", "risk_review_request", "dashboard_update_request",
                                   "plugin_ui_build_request", "brain_room_request"],
        "charter": "Sees every request, reviews, escalates and classifies; the only path to an MCR decision.",
    },
]
