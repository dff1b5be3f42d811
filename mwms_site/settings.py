"""Settings for MWMS HeadOffice, read from the environment (see README, "Configuration")."""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from mwms_site.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

DEBUG = env_bool("DEBUG", default=False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY, or set DEBUG=true for a local development run."
        )
    SECRET_KEY = "insecure-development-key-only-used-with-debug"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "csp",
    "django_htmx",
    "template_partials",
    "django_filters",
    "pgtrigger",
    "ninja",  # its own copy of Swagger UI for /api/v1/docs, served from static/ rather than a CDN
    "django_tasks",     # Django 6's Tasks API, backported to 5.2
    "django_tasks_db",  # its database queue: `manage.py db_worker` runs what is enqueued
    "governance_app",
    "requests_app",
    "tasks_app",
]

# The browser-only ones (sessions, the signed-in user, messages, htmx) are PagesOnly: left out of API
# calls with a bearer token, which read none of them (mwms_site.web.pages_only). CSRF and django-axes
# stay as they are, where Django's and axes' system checks look for them.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "mwms_site.web.PermissionsPolicyMiddleware",
    "mwms_site.web.ContentSecurityPolicyMiddleware",  # django-csp's, with its headers built once
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "mwms_site.web.PagesOnlySessionMiddleware",
    # Outside CommonMiddleware, so that it also sees the 400 Django answers for a bad Host header.
    "mwms_site.api_errors.ApiErrorMiddleware",
    "mwms_site.api_errors.ApiCommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "mwms_site.web.PagesOnlyAuthenticationMiddleware",
    "mwms_site.web.PagesOnlyMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "mwms_site.web.PagesOnlyHtmxMiddleware",
    "mwms_site.web.DatabaseUnavailableMiddleware",
    # One transaction per request, acting for the person's or the token's tenant (row-level security).
    "mwms_site.web.TenantClaimMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "mwms_site.urls"
WSGI_APPLICATION = "mwms_site.wsgi.application"
ASGI_APPLICATION = "mwms_site.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "governance_app.context_processors.mwms",
            ],
        },
    },
]
# Widgets render in Python (the same HTML as Django's widget templates): pages with a form per row
# spent most of their time in the templates of inputs, options and radio buttons.
FORM_RENDERER = "governance_app.kernel.forms.PythonWidgetRenderer"

# With no DATABASE_URL the embedded SQLite file under var/ is used, so a first run needs nothing
# installed; production points DATABASE_URL at PostgreSQL (or Supabase's PostgreSQL).
_database_url = env_str("DATABASE_URL")
if _database_url:
    # A pooled connection is checked before each request reuses it, so one that a PostgreSQL restart
    # killed is replaced instead of failing the request.
    _db = dj_database_url.parse(_database_url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
                                conn_health_checks=True)
    if _db["ENGINE"] not in ("django.db.backends.postgresql", "django.db.backends.sqlite3"):
        raise ImproperlyConfigured(f"DATABASE_URL must be a postgres:// or sqlite:// URL, not {_db['ENGINE']}")
    if _db["ENGINE"] == "django.db.backends.postgresql":
        _db.setdefault("TEST", {})["NAME"] = env_str("TEST_DATABASE_NAME") or None
        if _db["TEST"]["NAME"] is None:
            del _db["TEST"]["NAME"]
        # Server-side binding sends parameters apart from the SQL (psycopg does not quote them into the
        # text in Python), and a statement run five times on a connection is prepared, so PostgreSQL
        # stops parsing and planning it: the API's hot paths cost less on both sides. Both need a
        # session of their own, so turn them off behind a transaction-mode pooler.
        if env_bool("DB_SERVER_SIDE_BINDING", default=True):
            _db.setdefault("OPTIONS", {}).update({"server_side_binding": True, "prepare_threshold": 5})
else:
    VAR_DIR.mkdir(exist_ok=True)
    _db = {"ENGINE": "django.db.backends.sqlite3", "NAME": VAR_DIR / "mwms.sqlite3"}
