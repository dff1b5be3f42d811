"""Forms for creating requests and for each move of the transition table.

Forms only shape input; every rule (placeholders, routing, outcomes) is checked by the services,
whose refusals come back onto the form next to the field they name.
"""

from django import forms

from governance_app.kernel import limits
from governance_app.kernel.forms import TEXTAREA, YES_NO, DatalistInput, DocumentTextField, FormRefusalMixin
from requests_app.models import OperatingLayer, OutcomeType, Priority, RequestType
from requests_app.transitions import Move

LABELS = {
    "destination_brain": "Destination Brain", "review_owner": "Review owner", "routing_notes": "Routing notes",
    "primary_brain": "Primary Brain", "supporting_brains": "Supporting Brains", "response_summary": "Response summary",
    "outcome_type": "Outcome type", "result_summary": "What was completed or found",
    "outcome_decision": "The decision made", "outcome_evidence": "Evidence",
    "next_step": "Next step", "next_step_owner": "Who owns the next step",
    "head_office_review_required": "HeadOffice review required?", "closure_reason": "Closure reason",
    "escalation_reason": "Escalation reason", "escalation_owner": "Escalation owner", "note": "Note",
    "request_summary": "Revised summary", "required_output": "Revised required output",
}
# Every text input's maximum is its column's (kernel.limits); the note and the evidence list are TEXT.
CAP = limits.columns("mwms_brain_requests")

HELP = {
    "outcome_evidence": "One per line: ids of this request's artifacts, events or decisions, or a link "
                        "(https://…) or a document id with its system (DOC-123 in Confluence).",
    "result_summary": "Say what was actually done or found — “done” is not an outcome.",
    "next_step_owner": "A Brain or a person.",
    "primary_brain": "When supporting Brains work on it too, name the one Brain that owns the result "
                     "(it cannot also be supporting).",
}
# The fields a move shows open; the others it takes wait behind "More options".
SHOWN_OPTIONAL = {"destination_brain", "routing_notes", "closure_reason"}
SEVERAL_BRAINS = ("primary_brain", "supporting_brains")


class EvidenceRecordsField(forms.MultipleChoiceField):
    """The lineage records ticked as evidence. Any id is taken here: whether it belongs to this
    lineage is the services' rule (evidence_normalise), which says so in words."""

    widget = forms.CheckboxSelectMultiple

    def valid_value(self, value) -> bool:
        return True


def move_field(name: str, brains: list[tuple[str, str]], required: bool) -> forms.Field:
    """The input for one field a move takes (the transition table's names)."""
    label, help_text = LABELS.get(name, name.replace("_", " ").capitalize()), HELP.get(name, "")
    brain_choices = [("", "—"), *brains]
    if name in ("destination_brain", "review_owner", "primary_brain", "escalation_owner"):
        return forms.ChoiceField(choices=brain_choices, required=required, label=label)
    if name == "supporting_brains":
        return forms.MultipleChoiceField(choices=brains, required=False, label=label,
                                         widget=forms.CheckboxSelectMultiple)
    if name == "outcome_type":
        return forms.ChoiceField(choices=[("", "—"), *OutcomeType.choices], required=required, label=label)
    if name == "head_office_review_required":
        return forms.ChoiceField(choices=YES_NO, required=required, label=label)
    limit = CAP.get(name, limits.TEXT)
    if name in ("next_step_owner",):
        # Suggests the Brains by name, takes a person's name as well.
        return forms.CharField(required=required, label=label, help_text=help_text, max_length=limit,
                               widget=DatalistInput([(slug, name) for slug, name in brains]))
    return forms.CharField(required=required, label=label, help_text=help_text, widget=TEXTAREA, max_length=limit)


class EvidencePickingMixin:
    """A form whose outcome evidence is ticked among a lineage's records (its `evidence_records`)
    or typed (its `outcome_evidence`): the drill-down's Close and Reject forms, and the escalations
    page's resolution by closing."""

    def offer_evidence(self, groups: list) -> None:
        """List the lineage's records as evidence to tick (requests_app.drilldown.evidence_groups);
        what is typed is then external evidence."""
        self.evidence_groups = groups
        self.fields["evidence_records"].choices = [(r.id, r.title) for _title, records in groups for r in records]
        if groups:
            typed = self.fields["outcome_evidence"]
            typed.label = "External evidence"
            typed.help_text = ("One per line: a link (https://…) or a document id with its system "
                               "(DOC-123 in Confluence).")
            typed.widget.attrs["rows"] = 2


