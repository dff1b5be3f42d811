"""Webhooks (issue 14, items 3 and 4): a tenant's changes POSTed as signed JSON to a real receiver,
retried with backoff, logged for HeadOffice, sent again on demand, never sent for a rolled-back change,
and run through the Tasks API's database queue and its worker."""

import dataclasses
import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from governance_app.kernel import claims, clock, webhooks
from governance_app.kernel.errors import DomainError, Refusal
from governance_app.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from requests_app import services as rs
from tasks_app import services as ts
from tests.engine import actor, new_request, routed_request, token_actor
from tests.factories import make_tenant

pytestmark = pytest.mark.django_db


class Receiver:
    """An HTTP endpoint on 127.0.0.1 that answers with the next status of `answers` (then 200) and
    keeps every POST it got: its headers and its body."""

    def __init__(self):
        self.answers: list[int] = []
        self.received: list = []  # (headers, body) of each POST
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((self.headers, body))  # case-insensitive, as HTTP is
                status = receiver.answers.pop(0) if receiver.answers else 200
                answer = b"ok" if status < 300 else b"receiver is down for maintenance"
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/mwms"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self) -> list[str]:
        return [headers["X-MWMS-Event"] for headers, _ in self.received]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    endpoint = Receiver()
    yield endpoint
    endpoint.close()


@pytest.fixture(autouse=True)
def _no_cached_subscriptions():
    webhooks.forget_subscriptions()
    yield
    webhooks.forget_subscriptions()


def subscribe(reviewer, url: str, events: list[str], secret: str = "s3cret-key-for-tests-0123") -> WebhookSubscription:
    subscription, _ = webhooks.subscription_add(actor=actor(reviewer), name="Brain Room", url=url,
                                                event_types=events, secret=secret)
    return subscription


def test_a_new_request_is_posted_as_signed_json(reviewer, owner, receiver, django_capture_on_commit_callbacks):
    subscribe(reviewer, receiver.url, ["request.created"])
    with django_capture_on_commit_callbacks(execute=True):
        request = new_request(actor(owner))
    [(headers, body)] = receiver.received
    expected = hmac.new(b"s3cret-key-for-tests-0123", headers["X-MWMS-Timestamp"].encode() + b"." + body,
                        hashlib.sha256).hexdigest()
    assert headers["X-MWMS-Signature"] == f"sha256={expected}"
    assert headers["X-MWMS-Event"] == "request.created" and headers["Content-Type"] == "application/json"
    payload = json.loads(body)
    assert payload["request"]["request_id"] == str(request.pk)
    assert (payload["request"]["origin_brain"], payload["request"]["destination_brain"]) == ("research", "affiliate")
    assert payload["delivery_id"] == headers["X-MWMS-Delivery"] and payload["actor"] == "research_owner"
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code, delivery.last_answer) == (
        DeliveryStatus.DELIVERED, 1, 200, "ok")


def test_a_500_is_retried_after_the_backoff_and_then_delivered(reviewer, owner, receiver,
                                                                django_capture_on_commit_callbacks):
    subscribe(reviewer, receiver.url, ["request.created"])
    receiver.answers = [500]
    with django_capture_on_commit_callbacks(execute=True):
        new_request(actor(owner))
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.RETRYING, 1, 500)
    assert "maintenance" in delivery.last_answer
    wait = delivery.next_attempt_at - delivery.last_attempt_at
    assert timedelta(seconds=29) < wait < timedelta(seconds=32)  # MWMS_WEBHOOK_BACKOFF_SECONDS

    assert webhooks.sweep() == 0  # not due yet: nothing sent
    assert len(receiver.received) == 1
    later = delivery.next_attempt_at + timedelta(seconds=1)
    with clock.clock_set(lambda: later):
        assert webhooks.sweep() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.DELIVERED, 2, 200)
    assert len(receiver.received) == 2
    first, second = (json.loads(body) for _, body in receiver.received)
    assert first == second  # the same delivery, the same body


