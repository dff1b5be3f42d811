"""Forms for the governance decisions: escalation resolution, feedback classification (protocol
rule 13), the MCR decision, decisions and lessons.

Forms only shape input. Text fields are optional here because the services say what a good answer
is ("done" is not an outcome, protocol rule 7); their refusals come back next to the field they name.
"""

from typing import Any

from django import forms

from governance_app.kernel import limits
from governance_app.kernel.forms import TEXTAREA, DocumentTextField, FormRefusalMixin
from governance_app.models import AmendmentType, Classification, McrDecision, WebhookEvent
from requests_app.forms import EvidencePickingMixin, EvidenceRecordsField, move_field, move_input
from requests_app.transitions import CLOSING_FIELDS

SHORT = forms.Textarea(attrs={"rows": 2})
RESOLUTIONS = [
    ("continue", "Continue — the request returns to where it was"),
    ("close", "Close — with the complete outcome below"),
    ("block", "Block — hold it until the blocker is lifted"),
]


def _text(label: str, *, help_text: str = "", widget: forms.Widget | None = TEXTAREA,
          required: bool = True, max_length: int = limits.TEXT) -> forms.CharField:
    """A text input the service checks; `required` only marks it for the browser and the reader."""
    field = forms.CharField(label=label, help_text=help_text, required=False, widget=widget, max_length=max_length)
    if required:
        field.widget.attrs["data-required"] = "true"
    return field


class GovernanceForm(FormRefusalMixin, forms.Form):
    """Each form on a queue page gets ids of its own, so several can share a page."""

    def __init__(self, *args, key: Any = "", **kwargs):
        kwargs.setdefault("auto_id", f"id_{key}_%s" if key else "id_%s")
        super().__init__(*args, **kwargs)


