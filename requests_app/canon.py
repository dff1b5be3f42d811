"""Reading the MCR canon: each document's versions, the text and diff of any version, search, and
which version was in force when a request was decided ("canon as of").

A document's history is its amendments (append-only): the first amendment's `body_before` is the text
the document started from, and each amendment's `body_after` the text of the version it made. A
document never amended has one version, its current text. Everyone in the tenant may read the canon;
only a HeadOffice MCR decision changes it (governance_app.services).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Max, Prefetch, Q, QuerySet

from governance_app.kernel.actors import Actor
from governance_app.models import CanonAmendment, CanonDocument, DecisionRecord
from requests_app.models import BrainRequest

SNIPPET = 80  # characters of text either side of a search match


@dataclass(frozen=True)
class Version:
    version: str
    body: str
    since: datetime                      # when it came into force
    amendment: CanonAmendment | None     # the amendment that made it (None: the text it started from)
    previous: str | None                 # the version it replaced


def documents_for(*, actor: Actor) -> QuerySet[CanonDocument]:
    """Every canon document of the actor's tenant, with how many amendments it has had."""
    return (CanonDocument.objects.filter(tenant_id=actor.tenant_id)
            .annotate(amendment_count=Count("amendments"), last_amended=Max("amendments__created_at"))
            .order_by("title"))


def document_get(*, actor: Actor, slug: str) -> CanonDocument | None:
    return CanonDocument.objects.filter(tenant_id=actor.tenant_id, slug=slug).first()


def versions(document: CanonDocument) -> list[Version]:
    """The document's versions, oldest first (one query)."""
    amendments = list(CanonAmendment.objects.filter(document=document).select_related("decision", "request")
                      .order_by("created_at", "pk"))
    if not amendments:
        return [Version(document.version, document.body, document.created_at, None, None)]
    first = amendments[0]
    found = [Version(first.version_before, first.body_before, document.created_at, None, None)]
    found += [Version(a.version_after, a.body_after, a.created_at, a, a.version_before) for a in amendments]
    return found


def version_get(document: CanonDocument, version: str) -> tuple[Version, Version | None] | None:
    """One version and the one before it (None for the first), or None if it has no such version."""
    history = versions(document)
    for index, item in enumerate(history):
        if item.version == version:
            return item, history[index - 1] if index else None
    return None


def diff_lines(before: str, after: str) -> list[tuple[str, str]]:
    """A line diff of two texts as (kind, line) pairs, kind one of "add", "del", "same", "hunk"."""
    out = []
    for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=2):
        if line.startswith(("---", "+++")):
            continue
        kind = {"@": "hunk", "+": "add", "-": "del"}.get(line[:1], "same")
        if kind == "hunk":  # "@@ -13,4 +13,7 @@" says where, in words a reader uses
            start = re.search(r"\+(\d+)", line)
            out.append((kind, f"Around line {start.group(1) if start else '?'}"))
        else:
            out.append((kind, line[1:]))
    return out


def search(*, actor: Actor, q: str) -> list[tuple[CanonDocument, str]]:
    """Documents whose title or current text holds every word of `q`, each with a snippet around the
    first match."""
    words = q.split()
    if not words:
        return []
    rows = CanonDocument.objects.filter(tenant_id=actor.tenant_id)
    for word in words:
        rows = rows.filter(Q(title__icontains=word) | Q(body__icontains=word))
    found = []
    for document in rows.order_by("title"):
        at = document.body.lower().find(words[0].lower())
        snippet = document.body[:2 * SNIPPET] if at < 0 else document.body[max(at - SNIPPET, 0):at + SNIPPET]
        found.append((document, snippet.replace("\n", " ")))
    return found


@dataclass(frozen=True)
class InForce:
    document: CanonDocument
    version: str
    amended_since: bool  # the document has changed since


def canon_as_of(*, request: BrainRequest, decisions: list[DecisionRecord] | None = None
                ) -> tuple[datetime | None, list[InForce]]:
    """The canon documents that govern this request (its Brains and its type), each at the version in
    force when the request was last decided; (None, current versions) for a request not decided yet.
    Two queries, and a third unless the request's decisions are given (the drill-down has them)."""
    if decisions is None:
        decided_at = (DecisionRecord.objects.filter(related_request=request).order_by("-created_at")
                      .values_list("created_at", flat=True).first())
    else:
        decided_at = max((d.created_at for d in decisions), default=None)
    brains = {request.requesting_brain_id, request.target_brain_id, request.primary_brain_id,
              *(request.supporting_brains or [])} - {None}
    history = Prefetch("amendments", queryset=CanonAmendment.objects.only(
        "id", "document_id", "created_at", "version_before", "version_after"))
    documents = [d for d in CanonDocument.objects.filter(tenant_id=request.tenant_id).defer("body")
                 .prefetch_related(history).order_by("title")
                 if (not d.governs or brains & set(d.governs))
                 and (not d.request_types or request.request_type in d.request_types)]
    found = []
    for document in documents:
        amendments = sorted(document.amendments.all(), key=lambda a: (a.created_at, str(a.pk)))
        if decided_at is None or not amendments:
            found.append(InForce(document, document.version, False))
            continue
        before = [a for a in amendments if a.created_at <= decided_at]
        version = before[-1].version_after if before else amendments[0].version_before
        found.append(InForce(document, version, version != document.version))
    return decided_at, found
