"""The answers Django and ninja give before any API handler runs are JSON {"detail": ...} too: a
method the path lacks (405, with its Allow header), a path that is no endpoint (404, never a
redirect), a body over DATA_UPLOAD_MAX_MEMORY_SIZE (413). Browser pages keep their HTML answers."""

import json

import pytest
from django.test import Client

from tests.api_client import BASE, Api, new_request_body, research  # noqa: F401 - fixture

LIMIT = 4096


@pytest.fixture(params=[True, False], ids=["debug", "production"])
def debug(request, settings) -> bool:
    """Each test runs as a development run and as production: the answers must not differ."""
    settings.DEBUG = request.param
    return request.param


@pytest.fixture
def small_upload_limit(settings) -> int:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = LIMIT
    return LIMIT


def client() -> Client:
    # An exception the app lets escape is what a real client sees as a 500, so let it be answered.
    return Client(raise_request_exception=False)


def detail(response) -> str:
    assert response["Content-Type"].startswith("application/json"), (response.status_code, response.content[:200])
    body = response.json()
    assert set(body) == {"detail"}, body
    return body["detail"]


def padded_to(size: int, body: dict) -> str:
    """The body as JSON, padded with trailing whitespace (still valid JSON) to exactly `size` bytes."""
    text = json.dumps(body)
    assert len(text) <= size
    return text + " " * (size - len(text))


# --- 405 -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["delete", "put", "patch"])
def test_a_method_the_path_lacks_is_a_json_405_that_keeps_allow(debug, method):
    response = getattr(client(), method)(f"{BASE}/requests")

    assert response.status_code == 405
    assert method.upper() in detail(response)
    assert set(response["Allow"].split(", ")) == {"GET", "POST"}


def test_a_method_an_id_path_lacks_is_a_json_405_for_a_token_holder(research):
    response = research.client.delete(f"{BASE}/requests/00000000-0000-0000-0000-000000000000",
                                      headers={"Authorization": f"Bearer {research.secret}"})

    assert response.status_code == 405
    assert "GET" in detail(response)
    assert response["Allow"] == "GET"


# --- 404 -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/requests/", "/nope", "/tasks/claim/extra", "/", ""])
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_path_that_is_no_endpoint_is_a_json_404_not_a_redirect(debug, method, path):
    response = getattr(client(), method)(BASE + path)

    assert response.status_code == 404
    message = detail(response)
    assert BASE + path in message
    assert f"{BASE}/openapi.json" in message


def test_a_browser_page_that_is_not_there_keeps_the_html_404(debug):
    response = client().get("/nope/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_browser_page_still_gets_its_trailing_slash(debug):
    response = client().get("/accounts/login")

    assert response.status_code == 301
    assert response["Location"] == "/accounts/login/"


# --- 413 -----------------------------------------------------------------------------------------

def test_a_body_over_the_limit_is_a_json_413_naming_the_limit(debug, small_upload_limit, research):
    response = client().post(f"{BASE}/requests", padded_to(LIMIT + 1, new_request_body()),
                             content_type="application/json", headers={"Authorization": f"Bearer {research.secret}"})

    assert response.status_code == 413
    assert f"{LIMIT} bytes" in detail(response)


def test_a_body_over_the_limit_is_a_413_even_without_a_token(debug, small_upload_limit):
    response = client().post(f"{BASE}/requests", "x" * (LIMIT + 1), content_type="application/json")

    assert response.status_code == 413
    assert str(LIMIT) in detail(response)


def test_a_body_exactly_at_the_limit_is_taken(small_upload_limit, research):
    response = research.post("/requests", raw=padded_to(LIMIT, new_request_body()))

    assert response.status_code == 201, response.content


def test_a_browser_form_over_the_limit_is_left_to_django(small_upload_limit, settings):
    settings.DEBUG = False
    response = client().post("/accounts/login/", {"username": "x" * (LIMIT + 1), "password": "y"})

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


# --- other refusals Django makes before the API ------------------------------------------------

def test_a_query_with_too_many_parameters_is_a_json_400_naming_the_limit(debug, settings, research):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 20
    query = "&".join(f"x{n}=1" for n in range(21))

    response = client().get(f"{BASE}/requests?{query}", headers={"Authorization": f"Bearer {research.secret}"})

    assert response.status_code == 400
    assert detail(response) == "The query has more than 20 parameters."


def test_a_content_length_that_is_no_number_is_a_json_400(debug, research):
    response = client().generic("POST", f"{BASE}/requests", json.dumps(new_request_body()),
                                content_type="application/json", CONTENT_LENGTH="abc",
                                headers={"Authorization": f"Bearer {research.secret}"})

    assert response.status_code == 400
    assert "Content-Length" in detail(response)


def test_a_host_the_site_does_not_serve_is_a_json_400_under_the_api(debug):
    response = client().get(f"{BASE}/requests", headers={"Host": "elsewhere.example"})

    assert response.status_code == 400
    assert detail(response) == "Bad Request."


# --- what was JSON already -----------------------------------------------------------------------

def test_a_json_refusal_from_the_api_is_left_as_it_was(debug):
    response = Api(None).get("/requests")

    assert response.status_code == 401
    assert response.json() == {"detail": "Send Authorization: Bearer <token> (a token from `manage.py issue_token`)."}
    assert response["WWW-Authenticate"] == 'Bearer realm="mwms"'
