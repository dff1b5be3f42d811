"""The two-tenant permission matrix (issue 12): every page, htmx partial, API operation and admin page,
as each role of tenant A (the demo tenant), against tenant B's records. B's record is answered
exactly as a record that does not exist (the same status as for a random id, never a success), no
page, list or option shows anything of B, and B's rows are unchanged afterwards.

The cases come from the URL conf, the OpenAPI document and the admin's registry, so a new page,
endpoint or model is in the matrix without anyone adding it; a new URL parameter fails
`test_every_url_parameter_has_a_tenant_b_value` until PARAMETERS says what of B to put there.

On SQLite this is the app's own guard (the selectors' tenant filter); on PostgreSQL with two roles,
row-level security stands behind it too.
"""

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import URLPattern, URLResolver, get_resolver

from governance_app import services as gs
from governance_app.kernel.tenancy import member_add
from governance_app.management.commands.lineage_checkpoint import checkpoint_write
from governance_app.kernel.tokens import api_token_issue
from governance_app.models import (
    CanonAmendment,
    CanonDocument,
    CanonProposal,
    ChainCheckpoint,
    DecisionKind,
    DecisionRecord,
    LessonLearned,
    MembershipRole,
    SuggestionEvidence,
    Tenant,
    TokenRole,
    WebhookDelivery,
    WebhookSubscription,
)
from mwms_site.api import api
from requests_app.models import BrainRequest, Notification, RequestStatus, RequestType, SavedView
from requests_app.transitions import MOVE_NAMES
from tasks_app.models import Task
from tasks_app.transitions import TASK_MOVE_NAMES
from tests.api_client import Api
from tests.conftest import PASSWORD
from tests.db_roles import acting_for
from tests.factories import (
    make_canon_amendment,
    make_canon_document,
    make_decision_record,
    make_idempotency_record,
    make_lesson,
    make_notification,
    make_notification_preference,
    make_refusal_window,
    make_request,
    make_list_preference,
    make_request_event,
    make_saved_view,
    make_signal,
    make_sla_policy,
    make_sla_target,
    make_task,
    make_task_artifact,
    make_task_event,
    make_webhook_delivery,
    make_watch,
    make_webhook_subscription,
    mcr_approval_record,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("every_tenant")]

User = get_user_model()

MARK = "ZETA-B"  # in every text of tenant B's records, so a page that shows one is caught

# Routes whose pages show no tenant's records: signing in and out, password pages, the icon.
NO_TENANT_DATA = ("accounts/", "favicon.ico")


# --- tenant B -----------------------------------------------------------------------------------


@dataclass
class TenantB:
    tenant: Tenant
    requests: dict[str, BrainRequest]  # by what they are for: "open", "escalated", "feedback"
    task: Task
    token_secret: str
    canon: CanonDocument
    amendment: CanonAmendment
    subscription: WebhookSubscription
    delivery: WebhookDelivery
    notification: Notification
    checkpoint: ChainCheckpoint
    saved_view: SavedView

    def ids(self) -> set[str]:
        return {str(r.pk) for r in self.requests.values()} | {str(self.task.pk)}


