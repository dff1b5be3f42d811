"""The demo organisation's story: the protocol's five standard flows and the queues around them.

Each Flow is one Brain Request and everything on its lineage, told as a timeline of steps in the
order they happened (`at` = hours after the flow started, `by` = who acted). `seed_demo` replays
every step through the service a person, a token or HeadOffice would call (request_move,
task_claim, decision_record, escalation_resolve, …) under the story's clock, so the transition
table decides every move and each record is one a user could have made, only earlier.

`by` is a Brain slug (its owner acts, e.g. "affiliate" → affiliate_owner), "reviewer" (the
HeadOffice reviewer) or "token:<label>" (an executor token of EXECUTORS, working a task).
Steps refer to each other's records by key ("artifact:<key>", "decision:<key>"); `seed_demo`
keeps the ids the services gave them. A request carries its flow's key in meta_json
("demo_key"), which is how a second run finds it already there.
"""

from dataclasses import dataclass, field
from typing import Any

DEMO_PASSWORD = "mwms-demo-2026"
REVIEWER = "reviewer"
ADMIN = "admin"


@dataclass(frozen=True, kw_only=True)
class Step:
    at: float  # hours after the flow started
    by: str


@dataclass(frozen=True, kw_only=True)
class RequestMove(Step):
    """A move of the request transition table by name (request_move); `to` is the status it must reach."""

    move: str
    to: str
    note: str = ""
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class NewTask(Step):
    """A Brain working the request creates a task under it (task_create)."""

    key: str
    task_type: str
    brain: str
    title: str
    risk: str = "low"
    priority: str = "medium"
    output_mode: str = "artifact"
    payload: dict[str, Any] = field(default_factory=dict)
    notes: str = ""
    max_attempts: int = 3


@dataclass(frozen=True, kw_only=True)
class TaskStep(Step):
    """A task move by name (task_move): claim, start, progress, warn, complete or fail.

    `summary` is what the move reports: the start note, the progress text, the result summary or
    the error."""

    task: str
    move: str
    summary: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Output(Step):
    """A task saves an artifact (task_artifact_save, which writes output_saved)."""

    task: str
    key: str
    artifact_type: str
    summary: str
    location: str = ""
    content: dict[str, Any] = field(default_factory=dict)
    is_result: bool = True


@dataclass(frozen=True, kw_only=True)
class Decide(Step):
    """A decision record on the request's lineage, in the actor's authority (decision_record)."""

    key: str
    summary: str
    reasoning: str
    evidence: str | None = None
    expected_outcome: str | None = None
    affected: tuple[str, ...] = ()
    task: str | None = None


@dataclass(frozen=True, kw_only=True)
class Classify(Step):
    """HeadOffice classifies a feedback request (feedback_classify, protocol rule 13)."""

    key: str
    classification: str
    note: str
    to: str


@dataclass(frozen=True, kw_only=True)
class CanonChange:
    """The amendment an approved MCR decision carries: `replace` = (old text, new text)."""

    document: str
    version_after: str
    replace: tuple[str, str]


@dataclass(frozen=True, kw_only=True)
class DecideMcr(Step):
    """The HeadOffice MCR decision on a request awaiting it (mcr_decide), with its amendment."""

    key: str
    decision: str
    reasoning: str
    to: str
    canon: CanonChange | None = None


@dataclass(frozen=True, kw_only=True)
class ResolveEscalation(Step):
    """The escalation owner or HeadOffice resolves an escalation by a decision (escalation_resolve)."""

    key: str
    resolution: str  # continue, close or block
    summary: str
    reasoning: str
    to: str
    note: str = ""
    outcome: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Note(Step):
    """A human note on the request's history (request_note_add)."""

    note: str


@dataclass(frozen=True, kw_only=True)
class Learn(Step):
    """A lesson learned, tied to a decision or a task of this request (lesson_record)."""

    key: str
    brain: str
    event_or_experiment: str
    result: str
    insight: str
    improvement: str
    decision: str | None = None
    task: str | None = None


@dataclass(frozen=True, kw_only=True)
class SignalSpec:
    """The signal that triggered the request, `hours_before` its creation."""

    key: str
    brain: str
    signal_type: str
    summary: str
    direction: str = "upward"
    hours_before: float = 1.0
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Flow:
    key: str
    story: str
    start_days_ago: float
    by: str
    # request_create's fields by the protocol's names; "parent" and "originating_task" name a flow
    # key and a task key, "meta" goes into meta_json.
    request: dict[str, Any]
    signal: SignalSpec | None = None
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True, kw_only=True)
class CanonSpec:
    slug: str
    title: str
    document_type: str
    version: str
    body: str
    governs: tuple[str, ...] = ()        # the Brains it governs; () is every Brain
    request_types: tuple[str, ...] = ()  # the request types it covers; () is every type


# Evidence references inside outcome_evidence: "artifact:<key>", "decision:<key>"; anything else
# is external evidence, and so a reference a reader can follow (a link, or `DOC-1 in System`).

ROUTED_BY_HEADOFFICE = {"review_owner": "headoffice"}

SCORECARD = "flow1-offer-scorecard"
TEST_DESIGN = "flow2-test-design"
EXPOSURE_MODEL = "flow3-exposure-model"
LANDING_COPY = "flow5-landing-copy"
PACING_WIDGET = "blocked-pacing-widget"
# The executor tokens that work the story's tasks (label → the Brain each is bound to).
EXECUTORS = {
    "affiliate-review-agent": "affiliate",
    "experiment-design-agent": "experimentation",
    "finance-risk-agent": "finance",
    "aibs-builder-agent": "aibs",
}
SCORER = "token:affiliate-review-agent"
DESIGNER = "token:experiment-design-agent"
RISK_AGENT = "token:finance-risk-agent"
BUILDER = "token:aibs-builder-agent"

