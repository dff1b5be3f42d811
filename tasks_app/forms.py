"""Forms for the task panel of a request: create a task, move it, save an artifact."""

from django import forms
from django.core.validators import RegexValidator

from governance_app.kernel import limits
from governance_app.kernel.db import SNAKE_CASE_WORD
from governance_app.kernel.forms import DatalistInput, FormRefusalMixin
from requests_app.models import BrainRequest, Priority
from requests_app.transitions import working_brains
from tasks_app.models import OutputMode, RiskLevel

CAP = limits.columns("mwms_tasks")
ARTIFACT_CAP = limits.columns("mwms_task_artifacts")


# The task types the task form suggests (the demo story's), beside those already used under the
# request; the canon's task_type is free text, so another word is taken too.
TASK_TYPES = (("offer_review", "Offer review"), ("experiment_design", "Experiment design"),
              ("exposure_assessment", "Exposure assessment"), ("landing_copy", "Landing copy"),
              ("dashboard_build", "Dashboard build"), ("research_validation", "Research validation"))


class TaskCreateForm(FormRefusalMixin, forms.Form):
    task_type = forms.CharField(label="Task type", help_text="pick one, or type another", max_length=CAP["task_type"])
    title = forms.CharField(required=False, max_length=CAP["title"])
    assigned_brain = forms.ChoiceField(label="Assigned Brain")
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.MEDIUM)
    risk_level = forms.ChoiceField(choices=RiskLevel.choices, initial=RiskLevel.LOW)
    output_mode = forms.CharField(
        initial=OutputMode.ARTIFACT, max_length=limits.WORD, widget=DatalistInput(OutputMode.values),
        help_text=f"{', '.join(OutputMode.values)}, or another word such as report",
        validators=[RegexValidator(SNAKE_CASE_WORD, "Use a lowercase snake_case word: a-z, 0-9 and _, a letter "
                                                    "first (e.g. report).")],
    )
    max_attempts = forms.IntegerField(min_value=1, max_value=20, initial=3)
    execution_notes = forms.CharField(required=False, label="Instructions", max_length=CAP["execution_notes"],
                                      widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, request: BrainRequest, brains: list[tuple[str, str]] | None = None,
                 used_types: list[str] | None = None, **kwargs):
        """`brains`: (slug, name) of the registry, to name the Brains; `used_types`: the task types
        already under the request, suggested first."""
        super().__init__(*args, **kwargs)
        names = dict(brains or [])
        slugs = sorted(working_brains(request), key=lambda slug: names.get(slug, slug))
        self.fields["assigned_brain"].choices = [(s, names.get(s, s)) for s in slugs]
        known = dict(TASK_TYPES)
        types = [*dict.fromkeys(used_types or []), *(t for t in known if t not in (used_types or []))]
        self.fields["task_type"].widget = DatalistInput([(t, known.get(t, "")) for t in types])
        self.fields["assigned_brain"].initial = request.primary_brain_id or request.target_brain_id
        self.fields["priority"].initial = request.priority


# The inputs each task move takes in the browser (the executor API takes the same).
TASK_MOVE_FIELDS = {
    "complete": ("result_summary", "What the task produced or found"),
    "fail": ("error", "What went wrong"),
    "cancel": ("reason", "Why it is cancelled"),
    "escalate": ("reason", "Why it needs escalation"),
    "progress": ("summary", "Progress so far"),
    "warn": ("summary", "The warning"),
    "start": ("note", "Note"),
    "retry": ("note", "Note"),
}


class TaskMoveForm(FormRefusalMixin, forms.Form):
    def __init__(self, *args, move: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.move = move
        if move in TASK_MOVE_FIELDS:
            name, label = TASK_MOVE_FIELDS[move]
            self.fields[name] = forms.CharField(required=False, label=label, max_length=limits.TEXT,
                                                widget=forms.Textarea(attrs={"rows": 2}))


class ArtifactForm(FormRefusalMixin, forms.Form):
    artifact_type = forms.CharField(label="Type", help_text="e.g. verdict, scorecard, report",
                                    max_length=ARTIFACT_CAP["artifact_type"])
    artifact_summary = forms.CharField(label="Summary", max_length=ARTIFACT_CAP["artifact_summary"])
    content_location = forms.CharField(required=False, label="Where it lives (link)",
                                       max_length=ARTIFACT_CAP["content_location"])
    as_result = forms.BooleanField(required=False, label="This is the task's result")
    replaces_id = forms.UUIDField(required=False, label="Corrects artifact (id)",
                                  help_text="Artifacts are write-once: a corrected output names the one it replaces.")