@pytest.fixture
def tenant_b(brains) -> TenantB:
    """Tenant B with a whole chain: requests in the queues A's pages list, a queued task for the
    Affiliate Brain (whose executors in A claim from their own queue), its events, an artifact, a
    decision, a lesson, a signal and a token."""
    tenant = gs.tenant_create(slug="zeta", name=f"{MARK} Corp", reviewer_username="zeta_reviewer",
                              reviewer_password=PASSWORD)
    b = {"tenant_id": tenant.id}
    with acting_for(tenant):
        requests = {
            "open": make_request(**b, status=RequestStatus.ROUTED, request_title=f"{MARK} routed offer"),
            "new": make_request(**b, request_title=f"{MARK} new offer", request_summary=f"{MARK} summary"),
            "escalated": make_request(**b, status=RequestStatus.ESCALATED, request_title=f"{MARK} escalated"),
            "feedback": make_request(**b, request_type=RequestType.MCR_UPDATE_SUGGESTION, target_brain="headoffice",
                                     status=RequestStatus.AWAITING_MCR_DECISION, mcr_update_status="proposed",
                                     request_title=f"{MARK} canon change"),
        }
        task = make_task(request=requests["open"], title=f"{MARK} queued task")
        make_task_event(task=task, event_summary=f"{MARK} event")
        make_task_artifact(task=task)
        make_request_event(request=requests["open"], note=f"{MARK} note")
        make_decision_record(request=requests["open"], decision_summary=f"{MARK} decision")
        make_decision_record(request=requests["feedback"], decision_kind=DecisionKind.FEEDBACK_CLASSIFICATION,
                             decision_summary=f"{MARK} classification")
        make_lesson(**b, related_request=requests["open"], insight=f"{MARK} lesson")
        make_signal(**b, summary=f"{MARK} signal")
        _token, secret = api_token_issue(tenant_id=tenant.id, brain="research", role=TokenRole.BRAIN,
                                         label=f"{MARK} token")
        canon = make_canon_document(**b, slug="zeta-canon", title=f"{MARK} canon", body=f"{MARK} canon text")
        # Its change proposed (a proposal) and one approved before (an amendment).
        CanonProposal.objects.create(**b, request=requests["feedback"], document=canon, base_version=canon.version,
                                     proposed_text=f"{MARK} proposed text", proposed_by=f"{MARK} owner")
        # Its evidence: B's own request, decision and lesson (no id of them is A's to cite).
        cited_decision = DecisionRecord.objects.filter(tenant_id=tenant.id, related_request=requests["open"]).get()
        cited_lesson = LessonLearned.objects.filter(tenant_id=tenant.id).get()
        for position, (kind, record) in enumerate([("request", requests["open"]), ("decision", cited_decision),
                                                   ("lesson", cited_lesson)]):
            SuggestionEvidence.objects.create(**b, request=requests["feedback"], kind=kind, position=position,
                                              added_by=f"{MARK} owner", **{f"cited_{kind}": record})
        requests["amended"] = make_request(**b, request_type=RequestType.MCR_UPDATE_SUGGESTION,
                                           target_brain="headoffice", mcr_update_suggested=True,
                                           mcr_update_status="proposed", request_title=f"{MARK} amended")
        amendment = make_canon_amendment(canon, request=requests["amended"],
                                         decision=mcr_approval_record(requests["amended"]),
                                         body_after=f"{MARK} amended text")
        subscription = make_webhook_subscription(**b, name=f"{MARK} integration")
        delivery = make_webhook_delivery(subscription, status="failed", last_answer=f"{MARK} answer")
        notification = make_notification(requests["open"], summary=f"{MARK} notification")
        # B's SLA policy: A's policy page and admin must neither show nor change it.
        make_sla_policy(**b, warn_percent=67, updated_by=f"{MARK} reviewer")
        make_sla_target(**b, priority="medium", clock="routed", minutes=4321)
        make_watch(**b, request=requests["open"], user=User.objects.get(username="zeta_reviewer"))
        make_notification_preference(**b, user=User.objects.get(username="zeta_reviewer"))
        # B's shared saved view: in no nav of A, and no id of A's opens, renames, updates, shares or deletes it.
        saved_view = make_saved_view(**b, owner=User.objects.get(username="zeta_reviewer"), name=f"{MARK} view",
                                     visibility="shared", query="status=routed")
        make_list_preference(**b, user=User.objects.get(username="zeta_reviewer"))
        make_refusal_window(**b, actor=f"token:{MARK}")
        make_idempotency_record(token=_token)
        checkpoint = checkpoint_write(tenant_id=tenant.id)  # B's chain heads, as the nightly command records them
    return TenantB(tenant=tenant, requests=requests, task=task, token_secret=secret, canon=canon,
                   amendment=amendment, subscription=subscription, delivery=delivery, notification=notification,
                   checkpoint=checkpoint, saved_view=saved_view)


