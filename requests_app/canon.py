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

from datetime import timedelta

from django.db.models import Count, Exists, Max, OuterRef, Prefetch, Q, QuerySet

from governance_app.kernel import clock
from governance_app.kernel.actors import Actor
from governance_app.models import AmendmentType, CanonAmendment, CanonDocument, CanonProposal, DecisionRecord
from requests_app.models import FINAL_STATUSES, BrainRequest, RequestType

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
    return document_in(tenant_id=actor.tenant_id, slug=slug)


def document_options(*, tenant_id) -> list[tuple[str, str]]:
    """(slug, "Title (version)") of every canon document of the tenant, for a form."""
    return [(slug, f"{title} ({version})") for slug, title, version in CanonDocument.objects.filter(
        tenant_id=tenant_id).order_by("title").values_list("slug", "title", "version")]


def document_in(*, tenant_id, slug: str) -> CanonDocument | None:
    return CanonDocument.objects.filter(tenant_id=tenant_id, slug=slug).first()


def amendments_of(document: CanonDocument) -> list[CanonAmendment]:
    """The document's amendments in their chain's order, each with the rollback that names it (one query)."""
    return list(CanonAmendment.objects.filter(document=document)
                .select_related("decision", "request", "rolled_back_by", "rolls_back")
                .order_by("chain_seq", "created_at", "pk"))


def versions(document: CanonDocument, amendments: list[CanonAmendment] | None = None) -> list[Version]:
    """The document's versions, oldest first (one query, none when its amendments are given)."""
    if amendments is None:
        amendments = amendments_of(document)
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
    Two queries (one for a request not decided yet, whose versions are today's: no amendment is
    read), and one more unless the request's decisions are given (the drill-down has them)."""
    if decisions is None:
        decided_at = (DecisionRecord.objects.filter(related_request=request).order_by("-created_at")
                      .values_list("created_at", flat=True).first())
    else:
        decided_at = max((d.created_at for d in decisions), default=None)
    brains = {request.requesting_brain_id, request.target_brain_id, request.primary_brain_id,
              *(request.supporting_brains or [])} - {None}
    history = Prefetch("amendments", queryset=CanonAmendment.objects.only(
        "id", "document_id", "created_at", "version_before", "version_after"))
    documents = CanonDocument.objects.filter(tenant_id=request.tenant_id).defer("body").order_by("title")
    if decided_at is not None:
        documents = documents.prefetch_related(history)
    documents = [d for d in documents
                 if (not d.governs or brains & set(d.governs))
                 and (not d.request_types or request.request_type in d.request_types)]
    found = []
    for document in documents:
        if decided_at is None:
            found.append(InForce(document, document.version, False))
            continue
        amendments = sorted(document.amendments.all(), key=lambda a: (a.created_at, str(a.pk)))
        if not amendments:
            found.append(InForce(document, document.version, False))
            continue
        before = [a for a in amendments if a.created_at <= decided_at]
        version = before[-1].version_after if before else amendments[0].version_before
        found.append(InForce(document, version, version != document.version))
    return decided_at, found


# --- sections ---------------------------------------------------------------------------------

PREAMBLE = "(before the first heading)"
ORDER = "(the order of the sections)"
_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$")


def sections(body: str) -> list[tuple[str, str]]:
    """The text as (name, chunk) pairs, in order; joining the chunks gives the text back byte for
    byte. A heading inside a fenced code block is not one; a name that repeats gets " (2)", " (3)"."""
    found: list[tuple[str, list[str]]] = [(PREAMBLE, [])]
    fenced = False
    seen: dict[str, int] = {}
    for line in body.splitlines(keepends=True):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        match = None if fenced else _HEADING.match(line.rstrip("\r\n"))
        if match:
            name = " ".join(match.group(1).split())
            seen[name] = seen.get(name, 0) + 1
            found.append((name if seen[name] == 1 else f"{name} ({seen[name]})", [line]))
        else:
            found[-1][1].append(line)
    return [(name, "".join(lines)) for name, lines in found if name != PREAMBLE or lines]


