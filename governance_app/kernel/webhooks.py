"""Webhooks: a tenant's changes, POSTed as signed JSON to the integrations that subscribed to them.

    request event / task event written  ──(same transaction)──►  WebhookDelivery rows (pending)
    commit  ──►  webhook_deliver task enqueued (Django's Tasks API: the database queue, `db_worker`)
    worker  ──►  POST url, body = the delivery's JSON, X-MWMS-Signature = HMAC-SHA256(secret, "<ts>.<body>")
    2xx → delivered;  otherwise → retrying, next attempt after 30 s, 1, 2, 4, 8 min … → failed

A rolled-back change writes no delivery and sends nothing; the change never waits for a receiver
(the POST runs in a worker, after commit). Delivery is at least once: a receiver that must not act
twice keeps the X-MWMS-Delivery ids it has seen. `webhook_sweep` (a command and a task) sends what
is due when no deferred task is queued for it, and takes back a delivery whose worker died mid-send.

The headers, the payload and how a receiver checks the signature: README "Webhooks".
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django_tasks import task, task_backends

from governance_app.kernel import claims, clock, limits
from governance_app.kernel.actors import Actor
from governance_app.kernel.errors import DomainError, Refusal, not_found
from governance_app.kernel.db import DEFAULT_TENANT_ID
from governance_app.kernel.text_rules import required_text
from governance_app.kernel.transactions import atomic, enqueue_with_change
from governance_app.models import DeliveryStatus, WebhookDelivery, WebhookEvent, WebhookSubscription

SIGNATURE_HEADER = "X-MWMS-Signature"
EVENT_HEADER = "X-MWMS-Event"
DELIVERY_HEADER = "X-MWMS-Delivery"
TIMESTAMP_HEADER = "X-MWMS-Timestamp"
USER_AGENT = "MWMS-HeadOffice-Webhooks/1"
ANSWER_KEPT = 2_000     # characters of a receiver's answer kept in the log
STUCK_AFTER = timedelta(minutes=10)   # a delivery "sending" this long lost its worker
CACHE_SECONDS = 5.0     # how long a process trusts its copy of a tenant's subscriptions

_cache: dict[uuid.UUID, tuple[float, list[tuple[uuid.UUID, frozenset[str]]]]] = {}


# --- which subscriptions want what ---------------------------------------------------------------

def _subscribed(tenant_id: uuid.UUID) -> list[tuple[uuid.UUID, frozenset[str]]]:
    """The tenant's active subscriptions and their event types. Read on every history write that
    could be delivered, so it is cached per process for CACHE_SECONDS: another process's new
    subscription starts receiving within that time; this process's own changes at once."""
    hit = _cache.get(tenant_id)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    rows = [(pk, frozenset(types)) for pk, types in WebhookSubscription.objects.filter(
        tenant_id=tenant_id, is_active=True).values_list("pk", "event_types")]
    _cache[tenant_id] = (time.monotonic() + CACHE_SECONDS, rows)
    return rows


def forget_subscriptions(tenant_id: uuid.UUID | None = None) -> None:
    if tenant_id is None:
        _cache.clear()
    else:
        _cache.pop(tenant_id, None)


def _forget_on_commit(tenant_id: uuid.UUID) -> None:
    forget_subscriptions(tenant_id)
    transaction.on_commit(lambda: forget_subscriptions(tenant_id))


# --- what a history row means to a subscriber ----------------------------------------------------

def _request_json(request) -> dict[str, Any]:
    return {"request_id": str(request.pk), "request_title": request.request_title,
            "request_type": request.request_type, "request_status": request.status,
            "origin_brain": request.requesting_brain_id, "destination_brain": request.target_brain_id,
            "priority": request.priority, "parent_request_id": str(request.parent_request_id or "") or None}


def _task_json(task) -> dict[str, Any]:
    return {"task_id": str(task.pk), "request_id": str(task.request_id), "title": task.title,
            "task_type": task.task_type, "status": task.status, "assigned_brain": task.assigned_brain_id,
            "attempts": task.attempts}


def request_event_types(event) -> list[str]:
    """The webhook events a request event is: created; moved (any change of status), and closed too
    when it ends the request; decision recorded."""
    if event.event_type == "created":
        return [WebhookEvent.REQUEST_CREATED]
    if event.event_type == "decision_recorded":
        return [WebhookEvent.DECISION_RECORDED]
    if event.to_status and event.to_status != event.from_status:
        closing = event.to_status in ("closed", "rejected")
        return [WebhookEvent.REQUEST_MOVED, *([WebhookEvent.REQUEST_CLOSED] if closing else [])]
    return []


TASK_EVENTS = {"queued": WebhookEvent.TASK_QUEUED, "completed": WebhookEvent.TASK_COMPLETED,
               "failed": WebhookEvent.TASK_FAILED}