def test_tenant_b_has_rows_in_the_tables_the_matrix_guards(tenant_b):
    # A table with no row of B would pass every check below without being checked.
    empty = [table for table, rows in rows_of(tenant_b.tenant.id).items() if not rows]
    assert not empty, f"give tenant B a row of {empty} in the tenant_b fixture"


def tenant_models() -> list[type]:
    """Every model of the project with a tenant_id, and the tenants themselves."""
    return [model for model in apps.get_models()
            if model._meta.app_label.endswith("_app")
            and (model is Tenant or any(f.attname == "tenant_id" for f in model._meta.concrete_fields))]


def rows_of(tenant_id) -> dict[str, list[dict[str, Any]]]:
    """Every row of the tenant, column by column: what must be the same after A's attempts."""
    return {model._meta.db_table: list(model.objects.filter(**{"pk" if model is Tenant else "tenant_id": tenant_id})
                                       .order_by("pk").values())
            for model in tenant_models()}


# --- tenant A's people and tokens ----------------------------------------------------------------


@pytest.fixture
def people_of_a(brains, reviewer, owner, other_owner, outsider) -> dict[str, Any]:
    """Tenant A's people: HeadOffice, three Brain owners, and an admin user with every permission
    who is staff but not a superuser."""
    staff = User.objects.create_user(username="a_staff", password=PASSWORD, is_staff=True)
    member_add(user=staff, brain=brains["headoffice"], role=MembershipRole.HEAD_OFFICE_REVIEWER)
    staff.user_permissions.set(Permission.objects.all())
    return {"reviewer": reviewer, "research owner": owner, "affiliate owner": other_owner,
            "content owner": outsider, "staff": staff}


TOKENS_OF_A = [("research", TokenRole.BRAIN), ("affiliate", TokenRole.EXECUTOR), ("headoffice", TokenRole.HEADOFFICE)]


# --- the pages, from the URL conf -----------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    route: str          # e.g. "requests/<uuid:request_id>/moves/<slug:move>/"
    name: str           # e.g. "requests:move"
    parameters: tuple[str, ...]


