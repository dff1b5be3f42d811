"""Security headers and the production settings: CSP with no inline script, Permissions-Policy,
HSTS and the HTTPS redirect when DEBUG is off, and SECURE_COOKIES=false as the one switch for a
plain-HTTP trial. `manage.py check --deploy` with production settings warns of nothing."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent


def _production_env(**overrides: str) -> dict[str, str]:
    # DJANGO_ALLOW_ASYNC_UNSAFE is the browser tests' own (tests/e2e/conftest.py), not production's.
    env = {key: value for key, value in os.environ.items()
           if key not in ("DEBUG", "SECURE_COOKIES", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update({"DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(60), "ALLOWED_HOSTS": "headoffice.example.org",
                "CSRF_TRUSTED_ORIGINS": "https://headoffice.example.org"}, **overrides)
    return env


def _settings(names: list[str], **env: str) -> dict[str, str]:
    code = ("import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mwms_site.settings'); "
            "from django.conf import settings; "
            f"print('\\n'.join(f'{{n}}={{getattr(settings, n, None)!r}}' for n in {names!r}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_production_env(**env), capture_output=True,
                         text=True, check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines())


def test_check_deploy_with_production_settings_warns_of_nothing():
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                            env=_production_env(), capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_turns_on_hsts_the_https_redirect_and_secure_cookies():
    values = _settings(["SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
                        "SECURE_PROXY_SSL_HEADER"])

    assert values == {"SECURE_SSL_REDIRECT": "True", "SECURE_HSTS_SECONDS": "31536000",
                      "SESSION_COOKIE_SECURE": "True", "CSRF_COOKIE_SECURE": "True", "SECURE_PROXY_SSL_HEADER": "None"}


def test_secure_cookies_false_turns_off_the_cookies_the_redirect_and_hsts_together():
    values = _settings(["SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"],
                       SECURE_COOKIES="false")

    assert values == {"SECURE_SSL_REDIRECT": "False", "SECURE_HSTS_SECONDS": "0",
                      "SESSION_COOKIE_SECURE": "False", "CSRF_COOKIE_SECURE": "False"}


def test_the_proxys_tls_header_is_configurable_and_a_malformed_one_stops_start_up():
    assert _settings(["SECURE_PROXY_SSL_HEADER"], SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https") == {
        "SECURE_PROXY_SSL_HEADER": "('HTTP_X_FORWARDED_PROTO', 'https')"}
    with pytest.raises(subprocess.CalledProcessError) as failed:
        _settings(["DEBUG"], SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto")
    assert "SECURE_PROXY_SSL_HEADER must be a header and a value" in failed.value.stderr


@pytest.mark.django_db
def test_every_page_sends_the_csp_and_the_other_security_headers(client, reviewer):
    client.force_login(reviewer)

    for response in (client.get(reverse("governance:dashboard")), client.get(reverse("login"))):
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
        assert "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
        assert response["Permissions-Policy"].startswith("camera=()")
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.django_db
def test_no_page_carries_an_inline_script(client, reviewer):
    client.force_login(reviewer)
    for name in ("governance:dashboard", "requests:list", "governance:feedback", "governance:escalations",
                 "governance:decisions", "governance:lessons", "requests:create"):
        page = client.get(reverse(name)).content.decode()
        scripts = page.split("<script")[1:]
        assert scripts and all(" src=" in script.split(">")[0] for script in scripts), name


@pytest.mark.django_db
def test_an_api_call_gets_the_same_security_headers_and_no_browser_state(client, reviewer):
    """Bearer API calls pass the browser-only middleware by (mwms_site.web.pages_only): their
    answers keep every security header a page has, and set no cookie; a page with a session and
    messages keeps them."""
    from tests.api_client import api_as, new_request_body

    api = api_as("research")
    api.client.cookies["sessionid"] = "a-stale-session"  # a browser's cookie sent along changes nothing
    created = api.post("/requests", new_request_body())
    claimed = api_as("affiliate", "executor").post("/tasks/claim")
    assert (created.status_code, claimed.status_code) == (201, 204)
    client.force_login(reviewer)
    page = client.get(reverse("governance:dashboard"))
    for response in (created, claimed):
        for header in ("Content-Security-Policy", "Permissions-Policy", "X-Frame-Options", "X-Content-Type-Options",
                       "Referrer-Policy"):
            assert response[header] == page[header], header
        assert not response.cookies and "Vary" not in response
    assert not hasattr(created.wsgi_request, "user") and not hasattr(created.wsgi_request, "session")
    assert page.wsgi_request.user == reviewer and page.wsgi_request.session.session_key
    assert hasattr(page.wsgi_request, "_messages") and hasattr(page.wsgi_request, "htmx")