class MoveForm(EvidencePickingMixin, FormRefusalMixin, forms.Form):
    """The inputs one move takes, built from the transition table's required and optional fields."""

    lock_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, move: Move, brains: list[tuple[str, str]], evidence: list | None = None, **kwargs):
        """`evidence`: the lineage's records a final move may name, as (group title, [records])
        (requests_app.drilldown.evidence_groups); without it evidence is typed."""
        super().__init__(*args, **kwargs)
        self.move = move
        for name in move.required:
            # Required fields are checked by the service, which says what a good answer is; the
            # browser only marks them.
            self.fields[name] = move_field(name, brains, required=False)
            self.fields[name].required_hint = True
        for name in move.optional:
            self.fields[name] = move_field(name, brains, required=False)
        if "note" not in self.fields:
            self.fields["note"] = forms.CharField(required=False, label="Note", max_length=limits.TEXT,
                                                  widget=forms.Textarea(attrs={"rows": 2}))
        self.evidence_groups: list = []
        if "outcome_evidence" in self.fields and evidence is not None:
            self.fields["evidence_records"] = EvidenceRecordsField(required=False, label="Evidence from this lineage")
            self.offer_evidence(evidence)

    # The form in three parts: what the move needs, the Brains when several work it, the rest.
    def fields_needed(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if self._part(name) == "needed"]

    def fields_several_brains(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if self._part(name) == "several"]

    def fields_more(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if self._part(name) == "more"]

    def _part(self, name: str) -> str:
        if name in ("lock_version", "evidence_records"):  # evidence_records shows beside outcome_evidence
            return "hidden" if name == "lock_version" else "evidence"
        if name in SEVERAL_BRAINS:
            return "several"
        if name in self.move.required or name in SHOWN_OPTIONAL:
            return "needed"
        return "more"

    @property
    def takes_evidence(self) -> bool:
        return "outcome_evidence" in self.fields

    @property
    def evidence_checked(self) -> set[str]:
        if "evidence_records" not in self.fields:
            return set()
        return {str(v) for v in (self["evidence_records"].value() or [])}

    def focus_first_error(self) -> None:
        """Put the cursor on the first field that was refused (or the first field) when it shows again."""
        names = [n for n in self.errors if n in self.fields and n != "lock_version"]
        visible = [n for n in self.fields if n != "lock_version"]
        target = names[0] if names else (visible[0] if visible else None)
        if target == "outcome_evidence" and "evidence_records" in self.fields and self.evidence_groups:
            target = "evidence_records"
        if target:
            self.fields[target].widget.attrs["autofocus"] = True
        self.focused = target

    def move_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("lock_version", None)
        data.pop("note", None)
        return move_input(data)


def move_input(data: dict) -> dict:
    """Typed input as the services take it: evidence one item per line, an unanswered yes/no as None."""
    data = dict(data)
    records = data.pop("evidence_records", None) or []
    if "outcome_evidence" in data:
        data["outcome_evidence"] = [*records, *(line.strip() for line in (data["outcome_evidence"] or "").splitlines()
                                                if line.strip())]
    if data.get("head_office_review_required") == "":
        data["head_office_review_required"] = None
    return data