def site_routes() -> list[Route]:
    """Every page route of the site, outside the admin and the API (checked below from their own
    registries) and the routes that show no tenant's data."""
    found: list[Route] = []

    def walk(patterns, prefix: str, namespace: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                route = prefix + str(entry.pattern)
                if route.startswith(("admin/", "api/")) or route.startswith(NO_TENANT_DATA):
                    continue
                walk(entry.url_patterns, route, ":".join(filter(None, [namespace, entry.namespace])))
            elif isinstance(entry, URLPattern):
                route = prefix + str(entry.pattern)
                if route.startswith(NO_TENANT_DATA):
                    continue
                found.append(Route(route, ":".join(filter(None, [namespace, entry.name])),
                                   tuple(entry.pattern.converters)))

    walk(get_resolver().url_patterns, "", "")
    return found


# What of tenant B goes into each URL parameter; "missing" is the answer to compare with.
PARAMETERS = {
    "request_id": lambda b, name: str(b.requests[_request_for(name)].pk),
    "task_id": lambda b, name: str(b.task.pk),
    "slug": lambda b, name: b.canon.slug,        # a canon document only tenant B has
    "version": lambda b, name: b.canon.version,
    "amendment_id": lambda b, name: str(b.amendment.pk),
    "subscription_id": lambda b, name: str(b.subscription.pk),
    "delivery_id": lambda b, name: str(b.delivery.pk),
    "notification_id": lambda b, name: str(b.notification.pk),
    "view_id": lambda b, name: str(b.saved_view.pk),
    "move": None,    # every move of the state machine, one case each
    "brain": None,   # the slugs both tenants have
}


def _request_for(route_name: str) -> str:
    return {"governance:escalation_resolve": "escalated", "governance:classify": "feedback",
            "governance:mcr_decide": "feedback", "governance:mcr_review": "feedback",
            "governance:proposal_amend": "feedback"}.get(route_name, "open")


def fill(route: Route, values: dict[str, str]) -> str:
    path = "/" + route.route
    for parameter, converter_route in _placeholders(route):
        path = path.replace(converter_route, values[parameter])
    return path


def _placeholders(route: Route) -> Iterator[tuple[str, str]]:
    for match in re.finditer(r"<(?:(\w+):)?(\w+)>", route.route):
        yield match.group(2), match.group(0)


def page_cases(b: TenantB) -> Iterator[tuple[Route, str, str]]:
    """(route, B's path, the same path with a random id) for every route with a record in its path;
    (route, path, "") for the rest (lists and forms, where B must be absent)."""
    for route in site_routes():
        moves = {"requests:move": MOVE_NAMES, "tasks:move": TASK_MOVE_NAMES}.get(route.name, ("-",))
        brains_to_try = ("research", "affiliate", "headoffice") if "brain" in route.parameters else ("-",)
        for move in moves:
            for brain in brains_to_try:
                ours = {"move": move, "brain": brain}
                missing = {"move": move, "brain": brain}
                for parameter in route.parameters:
                    if PARAMETERS.get(parameter):
                        ours[parameter] = PARAMETERS[parameter](b, route.name)
                        missing[parameter] = str(uuid.uuid4())
                has_record = any(PARAMETERS.get(p) for p in route.parameters)
                yield route, fill(route, ours), fill(route, missing) if has_record else ""


def test_every_url_parameter_has_a_tenant_b_value():
    unknown = {(route.route, p) for route in site_routes() for p in route.parameters if p not in PARAMETERS}
    assert not unknown, f"say in PARAMETERS what of tenant B these take: {sorted(unknown)}"
    assert len(site_routes()) >= 15  # the walk found the site's pages


def test_a_bulk_action_of_tenant_a_never_reaches_tenant_b(client, tenant_b, people_of_a):
    """Issue 14: A's reviewer names B's requests in a bulk action (ticked, or by a filter matching B's
    words), and assigns B's reviewer: nothing of B changes, and B's requests are not named."""
    before = rows_of(tenant_b.tenant.id)
    b_ids = [str(r.pk) for r in tenant_b.requests.values()]
    zeta_reviewer = User.objects.get(username="zeta_reviewer")
    client.force_login(people_of_a["reviewer"])
    answers = [
        client.post("/requests/bulk/", {"action": "note", "scope": "selected", "note": "x", "selected": b_ids}),
        client.post("/requests/bulk/", {"action": "assign", "scope": "page", "assignee": zeta_reviewer.pk,
                                        "page_ids": b_ids}),
        client.post("/requests/bulk/", {"action": "park", "scope": "filter", "note": "x", "query": f"q={MARK}"}),
    ]
    bodies = [answer.content.decode() for answer in answers]
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert bodies[0].count("No such request that you can see.") == len(b_ids)
    assert "Assign to: Select a valid choice" in bodies[1]  # B's reviewer is no choice of A's
    assert "Select at least one request." in bodies[2]      # A's filter finds none of B's
    # What A sent comes back only as what it is to A (ids of requests it cannot see, its own filter's
    # words in the link back): none of B's titles, summaries or people.
    b_words = [r.request_title for r in tenant_b.requests.values()] + [f"{MARK} summary", "zeta_reviewer"]
    assert not any(word in body for word in b_words for body in bodies)
    assert not any(i in body for i in b_ids for body in bodies[1:])
    assert rows_of(tenant_b.tenant.id) == before


def _text(answer) -> str:
    """The body as text, a streamed download's too."""
    content = b"".join(answer.streaming_content) if answer.streaming else answer.content
    return content.decode(errors="replace")


def _answer(client, method: str, path: str, htmx: bool):
    headers = {"HX-Request": "true"} if htmx else {}
    if method == "GET":
        return client.get(path, headers=headers)
    return client.post(path, {"note": f"{MARK}?", "to_status": "closed", "reason": "x" * 20}, headers=headers)


@pytest.mark.parametrize("role", ["reviewer", "research owner", "affiliate owner", "content owner", "staff"])
def test_no_page_or_partial_reaches_tenant_b_for_any_role_of_tenant_a(client, tenant_b, people_of_a, role):
    before = rows_of(tenant_b.tenant.id)
    client.force_login(people_of_a[role])
    leaks = []

    for route, path, missing in page_cases(tenant_b):
        for method in ("GET", "POST"):
            for htmx in (False, True):
                answer = _answer(client, method, path, htmx)
                body = _text(answer)
                if MARK in body or any(i in body for i in tenant_b.ids()):
                    leaks.append(f"{method} {path}{' (htmx)' if htmx else ''}: shows tenant B")
                if missing:
                    expected = _answer(client, method, missing, htmx).status_code
                    if answer.status_code != expected or answer.status_code < 400:
                        leaks.append(f"{method} {path}{' (htmx)' if htmx else ''}: {answer.status_code}, "
                                     f"a missing record {expected}")
    search = client.get("/requests/", {"q": MARK})
    # The downloads of every list and the search of everything (issue 14, items 8 and 9).
    for path, query in (("/requests/", {"export": "json"}), ("/requests/", {"export": "csv", "q": MARK}),
                        ("/decisions/", {"export": "json"}), ("/lessons/", {"export": "csv"})):
        text = _text(client.get(path, query))
        if MARK in text or any(i in text for i in tenant_b.ids()):
            leaks.append(f"GET {path}?{query}: the download shows tenant B")
    everything = _text(client.get("/search/", {"q": MARK}))
    if 'class="search-hit"' in everything or any(i in everything for i in tenant_b.ids()):
        leaks.append("GET /search/: finds tenant B's records")

    assert not leaks, "\n".join(leaks)
    found = search.content.decode()
    # Only in the search box itself, and in the list's query the save-view form and the columns link carry.
    echoes = (found.count(f'<input type="hidden" name="query" value="q={MARK}">')
              + found.count(f'hx-get="/requests/columns/?q={MARK}"'))
    assert search.status_code == 200 and echoes == 2 and found.count(MARK) == 1 + echoes
    assert not any(i in found for i in tenant_b.ids())
    assert rows_of(tenant_b.tenant.id) == before


# --- the API, from the OpenAPI document ---------------------------------------------------------


def api_operations() -> list[tuple[str, str, dict]]:
    document = api.get_openapi_schema()
    return [(method.upper(), path, operation) for path, operations in document["paths"].items()
            for method, operation in operations.items()]


def example_body(operation: dict, components: dict) -> dict:
    """A body with every required property of the operation's schema, of its type (an enum's first
    value), so that a handler that validates before it looks the record up still gets that far."""
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if not content:
        return {}
    return _example(content["schema"], components)


def _example(schema: dict, components: dict) -> Any:
    if "$ref" in schema:
        return _example(components[schema["$ref"].rsplit("/", 1)[-1]], components)
    for combined in ("allOf", "anyOf", "oneOf"):
        if combined in schema:
            return _example(schema[combined][0], components)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {name: _example(schema["properties"][name], components) for name in schema.get("required", [])}
    return {"string": f"{MARK} text long enough", "integer": 1, "number": 1, "boolean": False,
            "array": []}.get(kind, f"{MARK} text long enough")


def test_the_openapi_document_lists_the_operations_the_matrix_calls():
    assert len(api_operations()) >= 14


@pytest.mark.parametrize(("brain", "role"), TOKENS_OF_A, ids=[f"{b}-{r}" for b, r in TOKENS_OF_A])
def test_no_api_operation_reaches_tenant_b_for_any_token_of_tenant_a(brains, tenant_b, brain, role):
    before = rows_of(tenant_b.tenant.id)
    _token, secret = api_token_issue(tenant_id=brains[brain].tenant_id, brain=brain, role=role, label="matrix")
    client = Api(secret, label=f"{brain}-{role}")
    components = api.get_openapi_schema()["components"]["schemas"]
    leaks = []

    for method, path, operation in api_operations():
        route = path.removeprefix("/api/v1")
        body = example_body(operation, components)
        parameters = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
        values = {"request_id": tenant_b.requests["open"].pk, "task_id": tenant_b.task.pk,
                  "slug": tenant_b.canon.slug, "version": tenant_b.canon.version,
                  "amendment_id": tenant_b.amendment.pk}
        unknown = [p for p in parameters if p not in values]
        assert not unknown, f"{method} {path}: say which record of tenant B {unknown} takes"
        ours = route.format(**{p: values[p] for p in parameters})
        missing = route.format(**{p: uuid.uuid4() for p in parameters})  # a slug or a version no one has
        answer = client.get(ours) if method == "GET" else client.post(ours, body)
        text = _text(answer)
        if MARK in text.replace(f"{MARK} text long enough", "") or any(i in text for i in tenant_b.ids()):
            leaks.append(f"{method} {route}: {answer.status_code} shows tenant B: {text[:200]}")
        if parameters:
            expected = (client.get(missing) if method == "GET" else client.post(missing, body)).status_code
            if answer.status_code != expected or answer.status_code < 400:
                leaks.append(f"{method} {route}: {answer.status_code}, a missing record {expected}")
    listed = client.get("/requests", {"q": MARK, "limit": 200}).json()

    assert not leaks, "\n".join(leaks)
    assert not {item["request_id"] for item in listed.get("items", [])} & tenant_b.ids()
    assert rows_of(tenant_b.tenant.id) == before


def test_tenant_bs_token_is_answered_only_with_tenant_bs_rows(brains, tenant_b, owner):
    # The other way round, once: B's token lists B's requests and none of A's.
    from tests.engine import actor, new_request
    mine = new_request(actor(owner), request_title="An A request")
    listed = Api(tenant_b.token_secret, label="zeta").get("/requests", {"limit": 200}).json()["items"]

    assert str(mine.pk) not in {item["request_id"] for item in listed}


# --- the admin, from its registry ----------------------------------------------------------------


def admin_models() -> list[type]:
    return [model for model in admin.site._registry if model in tenant_models() or model is User]


def a_row_of_b(model: type, b: TenantB):
    if model is User:
        return User.objects.get(username="zeta_reviewer")
    if model is Tenant:
        return b.tenant
    return model.objects.filter(tenant_id=b.tenant.id).order_by("pk").first()


def test_the_staff_of_tenant_a_see_and_reach_no_row_of_tenant_b_in_the_admin(client, tenant_b, people_of_a):
    before = rows_of(tenant_b.tenant.id)
    client.force_login(people_of_a["staff"])
    leaks, checked = [], 0

    for model in admin_models():
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        listed = client.get(base).content.decode(errors="replace")
        if MARK in listed or "zeta_reviewer" in listed or any(i in listed for i in tenant_b.ids()):
            leaks.append(f"{base}: lists tenant B")
        row = a_row_of_b(model, tenant_b)
        if row is None:
            continue
        checked += 1
        missing_pk = uuid.uuid4() if isinstance(row.pk, uuid.UUID) else 10**9
        for method, page, data in (("get", "change/", None), ("get", "history/", None), ("get", "delete/", None),
                                   ("post", "change/", {}), ("post", "delete/", {"post": "yes"})):
            send = getattr(client, method)
            ours = send(f"{base}{row.pk}/{page}", *([data] if data is not None else []))
            missing = send(f"{base}{missing_pk}/{page}", *([data] if data is not None else []))
            if (ours.status_code, ours.get("Location")) != (missing.status_code, missing.get("Location")):
                leaks.append(f"{method.upper()} {base}{row.pk}/{page}: {ours.status_code}, "
                             f"a missing row {missing.status_code}")

    assert not leaks, "\n".join(leaks)
    assert checked >= 10  # rows of B were there to be reached, for most models
    assert rows_of(tenant_b.tenant.id) == before