def request_event_written(*, request, event) -> None:
    """Queue the deliveries a request event makes (called by requests_app's history writer)."""
    types = request_event_types(event)
    if not types or not _subscribed(request.tenant_id):
        return
    body = {"request": _request_json(request), "from_status": event.from_status, "to_status": event.to_status}
    if event.event_type == "decision_recorded":
        body["decision"] = {"decision_id": event.event_payload.get("decision_id"),
                            "decision_kind": event.event_payload.get("decision_kind")}
    _queue(request.tenant_id, types, event, body)


def task_event_written(*, task, event) -> None:
    """Queue the deliveries a task event makes (called by tasks_app's history writer)."""
    kind = TASK_EVENTS.get(event.to_status) if event.to_status != event.from_status else None
    if kind is None or not _subscribed(task.tenant_id):
        return
    _queue(task.tenant_id, [kind], event,
           {"task": _task_json(task), "from_status": event.from_status, "to_status": event.to_status})


def _queue(tenant_id: uuid.UUID, types: Iterable[str], event, body: dict[str, Any]) -> None:
    rows = []
    for subscription_id, wanted in _subscribed(tenant_id):
        for event_type in types:
            if event_type in wanted:
                delivery_id = uuid.uuid4()
                payload = {"event": event_type, "delivery_id": str(delivery_id),
                           "occurred_at": event.created_at.isoformat(), "event_id": str(event.pk),
                           "actor": event.actor, "summary": event.event_summary, **body}
                rows.append(WebhookDelivery(id=delivery_id, tenant_id=tenant_id, subscription_id=subscription_id,
                                            event_type=event_type, payload=payload))
    if rows:
        WebhookDelivery.objects.bulk_create(rows)
        _queue_sending(tenant_id, [row.pk for row in rows])


def _queue_sending(tenant_id: uuid.UUID, delivery_ids: list[uuid.UUID]) -> None:
    # With the database queue, in the change's transaction (an outbox); else after commit, where a
    # queue that cannot take it leaves the delivery pending for webhook_sweep.
    for delivery_id in delivery_ids:
        enqueue_with_change(webhook_deliver, str(tenant_id), str(delivery_id))


# --- sending --------------------------------------------------------------------------------------