FLOWS: tuple[Flow, ...] = (
    Flow(
        key="flow1-offer-review",
        story="Standard flow 1: Research Brain → Affiliate Brain (closed with a complete outcome)",
        start_days_ago=27,
        by="research",
        signal=SignalSpec(
            key="flow1-signal", brain="research", signal_type="research_density_shift", direction="lateral",
            hours_before=5,
            summary="Search interest in 'portable power station camping' up 38% over eight weeks in UK and DE",
            payload={"query_cluster": "portable power station camping", "growth_8_weeks": 0.38,
                     "markets": ["UK", "DE"], "sources": ["search_trends", "marketplace_bestseller_rank"]},
        ),
        request={
            "origin_brain": "research", "destination_brain": "affiliate",
            "request_type": "offer_review_request",
            "request_title": "Review portable power station offers for the camping niche",
            "request_summary": (
                "Research sees a sustained rise in demand for portable power stations among campers: search "
                "interest up 38% over eight weeks in UK and DE and three new category bestsellers. Affiliate "
                "Brain is asked to review the three strongest affiliate offers and say whether any of them is "
                "a test candidate."
            ),
            "required_output": (
                "A verdict per offer (test candidate, watch or reject) with commission, cookie window, merchant "
                "reliability and refund rate, an evidence summary and the recommended next step."
            ),
            "priority": "high", "intake_id": "INT-2026-0412", "source_origin": "research_signal",
            "source_system": "research_signal_monitor", "source_page": "/research/signals/portable-power-camping",
            "meta": {"signal_quality": "strong"},
        },
        steps=(
            RequestMove(at=2, by="reviewer", move="submit_for_review", to="under_review",
                        note="Strong signal; an offer verdict is within Affiliate's authority."),
            RequestMove(at=3.5, by="reviewer", move="route", to="routed", fields={
                **ROUTED_BY_HEADOFFICE,
                "routing_notes": "Affiliate owns offer verdicts. Research stays origin and receives the result.",
            }),
            RequestMove(at=20, by="affiliate", move="accept", to="in_progress",
                        note="Accepted into the Affiliate workspace."),
            NewTask(at=20.5, by="affiliate", key=SCORECARD, task_type="offer_review", brain="affiliate",
                    title="Score the three leading portable power station offers", priority="high",
                    payload={"offers": ["OFF-PPS-0193 Voltcamp 600", "OFF-PPS-0207 Sunbank Go 500",
                                        "OFF-PPS-0211 Trailcell 700"],
                             "criteria": ["commission", "cookie_window", "merchant_reliability", "refund_rate"]}),
            TaskStep(at=21, by=SCORER, task=SCORECARD, move="claim"),
            TaskStep(at=21.2, by=SCORER, task=SCORECARD, move="start",
                     summary="Pulling merchant terms and network data for three offers"),
            TaskStep(at=26, by=SCORER, task=SCORECARD, move="progress",
                     summary="Terms collected for 3 of 3 offers; Sunbank Go 500 refund data missing, "
                             "validation requested from Research",
                     payload={"offers_scored": 2, "offers_total": 3}),
            TaskStep(at=31, by=SCORER, task=SCORECARD, move="warn",
                     summary="Trailcell 700 merchant has 41 unresolved chargeback complaints in 90 days"),
            TaskStep(at=34, by=SCORER, task=SCORECARD, move="progress",
                     summary="Research validated Sunbank Go 500 refund rate at 4.2%; scoring finished",
                     payload={"offers_scored": 3, "offers_total": 3}),
            Output(at=36, by=SCORER, task=SCORECARD, key="flow1-scorecard", artifact_type="offer_scorecard",
                   summary="Voltcamp 600 is the only test candidate: 9% commission, 30-day cookie, 2.1% refunds",
                   location="supabase://mwms-artifacts/affiliate/INT-2026-0412/offer-scorecard.json",
                   content={"offers": [
                       {"offer_id": "OFF-PPS-0193", "name": "Voltcamp 600", "commission": 0.09, "cookie_days": 30,
                        "refund_rate": 0.021, "verdict": "test_candidate"},
                       {"offer_id": "OFF-PPS-0207", "name": "Sunbank Go 500", "commission": 0.11, "cookie_days": 14,
                        "refund_rate": 0.042, "verdict": "watch"},
                       {"offer_id": "OFF-PPS-0211", "name": "Trailcell 700", "commission": 0.12, "cookie_days": 30,
                        "refund_rate": None, "verdict": "reject", "reason": "41 open chargeback complaints"},
                   ]}),
            TaskStep(at=36.2, by=SCORER, task=SCORECARD, move="complete",
                     summary="Scorecard saved with verdicts for 3 offers"),
            RequestMove(at=40, by="affiliate", move="respond", to="responded", fields={
                "response_summary": (
                    "Voltcamp 600 (OFF-PPS-0193) is a test candidate: 9% commission, 30-day cookie, 2.1% refunds "
                    "and a clean merchant record. Sunbank Go 500 goes on watch (4.2% refunds); Trailcell 700 is "
                    "rejected on 41 open chargeback complaints."
                ),
                "outcome_type": "recommendation_delivered",
            }),
            Decide(at=44, by="reviewer", key="flow1-progression",
                   summary="Approve Voltcamp 600 (OFF-PPS-0193) as a test candidate for Experimentation",
                   reasoning="The demand signal is sustained over eight weeks, the offer has the lowest refund rate "
                             "of the three and the merchant record is clean. Progression to a test needs no new "
                             "capital beyond the experimentation budget.",
                   evidence="Affiliate offer scorecard; Research demand signal; Research refund validation",
                   expected_outcome="A structured split test designed within two weeks",
                   affected=("affiliate", "experimentation", "research"), task=SCORECARD),
            # Results return to their origin: Research closes the response (connector "result handoff").
            RequestMove(at=46, by="research", move="close", to="closed", fields={
                "outcome_type": "recommendation_delivered",
                "result_summary": "Three offers scored against the demand signal; one test candidate, one on watch, "
                                  "one rejected for merchant risk.",
                "outcome_decision": "Voltcamp 600 (OFF-PPS-0193) progresses to a split test; HeadOffice approved "
                                    "the progression.",
                "outcome_evidence": ["artifact:flow1-scorecard", "decision:flow1-progression"],
                "next_step": "Affiliate opens an experimentation request for OFF-PPS-0193",
                "next_step_owner": "affiliate", "head_office_review_required": False,
                "closure_reason": "Recommendation delivered and accepted by the origin Brain",
            }),
            Learn(at=50, by="affiliate", key="flow1-lesson", brain="affiliate", decision="flow1-progression",
                  task=SCORECARD, event_or_experiment="Offer review for the portable power station demand signal",
                  result="One of three offers qualified; the chargeback warning ruled Trailcell 700 out late",
                  insight="Merchant chargeback complaints decide more verdicts than commission terms do, yet "
                          "they were checked last",
                  improvement="Check chargeback complaints first in the offer_review task checklist"),
        ),
    ),
    Flow(
        key="child-refund-validation",
        story="Lineage: a child request spawned by the Research → Affiliate offer review task",
        start_days_ago=25.9,
        by="affiliate",
        request={
            "origin_brain": "affiliate", "destination_brain": "research",
            "request_type": "data_validation_request",
            "parent": "flow1-offer-review", "originating_task": SCORECARD,
            "request_title": "Validate the Sunbank Go 500 refund rate before scoring",
            "request_summary": (
                "The offer review for the portable power station signal has no reliable refund data for Sunbank "
                "Go 500 (OFF-PPS-0207). Research is asked to validate the merchant's claimed 1.5% refund rate "
                "against marketplace returns and network data."
            ),
            "required_output": "A validated refund rate with its sources",
            "priority": "medium", "intake_id": "INT-2026-0412", "offer_id": "OFF-PPS-0207",
            "source_origin": "task_finding", "source_system": "affiliate_workspace",
        },
        steps=(
            RequestMove(at=0.5, by="reviewer", move="submit_for_review", to="under_review"),
            RequestMove(at=1, by="reviewer", move="route", to="routed", fields={
                **ROUTED_BY_HEADOFFICE, "routing_notes": "Research owns evidence validation."}),
            RequestMove(at=2, by="research", move="accept", to="in_progress"),
            RequestMove(at=6, by="research", move="respond", to="responded", fields={
                "response_summary": "The refund rate is 4.2%, not 1.5%: 38 of 902 marketplace orders in 90 days "
                                    "were returned, and the network reports 3.9% for the same period.",
                "outcome_type": "recommendation_delivered",
            }),
            # The origin closes the validation before the offer review it serves closes: a parent
            # does not close over an open child (issue 13).
            RequestMove(at=8, by="affiliate", move="close", to="closed", fields={
                "outcome_type": "recommendation_delivered",
                "result_summary": "Sunbank Go 500's refund rate validated at 4.2% against marketplace returns and "
                                  "network data; the offer scorecard uses the validated figure.",
                "outcome_decision": "Score Sunbank Go 500 with the validated 4.2% refund rate, not the claimed 1.5%.",
                "outcome_evidence": ["RET-2026-0207 in Marketplace Returns"],
                "next_step": "Affiliate finishes the offer scorecard with the validated refund rate",
                "next_step_owner": "affiliate", "head_office_review_required": False,
            }),
        ),
    ),
    Flow(
        key="flow2-experiment-design",
        story="Standard flow 2: Affiliate Brain → Experimentation Brain (in progress, task running)",
        start_days_ago=5,
        by="affiliate",
        request={
            "origin_brain": "affiliate", "destination_brain": "experimentation",
            "request_type": "experimentation_request",
            "parent": "flow1-offer-review",
            "request_title": "Design a split test for Voltcamp 600 (OFF-PPS-0193)",
            "request_summary": (
                "Affiliate approved Voltcamp 600 as a test candidate (HeadOffice decision on the parent request). "
                "Experimentation Brain is asked to define the test: hypothesis, variants, traffic source, sample "
                "size, success metric and stop rule."
            ),
            "required_output": "An experiment definition with hypothesis, variants, sample size, budget need and "
                               "stop rule, returned to Affiliate",
            "priority": "medium", "offer_id": "OFF-PPS-0193", "intake_id": "INT-2026-0412",
            "source_origin": "offer_approval", "source_system": "affiliate_workspace",
        },
        steps=(
            RequestMove(at=1.5, by="reviewer", move="submit_for_review", to="under_review"),
            RequestMove(at=3, by="reviewer", move="route", to="routed", fields={
                **ROUTED_BY_HEADOFFICE,
                "routing_notes": "Experimentation owns test design; the result returns to Affiliate."}),
            RequestMove(at=22, by="experimentation", move="accept", to="in_progress",
                        note="Experiment EXP-2026-031 opened for this request."),
            NewTask(at=23, by="experimentation", key=TEST_DESIGN, task_type="experiment_design",
                    brain="experimentation", title="Define the EXP-2026-031 split test for Voltcamp 600",
                    risk="medium",
                    payload={"offer_id": "OFF-PPS-0193", "experiment_id": "EXP-2026-031",
                             "angles": ["off-grid weekends", "festival power"], "traffic": ["search", "native"]}),
            TaskStep(at=92, by=DESIGNER, task=TEST_DESIGN, move="claim"),
            TaskStep(at=92.3, by=DESIGNER, task=TEST_DESIGN, move="start", summary="Drafting hypothesis and variants"),
            TaskStep(at=100, by=DESIGNER, task=TEST_DESIGN, move="progress",
                     summary="Two landing variants drafted; control is the merchant's own page",
                     payload={"step": "variants", "done": True}),
            TaskStep(at=114, by=DESIGNER, task=TEST_DESIGN, move="progress",
                     summary="Sample size: 2 × 1,900 sessions for 80% power at a 15% relative lift",
                     payload={"step": "sample_size", "sessions_per_arm": 1900, "power": 0.8, "min_lift": 0.15}),
        ),
    ),
    Flow(
        key="flow3-budget-review",
        story="Standard flow 3: Experimentation Brain → Finance Brain (escalated: material capital exposure)",
        start_days_ago=6,
        by="experimentation",
        signal=SignalSpec(
            key="flow3-signal", brain="experimentation", signal_type="experiment_outcome", hours_before=3,
            summary="EXP-2026-024 (Heatwave fan bundle) converts at 4.8% against 3.1% control after 3,200 sessions",
            payload={"experiment_id": "EXP-2026-024", "sessions": 3200, "conversion": 0.048,
                     "control_conversion": 0.031, "probability_of_lift": 0.97},
        ),
        request={
            "origin_brain": "experimentation", "destination_brain": "finance",
            "request_type": "finance_review_request",
            "request_title": "Budget increase for the EXP-2026-024 winner: £1,500 → £12,000 a month",
            "request_summary": (
                "EXP-2026-024 (Heatwave fan bundle, native traffic) beat control: 4.8% against 3.1% conversion "
                "over 3,200 sessions, a 97% probability of a real lift. Experimentation proposes scaling spend "
                "from £1,500 to £12,000 a month. The capital exposure is material, so the request carries the "
                "escalation flag."
            ),
            "required_output": "Approval or rejection, risk classification, budget limit and pacing condition",
            "priority": "high", "experiment_id": "EXP-2026-024", "offer_id": "OFF-HF-0088",
            "source_origin": "experiment_result", "source_system": "experimentation_workspace",
            "escalation_flag": True,
        },
        steps=(
            RequestMove(at=1, by="reviewer", move="submit_for_review", to="under_review",
                        note="Above the £5,000 a month experimentation limit; Finance must see it."),
            # Several Brains work it, so one is primary (connector rule 2).
            RequestMove(at=2, by="reviewer", move="route", to="routed", fields={
                **ROUTED_BY_HEADOFFICE, "primary_brain": "finance", "supporting_brains": ["experimentation"],
                "routing_notes": "Finance owns capital exposure; Experimentation supports with the test data."}),
            RequestMove(at=20, by="finance", move="accept", to="in_progress"),
            NewTask(at=21, by="finance", key=EXPOSURE_MODEL, task_type="exposure_assessment", brain="finance",
                    title="Model the downside of £12,000 a month on OFF-HF-0088", risk="high", priority="high",
                    payload={"experiment_id": "EXP-2026-024", "proposed_monthly_spend_gbp": 12000,
                             "current_monthly_spend_gbp": 1500, "scenarios": ["base", "stress"]}),
            TaskStep(at=22, by=RISK_AGENT, task=EXPOSURE_MODEL, move="claim"),
            TaskStep(at=22.2, by=RISK_AGENT, task=EXPOSURE_MODEL, move="start",
                     summary="Loading spend, refund and chargeback history"),
            TaskStep(at=30, by=RISK_AGENT, task=EXPOSURE_MODEL, move="progress",
                     summary="Base and stress scenarios modelled; stress assumes conversion falls back to control"),
            Output(at=40, by=RISK_AGENT, task=EXPOSURE_MODEL, key="flow3-exposure", artifact_type="exposure_model",
                   summary="Stress case loses £7,400 in month one; break-even CPA £18.60",
                   location="supabase://mwms-artifacts/finance/EXP-2026-024/exposure-model.json",
                   content={"base_case_margin_gbp": 5300, "stress_case_loss_gbp": -7400,
                            "break_even_cpa_gbp": 18.6, "risk_class": "high"}),
            TaskStep(at=40.3, by=RISK_AGENT, task=EXPOSURE_MODEL, move="complete",
                     summary="Exposure model saved with base and stress scenarios"),
            Decide(at=44, by="finance", key="flow3-pacing-hold", task=EXPOSURE_MODEL,
                   summary="Hold spend at £1,500 a month until the capital decision; nothing above £5,000 "
                           "without approval",
                   reasoning="The stress case loses £7,400 in month one, beyond Experimentation's delegated "
                             "exposure. Pacing is held while the capital decision is escalated.",
                   evidence="Finance exposure model; EXP-2026-024 result signal",
                   expected_outcome="No additional exposure while the decision is pending",
                   affected=("experimentation", "ads")),
            # Escalation names its reason and an owner with authority, on the same request
            # (connector "escalation rules"); it holds the request where the work stood.
            RequestMove(at=46, by="finance", move="escalate", to="escalated", fields={
                "escalation_owner": "finance",
                "escalation_reason": "£12,000 a month is eight times current spend and above the £5,000 delegated "
                                     "experimentation limit; the stress case loses £7,400 in month one. Material "
                                     "capital exposure needs a Finance capital approval decision.",
            }),
            Learn(at=50, by="experimentation", key="flow3-lesson", brain="experimentation",
                  decision="flow3-pacing-hold",
                  event_or_experiment="EXP-2026-024 budget increase request",
                  result="Finance had to build the exposure model before it could classify the risk",
                  insight="A budget request without a downside scenario waits a day for Finance to build one",
                  improvement="Attach base and stress scenarios to every finance_review_request"),
        ),
    ),
    Flow(
        key="flow4-site-feedback",
        story="Standard flow 4: Brain site feedback → HeadOffice (awaiting classification)",
        start_days_ago=2.5,
        by="ads",
        request={
            "origin_brain": "ads", "destination_brain": "headoffice",
            "request_type": "head_office_review_request",
            "operating_layer": "governance",
            "request_title": "Ads workspace: pacing alerts open without the campaign's budget history",
            "request_summary": (
                "On the Ads Brain site a pacing alert opens a page that shows current spend but not the budget "
                "changes behind it, so reviewing one alert takes four screens and a spreadsheet. Ads asks "
                "HeadOffice to review the alert page; it may need a plugin/UI specification change rather than "
                "a canon change."
            ),
            "required_output": "HeadOffice classification of the feedback and the owner of any change",
            "priority": "medium", "source_origin": "brain_site_feedback",
            "source_page": "/ads/workspace/alerts/pacing", "source_system": "ads_brain_site",
            "feedback_required": True, "mcr_update_suggested": False,
        },
        steps=(
            RequestMove(at=0.5, by="ads", move="ask_head_office", to="awaiting_head_office_review",
                        note="Submitted from the Ads Brain site feedback form."),
        ),
    ),
    Flow(
        key="flow4-mcr-suggestion",
        story="Standard flow 4: Brain site feedback → HeadOffice (classified, awaiting MCR decision)",
        start_days_ago=12,
        by="experimentation",
        request={
            "origin_brain": "experimentation", "destination_brain": "headoffice",
            "request_type": "mcr_update_suggestion",
            "operating_layer": "governance",
            "request_title": "Standard flow 3 should require sample size and observed lift in finance reviews",
            "request_summary": (
                "Finance has twice returned budget requests from Experimentation asking for sample size and "
                "statistical power. Standard Flow Example 3 of the Brain To Brain Request Protocol lists what "
                "Finance returns but not what Experimentation must send. Experimentation suggests adding sample "
                "size, observed lift and probability of a real effect to the flow."
            ),
            "required_output": "HeadOffice classification and, if proposed, an MCR decision",
            "priority": "medium", "source_origin": "brain_site_feedback",
            "source_page": "/experimentation/workspace/handoffs", "source_system": "experimentation_brain_site",
            "feedback_required": True, "mcr_update_suggested": True,
            "meta": {"canon_document": "brain-to-brain-request-protocol", "section": "Standard Flow Example 3"},
            "canon_change": {"document": "brain-to-brain-request-protocol", "append": (
                "\n## Standard Flow Example 3 — Experimentation Brain To Finance Brain\n\n"
                "A budget request from Experimentation carries the sample size, the observed lift and the "
                "probability of a real effect, so that Finance does not return it to ask for them.\n")},
        },
        steps=(
            RequestMove(at=3, by="reviewer", move="submit_for_review", to="under_review",
                        note="Touches canon wording; classify before anything else."),
            # Only propose_mcr_update leads to the MCR gate (protocol rule 13).
            Classify(at=150, by="reviewer", key="flow4-classification", classification="propose_mcr_update",
                     to="awaiting_mcr_decision",
                     note="The friction repeated on two budget requests and comes from the canon flow not naming "
                          "what Experimentation must send. A working-copy change would drift from canon; the fix "
                          "belongs in the protocol, so it goes to an MCR decision."),
        ),
    ),
    Flow(
        key="flow5-brain-room",
        story="Standard flow 5: Brain Room → Brain Request (routed to Content, task queued)",
        start_days_ago=1.2,
        by="headoffice",
        request={
            "origin_brain": "headoffice", "destination_brain": "content",
            "request_type": "brain_room_request",
            "request_title": "Write buying-guide copy for the Voltcamp 600 test landing page",
            "request_summary": (
                "Brain Room message from the HeadOffice operator: 'Content, we need a short buying guide for the "
                "Voltcamp 600 landing page before the split test starts, two angles: off-grid weekends and "
                "festivals.' Converted by the Brain Room connector into a governed request."
            ),
            "required_output": "Two landing-page copy variants of about 400 words, each with a headline, three "
                               "benefit bullets and an FAQ",
            "priority": "high", "offer_id": "OFF-PPS-0193", "experiment_id": "EXP-2026-031",
            "source_origin": "brain_room_message", "source_system": "brain_room",
            "source_page": "/brain-room/threads/voltcamp-600-launch",
            "meta": {"brain_room": {
                "user_instruction": "Short buying guide for the Voltcamp 600 landing page, two angles",
                "source_context": "EXP-2026-031 test design in progress", "requested_brain": "content",
                "urgency": "high", "task_type": "landing_copy",
                "expected_output": "Two copy variants for the split test",
            }},
        },
        steps=(
            RequestMove(at=0.3, by="reviewer", move="submit_for_review", to="under_review"),
            RequestMove(at=0.6, by="reviewer", move="route", to="routed", fields={
                **ROUTED_BY_HEADOFFICE, "primary_brain": "content", "supporting_brains": ["experimentation"],
                "routing_notes": "Content writes the copy; Experimentation supplies the variant brief."}),
            # Tasks may exist once a request is routed (connector rule 1).
            NewTask(at=3, by="content", key=LANDING_COPY, task_type="landing_copy", brain="content",
                    title="Draft two Voltcamp 600 landing-page copy variants", priority="high",
                    payload={"offer_id": "OFF-PPS-0193", "variants": ["off-grid weekends", "festival power"],
                             "words_per_variant": 400}),
        ),
    ),
    Flow(
        key="queue-new-integrity-check",
        story="HeadOffice queue: a new request waiting for review",
        start_days_ago=0.2,
        by="ads",
        signal=SignalSpec(
            key="queue-new-signal", brain="ads", signal_type="anomaly_detection", hours_before=0.5,
            summary="Network reports 14% more native conversions than Supabase holds for the last 7 days",
            payload={"network_conversions": 1284, "recorded_conversions": 1126, "window_days": 7},
        ),
        request={
            "origin_brain": "ads", "destination_brain": "sit",
            "request_type": "sit_integrity_request",
            "request_title": "Conversion counts differ between the ad network and Supabase by 14%",
            "request_summary": (
                "Since the tracking pixel update the ad network reports 14% more conversions for native "
                "campaigns than our records hold for the same days. Ads asks SIT to check data integrity "
                "before any budget decision relies on these numbers."
            ),
            "required_output": "An integrity verdict and the source of the discrepancy",
            "priority": "high", "source_origin": "ads_anomaly", "source_system": "ads_monitor",
        },
    ),
    Flow(
        key="queue-blocked-dashboard",
        story="HeadOffice queue: blocked by a task that failed twice",
        start_days_ago=9,
        by="ads",
        request={
            "origin_brain": "ads", "destination_brain": "aibs",
            "request_type": "dashboard_update_request",
            "request_title": "Add a pacing widget to the Ads dashboard",
            "request_summary": (
                "Ads needs daily spend against budget per campaign on its dashboard, fed from the pacing view, "
                "so pacing alerts can be read at a glance."
            ),
            "required_output": "A dashboard widget showing spend against budget per campaign, refreshed hourly",
            "priority": "medium", "source_origin": "ads_workspace", "source_system": "ads_brain_site",
        },
        steps=(
            RequestMove(at=2, by="reviewer", move="submit_for_review", to="under_review"),
            RequestMove(at=4, by="reviewer", move="route", to="routed", fields={
                **ROUTED_BY_HEADOFFICE, "routing_notes": "AIBS builds dashboards."}),
            RequestMove(at=26, by="aibs", move="accept", to="in_progress"),
            NewTask(at=27, by="aibs", key=PACING_WIDGET, task_type="dashboard_build", brain="aibs",
                    title="Build the pacing widget from mwms_ads_pacing_v", risk="medium", max_attempts=2,
                    payload={"view": "mwms_ads_pacing_v", "refresh": "hourly"}),
            TaskStep(at=28, by=BUILDER, task=PACING_WIDGET, move="claim"),
            TaskStep(at=28.1, by=BUILDER, task=PACING_WIDGET, move="start", summary="Building the widget query"),
            # A failure with attempts left queues the task again by itself.
            TaskStep(at=28.6, by=BUILDER, task=PACING_WIDGET, move="fail",
                     summary='Query failed: relation "mwms_ads_pacing_v" does not exist'),
            Note(at=30, by="aibs",
                 note="Queued again for attempt 2 of 2; the builder retries once the nightly schema sync has run."),
            TaskStep(at=52, by=BUILDER, task=PACING_WIDGET, move="claim"),
            TaskStep(at=52.1, by=BUILDER, task=PACING_WIDGET, move="start", summary="Building the widget query"),
            # The last attempt failing escalates the request to HeadOffice (protocol rule 8: repeated
            # task failures) ...
            TaskStep(at=52.4, by=BUILDER, task=PACING_WIDGET, move="fail",
                     summary='Query failed again: relation "mwms_ads_pacing_v" does not exist'),
            # ... and HeadOffice's decision holds the work until the schema change exists.
            ResolveEscalation(at=54, by="reviewer", key="blocked-decision", resolution="block", to="blocked",
                              summary="Block the pacing widget until the mwms_ads_pacing_v view exists",
                              reasoning="Both attempts failed on the same missing view. A schema change must come "
                                        "first; another attempt before it would spend the retry for nothing.",
                              note="The pacing view the widget reads has not been created; a schema change is "
                                   "needed before the task is retried."),
            Learn(at=60, by="aibs", key="blocked-lesson", brain="aibs", task=PACING_WIDGET,
                  event_or_experiment="Pacing widget build, two failed attempts",
                  result="Both attempts failed on the same missing view; the request is blocked until it exists",
                  insight="Retrying a task whose source view does not exist spends attempts without new "
                          "information",
                  improvement="Check at routing time that a dashboard task's source views exist, and route the "
                              "schema change first"),
        ),
    ),
    Flow(
        key="queue-stale-ads-signal",
        story="HeadOffice queue: stale (routed, untouched for two weeks)",
        start_days_ago=16,
        by="research",
        request={
            "origin_brain": "research", "destination_brain": "ads",
            "request_type": "ads_signal_request",
            "request_title": "Do rising CPCs on 'solar generator' track the research demand shift?",
            "request_summary": (
                "Research sees demand for solar generators moving from search to marketplaces. Ads is asked "
                "whether the 22% CPC rise on 'solar generator' ad groups follows the same shift."
            ),
            "required_output": "CPC trend by ad group against the demand shift, with a recommendation",
            "priority": "low", "source_origin": "research_signal", "source_system": "research_signal_monitor",
        },
        steps=(
            RequestMove(at=3, by="reviewer", move="submit_for_review", to="under_review"),
            RequestMove(at=5, by="reviewer", move="route", to="routed", fields={
                **ROUTED_BY_HEADOFFICE, "routing_notes": "Ads owns campaign data."}),
        ),
    ),
    Flow(
        key="queue-rejected-funding",
        story="A rejected request with its complete outcome",
        start_days_ago=20,
        by="content",
        request={
            "origin_brain": "content", "destination_brain": "finance",
            "request_type": "finance_review_request",
            "request_title": "Fund 20 extra product reviews a month for the camping category",
            "request_summary": "Content asks Finance to fund 20 freelance product reviews a month for camping "
                               "gear to support the portable power station push.",
            "required_output": "Budget approval for £2,400 a month of freelance reviews",
            "priority": "low", "source_origin": "content_plan", "source_system": "content_workspace",
        },
        steps=(
            RequestMove(at=4, by="reviewer", move="submit_for_review", to="under_review"),
            Decide(at=20, by="reviewer", key="rejected-decision",
                   summary="Reject: content volume is not a capital exposure decision",
                   reasoning="Freelance content sits inside Content's own budget. Without a traffic case there "
                             "is nothing for Finance to weigh.",
                   expected_outcome="Content re-raises the need as a content_support_request with a traffic case",
                   affected=("content", "finance")),
            # A rejection carries the same complete outcome as a closure (protocol rule 7).
            RequestMove(at=20.5, by="reviewer", move="reject", to="rejected", fields={
                "outcome_type": "rejected",
                "result_summary": "Reviewed by HeadOffice: the spend is inside Content's own budget and carries "
                                  "no capital exposure for Finance to classify.",
                "outcome_decision": "Rejected as a finance_review_request",
                "outcome_evidence": ["decision:rejected-decision"],
                "next_step": "Content re-raises the need as a content_support_request with a traffic forecast",
                "next_step_owner": "content", "head_office_review_required": False,
                "closure_reason": "Wrong request type and no exposure case",
            }),
        ),
    ),
    Flow(
        key="resolved-escalation",
        story="An escalation resolved by a HeadOffice decision, then closed",
        start_days_ago=33,
        by="ads",
        request={
            "origin_brain": "ads", "destination_brain": "finance",
            "request_type": "risk_review_request",
            "request_title": "Pause native campaigns after a 3× CPA spike?",
            "request_summary": "Native CPA tripled over a weekend. Ads wants to pause all native campaigns; "
                               "Experimentation wants two live tests kept running. Finance is asked to rule on "
                               "the exposure.",
            "required_output": "Pause or continue, per campaign, with a spend cap",
            "priority": "urgent", "source_origin": "campaign_deterioration", "source_system": "ads_monitor",
        },
        steps=(
            RequestMove(at=0.5, by="reviewer", move="submit_for_review", to="under_review"),
            RequestMove(at=1, by="reviewer", move="route", to="routed", fields={
                **ROUTED_BY_HEADOFFICE, "routing_notes": "Finance rules on exposure."}),
            RequestMove(at=2, by="finance", move="accept", to="in_progress"),
            RequestMove(at=5, by="finance", move="escalate", to="escalated", fields={
                "escalation_owner": "headoffice",
                "escalation_reason": "Ads and Experimentation reach conflicting conclusions about two live tests; "
                                     "arbitration between Brains is HeadOffice's."}),
            # "continue" returns the request to the status the escalation interrupted.
            ResolveEscalation(at=9, by="reviewer", key="resolved-escalation-decision", resolution="continue",
                              to="in_progress",
                              summary="Pause native campaigns except the two live tests, capped at £150 a day each",
                              reasoning="The CPA spike sits in three placements the tests do not use; pausing the "
                                        "tests would waste 60% of their sample.",
                              note="Escalation resolved; Finance applies the caps."),
            RequestMove(at=11, by="finance", move="respond", to="responded", fields={
                "response_summary": "Native campaigns are paused except the two live tests, each capped at £150 "
                                    "a day as HeadOffice decided.",
                "outcome_type": "decision_recorded",
            }),
            RequestMove(at=12, by="ads", move="close", to="closed", fields={
                "outcome_type": "decision_recorded",
                "result_summary": "Native campaigns paused except two live tests, each capped at £150 a day",
                "outcome_decision": "Partial pause with daily caps, as decided by HeadOffice",
                "outcome_evidence": ["decision:resolved-escalation-decision"],
                "next_step": "Ads excludes the three failing placements and asks to lift the pause",
                "next_step_owner": "ads", "head_office_review_required": False,
                "closure_reason": "Escalation resolved and caps applied",
            }),
        ),
    ),
    Flow(
        key="mcr-approved-task-events",
        story="The MCR gate end to end: suggestion → classification → MCR decision → canon amendment",
        start_days_ago=38,
        by="aibs",
        request={
            "origin_brain": "aibs", "destination_brain": "headoffice",
            "request_type": "mcr_update_suggestion",
            "operating_layer": "governance",
            "request_title": "Task Schema Standard: add started, requeued and cancelled task event types",
            "request_summary": (
                "Executors report when a claimed task starts running, when a failed task is requeued and when "
                "an open task is cancelled. The Task Schema Standard's event types cannot say so, so these moves "
                "are logged as 'progress' and lose their meaning in reports."
            ),
            "required_output": "An MCR decision on three additional task event types",
            "priority": "medium", "source_origin": "brain_site_feedback", "source_system": "aibs_brain_site",
            "feedback_required": True, "mcr_update_suggested": True,
            "meta": {"canon_document": "supabase-task-schema-standard"},
        },
        steps=(
            RequestMove(at=2, by="reviewer", move="submit_for_review", to="under_review"),
            Classify(at=48, by="reviewer", key="mcr-approved-classification", classification="propose_mcr_update",
                     to="awaiting_mcr_decision",
                     note="Event types are listed in the Task Schema Standard; only an MCR decision may add to "
                          "them."),
            # Only a HeadOffice MCR decision approves a canon change, and the amendment comes with it
            # (protocol rule 13). The demo tenant keeps the four-eyes rule: the reviewer proposed it,
            # so another HeadOffice reviewer (the admin) approves it.
            DecideMcr(at=120, by=ADMIN, key="mcr-approved-decision", decision="approved", to="closed",
                      reasoning="The three moves are real executor states; naming them keeps reports honest and "
                                "changes no existing meaning. Executor logs show 'progress' standing for three "
                                "different moves.",
                      canon=CanonChange(document="supabase-task-schema-standard", version_after="v1.2",
                                        replace=("- escalated\n", "- escalated\n- started\n- requeued\n"
                                                                  "- cancelled\n"))),
        ),
    ),
)


