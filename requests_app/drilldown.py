"""What the lineage drill-down shows in words: the evidence a closed request names, the records its
Close form offers as evidence, its timeline with one entry per action, and the sentence a move's
success reads as. Reads only what `selectors.request_lineage` already loaded, except evidence that
names a record of another request of the chain (a fixed number of queries, and none otherwise).
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.urls import reverse

from governance_app.models import DecisionRecord
from requests_app.models import BrainRequest, RequestEvent, RequestEventType, RequestStatus
from requests_app.selectors import Lineage, evidence_rows_for

KIND_LABELS = {"artifact": "Artifact", "task_event": "Task event", "request_event": "Event",
               "decision": "Decision", "external": "External reference"}
LABEL_WORDS = 12  # how much of a summary a checkbox label or an evidence row quotes


def _words(text: str | None, n: int = LABEL_WORDS) -> str:
    words = (text or "").split()
    return " ".join(words[:n]) + ("…" if len(words) > n else "")


def _href(request_pk: Any, anchor: str, here: BrainRequest) -> str:
    base = "" if str(request_pk) == str(here.pk) else reverse("requests:detail", args=[request_pk])
    return f"{base}#{anchor}"


# --- the records a final move may name as evidence ------------------------------------------------

@dataclass(frozen=True)
class EvidenceRecord:
    id: str
    kind: str          # artifact, task_event, request_event, decision
    title: str         # what a reader recognises it by
    href: str

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]


def _artifact(a: Any, task: Any, here: BrainRequest) -> EvidenceRecord:
    return EvidenceRecord(str(a.pk), "artifact", f"{a.artifact_type}: {_words(a.artifact_summary)} (task “{task}”)",
                          _href(task.request_id, f"artifact-{a.pk}", here))


def _decision(d: Any, here: BrainRequest) -> EvidenceRecord:
    request_pk = d.related_request_id or (d.related_task.request_id if d.related_task_id else here.pk)
    return EvidenceRecord(str(d.pk), "decision", _words(d.decision_summary),
                          _href(request_pk, f"decision-{d.pk}", here))


def _event(e: Any, request_pk: Any, here: BrainRequest, task: Any = None) -> EvidenceRecord:
    kind = "task_event" if task is not None else "request_event"
    where = f" · task “{task}”" if task is not None else ""
    title = f"{e.get_event_type_display()}{where}, {e.created_at:%d %b %Y %H:%M}: {_words(e.event_summary, 8)}"
    return EvidenceRecord(str(e.pk), kind, title, _href(request_pk, f"event-{e.pk}", here))


def lineage_records(lineage: Lineage) -> dict[str, EvidenceRecord]:
    """This request's artifacts, decisions and events by id, in that order (no query)."""
    here = lineage.request
    records: dict[str, EvidenceRecord] = {}
    for task in lineage.tasks:
        for artifact in task.artifacts.all():
            records[str(artifact.pk)] = _artifact(artifact, task, here)
    for decision in lineage.decisions:
        records[str(decision.pk)] = _decision(decision, here)
    for item in lineage.timeline:
        event = item["event"]
        records[str(event.pk)] = _event(event, here.pk, here, task=item["task"])
    return records


def evidence_groups_for(*, requests: list[BrainRequest]) -> dict[Any, list[tuple[str, list[EvidenceRecord]]]]:
    """Each request's evidence choices, as its drill-down's Close form offers them, for a page of
    requests (the escalations page's "close" resolutions): four queries at any number of rows."""
    by_pk = {r.pk: r for r in requests}
    groups = {}
    for pk, rows in evidence_rows_for(requests=requests).items():
        here = by_pk[pk]
        records: dict[str, EvidenceRecord] = {}
        for artifact in rows.artifacts:
            records[str(artifact.pk)] = _artifact(artifact, artifact.task, here)
        for decision in rows.decisions:
            records[str(decision.pk)] = _decision(decision, here)
        for event, task in rows.events:
            records[str(event.pk)] = _event(event, here.pk, here, task=task)
        groups[pk] = evidence_groups(records)
    return groups


