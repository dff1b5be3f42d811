"""When the database goes away: a pooled connection that died is replaced at the next request
(CONN_HEALTH_CHECKS), and while the database cannot be reached the API answers JSON 503 with
Retry-After and the pages a calm "try again in a moment" page, never a traceback."""

import socket

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_started
from django.db import connection
from django.urls import reverse


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# PostgreSQL only: SQLite's test database lives in memory and would go with its connection.
pytestmark = pytest.mark.postgres


@pytest.fixture
def take_the_database_away(monkeypatch):
    """Point the connection at a port where no PostgreSQL listens, as during a restart; put it back after."""
    def take_away() -> None:
        connection.close()
        monkeypatch.setitem(connection.settings_dict, "HOST", "127.0.0.1")
        monkeypatch.setitem(connection.settings_dict, "PORT", str(_unused_port()))

    yield take_away
    connection.close()
    monkeypatch.undo()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_api_answers_json_503_with_retry_after_while_the_database_is_down(brains, take_the_database_away,
                                                                              client):
    take_the_database_away()
    response = client.get("/api/v1/requests", headers={"Authorization": "Bearer mwms_" + "x" * 43})

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "5"
    assert "database cannot be reached" in response.json()["detail"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_page_answers_a_calm_503_while_the_database_is_down(reviewer, client, take_the_database_away):
    client.force_login(reviewer)
    take_the_database_away()
    response = client.get(reverse("governance:dashboard"))

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    page = response.content.decode()
    assert "Try again in a moment" in page and "Traceback" not in page
    assert 'class="topbar"' in page  # the site's own look


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_pooled_connection_killed_by_a_restart_is_replaced_at_the_next_request(brains):
    assert connection.settings_dict["CONN_MAX_AGE"] > 0 and connection.settings_dict["CONN_HEALTH_CHECKS"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    other = connection.get_new_connection(connection.get_connection_params())
    try:  # what a PostgreSQL restart does to the pooled session
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()

    request_started.send(sender=WSGIHandler)  # as the server does when the next request begins
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (new_pid,) = cursor.fetchone()

    assert new_pid != pid