CANON: tuple[CanonSpec, ...] = (
    CanonSpec(
        slug="supabase-task-schema-standard", title="MWMS Supabase Task Schema Standard",
        document_type="Canon", version="v1.1",
        body=(
            "MWMS must maintain an auditable chain: Brain Request → Task → Task Events → Output Artifact → "
            "Decision Record → Lessons Learned.\n\n"
            "Required tables: mwms_brain_requests, mwms_tasks, mwms_task_events, mwms_task_artifacts, "
            "mwms_decision_records, mwms_lessons_learned. Primary keys are uuid, timestamps timestamptz, JSON "
            "jsonb. Event logs are append-only: no updates, no deletes.\n\n"
            "Task event types (recommended):\n"
            "- created\n- picked_up\n- progress\n- warning\n- error\n- completed\n- output_saved\n"
            "- rule_violation\n- escalated\n\n"
            "If the schema breaks the traceable chain of request, task, event, artifact, decision and lesson, "
            "it breaks MWMS task integrity.\n"
        ),
    ),
    CanonSpec(
        slug="brain-to-brain-request-protocol", title="MWMS Brain To Brain Request Protocol",
        document_type="Protocol", version="v1.2",
        body=(
            "Brains do not communicate through informal conversation; they communicate through structured "
            "requests that are declared, stored, visible, traceable, reviewable, governable, status driven and "
            "outcome based.\n\n"
            "A request ends in a visible outcome: what was requested, what was completed or found, what was "
            "decided, the evidence, what happens next, who owns it, and whether HeadOffice review is required. "
            "'Done' is not a governed outcome.\n\n"
            "Brain feedback is not canon. HeadOffice classifies it; only an approved HeadOffice decision may "
            "change MCR.\n"
        ),
    ),
    CanonSpec(
        slug="brain-connector-architecture", title="MWMS Brain Connector Architecture",
        document_type="Specification", version="v1.1",
        body=(
            "Six connector layers: origin, request, routing, task execution, result, visibility governance.\n\n"
            "Routing before execution. One primary Brain where several work. Lineage preserved. Tasks are "
            "subordinate to requests. Signals trigger requests, never replace them. Escalation stays inside "
            "the lineage. Result return is mandatory. HeadOffice sees request health and closure state.\n"
        ),
    ),
)