def evidence_groups(records: dict[str, EvidenceRecord]) -> list[tuple[str, list[EvidenceRecord]]]:
    """The Close form's evidence choices: artifacts, decisions, then events; empty groups left out."""
    groups = [("Artifacts", ("artifact",)), ("Decisions", ("decision",)), ("Events", ("request_event", "task_event"))]
    out = [(title, [r for r in records.values() if r.kind in kinds]) for title, kinds in groups]
    return [(title, found) for title, found in out if found]


# --- the evidence a final request names, in words ---------------------------------------------------

@dataclass(frozen=True)
class EvidenceItem:
    kind_label: str
    title: str
    href: str = ""
    reference: str = ""   # the id, or the external reference as written
    missing: bool = False  # an id that names no record of this lineage any more


def _entry(raw: Any) -> tuple[str, str]:
    """(kind, value) of one stored evidence entry: {"kind", "id"} / {"kind": "external", "text"} as
    the services store it, or a bare id or text as other clients may write the jsonb list."""
    if isinstance(raw, dict):
        value = str(raw.get("id") or raw.get("text") or "").strip()
        kind = str(raw.get("kind") or "")
    else:
        value, kind = str(raw if raw is not None else "").strip(), ""
    if kind != "external":
        try:
            return kind or "record", str(uuid.UUID(value))
        except ValueError:
            pass
    return "external", value


def _elsewhere(ids: list[str], here: BrainRequest) -> dict[str, EvidenceRecord]:
    """Evidence records of other requests of the chain, by id: four queries, one per kind."""
    task_model = BrainRequest.tasks.rel.related_model
    artifact_model, task_event_model = task_model.artifacts.rel.related_model, task_model.events.rel.related_model
    tenant = {"tenant_id": here.tenant_id}
    found: dict[str, EvidenceRecord] = {}
    for a in artifact_model.objects.filter(pk__in=ids, **tenant).select_related("task"):
        found[str(a.pk)] = _artifact(a, a.task, here)
    for e in task_event_model.objects.filter(pk__in=ids, **tenant).select_related("task"):
        found[str(e.pk)] = _event(e, e.task.request_id, here, task=e.task)
    for e in RequestEvent.objects.filter(pk__in=ids, **tenant):
        found[str(e.pk)] = _event(e, e.request_id, here)
    for d in DecisionRecord.objects.filter(pk__in=ids, **tenant).select_related("related_task"):
        found[str(d.pk)] = _decision(d, here)
    return found


def evidence_items(request: BrainRequest, records: dict[str, EvidenceRecord]) -> list[EvidenceItem]:
    """Each evidence entry of the request as a reader sees it: its kind, its title, a link to it."""
    entries = [_entry(raw) for raw in (request.outcome_evidence or [])]
    entries = [(kind, value) for kind, value in entries if value]
    unknown = [value for kind, value in entries if kind != "external" and value not in records]
    if unknown:
        records = {**records, **_elsewhere(unknown, request)}
    items = []
    for kind, value in entries:
        if kind == "external":
            link = value if value.startswith(("https://", "http://")) else ""
            items.append(EvidenceItem(KIND_LABELS["external"], value, link, value))
        elif value in records:
            record = records[value]
            items.append(EvidenceItem(record.kind_label, record.title, record.href, value))
        else:
            items.append(EvidenceItem(KIND_LABELS.get(kind, "Record"), "not found in this lineage", "", value,
                                      missing=True))
    return items


# --- the timeline, one entry per action -----------------------------------------------------------

# A move made by a decision writes the decision's event and its status change, both naming the
# decision; an assignment made with a move writes both within one transaction. Each is one action.
ONE_ACTION = timedelta(seconds=2)
COMPANIONS = {RequestEventType.STATUS_CHANGED, RequestEventType.ASSIGNED}


def _status_label(code: str | None, task: Any) -> str:
    if not code:
        return ""
    choices = dict(type(task).status.field.choices) if task is not None else dict(RequestStatus.choices)
    return str(choices.get(code, code.replace("_", " ")))


def _one_action(entry: dict[str, Any], item: dict[str, Any]) -> bool:
    if entry["task"] is not None or item["task"] is not None:
        return False
    last, event = entry["events"][-1], item["event"]
    decided = last.event_payload.get("decision_id")
    if decided and decided == event.event_payload.get("decision_id"):
        return True
    return (last.actor == event.actor and item["at"] - entry["at"] <= ONE_ACTION
            and {last.event_type, event.event_type} == COMPANIONS)


