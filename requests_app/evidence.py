"""The evidence an `mcr_update_suggestion` cites (issue 15, item 2): requests, decisions and
lessons of its tenant, stored one row each in SuggestionEvidence with a real foreign key.

Input comes as `{kind, id}` items (the API) or as lines of text (the form: an id, `kind:id`, or a
link copied from a request's page, `…/requests/<id>/#decision-<id>`). Every id is looked up
among the records the actor may see, in one query per kind: an id that does not exist, is
another tenant's, or is hidden from the actor gets the same answer, so the refusal tells nothing
of records the actor may not see.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.db.models import Exists, OuterRef, Value
from django.urls import reverse

from governance_app.kernel.actors import Actor
from governance_app.kernel.errors import DomainError
from governance_app.models import EVIDENCE_CITES, EvidenceKind, SuggestionEvidence
from requests_app.models import BrainRequest
from requests_app.selectors import decisions_visible_to, lessons_visible_to, requests_visible_to

FIELD = "evidence"
MOST = 50          # items one suggestion may cite
KINDS = ", ".join(EvidenceKind.values)
UUID_RE = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
ANCHOR = re.compile(rf"#(decision|lesson)-({UUID_RE})")
PREFIXED = re.compile(rf"^\s*(\w+)\s*[:\s]\s*({UUID_RE})\s*$")


def _refused(position: int, message: str) -> DomainError:
    return DomainError(f"Evidence item {position}: {message}", field=FIELD)


def _uuid(value: Any, position: int) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value).strip())
    except (ValueError, AttributeError):
        raise _refused(position, f"{str(value)[:80]!r} is not an id (a UUID like the ones the pages show).") from None


def evidence_items(value: Any) -> list[tuple[str | None, uuid.UUID]]:
    """The (kind, id) pairs given, in order and once each; kind None where the form left it to be
    found. Accepts a list of {kind, id} mappings, or of text lines."""
    if value in (None, "", []):
        return []
    if isinstance(value, str):
        value = value.splitlines()
    if not isinstance(value, Sequence):
        raise DomainError("evidence: a list of {kind, id} items.", field=FIELD)
    items: list[tuple[str | None, uuid.UUID]] = []
    for position, item in enumerate(value, start=1):
        if isinstance(item, Mapping):
            kind, raw = item.get("kind"), item.get("id")
            if kind not in EvidenceKind.values:
                raise _refused(position, f"the kind must be one of {KINDS}, not {str(kind)[:40]!r}.")
            items.append((kind, _uuid(raw, position)))
        elif isinstance(item, str):
            line = item.strip()
            if not line:
                continue
            anchored, prefixed = ANCHOR.search(line), PREFIXED.match(line)
            if anchored:                        # a decision's or lesson's link on a request's page
                items.append((anchored.group(1), _uuid(anchored.group(2), position)))
            elif prefixed:                      # "decision: <id>"
                kind = prefixed.group(1).lower()
                if kind not in EvidenceKind.values:
                    raise _refused(position, f"the kind must be one of {KINDS}, not {kind!r}.")
                items.append((kind, _uuid(prefixed.group(2), position)))
            else:                               # a bare id, or a request's link
                found = re.findall(UUID_RE, line)
                items.append((None, _uuid(found[-1] if len(found) == 1 else line, position)))
        else:
            raise _refused(position, "give {kind, id}.")
    unique, seen = [], set()
    for kind, pk in items:
        if pk not in seen:
            seen.add(pk)
            unique.append((kind, pk))
    if len(unique) > MOST:
        raise DomainError(f"evidence: at most {MOST} items.", field=FIELD)
    return unique


def evidence_resolve(*, actor: Actor, items: list[tuple[str | None, uuid.UUID]],
                     citing: BrainRequest | None = None) -> list[tuple[str, Any]]:
    """Each item's record, among those the actor may see (one query per kind asked for), or the
    refusal naming the first that is not there."""
    if not items:
        return []
    ids = [pk for _, pk in items]
    wanted = {kind for kind, _ in items}
    found: dict[str, dict[uuid.UUID, Any]] = {kind: {} for kind in EvidenceKind.values}
    readers = {EvidenceKind.REQUEST: lambda: requests_visible_to(actor).only("pk", "request_title", "tenant_id"),
               EvidenceKind.DECISION: lambda: decisions_visible_to(actor).only("pk", "decision_summary", "tenant_id"),
               EvidenceKind.LESSON: lambda: lessons_visible_to(actor).only("pk", "insight", "tenant_id")}
    for kind, read in readers.items():
        if kind in wanted or None in wanted:
            found[kind] = {row.pk: row for row in read().filter(pk__in=ids)}
    resolved = []
    for position, (kind, pk) in enumerate(items, start=1):
        if kind is None:
            kind = next((k for k in EvidenceKind.values if pk in found[k]), None)
            if kind is None:
                raise _refused(position, f"{pk} is no request, decision or lesson that you can see here.")
        elif pk not in found[kind]:
            raise _refused(position, f"no {EvidenceKind(kind).label.lower()} {pk} that you can see here.")
        if citing is not None and kind == EvidenceKind.REQUEST and pk == citing.pk:
            raise _refused(position, "a suggestion is not its own evidence.")
        resolved.append((kind, found[kind][pk]))
    return resolved


def evidence_write(*, request: BrainRequest, actor: Actor, resolved: list[tuple[str, Any]]) -> list[SuggestionEvidence]:
    """The suggestion's evidence rows (in the caller's transaction, after the request's insert)."""
    rows = [SuggestionEvidence(tenant_id=actor.tenant_id, request=request, kind=kind, position=position,
                               added_by=actor.label, **{EVIDENCE_CITES[kind]: record})
            for position, (kind, record) in enumerate(resolved)]
    return SuggestionEvidence.objects.bulk_create(rows)