class EscalationResolveForm(EvidencePickingMixin, GovernanceForm):
    """The decision that resolves an escalation: the request continues, closes or is blocked."""

    lock_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    resolution = forms.ChoiceField(choices=RESOLUTIONS, initial="continue", widget=forms.RadioSelect,
                                   label="Resolution")
    decision_summary = _text("The decision", widget=SHORT)
    reasoning = _text("Reasoning", help_text="Why, and on what evidence.")
    note = _text("Note", widget=SHORT, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The complete outcome (protocol rule 7) when the resolution closes the request: the same
        # fields, built the same way, as the close move's form.
        for name in CLOSING_FIELDS:
            self.fields[name] = move_field(name, [], required=False)
        # The request's own records to tick as evidence, as on its drill-down (offer_evidence).
        self.fields["evidence_records"] = EvidenceRecordsField(required=False, label="Evidence from this lineage")
        self.evidence_groups: list = []

    @property
    def evidence_checked(self) -> set[str]:
        return {str(v) for v in (self["evidence_records"].value() or [])}

    def outcome_fields(self) -> list[forms.BoundField]:
        """The outcome's fields but its evidence, which the evidence picker shows."""
        return [self[name] for name in CLOSING_FIELDS if name != "outcome_evidence"]

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        outcome = move_input({"evidence_records": data.get("evidence_records"),
                              **{name: data[name] for name in CLOSING_FIELDS}})
        return {"resolution": data["resolution"], "decision_summary": data["decision_summary"],
                "reasoning": data["reasoning"], "note": data["note"], "outcome": outcome,
                "expected_version": data["lock_version"]}


class ClassifyForm(GovernanceForm):
    """HeadOffice's classification of Brain feedback: the ten choices of protocol rule 13 as one form."""

    lock_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    classification = forms.ChoiceField(choices=Classification.choices, widget=forms.RadioSelect,
                                       label="Classification")
    note = _text("Reasoning", help_text="Why this classification; it becomes the decision's reasoning.")
    route_to = forms.ChoiceField(label="Route to", required=False,
                                 help_text="For “Route to another Brain”; the update classifications otherwise "
                                           "go to the Brain that does that work.")

    def __init__(self, *args, brains: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["route_to"].choices = [("", "—"), *brains]

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"classification": data["classification"], "note": data["note"], "route_to": data["route_to"] or None,
                "expected_version": data["lock_version"]}


class McrDecisionForm(GovernanceForm):
    """The MCR gate: approve, reject or park a proposed update. An approval applies exactly the
    proposal shown above the form (amend it first with ProposalAmendForm)."""

    lock_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    decision = forms.ChoiceField(choices=McrDecision.choices, widget=forms.RadioSelect, label="MCR decision")
    reasoning = _text("Reasoning")
    amendment_type = forms.ChoiceField(label="Kind of amendment", required=False, initial=AmendmentType.MANUAL_UPDATE,
                                       choices=[(t.value, t.label) for t in AmendmentType
                                                if t not in (AmendmentType.ROLLBACK, AmendmentType.DREAM_PROMOTION)])
    new_version = _text("New version", help_text="Empty: the next one (v1.2 → v1.3).", widget=forms.TextInput,
                        required=False, max_length=limits.NAME)
    can_rollback = forms.BooleanField(label="May be rolled back later", required=False, initial=True)

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        kwargs = {"decision": data["decision"], "reasoning": data["reasoning"],
                  "new_version": data["new_version"], "expected_version": data["lock_version"],
                  "amendment_type": data["amendment_type"] or AmendmentType.MANUAL_UPDATE}
        # A checkbox left unticked is not sent: the form says it showed one (`can_rollback_shown`).
        kwargs["can_rollback"] = data["can_rollback"] if self.data.get("can_rollback_shown") else True
        return kwargs


class ProposalAmendForm(GovernanceForm):
    """HeadOffice amends the proposed change before deciding it: a new revision, with why."""

    lock_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    canon_document_id = forms.ChoiceField(label="Canon document", required=False)
    proposed_text = DocumentTextField(label="Proposed text", required=False, strip=False, max_length=limits.DOCUMENT,
                                    widget=forms.Textarea(attrs={"rows": 16, "class": "mono"}),
                                    help_text="The document's full text as it should read (Markdown).")
    note = _text("What you changed, and why", widget=SHORT)

    def __init__(self, *args, documents: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["canon_document_id"].choices = [("", "— the proposal's document —"), *documents]

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"canon_document_id": data["canon_document_id"] or None, "proposed_text": data["proposed_text"],
                "note": data["note"], "expected_version": data["lock_version"]}


class RollbackForm(GovernanceForm):
    reason = _text("Why roll it back", widget=SHORT)


class DecisionForm(GovernanceForm):
    """A decision on a request's lineage; a correction names the decision it supersedes."""

    decision_summary = _text("The decision", widget=SHORT)
    reasoning = _text("Reasoning")
    evidence_used = _text("Evidence used", required=False, widget=SHORT,
                          help_text="Artifacts, events, data or documents the decision rests on.")
    expected_outcome = _text("Expected outcome", required=False, widget=SHORT)
    supersedes_id = forms.ChoiceField(label="Supersedes", required=False,
                                      help_text="Only to correct an earlier decision on this request.")

    def __init__(self, *args, decisions: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["supersedes_id"].choices = [("", "— nothing —"), *decisions]

    def service_kwargs(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["supersedes_id"] = data["supersedes_id"] or None
        return data


class LessonForm(GovernanceForm):
    """What was learned from a request, optionally tied to one of its tasks or decisions."""

    event_or_experiment = _text("Event or experiment", widget=forms.TextInput, max_length=limits.TITLE)
    result = _text("Result", widget=SHORT)
    insight = _text("Insight", widget=SHORT)
    recommended_improvement = _text("Recommended improvement", widget=SHORT)
    originating_brain = forms.ChoiceField(label="Recorded for", required=False)
    task_id = forms.ChoiceField(label="From task", required=False)
    decision_id = forms.ChoiceField(label="From decision", required=False)

    def __init__(self, *args, brains: list[tuple[str, str]], tasks: list[tuple[str, str]],
                 decisions: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["originating_brain"].choices = brains
        self.fields["task_id"].choices = [("", "— none —"), *tasks]
        self.fields["decision_id"].choices = [("", "— none —"), *decisions]

    def service_kwargs(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        for name in ("originating_brain", "task_id", "decision_id"):
            data[name] = data[name] or None
        return data


class WebhookSubscriptionForm(GovernanceForm):
    """Subscribe an integration's URL to some of the tenant's events (kernel.webhooks checks it)."""

    name = forms.CharField(label="Name", max_length=limits.NAME, required=False,
                           help_text="Who receives it, e.g. “WordPress plugin” or “Brain Room”.")
    url = forms.CharField(label="URL", max_length=limits.LINK, required=False,
                          widget=forms.URLInput(attrs={"placeholder": "https://example.org/hooks/mwms"}))
    event_types = forms.MultipleChoiceField(label="Events", choices=WebhookEvent.choices, required=False,
                                            widget=forms.CheckboxSelectMultiple)

    def service_kwargs(self) -> dict[str, Any]:
        return {"name": self.cleaned_data["name"], "url": self.cleaned_data["url"],
                "event_types": self.cleaned_data["event_types"]}