def timeline_entries(lineage: Lineage, people: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The timeline's rows: a task's created event is told once (by the request's task_created
    event), and the events of one action (a decision and the move it makes) are one row. `people`:
    each username's person_label (selectors.people_by_username), so a person shows by name."""
    announced = {str(item["event"].event_payload.get("task_id")) for item in lineage.timeline
                 if item["task"] is None and item["event"].event_type == RequestEventType.TASK_CREATED}
    tasks = {str(t.pk): t for t in lineage.tasks}
    entries: list[dict[str, Any]] = []
    for item in lineage.timeline:
        event, task = item["event"], item["task"]
        if task is not None and event.event_type == "created" and str(task.pk) in announced:
            continue
        if entries and _one_action(entries[-1], item):
            entries[-1]["events"].append(event)
            continue
        if task is None and event.event_type == RequestEventType.TASK_CREATED:
            entries.append({"at": item["at"], "task": tasks.get(str(event.event_payload.get("task_id"))),
                            "events": [event], "announces_task": True})
        else:
            entries.append({"at": item["at"], "task": task, "events": [event]})
    for entry in entries:
        entry["event"] = entry["events"][0]
        entry["by"] = actor_words(entry["event"].actor, people)
        entry["by_username"] = entry["event"].actor if entry["by"] != entry["event"].actor else ""
        moved = next((e for e in entry["events"] if (e.from_status or e.to_status) and e.from_status != e.to_status),
                     None)
        summaries = list(dict.fromkeys(e.event_summary for e in entry["events"] if e.event_summary))
        notes = (getattr(e, "note", "") for e in entry["events"])  # task events carry no note
        entry["summaries"], entry["notes"] = summaries, list(dict.fromkeys(note for note in notes if note))
        entry["kinds"] = list(dict.fromkeys((e.event_type, e.get_event_type_display()) for e in entry["events"]))
        entry["move"] = ""
        if moved is not None:
            task = None if entry.get("announces_task") else entry["task"]
            arrow = f"{_status_label(moved.from_status, task)} → {_status_label(moved.to_status, task)}"
            arrow = arrow.strip()
            if not any(arrow in s for s in summaries):  # the summary already says it in words
                entry["move"] = arrow
    return entries


def actor_words(label: str | None, people: dict[str, str] | None = None) -> str:
    """Who wrote an event, as a reader says it: an API token by its label, a person by name (their
    full name, else their username: selectors.person_label)."""
    if not label:
        return "—"
    if label.startswith("token:"):
        return f"{label.removeprefix('token:')} (API token)"
    return (people or {}).get(label, label)


# --- a move's success, in a sentence ---------------------------------------------------------------

def move_done_message(*, move: str, request: BrainRequest, names: dict[str, str]) -> str:
    """What the person reads after a move succeeds: where the request went, with Brain names."""
    def name(slug: str | None) -> str:
        return names.get(slug or "", slug or "—")

    status = request.get_status_display().lower()
    destination, origin = name(request.primary_brain_id or request.target_brain_id), name(request.requesting_brain_id)
    return {
        "submit_for_review": "Request sent to HeadOffice for review.",
        "route": f"Request sent to {destination}; {name(request.review_owner_id)} reviews it.",
        "accept": f"Accepted: {destination} is working on it.",
        "respond": f"Response sent to {origin}.",
        "return_for_revision": f"Request returned to {origin} for revision.",
        "return_response": f"Response returned to {destination} for revision.",
        "resubmit": "Request resubmitted for review.",
        "request_evidence": "Evidence requested: the request waits for it.",
        "provide_evidence": f"Evidence provided: the request is {status} again.",
        "ask_head_office": "Request sent to HeadOffice for review.",
        "escalate": f"Request escalated to {name(request.escalation_owner_id)}.",
        "block": "Request blocked.",
        "unblock": f"Request unblocked: it is {status} again.",
        "park": "Request parked.",
        "unpark": f"Request resumed: it is {status} again.",
        "reject": f"Request rejected; {origin} sees the outcome.",
        "close": "Request closed with its outcome.",
    }.get(move, f"The request is now {status}.")