def signature(secret: str, timestamp: str, body: bytes) -> str:
    """What X-MWMS-Signature carries: sha256= and the hex HMAC-SHA256 of "<timestamp>.<body>"."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def backoff(attempts: int) -> timedelta:
    """The wait after the attempts-th failure: MWMS_WEBHOOK_BACKOFF_SECONDS, doubling each time."""
    return timedelta(seconds=settings.MWMS_WEBHOOK_BACKOFF_SECONDS * 2 ** (attempts - 1))


def _post(delivery: WebhookDelivery) -> tuple[int | None, str]:
    """POST the delivery; the HTTP status (None when no answer came) and the start of the answer."""
    body = json.dumps(delivery.payload, sort_keys=True, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    http_request = urllib.request.Request(delivery.subscription.url, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": USER_AGENT, EVENT_HEADER: delivery.event_type,
        DELIVERY_HEADER: str(delivery.pk), TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(delivery.subscription.secret, timestamp, body),
    })
    try:
        with urllib.request.urlopen(http_request, timeout=settings.MWMS_WEBHOOK_TIMEOUT_SECONDS) as answer:
            return answer.status, answer.read(ANSWER_KEPT).decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read(ANSWER_KEPT).decode("utf-8", "replace")
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return None, f"No answer: {reason}"


def deliver(*, tenant_id: uuid.UUID, delivery_id: uuid.UUID) -> str:
    """Make one attempt at a delivery that is due, and record how it went. Returns its new status
    ("not due" when another worker has it or it is not due yet)."""
    now = clock.now()
    with claims.tenant_claim(tenant_id):
        # Taking the attempt is one conditional UPDATE, so two workers never send the same attempt.
        taken = WebhookDelivery.objects.filter(
            pk=delivery_id, tenant_id=tenant_id, status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING],
        ).filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)).update(
            status=DeliveryStatus.SENDING, attempts=F("attempts") + 1, last_attempt_at=now)
        if not taken:
            return "not due"
        delivery = WebhookDelivery.objects.select_related("subscription").get(pk=delivery_id)
    if delivery.subscription.is_active:
        code, answer = _post(delivery)  # outside any transaction: a slow receiver holds no lock
    else:
        code, answer = None, "Not sent: the subscription was switched off."
    done = code is not None and 200 <= code < 300
    out_of_attempts = delivery.attempts >= settings.MWMS_WEBHOOK_MAX_ATTEMPTS or not delivery.subscription.is_active
    status = DeliveryStatus.DELIVERED if done else DeliveryStatus.FAILED if out_of_attempts else DeliveryStatus.RETRYING
    next_at = clock.now() + backoff(delivery.attempts) if status == DeliveryStatus.RETRYING else None
    with claims.tenant_claim(tenant_id):
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            status=status, last_status_code=code, last_answer=limits.clip(answer, ANSWER_KEPT),
            next_attempt_at=next_at, delivered_at=clock.now() if done else None)
        if next_at is not None and task_backends[webhook_deliver.backend].supports_defer:
            transaction.on_commit(
                lambda: webhook_deliver.using(run_after=next_at).enqueue(str(tenant_id), str(delivery_id)),
                robust=True)
    return status


@task()
def webhook_deliver(tenant_id: str, delivery_id: str) -> str:
    """The background task: one attempt at one delivery."""
    return deliver(tenant_id=uuid.UUID(tenant_id), delivery_id=uuid.UUID(delivery_id))


def sweep(*, tenant_id: uuid.UUID | None = None) -> int:
    """Send every delivery that is due (pending, or retrying past its time), and take back those
    whose worker died while sending. For a queue that lost a task, and for backends that cannot
    defer a retry. Returns how many attempts it made."""
    now = clock.now()
    scope = {"tenant_id": tenant_id} if tenant_id else {}
    # Without a tenant: the installation-wide claim, to see every tenant's queue; each attempt then
    # acts for its own delivery's tenant.
    claim = (claims.tenant_claim(tenant_id) if tenant_id
             else claims.tenant_claim(DEFAULT_TENANT_ID, **claims.EVERY_TENANT))
    with claim:
        WebhookDelivery.objects.filter(status=DeliveryStatus.SENDING, last_attempt_at__lt=now - STUCK_AFTER,
                                       **scope).update(status=DeliveryStatus.RETRYING, next_attempt_at=now)
        due = list(WebhookDelivery.objects.filter(
            Q(status=DeliveryStatus.PENDING) | Q(status=DeliveryStatus.RETRYING, next_attempt_at__lte=now),
            **scope).order_by("created_at").values_list("tenant_id", "pk")[:1000])
    return sum(deliver(tenant_id=t, delivery_id=d) != "not due" for t, d in due)


@task()
def webhook_sweep() -> int:
    return sweep()


# --- what HeadOffice does with subscriptions and deliveries -------------------------------------------

def _head_office(actor: Actor) -> None:
    if not actor.is_head_office:
        raise DomainError("Only HeadOffice manages webhooks.", kind=Refusal.FORBIDDEN)


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _url(value: Any) -> str:
    url = required_text(value, field="url", label="The address", limit=limits.LINK)
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DomainError("The address must be a full http:// or https:// URL, e.g. https://example.org/hooks/mwms.",
                          field="url")
    return url


def _event_types(values: Any) -> list[str]:
    if isinstance(values, str):
        values = [v.strip() for v in values.split(",") if v.strip()]
    if not isinstance(values, list | tuple) or not values:
        raise DomainError("Choose at least one event: " + ", ".join(WebhookEvent.values) + ".", field="event_types")
    unknown = [str(v) for v in values if v not in WebhookEvent.values]
    if unknown:
        raise DomainError(f"Unknown event(s): {', '.join(unknown)}; choose from {', '.join(WebhookEvent.values)}.",
                          field="event_types")
    return list(dict.fromkeys(values))


def subscription_add(*, actor: Actor, name: Any, url: Any, event_types: Any,
                     secret: str | None = None) -> tuple[WebhookSubscription, str]:
    """Subscribe an endpoint to some of the tenant's events. Returns it and its signing secret
    (generated unless given; shown to the person once, as a token is)."""
    _head_office(actor)
    name = required_text(name, field="name", label="The name", limit=limits.NAME)
    url, types = _url(url), _event_types(event_types)
    secret = secret or secrets.token_urlsafe(32)
    if len(secret) < 16 or len(secret) > limits.NAME:
        raise DomainError(f"The secret must be 16 to {limits.NAME} characters.", field="secret")
    with atomic():
        subscription = WebhookSubscription.objects.create(
            tenant_id=actor.tenant_id, name=name, url=url, event_types=types, secret=secret, created_by=actor.label)
        _forget_on_commit(actor.tenant_id)
    return subscription, secret


def subscription_set_active(*, actor: Actor, subscription_id: Any, active: bool) -> WebhookSubscription:
    _head_office(actor)
    with atomic():
        subscription = (WebhookSubscription.objects.select_for_update()
                        .filter(tenant_id=actor.tenant_id, pk=_uuid(subscription_id)).first())
        if subscription is None:
            raise not_found("webhook subscription")
        subscription.is_active = active
        subscription.save(update_fields=["is_active"])
        _forget_on_commit(actor.tenant_id)
    return subscription


def delivery_resend(*, actor: Actor, delivery_id: Any) -> WebhookDelivery:
    """"Send again": a new delivery of the same event, naming the one it repeats, sent at once."""
    _head_office(actor)
    with atomic():
        original = WebhookDelivery.objects.filter(tenant_id=actor.tenant_id, pk=_uuid(delivery_id)).first()
        if original is None:
            raise not_found("webhook delivery")
        if original.status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING):
            raise DomainError("This delivery is still being sent; wait for its answer.", kind=Refusal.CONFLICT)
        new_id = uuid.uuid4()
        copy = WebhookDelivery.objects.create(
            id=new_id, tenant_id=actor.tenant_id, subscription_id=original.subscription_id,
            event_type=original.event_type, payload={**original.payload, "delivery_id": str(new_id)},
            resent_from=original)
        _queue_sending(actor.tenant_id, [copy.pk])
    return copy