SQLITE_OPTIONS = {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE"}
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the dev server and a management command share the file. A
    # transaction takes the write lock when it begins (IMMEDIATE), so it waits its turn there: one
    # that began DEFERRED, read, then tried to write while another held the lock would get "database
    # is locked" at once, the busy timeout notwithstanding (a reader cannot be upgraded).
    _db.setdefault("OPTIONS", {}).update(SQLITE_OPTIONS)
DATABASES = {"default": _db}

# Two roles on PostgreSQL (README, "Row-level security and the two database roles"): DATABASE_URL is the runtime role the app runs
# as (NOSUPERUSER NOBYPASSRLS, owns nothing); DATABASE_OWNER_URL, when set, is the owner that
# `migrate` connects as, and that grants the runtime role only what MWMS_DB_TABLE_KINDS says.
# Only the owner URL's user, password, host and port are used; the database is DATABASE_URL's.
_owner_url = env_str("DATABASE_OWNER_URL")
DATABASE_OWNER = (dj_database_url.parse(_owner_url)
                  if _owner_url and _db["ENGINE"] == "django.db.backends.postgresql" else None)
MWMS_DB_RUNTIME_ROLE = env_str("DB_RUNTIME_ROLE") or None  # when the login name is not the role's
MWMS_DB_LOCK_DATABASE = env_bool("DB_LOCK_DATABASE", default=True)  # false on Supabase
# What the runtime role may do to each table. A table in none of these makes `migrate` fail with
# its name, so a new table never gets write access by accident.
MWMS_DB_TABLE_KINDS = {
    # History: INSERT and SELECT only.
    "append_only": ["mwms_task_events", "mwms_request_events", "mwms_decision_records", "mwms_canon_amendments",
                    "mwms_canon_proposals", "mwms_suggestion_evidence", "mwms_chain_checkpoints",
                    "mwms_chain_checkpoint_heads"],
    # The chain and its registry: never deleted.
    "lineage": ["mwms_brain_requests", "mwms_tasks", "mwms_task_artifacts", "mwms_lessons_learned",
                "mwms_canon_documents", "mwms_signals", "mwms_brains", "mwms_tenants",
                # Switched off, never deleted: the delivery log keeps what was sent where.
                "mwms_webhook_subscriptions", "mwms_webhook_deliveries"],
    "mutable": ["django_session", "django_content_type", "auth_permission", "auth_group", "auth_group_permissions",
                "auth_user", "auth_user_groups", "auth_user_user_permissions", "django_admin_log", "axes_*",
                "django_tasks_database_*", "mwms_memberships", "mwms_api_tokens", "mwms_tenant_users",
                "mwms_idempotency_keys", "mwms_refusal_windows",
                "mwms_watches", "mwms_notifications", "mwms_notification_preferences",
                "mwms_sla_policies", "mwms_sla_targets", "mwms_saved_views", "mwms_list_preferences"],
    "read_only": ["django_migrations"],
}
MWMS_DB_DEFINER_FUNCTIONS = ["public.mwms_token_lookup(text)", "public.mwms_user_tenant(bigint)",
                             "public.mwms_request_text_ids(text, text[])", "public.mwms_search_ids(text, text, integer, integer)",
                             "public.mwms_request_text_newest(text, text[], integer, integer)",
                             "public.mwms_request_text_count(text, text[], integer)",
                             "public.mwms_request_text_match(text, text[], uuid[])",
                             "public.mwms_tenant_for_slug(text)"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# Sign-in throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one account, or
# from one address, sign-in is refused there for AXES_COOLOFF_TIME, with a page that says until
# when. An administrator unlocks early by deleting the attempts in the admin ("Access attempts").
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, refusing the people of an inactive tenant.
    "governance_app.kernel.tenancy.ActiveTenantBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The log names the account and the address of each failure and lockout, for whoever investigates.
AXES_SENSITIVE_PARAMETERS: list[str] = []
AXES_IPWARE_PROXY_COUNT = env_int("AXES_PROXY_COUNT", 0)
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Transport security. SECURE_COOKIES=false is the one switch for a plain-HTTP trial: it turns off
# the Secure cookies, the HTTPS redirect and HSTS together.
_secure = env_bool("SECURE_COOKIES", default=not DEBUG)
SESSION_COOKIE_SECURE = _secure
CSRF_COOKIE_SECURE = _secure
SECURE_SSL_REDIRECT = _secure and not DEBUG
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000) if _secure and not DEBUG else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0 and env_bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Behind a proxy that terminates TLS, name the header it sets, e.g. "HTTP_X_FORWARDED_PROTO,https".
_proxy_ssl_header = env_list("SECURE_PROXY_SSL_HEADER", [])
if _proxy_ssl_header:
    if len(_proxy_ssl_header) != 2:
        raise ImproperlyConfigured("SECURE_PROXY_SSL_HEADER must be a header and a value, e.g. "
                                   "HTTP_X_FORWARDED_PROTO,https")
    SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header)