# --- the vocabulary of `seed_demo --scale` -------------------------------------------------------------

NICHES = (
    "portable power stations", "camping stoves", "e-bike batteries", "air fryers", "standing desks",
    "robot vacuums", "espresso machines", "smart thermostats", "trail running shoes", "baby monitors",
    "dehumidifiers", "VPN subscriptions", "meal kits", "password managers", "garden sheds", "heat pumps",
    "electric scooters", "mattresses", "dash cams", "solar panels",
)
MARKETS = ("UK", "DE", "FR", "NL", "US", "ES", "IT", "SE")
PRIORITIES, PRIORITY_WEIGHTS = ("low", "medium", "high", "urgent"), (3, 5, 2, 0.5)
SOURCE_ORIGINS = ("brain_workspace", "signal", "task_finding")

# request_type → (title, what the destination is asked to do, required output, task type)
SCALE_TEXT: dict[str, tuple[str, str, str, str]] = {
    "research_request": ("Size demand for {niche} in {market}",
                         "measure search and marketplace demand for {niche} in {market} over twelve weeks",
                         "A demand trend with sources and a confidence rating", "demand_research"),
    "offer_review_request": ("Review the leading {niche} offers in {market}",
                             "score the leading {niche} offers in {market} on commission, cookie window, refunds "
                             "and merchant record", "A verdict per offer with evidence and next step",
                             "offer_review"),
    "experimentation_request": ("Design a split test for {niche} ({offer})",
                                "define a split test for {offer}: hypothesis, variants, sample size and stop rule",
                                "An experiment definition", "experiment_design"),
    "finance_review_request": ("Budget review for {niche}: £{low:,} → £{high:,} a month",
                               "review a spend increase for {niche} from £{low:,} to £{high:,} a month",
                               "Approval or rejection, risk class, budget limit and pacing", "exposure_assessment"),
    "ads_signal_request": ("CPC drift on {niche} campaigns in {market}",
                           "explain a {pct}% CPC movement on {niche} campaigns in {market}",
                           "CPC trend by ad group with a recommendation", "campaign_analysis"),
    "compliance_review_request": ("Check {niche} landing page claims in {market}",
                                  "check the claims on the {niche} landing page against network and ad policy",
                                  "A compliance verdict with required edits", "compliance_check"),
    "risk_review_request": ("Merchant concentration risk in {niche}",
                            "assess how much {niche} revenue in {market} depends on one merchant",
                            "A risk classification and a limit", "risk_assessment"),
    "sit_integrity_request": ("Conversion mismatch on {niche}: network vs records",
                              "reconcile a {pct}% conversion mismatch on {niche} between the network and our records",
                              "An integrity verdict and the source of the mismatch", "integrity_check"),
    "content_support_request": ("Buying guide refresh for {niche} ({market})",
                                "refresh the {niche} buying guide for {market} with current prices and models",
                                "An updated guide ready to publish", "content_draft"),
    "data_validation_request": ("Validate refund rates of {niche} merchants",
                                "validate the refund rates {niche} merchants claim against marketplace returns",
                                "Validated rates with sources", "data_validation"),
    "dashboard_update_request": ("Add {niche} pacing to the dashboard",
                                 "add spend against budget for {niche} campaigns to the dashboard",
                                 "A dashboard widget refreshed hourly", "dashboard_build"),
    "plugin_ui_build_request": ("Intake form field for {niche} offer ids",
                                "add an offer id field for {niche} to the WordPress intake form",
                                "A released plugin change", "plugin_build"),
    "brain_room_request": ("Brain Room: summarise last week's {niche} results",
                           "summarise last week's {niche} results for the Brain Room thread",
                           "A one-page summary", "summary_write"),
    "head_office_review_request": ("Workspace friction on {niche} reviews",
                                   "review why a {niche} review takes four screens in the workspace",
                                   "A HeadOffice classification", "feedback_review"),
    "mcr_update_suggestion": ("Canon wording for {niche} handoffs",
                              "consider canon wording for the evidence {niche} handoffs must carry",
                              "A classification and an MCR decision", "canon_review"),
    "escalation_request": ("Conflicting verdicts on {niche}",
                           "arbitrate conflicting verdicts on {niche} between two Brains",
                           "A decision that resolves the conflict", "arbitration"),
}
FEEDBACK_TYPES = ("head_office_review_request", "mcr_update_suggestion")
WORK_TYPES = tuple(t for t in SCALE_TEXT if t not in FEEDBACK_TYPES)
CLOSED_OUTCOMES = ("recommendation_delivered", "decision_recorded", "approved_for_next_stage", "monitoring_only",
                   "routed_onward")
