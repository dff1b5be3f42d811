"""Lessons that say the same thing, grouped so HeadOffice can turn each group into one canon
proposal (issue 15, item 6).

Two lessons say the same thing when the words of their insight and recommended improvement mostly
coincide: the Jaccard similarity of their content-word sets (lower-cased, stop words dropped, a
plural or -ing/-ed ending folded onto its stem) is at least `SIMILAR`. Groups are the connected
sets of such pairs (a lesson like one of the group's joins it). Computed in Python over the newest
`WINDOW` lessons the actor may see, with an index from each word to the lessons using it so only
lessons sharing a word are compared: no model, no download, and the same answer on SQLite and
PostgreSQL. Most supported first: more lessons, then more Brains, then the most recent.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from governance_app.kernel.actors import Actor
from governance_app.models import EvidenceKind, LessonLearned, SuggestionEvidence
from governance_app.selectors import lessons_visible_to
from requests_app.models import BrainRequest, RequestType
from requests_app.selectors import requests_visible_to

SIMILAR = 0.5
WINDOW = 2000   # the newest lessons considered; older ones have had their chance
# A word in more than this share of the window's lessons tells two of them apart from nothing.
COMMON_SHARE = 0.2
STOP_WORDS = frozenset("""
a about after again all also an and any are as at be because been before being but by can could did
do does doing for from had has have having how if in into is it its just more most no not of on once
only or other our out over own same should so some such than that the their them then there these
they this those through to too under until up very was we were what when where which while who why
will with would you your should must may might per via each every both few many much
""".split())
ENDINGS = ("ing", "ed", "es", "s")


def words(text: str) -> frozenset[str]:
    """The content words of a text, folded onto rough stems ("offers", "offered" → "offer")."""
    found = set()
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        if len(word) < 3 or word in STOP_WORDS:
            continue
        for ending in ENDINGS:
            if word.endswith(ending) and len(word) - len(ending) >= 4:
                word = word[: -len(ending)]
                break
        found.add(word)
    return frozenset(found)


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def lesson_words(lesson: LessonLearned) -> frozenset[str]:
    return words(f"{lesson.insight} {lesson.recommended_improvement}")


@dataclass
class LessonGroup:
    lessons: list[LessonLearned]
    shared: list[str]                                   # the words every lesson of the group uses
    suggestions: list[BrainRequest] = field(default_factory=list)   # drafted from its lessons already

    @property
    def brains(self) -> list[str]:
        return sorted({str(lesson.originating_brain) for lesson in self.lessons})

    @property
    def first(self) -> datetime:
        return min(lesson.created_at for lesson in self.lessons)

    @property
    def last(self) -> datetime:
        return max(lesson.created_at for lesson in self.lessons)

    @property
    def lesson_ids(self) -> str:
        return ",".join(str(lesson.pk) for lesson in self.lessons)


def grouped(lessons: list[LessonLearned]) -> list[list[LessonLearned]]:
    """The groups (two lessons or more) of lessons that say the same thing, in the given order."""
    bags = [lesson_words(lesson) for lesson in lessons]
    using: dict[str, list[int]] = defaultdict(list)
    for i, bag in enumerate(bags):
        for word in bag:
            using[word].append(i)
    common = max(50, int(len(lessons) * COMMON_SHARE))   # a small window compares every pair sharing a word
    parent = list(range(len(lessons)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, bag in enumerate(bags):
        near = {j for word in bag if len(using[word]) <= common for j in using[word] if j > i}
        for j in near:
            if similarity(bag, bags[j]) >= SIMILAR:
                parent[root(j)] = root(i)
    members: dict[int, list[int]] = defaultdict(list)
    for i in range(len(lessons)):
        members[root(i)].append(i)
    return [[lessons[i] for i in sorted(group)] for group in members.values() if len(group) > 1]


def suggestions_from_lessons(*, actor: Actor) -> dict[str, BrainRequest]:
    """Each lesson id cited as evidence by a suggestion the actor may see → that suggestion (one query)."""
    cited = (SuggestionEvidence.objects.filter(tenant_id=actor.tenant_id, kind=EvidenceKind.LESSON,
                                               request__in=requests_visible_to(actor).filter(
                                                   request_type=RequestType.MCR_UPDATE_SUGGESTION))
             .select_related("request").only("cited_lesson_id", "request__id", "request__request_title",
                                             "request__status", "request__tenant_id", "tenant_id")
             .order_by("created_at", "pk"))
    found: dict[str, BrainRequest] = {}
    for row in cited:
        found.setdefault(str(row.cited_lesson_id), row.request)
    return found


def lesson_groups(*, actor: Actor) -> list[LessonGroup]:
    """The groups of the lessons the actor may see, most supported first (two queries)."""
    lessons = list(lessons_visible_to(actor).select_related("originating_brain", "related_request")
                   .order_by("-created_at", "pk")[:WINDOW])
    drafted = suggestions_from_lessons(actor=actor)
    groups = []
    for members in grouped(lessons):
        shared = frozenset.intersection(*(lesson_words(lesson) for lesson in members))
        found = {drafted[str(lesson.pk)].pk: drafted[str(lesson.pk)] for lesson in members if str(lesson.pk) in drafted}
        groups.append(LessonGroup(lessons=members, shared=sorted(shared), suggestions=list(found.values())))
    groups.sort(key=lambda g: (-len(g.lessons), -len(g.brains), -g.last.timestamp()))
    return groups