def changed_sections(before: str, after: str) -> list[str]:
    """The names of the sections whose text differs between two texts (added and removed ones
    included), in the order the texts have them."""
    old, new = dict(sections(before)), dict(sections(after))
    names = list(dict.fromkeys([*(n for n, _ in sections(before)), *(n for n, _ in sections(after))]))
    changed = [n for n in names if old.get(n) != new.get(n)]
    if not changed and before != after:
        return [ORDER]
    return changed


def sections_replaced(body: str, edits: dict[str, str]) -> str:
    """`body` with the named sections' text replaced (a heading's section includes its heading line;
    an empty text removes the section); a name the body does not have is added at its end."""
    parts = sections(body)
    names = {n for n, _ in parts}
    out = [edits.get(n, chunk) if n in edits else chunk for n, chunk in parts]
    out += [edits[n] for n in edits if n not in names]
    return _joined(out)


def _joined(chunks: list[str]) -> str:
    chunks = [c for c in chunks if c]
    return "".join(c if i == len(chunks) - 1 or c.endswith("\n") else c + "\n" for i, c in enumerate(chunks))


def sections_restored(current: str, before: str, names: set[str]) -> str:
    """`current` with the sections `names` as `before` has them: kept where they are, dropped when
    `before` lacks them, and put back after the section they followed in `before` when `current`
    lacks them. The other sections stay as `current` has them."""
    old = sections(before)
    old_text = dict(old)
    out = [(n, old_text[n] if n in names else chunk) for n, chunk in sections(current)
           if n not in names or n in old_text]
    present = {n for n, _ in out}
    for index, (name, chunk) in enumerate(old):
        if name in names and name not in present:
            after = next((old[j][0] for j in range(index - 1, -1, -1) if old[j][0] in present), None)
            at = 0 if after is None else [n for n, _ in out].index(after) + 1
            out.insert(at, (name, chunk))
            present.add(name)
    return _joined([chunk for _, chunk in out])


def side_by_side(before: str, after: str) -> list[tuple[str, str, str]]:
    """Rows (kind, left, right) of a two-column diff: kind "same", "change", "add", "del" or "gap"
    (unchanged lines left out between the changes)."""
    a, b = before.splitlines(), after.splitlines()
    rows: list[tuple[str, str, str]] = []
    for group in difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(2):
        if rows:
            rows.append(("gap", "", ""))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                rows += [("same", a[i], b[j]) for i, j in zip(range(i1, i2), range(j1, j2))]
            elif tag == "replace":
                left, right = a[i1:i2], b[j1:j2]
                for k in range(max(len(left), len(right))):
                    rows.append(("change", left[k] if k < len(left) else "", right[k] if k < len(right) else ""))
            elif tag == "delete":
                rows += [("del", line, "") for line in a[i1:i2]]
            else:
                rows += [("add", "", line) for line in b[j1:j2]]
    return rows


def unified_diff(before: str, after: str, version_before: str, version_after: str) -> str:
    """The diff an amendment stores: a unified diff of the two texts, named by their versions."""
    return "\n".join(difflib.unified_diff(before.splitlines(), after.splitlines(), version_before, version_after,
                                          lineterm=""))


def next_version(version: str) -> str:
    """v1.2 → v1.3; a version that does not end in a number gets ".1"."""
    match = re.match(r"^(.*?)(\d+)$", version)
    return f"{match.group(1)}{int(match.group(2)) + 1}" if match else f"{version}.1"


# --- proposals ----------------------------------------------------------------------------------

def proposal_of(request: BrainRequest) -> CanonProposal | None:
    """The request's proposed change to canon: its newest revision (one query)."""
    return (CanonProposal.objects.filter(request=request).select_related("document")
            .order_by("-revision").first())