# --- reading it back --------------------------------------------------------------------------

@dataclass(frozen=True)
class Cited:
    """One piece of evidence as a page shows it: what it is, its title and where it is."""

    kind: str
    id: str
    title: str
    href: str
    visible: bool

    @property
    def label(self) -> str:
        return EvidenceKind(self.kind).label


def _title(text: str, most: int = 120) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= most else text[: most - 1] + "…"


def _cited(row: SuggestionEvidence) -> Cited:
    if row.kind == EvidenceKind.REQUEST:
        record, title = row.cited_request, row.cited_request.request_title
        href = reverse("requests:detail", args=[record.pk])
    elif row.kind == EvidenceKind.DECISION:
        record, title = row.cited_decision, row.cited_decision.decision_summary
        href = (reverse("requests:detail", args=[record.related_request_id]) + f"#decision-{record.pk}"
                if record.related_request_id else f"{reverse('governance:decisions')}?{urlencode({'q': title[:80]})}")
    else:
        record, title = row.cited_lesson, row.cited_lesson.insight
        href = (reverse("requests:detail", args=[record.related_request_id]) + f"#lesson-{record.pk}"
                if record.related_request_id else f"{reverse('governance:lessons')}?{urlencode({'q': title[:80]})}")
    return Cited(row.kind, str(record.pk), _title(title), href, row.shown)


def evidence_of(*, actor: Actor, requests: Iterable[BrainRequest | Any]) -> dict[Any, list[Cited]]:
    """Each request's evidence, in the order it was given, by request id (one query whatever the
    number of requests and items). A record the actor may not see shows as such, without its title."""
    ids = [getattr(r, "pk", r) for r in requests]
    if not ids:
        return {}
    rows = (SuggestionEvidence.objects.filter(tenant_id=actor.tenant_id, request_id__in=ids)
            .select_related("cited_request", "cited_decision", "cited_lesson")
            .only("request_id", "kind", "position", "tenant_id", "cited_request__request_title",
                  "cited_request__tenant_id", "cited_decision__decision_summary",
                  "cited_decision__related_request_id", "cited_decision__tenant_id", "cited_lesson__insight",
                  "cited_lesson__related_request_id", "cited_lesson__tenant_id")
            .order_by("request_id", "position"))
    if actor.is_head_office:
        rows = rows.annotate(request_shown=Value(True), decision_shown=Value(True), lesson_shown=Value(True))
    else:
        rows = rows.annotate(
            request_shown=Exists(requests_visible_to(actor).filter(pk=OuterRef("cited_request_id"))),
            decision_shown=Exists(decisions_visible_to(actor).filter(pk=OuterRef("cited_decision_id"))),
            lesson_shown=Exists(lessons_visible_to(actor).filter(pk=OuterRef("cited_lesson_id"))))
    found: dict[Any, list[Cited]] = {}
    for row in rows:
        row.shown = getattr(row, f"{row.kind}_shown")
        cited = _cited(row)
        if not cited.visible:
            cited = Cited(row.kind, cited.id, f"A {cited.label.lower()} you cannot see", "", False)
        found.setdefault(row.request_id, []).append(cited)
    return found


def evidence_record(cited: list[Cited]) -> list[dict[str, str]]:
    """The evidence as an amendment's `evidence` keeps it: kind, id and title of each."""
    return [{"kind": c.kind, "id": c.id, "title": c.title} for c in cited]