class RequestCreateForm(FormRefusalMixin, forms.Form):
    origin_brain = forms.ChoiceField(label="From (origin Brain)")
    destination_brain = forms.ChoiceField(label="To (destination Brain)")
    request_type = forms.ChoiceField(choices=RequestType.choices)
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.MEDIUM)
    request_title = forms.CharField(label="Title", max_length=CAP["request_title"])
    request_summary = forms.CharField(label="Summary", widget=TEXTAREA, max_length=CAP["request_summary"],
                                      help_text="What is being asked, and why now.")
    required_output = forms.CharField(label="Required output", required=False, max_length=CAP["required_output"],
                                      widget=forms.Textarea(attrs={"rows": 2}))
    operating_layer = forms.ChoiceField(choices=OperatingLayer.choices, initial=OperatingLayer.OPERATIONAL)
    parent_request_id = forms.CharField(label="Parent request id", required=False, max_length=limits.NAME)
    originating_task_id = forms.CharField(label="Originating task id", required=False, max_length=limits.NAME)
    intake_id = forms.CharField(required=False, label="Intake id", max_length=CAP["intake_id"])
    offer_id = forms.CharField(required=False, label="Offer id", max_length=CAP["offer_id"])
    experiment_id = forms.CharField(required=False, label="Experiment id", max_length=CAP["experiment_id"])
    source_origin = forms.CharField(required=False, label="Source origin", help_text="e.g. research_signal",
                                    max_length=CAP["source_origin"])
    source_page = forms.CharField(required=False, label="Source page", max_length=CAP["source_page"])
    source_system = forms.CharField(required=False, label="Source system", max_length=CAP["source_system"])
    escalation_flag = forms.BooleanField(required=False, label="Escalation controls at creation")
    feedback_required = forms.BooleanField(required=False, label="Feedback for HeadOffice")
    mcr_update_suggested = forms.BooleanField(required=False, label="Suggests an MCR update")
    head_office_visible = forms.BooleanField(required=False, initial=True, label="Visible to HeadOffice")
    # An mcr_update_suggestion's exact change (issue 15): the document, and its full proposed text.
    canon_document = forms.ChoiceField(label="Canon document to change", required=False,
                                       help_text="MCR update suggestions: the document the change is to.")
    proposed_text = DocumentTextField(label="Proposed text", required=False, strip=False, max_length=limits.DOCUMENT,
                                    widget=forms.Textarea(attrs={"rows": 12, "class": "mono"}),
                                    help_text="The document's full text as it should read (Markdown); HeadOffice "
                                              "sees it beside the current text before deciding.")
    reason = forms.CharField(label="Reason for the change", required=False, max_length=limits.TEXT,
                             widget=forms.Textarea(attrs={"rows": 3}),
                             help_text="Why the document should read so. HeadOffice reads it beside the diff, and "
                                       "the amendment keeps it.")
    # The records it rests on (requests_app.evidence): one per line, as an id, `kind: id`, or a link.
    evidence = forms.CharField(label="Evidence (requests, decisions, lessons)", required=False,
                               max_length=limits.TEXT, strip=False,
                               widget=forms.Textarea(attrs={"rows": 3, "class": "mono", "spellcheck": "false",
                                                            "placeholder": "https://…/requests/<id>/\n"
                                                                           "decision: <id>\nlesson: <id>"}),
                               help_text="One per line: a request, decision or lesson of this organisation. Paste "
                                         "a request's address, or the “Cite” link beside a decision or lesson on "
                                         "a request's page, or type its id.")

    def __init__(self, *args, origins: list[tuple[str, str]], brains: list[tuple[str, str]],
                 documents: list[tuple[str, str]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["origin_brain"].choices = origins
        self.fields["destination_brain"].choices = [("", "—"), *brains]
        if documents is None:  # a form with no canon to choose from proposes no change to it
            del self.fields["canon_document"], self.fields["proposed_text"], self.fields["reason"]
        else:
            self.fields["canon_document"].choices = [("", "—"), *documents]


class NoteForm(FormRefusalMixin, forms.Form):
    """A human note on a request's history (the drill-down's "Add a note")."""

    note = forms.CharField(label="Add a note to the history", max_length=limits.TEXT,
                           widget=forms.Textarea(attrs={"rows": 2}))


class RequestIdsField(forms.Field):
    """Several request ids from ticked boxes or hidden inputs; each is checked by the bulk service."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[str]:
        if not value:
            return []
        return [str(v) for v in (value if isinstance(value, (list, tuple)) else [value])]


BULK_SCOPES = (("selected", "The requests ticked"), ("page", "Every request on this page"),
               ("filter", "Every request matching the filter"))
REJECT_FIELDS = ("outcome_type", "result_summary", "outcome_decision", "outcome_evidence", "next_step",
                 "next_step_owner", "head_office_review_required", "closure_reason")
ROUTE_FIELDS = ("review_owner", "destination_brain", "routing_notes")


class BulkForm(FormRefusalMixin, forms.Form):
    """The request list's bulk bar: which requests, which action, and the input the action takes.
    The input goes to each request's own service, which says what is missing or wrong."""

    action = forms.ChoiceField(choices=[("route", "Route"), ("park", "Park"), ("reject", "Reject"),
                                        ("assign", "Assign"), ("note", "Add a note")])
    scope = forms.ChoiceField(choices=BULK_SCOPES, initial="selected", widget=forms.RadioSelect, label="Apply to")
    selected = RequestIdsField(required=False)
    page_ids = RequestIdsField(required=False)
    query = forms.CharField(required=False, widget=forms.HiddenInput, max_length=limits.TEXT)
    note = forms.CharField(required=False, label="Note", max_length=limits.TEXT,
                           help_text="Written on each request's history; parking and adding a note need one.",
                           widget=forms.Textarea(attrs={"rows": 2}))
    assignee = forms.ChoiceField(required=False, label="Assign to")
    cite_latest_event = forms.BooleanField(
        required=False, initial=True, label="Each request cites its own latest event as evidence",
        help_text="The state it is in as you reject it; the requests come from different lineages, so no "
                  "other record is evidence for all of them.")

    def __init__(self, *args, brains: list[tuple[str, str]], people: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        for name in ROUTE_FIELDS:
            self.fields[name] = move_field(name, brains, required=False)
        self.fields["review_owner"].required_hint = True
        self.fields["destination_brain"].choices = [("", "— keep each request's"), *brains]
        for name in REJECT_FIELDS:
            self.fields[name] = move_field(name, brains, required=False)
            self.fields[name].required_hint = name not in ("closure_reason", "outcome_evidence")
        evidence = self.fields["outcome_evidence"]
        evidence.label = "External evidence every request can cite"
        evidence.help_text = ("One per line: a link (https://…) or a document id with its system "
                              "(DOC-123 in Confluence). Needed when the box above is not ticked.")
        evidence.widget.attrs["rows"] = 2
        self.fields["assignee"].choices = [("", "Nobody (unassign)"), *people]

    def route_fields(self) -> dict:
        return {name: self.cleaned_data.get(name) or "" for name in ROUTE_FIELDS}

    def reject_fields(self) -> dict:
        return {**move_input({name: self.cleaned_data.get(name) for name in REJECT_FIELDS}),
                "cite_latest_event": self.cleaned_data.get("cite_latest_event", False)}


class AssignForm(FormRefusalMixin, forms.Form):
    """The drill-down's assign / unassign."""

    assignee = forms.ChoiceField(required=False, label="Assign to")
    lock_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, people: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [("", "Nobody"), *people]