def test_attempts_run_out_and_the_delivery_fails(reviewer, owner, receiver, settings,
                                                 django_capture_on_commit_callbacks):
    settings.MWMS_WEBHOOK_MAX_ATTEMPTS = 2
    subscribe(reviewer, receiver.url, ["request.created"])
    receiver.answers = [503, 503, 503]
    with django_capture_on_commit_callbacks(execute=True):
        new_request(actor(owner))
    delivery = WebhookDelivery.objects.get()
    with clock.clock_set(lambda: delivery.next_attempt_at + timedelta(seconds=1)):
        webhooks.sweep()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (DeliveryStatus.FAILED, 2, None)
    tomorrow = clock.now() + timedelta(days=1)
    with clock.clock_set(lambda: tomorrow):
        assert webhooks.sweep() == 0  # failed is final


def test_a_receiver_that_does_not_answer_is_logged_and_retried(reviewer, owner, django_capture_on_commit_callbacks):
    closed = Receiver()
    url = closed.url
    closed.close()  # nothing listens there now
    subscribe(reviewer, url, ["request.created"])
    with django_capture_on_commit_callbacks(execute=True):
        new_request(actor(owner))
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_status_code) == (DeliveryStatus.RETRYING, None)
    assert delivery.last_answer.startswith("No answer:")


def test_a_rolled_back_change_writes_and_sends_nothing(reviewer, owner, receiver,
                                                       django_capture_on_commit_callbacks):
    subscribe(reviewer, receiver.url, ["request.created"])
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        with transaction.atomic():
            new_request(actor(owner))
            raise RuntimeError("the change fails after its event was written")
    assert not WebhookDelivery.objects.exists()
    assert receiver.received == []


def test_each_subscriber_gets_only_the_events_it_chose(reviewer, owner, other_owner, receiver, brains,
                                                       django_capture_on_commit_callbacks):
    subscribe(reviewer, receiver.url, ["request.moved", "task.queued", "task.completed", "task.failed",
                                       "decision.recorded"])
    quiet = Receiver()
    subscribe(reviewer, quiet.url, ["request.closed"])
    try:
        with django_capture_on_commit_callbacks(execute=True):
            request = routed_request(actor(owner), actor(reviewer))
        assert receiver.events() == ["request.moved"]  # created is not among its events
        with django_capture_on_commit_callbacks(execute=True):
            request = rs.request_accept(request=request, actor=actor(other_owner))
            ts.task_create(request=request, actor=actor(other_owner), task_type="offer_review_task")
            executor = token_actor("affiliate")
            task = ts.task_start(task=ts.task_claim_next(actor=executor), actor=executor)
            ts.task_complete(task=task, actor=executor, result_summary="Offer scored 8/10 on margin and demand.")
        assert receiver.events() == ["request.moved", "request.moved", "task.queued", "task.completed"]
        [(_, body)] = receiver.received[3:]
        assert json.loads(body)["task"]["status"] == "completed"
        assert quiet.received == []
    finally:
        quiet.close()


def test_send_again_is_a_new_delivery_naming_the_first(reviewer, owner, receiver,
                                                       django_capture_on_commit_callbacks):
    subscribe(reviewer, receiver.url, ["request.created"])
    with django_capture_on_commit_callbacks(execute=True):
        new_request(actor(owner))
    first = WebhookDelivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        again = webhooks.delivery_resend(actor=actor(reviewer), delivery_id=first.pk)
    again.refresh_from_db()
    assert (again.resent_from_id, again.status, again.attempts) == (first.pk, DeliveryStatus.DELIVERED, 1)
    assert [h["X-MWMS-Delivery"] for h, _ in receiver.received] == [str(first.pk), str(again.pk)]
    first.refresh_from_db()
    assert (first.status, first.attempts) == (DeliveryStatus.DELIVERED, 1)  # the first row is what happened