FINDINGS = ("the evidence supports moving ahead", "the numbers do not justify a change yet",
            "two of three options qualify", "the signal is real but smaller than reported",
            "the risk sits inside the agreed limit")
ERRORS = ("Timeout after 300 s waiting for the network reporting API", "Source view returned no rows for the window",
          "Merchant feed rejected the request (HTTP 429)", "Input payload is missing offer_id")


@dataclass(frozen=True)
class Archetype:
    """Where a synthetic request ends up, the statuses it passes through, and how common it is."""

    name: str
    path: tuple[str, ...]
    weight_old: float  # for requests older than three weeks
    weight_young: float


ARCHETYPES = (
    Archetype("closed", ("under_review", "routed", "in_progress", "responded", "closed"), 74, 22),
    Archetype("rejected", ("under_review", "rejected"), 8, 4),
    Archetype("parked", ("under_review", "parked"), 5, 3),
    Archetype("responded", ("under_review", "routed", "in_progress", "responded"), 2, 8),
    Archetype("in_progress", ("under_review", "routed", "in_progress"), 2, 16),
    Archetype("routed", ("under_review", "routed"), 1, 10),
    Archetype("under_review", ("under_review",), 0.5, 6),
    Archetype("new", (), 0.2, 6),
    Archetype("escalated", ("under_review", "routed", "in_progress", "escalated"), 1.5, 6),
    Archetype("blocked", ("under_review", "routed", "in_progress", "blocked"), 1.5, 5),
    Archetype("awaiting_evidence", ("under_review", "awaiting_evidence"), 1, 3),
    Archetype("returned_for_revision", ("under_review", "returned_for_revision"), 0.5, 2),
    Archetype("awaiting_head_office_review", ("awaiting_head_office_review",), 0.4, 3),
    Archetype("awaiting_mcr_decision", ("under_review", "awaiting_mcr_decision"), 0.4, 2),
)
OLD_WEIGHTS = [a.weight_old for a in ARCHETYPES]
YOUNG_WEIGHTS = [a.weight_young for a in ARCHETYPES]