SESSION_COOKIE_HTTPONLY = True
# Django's database sessions, read with a statement built once per process (mwms_site/sessions.py).
SESSION_ENGINE = "mwms_site.sessions"

# Content-Security-Policy (django-csp): scripts only from this site (htmx is served from here by
# django-htmx), no inline script, no plugins, no framing. Styles may be inline: the dashboard's bars
# draw their widths with a style attribute.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# Permissions-Policy: the app uses none of these browser features.
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"

# How long a request may go without a change before the dashboard calls it stale.
MWMS_STALE_AFTER_DAYS = env_int("MWMS_STALE_AFTER_DAYS", 7)
# How long the dashboard's counts are reused by the views of the same scope (0: counted on every
# view). governance_app.selectors._figures says why; the page shows when they were counted.
MWMS_DASHBOARD_FIGURES_SECONDS = env_int("MWMS_DASHBOARD_FIGURES_SECONDS", 30)
# A refused call by a token is a rule_violation event once per actor, record and move in each
# window of this many minutes; the refusals after it are counted (mwms_refusal_windows).
MWMS_REFUSAL_WINDOW_MINUTES = env_int("MWMS_REFUSAL_WINDOW_MINUTES", 10)
if not 1 <= MWMS_REFUSAL_WINDOW_MINUTES <= 24 * 60:
    raise ImproperlyConfigured("MWMS_REFUSAL_WINDOW_MINUTES must be from 1 to 1440 (a day), "
                               f"not {MWMS_REFUSAL_WINDOW_MINUTES}")
# The lineage check (requests_app.integrity): a request routed to a different Brain more than this
# many times is in ping-pong (protocol rule 8, "requests with unclear ownership"); the dashboard's
# Integrity queue checks the MWMS_INTEGRITY_QUEUE_SCAN requests changed last, a bounded cost per
# page view (`manage.py lineage_verify` checks them all).
MWMS_PING_PONG_LIMIT = env_int("MWMS_PING_PONG_LIMIT", 3)
if MWMS_PING_PONG_LIMIT < 1:
    raise ImproperlyConfigured(f"MWMS_PING_PONG_LIMIT must be 1 or more, not {MWMS_PING_PONG_LIMIT}")
MWMS_INTEGRITY_QUEUE_SCAN = env_int("MWMS_INTEGRITY_QUEUE_SCAN", 300)
# Bulk actions on the request list (requests_app.bulk): "all matching the filter" takes at most this
# many requests; a filter matching more is refused with a sentence, and nothing is done.
MWMS_BULK_LIMIT = env_int("MWMS_BULK_LIMIT", 500)
if not 1 <= MWMS_BULK_LIMIT <= 5000:
    raise ImproperlyConfigured(f"MWMS_BULK_LIMIT must be from 1 to 5000, not {MWMS_BULK_LIMIT}")

# Background work (webhook deliveries, their sweep) runs through Django's Tasks API on the database
# queue: `manage.py db_worker` (started by `make run`; in production, as many as you like, since
# they share the queue with SKIP LOCKED). MWMS_TASKS_IMMEDIATE=true runs each task in the process
# that enqueues it, after commit (the tests do this).
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}
         if env_bool("MWMS_TASKS_IMMEDIATE", default=False) else
         {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# Notifications by email (requests_app.notifications): the console in development, SMTP in
# production (Django's EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS).
EMAIL_BACKEND = env_str("EMAIL_BACKEND") or ("django.core.mail.backends.console.EmailBackend" if DEBUG
                                             else "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "MWMS HeadOffice <headoffice@localhost>")
# Where the links in emails point: the site's address as its users reach it.
MWMS_SITE_URL = env_str("MWMS_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# Webhooks: each attempt waits this long for an answer; a failed one is tried again after
# BACKOFF seconds, doubling, until MAX_ATTEMPTS attempts have failed.
MWMS_WEBHOOK_TIMEOUT_SECONDS = env_int("MWMS_WEBHOOK_TIMEOUT_SECONDS", 5)
MWMS_WEBHOOK_BACKOFF_SECONDS = env_int("MWMS_WEBHOOK_BACKOFF_SECONDS", 30)
MWMS_WEBHOOK_MAX_ATTEMPTS = env_int("MWMS_WEBHOOK_MAX_ATTEMPTS", 6)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