def test_send_again_is_refused_to_non_head_office_and_for_unknown_ids(reviewer, owner, receiver,
                                                                      django_capture_on_commit_callbacks):
    subscribe(reviewer, receiver.url, ["request.created"])
    with django_capture_on_commit_callbacks(execute=True):
        new_request(actor(owner))
    delivery = WebhookDelivery.objects.get()
    with pytest.raises(DomainError) as refused:
        webhooks.delivery_resend(actor=actor(owner), delivery_id=delivery.pk)
    assert refused.value.kind == Refusal.FORBIDDEN
    with pytest.raises(DomainError) as refused:
        webhooks.delivery_resend(actor=actor(reviewer), delivery_id="not-a-delivery")
    assert refused.value.kind == Refusal.NOT_FOUND
    assert WebhookDelivery.objects.count() == 1


@pytest.mark.parametrize("fields, field", [
    ({"url": "ftp://example.org/x"}, "url"),
    ({"url": "example.org/hooks"}, "url"),
    ({"event_types": []}, "event_types"),
    ({"event_types": ["request.deleted"]}, "event_types"),
    ({"name": "  "}, "name"),
    ({"secret": "short"}, "secret"),
])
def test_a_bad_subscription_is_refused_naming_the_field(reviewer, fields, field):
    values = {"name": "Brain Room", "url": "https://example.org/hooks", "event_types": ["request.created"], **fields}
    with pytest.raises(DomainError) as refused:
        webhooks.subscription_add(actor=actor(reviewer), **values)
    assert refused.value.field == field
    assert not WebhookSubscription.objects.exists()


def test_only_head_office_subscribes(owner):
    with pytest.raises(DomainError) as refused:
        webhooks.subscription_add(actor=actor(owner), name="x", url="https://example.org/", event_types=["task.failed"])
    assert refused.value.kind == Refusal.FORBIDDEN


def test_the_database_refuses_a_url_that_is_not_http(reviewer):
    from django.db import IntegrityError
    with pytest.raises(IntegrityError), transaction.atomic():
        WebhookSubscription.objects.create(name="x", url="javascript:alert(1)", secret="x" * 20,
                                           event_types=["task.failed"], created_by="sql")


def test_a_switched_off_subscription_receives_nothing_new(reviewer, owner, receiver,
                                                          django_capture_on_commit_callbacks):
    subscription = subscribe(reviewer, receiver.url, ["request.created"])
    webhooks.subscription_set_active(actor=actor(reviewer), subscription_id=subscription.pk, active=False)
    with django_capture_on_commit_callbacks(execute=True):
        new_request(actor(owner))
    assert not WebhookDelivery.objects.exists() and receiver.received == []


def test_another_tenants_subscription_never_hears_of_this_tenant(reviewer, owner, receiver,
                                                                 django_capture_on_commit_callbacks):
    other = make_tenant(slug="acme")
    head_office = dataclasses.replace(actor(reviewer), tenant_id=other.id)  # Acme's HeadOffice
    with claims.tenant_claim(other.id):
        webhooks.subscription_add(actor=head_office, name="Acme room", url=receiver.url,
                                  event_types=["request.created"], secret="acme-secret-0123456789")
    with django_capture_on_commit_callbacks(execute=True):
        new_request(actor(owner))
    assert receiver.received == []
    assert not WebhookDelivery.objects.exists()
    with claims.tenant_claim(other.id):
        assert WebhookSubscription.objects.filter(tenant_id=other.id).count() == 1