def proposals_of(requests: list[BrainRequest]) -> dict:
    """Each request's newest proposal revision, by request id (one query)."""
    found: dict = {}
    for proposal in (CanonProposal.objects.filter(request__in=[r.pk for r in requests]).select_related("document")
                     .defer("proposed_text", "document__body").order_by("request_id", "-revision")):
        found.setdefault(proposal.request_id, proposal)
    return found


# --- rollback -------------------------------------------------------------------------------------

def rollback_blockers(amendment: CanonAmendment, amendments: list[CanonAmendment]) -> list[CanonAmendment]:
    """The later amendments of its document that change sections this one changed, newest first:
    they are rolled back before it. A later amendment and the later rollback that undid it cancel
    out."""
    ids = [a.pk for a in amendments]  # in the chain's order (amendments_of)
    later = amendments[ids.index(amendment.pk) + 1:] if amendment.pk in ids else []
    undone = {a.rolls_back_id for a in later if a.amendment_type == AmendmentType.ROLLBACK}
    later_ids = {a.pk for a in later}
    cancelled = {a.pk for a in later if a.pk in undone} | {
        a.pk for a in later if a.amendment_type == AmendmentType.ROLLBACK and a.rolls_back_id in later_ids}
    mine = set(changed_sections(amendment.body_before, amendment.body_after))
    return [a for a in reversed(later) if a.pk not in cancelled
            and mine & set(changed_sections(a.body_before, a.body_after))]


# --- impact -----------------------------------------------------------------------------------

IMPACT_DAYS = 90


def covered(document: CanonDocument) -> Q:
    """The requests a document covers: of a Brain it governs (as origin, destination or primary
    Brain) and of a request type it covers; an empty list means every one."""
    condition = Q()
    if document.governs:
        condition &= (Q(requesting_brain_id__in=document.governs) | Q(target_brain_id__in=document.governs)
                      | Q(primary_brain_id__in=document.governs))
    if document.request_types:
        condition &= Q(request_type__in=document.request_types)
    return condition


def decided_since(since) -> Exists:
    return Exists(DecisionRecord.objects.filter(related_request=OuterRef("pk"), created_at__gte=since))


@dataclass(frozen=True)
class Impact:
    brains: list[str]          # the names of the Brains it governs; empty: every Brain
    request_types: list[str]   # the labels of the types it covers; empty: every type
    sections: list[str]        # the sections the change touches
    open_requests: int
    decided_requests: int      # decided since `since` while the touched sections were in force
    since: datetime | None     # None: every section it touches is new, no request was decided under it


def impact(*, requests: QuerySet[BrainRequest], document: CanonDocument, sections_changed: list[str],
           amendments: list[CanonAmendment], brain_names: dict) -> Impact:
    """What a change of these sections of `document` would touch, among `requests` (those the reader
    may see): two queries, the amendments being given."""
    window = clock.now() - timedelta(days=IMPACT_DAYS)
    current = {n for n, _ in sections(document.body)}
    existing = [n for n in sections_changed if n in current or n == ORDER]
    since = None
    if existing:
        # A section came into force with the amendment that added it (else with the document).
        introduced = []
        for name in existing:
            added = [a.approved_when for a in amendments if name != ORDER
                     and name not in dict(sections(a.body_before)) and name in dict(sections(a.body_after))]
            introduced.append(max(added) if added else document.created_at)
        since = max(window, min(introduced))
    mine = requests.filter(covered(document))
    open_count = mine.exclude(status__in=FINAL_STATUSES).count()
    decided = mine.filter(decided_since(since)).count() if since is not None else 0
    types = dict(RequestType.choices)
    return Impact(brains=[str(brain_names.get(s, s)) for s in document.governs],
                  request_types=[str(types.get(t, t)) for t in document.request_types],
                  sections=sections_changed, open_requests=open_count, decided_requests=decided, since=since)
