"""The form renderer writes widgets in Python (governance_app.kernel.forms.PythonWidgetRenderer):
the HTML must be Django's own, byte for byte, for every field of every form the pages show,
blank, filled with text that needs escaping, and bound with errors."""

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates

from governance_app.forms import (
    ClassifyForm,
    DecisionForm,
    EscalationResolveForm,
    LessonForm,
    McrDecisionForm,
    ProposalAmendForm,
    RollbackForm,
)
from governance_app.kernel.forms import PythonWidgetRenderer
from requests_app.forms import MoveForm, NoteForm, RequestCreateForm
from requests_app.transitions import MOVES
from tasks_app.forms import ArtifactForm, TaskMoveForm

BRAINS = [("research", "Research <Brain>"), ("affiliate", "Affiliate & \"Co\"")]
OPTIONS = [("1", "v1 <draft>"), ("2", "it's & done")]
NASTY = "<script>alert('x')</script> & \"quoted\""


def every_form(data=None):
    """One of each form the pages render, blank (data None) or bound to `data`."""
    made = [
        EscalationResolveForm(data, key="k1", initial={"lock_version": 3, "next_step_owner": "research"}),
        ClassifyForm(data, key="k2", brains=BRAINS, initial={"lock_version": 1}),
        McrDecisionForm(data, key="k3"),
        ProposalAmendForm(data, key="k3", documents=OPTIONS),
        RollbackForm(data, key="k4"),
        DecisionForm(data, decisions=OPTIONS),
        LessonForm(data, brains=BRAINS, tasks=OPTIONS, decisions=OPTIONS),
        RequestCreateForm(data, origins=BRAINS, brains=BRAINS),
        RequestCreateForm(data, origins=BRAINS, brains=BRAINS, documents=OPTIONS),
        NoteForm(data),
        ArtifactForm(data),
        *(TaskMoveForm(data, move=name) for name in ("complete", "fail", "cancel")),
        *(MoveForm(data, move=move, brains=BRAINS, prefix=move.name) for move in MOVES if not move.decision),
    ]
    return made


def widget_html(form: forms.Form, renderer) -> list[str]:
    form.renderer = renderer
    out = []
    for bound in form:
        bound.form.renderer = renderer
        out.append(str(bound))
        out += [sub.tag() for sub in bound] if isinstance(bound.field.widget, forms.RadioSelect) else []
    return out


@pytest.mark.parametrize("bound", [False, True], ids=["blank", "bound"])
def test_every_widget_renders_as_djangos_templates_do(bound):
    data = None
    if bound:
        fields = {name for form in every_form() for name in form.fields}
        prefixed = {f"{move.name}-{name}" for move in MOVES for name in fields}
        data = {name: NASTY for name in fields | prefixed}
    python, django = PythonWidgetRenderer(), DjangoTemplates()
    checked = 0
    for ours, theirs in zip(every_form(data), every_form(data)):
        if bound:
            ours.is_valid(), theirs.is_valid()
        mine, expected = widget_html(ours, python), widget_html(theirs, django)
        assert mine == expected, type(ours).__name__
        checked += len(expected)
    assert checked > 80  # the forms above have that many widgets: none was skipped


def test_the_site_renders_forms_with_it(settings):
    from django.forms.renderers import get_default_renderer

    get_default_renderer.cache_clear()
    assert isinstance(get_default_renderer(), PythonWidgetRenderer)
    assert settings.FORM_RENDERER == "governance_app.kernel.forms.PythonWidgetRenderer"


# --- selects kept per process (KeptSelect) ---------------------------------------------------------

def test_a_kept_select_writes_what_a_select_writes_for_each_value_choice_and_attribute():
    from governance_app.kernel.forms import KeptSelect

    renderer = PythonWidgetRenderer()
    kept, plain = KeptSelect(choices=BRAINS), forms.Select(choices=BRAINS)
    for value, attrs in [("", None), ("research", None), ("affiliate", {"id": "id_b"}),
                         ("affiliate", {"id": "id_b", "aria-invalid": "true"}), (NASTY, {"required": True})]:
        for _twice in range(2):  # the second render comes from the kept copy
            assert kept.render("brain", value, attrs, renderer) == plain.render("brain", value, attrs, renderer)
    # Other choices, or another name, are another select, not the one kept before.
    kept.choices = plain.choices = [*BRAINS, ("sit", "SIT")]
    assert kept.render("brain", "sit", None, renderer) == plain.render("brain", "sit", None, renderer)
    assert 'value="sit" selected' in kept.render("brain", "sit", None, renderer)
    assert kept.render("other", "sit", None, renderer) == plain.render("other", "sit", None, renderer)


def test_a_kept_select_starts_again_when_full(monkeypatch):
    from governance_app.kernel import forms as kit

    monkeypatch.setattr(kit.KeptSelect, "KEEP", 3)
    monkeypatch.setattr(kit, "_kept_selects", {})
    select, renderer = kit.KeptSelect(choices=OPTIONS), PythonWidgetRenderer()
    for n in range(10):
        assert f'name="s{n}"' in select.render(f"s{n}", "1", None, renderer)
        assert len(kit._kept_selects) <= 3