def test_the_database_queue_and_its_worker_deliver(reviewer, owner, receiver, settings, monkeypatch,
                                                   django_capture_on_commit_callbacks):
    """As production runs it: the delivery is a row in the Tasks API's database queue until
    `db_worker` takes it."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    # Between tasks the worker closes a connection that is inside a transaction; here that
    # transaction is the test's own, rolled back at its end, so it must stay open.
    monkeypatch.setattr("django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None)
    subscribe(reviewer, receiver.url, ["request.created"])
    with django_capture_on_commit_callbacks(execute=True):
        new_request(actor(owner))
    assert receiver.received == []  # the request did not wait for the receiver
    assert DBTaskResult.objects.filter(task_path="governance_app.kernel.webhooks.webhook_deliver").count() == 1
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    assert receiver.events() == ["request.created"]
    assert WebhookDelivery.objects.get().status == DeliveryStatus.DELIVERED


def test_with_the_database_queue_a_change_queues_its_tasks_in_its_own_transaction(reviewer, owner, receiver,
                                                                                  settings):
    """An outbox: the fan-out and the delivery are rows of the change's transaction, there before
    it commits (no second commit per call) and gone with it when it rolls back."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    subscribe(reviewer, receiver.url, ["request.created"])
    queued = DBTaskResult.objects.values_list("task_path", flat=True)
    with transaction.atomic():
        new_request(actor(owner))
        in_the_change = sorted(queued)
    with pytest.raises(RuntimeError), transaction.atomic():
        new_request(actor(owner), request_title="Rolled back with its tasks")
        raise RuntimeError("the change fails after its tasks were queued")

    assert in_the_change == ["governance_app.kernel.webhooks.webhook_deliver", "requests_app.notifications.notify"]
    assert sorted(queued) == in_the_change  # the rolled-back change queued nothing that stayed


# --- the page and the command ---------------------------------------------------------------------

def test_head_office_sees_the_log_and_sends_again(client, reviewer, owner, receiver,
                                                  django_capture_on_commit_callbacks):
    subscribe(reviewer, receiver.url, ["request.created"])
    receiver.answers = [500]
    with django_capture_on_commit_callbacks(execute=True):
        new_request(actor(owner))
    client.force_login(reviewer)
    page = client.get(reverse("governance:webhooks"))
    text = page.content.decode()
    assert page.status_code == 200 and "Brain Room" in text and "HTTP 500" in text and "Retrying" in text
    delivery = WebhookDelivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(reverse("governance:webhook_resend", args=[delivery.pk]), follow=True)
    assert "Sent again as a new delivery" in answer.content.decode()
    assert WebhookDelivery.objects.filter(resent_from=delivery, status=DeliveryStatus.DELIVERED).count() == 1


def test_the_page_subscribes_and_shows_the_secret_once(client, reviewer):
    client.force_login(reviewer)
    refused = client.post(reverse("governance:webhook_subscribe"),
                          {"name": "Room", "url": "not a url", "event_types": ["task.failed"]})
    assert refused.status_code == 200 and "full http:// or https:// URL" in refused.content.decode()
    assert not WebhookSubscription.objects.exists()
    answer = client.post(reverse("governance:webhook_subscribe"),
                         {"name": "Room", "url": "https://example.org/hooks", "event_types": ["task.failed"]},
                         follow=True)
    subscription = WebhookSubscription.objects.get()
    assert subscription.secret in answer.content.decode()
    assert subscription.secret not in client.get(reverse("governance:webhooks")).content.decode()


def test_brain_owners_may_not_open_the_webhooks_page(client, owner):
    client.force_login(owner)
    assert client.get(reverse("governance:webhooks")).status_code == 403
    assert client.post(reverse("governance:webhook_subscribe"), {"name": "x"}).status_code == 403


def test_the_command_subscribes_and_prints_the_secret_last(capsys, brains):
    call_command("webhook_add", "--name", "Brain Room", "--url", "https://example.org/hooks",
                 "--events", "request.created,task.failed")
    subscription = WebhookSubscription.objects.get()
    assert subscription.event_types == ["request.created", "task.failed"]
    assert capsys.readouterr().out.strip().splitlines()[-1] == subscription.secret


@pytest.mark.parametrize("args, message", [
    (["--url", "gopher://x"], "full http:// or https:// URL"),
    (["--events", "request.created,nothing.happened"], "nothing.happened"),
    (["--tenant", "nobody"], "Unknown tenant"),
])
def test_the_command_refuses_bad_input_and_creates_nothing(brains, args, message):
    base = {"--name": "Room", "--url": "https://example.org/hooks", "--events": "request.created"}
    base.update(dict(zip(args[::2], args[1::2])))
    with pytest.raises(CommandError, match=message):
        call_command("webhook_add", *[x for pair in base.items() for x in pair])
    assert not WebhookSubscription.objects.exists()
