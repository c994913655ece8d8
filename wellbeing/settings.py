"""Pulse settings, driven by environment variables (see .env.example and the README).

With nothing set, Pulse runs as a local demo: SQLite, Celery tasks executed eagerly in
process, e-mails printed to the console. `DATABASE_URL` and `CELERY_BROKER_URL` switch to
PostgreSQL and Redis; `DJANGO_DEBUG=0` turns on the production hardening below.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from wellbeing.redis_config import cache_config, redbeat_config, sentinels_parse

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# With DEBUG on, Django's debug pages (URL patterns, tracebacks) instead of Pulse's own 404 and
# 500 (surveys.middleware.OwnErrorPagesMiddleware): for a developer, never for the demo.
PULSE_DEBUG_PAGES = env.bool("PULSE_DEBUG_PAGES", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default=DEV_SECRET_KEY)
if not DEBUG and SECRET_KEY == DEV_SECRET_KEY:
    raise ImproperlyConfigured("Set DJANGO_SECRET_KEY when DJANGO_DEBUG is off.")

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# Absolute address used in e-mailed links (invitations, reminders, results ready).
PULSE_BASE_URL = env("PULSE_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
# Rounds open and close at this hour of the day, local time (TIME_ZONE).
PULSE_ROUND_OPEN_HOUR = env.int("PULSE_ROUND_OPEN_HOUR", default=9)
# Invitation and reminder e-mails are sent this many at a time, each batch on one connection.
PULSE_EMAIL_BATCH_SIZE = env.int("PULSE_EMAIL_BATCH_SIZE", default=100)
# Slack (docs/operations.md, "Slack"): the app's OAuth credentials, and where its Web API is (a
# local stand-in in the tests and the demo).
SLACK_CLIENT_ID = env("SLACK_CLIENT_ID", default="")
SLACK_CLIENT_SECRET = env("SLACK_CLIENT_SECRET", default="")
SLACK_API_URL = env("SLACK_API_URL", default="https://slack.com/api/")
SLACK_AUTHORIZE_URL = env("SLACK_AUTHORIZE_URL", default="https://slack.com/oauth/v2/authorize")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",
    "rest_framework",
    # Its model module defines a concrete APIKey, so the app must be installed; Pulse's keys
    # are surveys.ApiKey (per organisation) and the app's own table stays empty.
    "rest_framework_api_key",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our static files, never a CDN
    "csp",
    "health_check",
    # The audit log: row changes recorded by PostgreSQL triggers (surveys/models/audit.py).
    "pgtrigger",
    "pghistory",
    # Single sign-on per organisation (surveys/sso.py): allauth's social accounts, with its OpenID
    # Connect provider; each organisation's identity provider is its own row (IdentityProvider),
    # handed to allauth by the adapter. Nobody signs up through it: a sign-in links to the roster.
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    # A second factor for HR and admins (surveys/services/mfa.py): an authenticator app's codes (TOTP)
    # and single-use recovery codes.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "surveys",
    "delivery",
]

MIDDLEWARE = [
    "surveys.middleware.OwnErrorPagesMiddleware",  # DEBUG (the demo): Pulse's 404 and 500, not Django's
    "surveys.middleware.BodyLimitMiddleware",  # before anything reads the body
    "surveys.signin.GuessingAddressMiddleware",  # an address over its sign-in budget costs nothing
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # the chosen language (cookie), else the browser's
    "surveys.middleware.PersonScopeMiddleware",  # the session's person, for row-level security
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): the second factor given
    "allauth.account.middleware.AccountMiddleware",
    "surveys.middleware.PersonLanguageMiddleware",  # a signed-in person's saved language wins
    "surveys.middleware.SessionIdleMiddleware",  # signed out after PULSE_SESSION_IDLE_MINUTES unused
    "surveys.middleware.PrivatePagesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "surveys.middleware.OrganizationMiddleware",
    "surveys.middleware.SignInRulesMiddleware",  # single sign-on and second factor, as the organisation asks
    "surveys.middleware.StaffAcrossOrganizationsMiddleware",
    "surveys.middleware.AuditContextMiddleware",  # who changed what, for the audit log
    "surveys.middleware.ReadYourWritesMiddleware",  # after a write, this browser reads the primary
]

ROOT_URLCONF = "wellbeing.urls"

# The audit log's event tables (surveys/models/audit.py) copy the audited columns' types only:
# a tracked field's default, help text or choices changing needs no migration of its log.
_DESCRIPTIVE = ["default", "db_default", "help_text", "verbose_name", "choices", "validators", "blank", "editable"]
PGHISTORY_EXCLUDE_FIELD_KWARGS = {"django.db.models.Field": _DESCRIPTIVE}
# When a change was made, not when its transaction began.
PGHISTORY_CREATED_AT_FUNCTION = "clock_timestamp()"
WSGI_APPLICATION = "wellbeing.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "surveys.context_processors.organization_context",
            ],
        },
    },
]

# Project templates may override Django's form templates (templates/django/forms/field.html).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Persistent connections (a new PostgreSQL connection per request made submissions 3.7× slower),
# checked before each request reuses one, so a connection the server dropped is replaced, not
# failed on.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Behind PgBouncer (DATABASE_POOLER=transaction or session): no startup options (PgBouncer refuses
# them), no prepared statements (a transaction pooler hands each transaction to any server
# connection) and no server-side cursors (they outlive a transaction). Set the check interval
# below on the roles instead (ALTER ROLE … SET client_connection_check_interval = 10000).
DATABASE_POOLER = env("DATABASE_POOLER", default="")
if DATABASE_POOLER not in ("", "transaction", "session"):
    raise ImproperlyConfigured("DATABASE_POOLER is 'transaction', 'session' or empty (no pooler).")
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The tenancy scope goes with each statement (core.tenancy), which a named cursor's
    # DECLARE … WITH HOLD cannot carry; a transaction pooler cannot keep one either.
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and DATABASE_POOLER:
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = None
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The server checks every 10 s during a long query that its client is still there, so a
    # worker killed mid-sealing does not leave its backend working (and holding locks) for minutes.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c client_connection_check_interval=10000")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several demo processes (web, eager jobs) may write at once; wait instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20

# A streaming replica for what may read a moment behind (surveys/core/replica.py): the results
# pages, the API's reads and its CSV exports. Connect as the web's role, as DATABASE_URL does.
# After a write, that browser reads the primary for PULSE_REPLICA_PRIMARY_SECONDS.
if env("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = {
        **env.db("DATABASE_REPLICA_URL"),
        **{
            key: DATABASES["default"][key]
            for key in ("ATOMIC_REQUESTS", "CONN_MAX_AGE", "CONN_HEALTH_CHECKS", "DISABLE_SERVER_SIDE_CURSORS")
            if key in DATABASES["default"]
        },
        "OPTIONS": {**DATABASES["default"].get("OPTIONS", {})},
        "TEST": {"MIRROR": "default"},
    }
DATABASE_ROUTERS = ["surveys.core.replica.ReplicaRouter"]
PULSE_REPLICA_PRIMARY_SECONDS = env.int("PULSE_REPLICA_PRIMARY_SECONDS", default=30)

# Row-level security (docs/architecture.md, "Tenancy"): web, worker and beat connect as a role
# that is neither the tables' owner nor a superuser; `migrate` runs as the owner
# (DATABASE_URL=$DATABASE_OWNER_URL) and grants DATABASE_APP_ROLE its rights on every table.
DATABASE_APP_ROLE = env("DATABASE_APP_ROLE", default="")
# The role worker, beat and management commands connect as (their DATABASE_URL): the only one
# whose scheduled searches may span organisations. The web's role never can.
DATABASE_JOBS_ROLE = env("DATABASE_JOBS_ROLE", default="")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "surveys.User"
# Django's password check, with the sign-in rules around it (surveys/signin.py): nobody is ever
# locked out; an address that keeps failing on an account waits longer each time, and an address
# over its budget of failures is refused before anything else runs.
AUTHENTICATION_BACKENDS = ["surveys.signin.SignInBackend"]
# Proxies in front of Pulse that append to X-Forwarded-For (a TLS proxy: 1); the client's address
# is the one the nearest of them saw. 0: the connection's own address (nothing in front).
PULSE_TRUSTED_PROXY_HOPS = env.int("PULSE_TRUSTED_PROXY_HOPS", default=0)
# Wrong passwords an address may make on one account before each next attempt waits (1 s, 2 s,
# 4 s, … up to the maximum); wrong passwords one address may make in an hour across accounts,
# and the tighter budget while the whole site has more than PULSE_SIGNIN_SITE_FAILURES in ten
# minutes (password spraying).
PULSE_SIGNIN_FREE_FAILURES = env.int("PULSE_SIGNIN_FREE_FAILURES", default=3)
PULSE_SIGNIN_MAX_DELAY_SECONDS = env.int("PULSE_SIGNIN_MAX_DELAY_SECONDS", default=900)
PULSE_SIGNIN_ADDRESS_FAILURES = env.int("PULSE_SIGNIN_ADDRESS_FAILURES", default=30)
PULSE_SIGNIN_SITE_FAILURES = env.int("PULSE_SIGNIN_SITE_FAILURES", default=100)
PULSE_SIGNIN_SPRAYING_ADDRESS_FAILURES = env.int("PULSE_SIGNIN_SPRAYING_ADDRESS_FAILURES", default=3)
# A refused sign-in waits this long, in at most this many threads per web process
# (surveys.signin.Tarpit): a script guessing one password after another slows to about one a
# second, and uses no CPU while it waits.
PULSE_SIGNIN_TARPIT_SECONDS = env.float("PULSE_SIGNIN_TARPIT_SECONDS", default=1.0)
PULSE_SIGNIN_TARPIT_SLOTS = env.int("PULSE_SIGNIN_TARPIT_SLOTS", default=3)

# E-mailed account links (surveys.services.accounts): a set-up link lasts PULSE_SETUP_LINK_HOURS,
# a password link PULSE_RESET_LINK_MINUTES; either works once, and its first visit leaves the
# account in that browser's session for PULSE_ACCOUNT_LINK_MINUTES to choose the password.
PULSE_SETUP_LINK_HOURS = env.int("PULSE_SETUP_LINK_HOURS", default=72)
PULSE_RESET_LINK_MINUTES = env.int("PULSE_RESET_LINK_MINUTES", default=60)
PULSE_ACCOUNT_LINK_MINUTES = env.int("PULSE_ACCOUNT_LINK_MINUTES", default=20)
PASSWORD_RESET_TIMEOUT = max(PULSE_SETUP_LINK_HOURS * 3600, PULSE_RESET_LINK_MINUTES * 60)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Single sign-on (surveys/sso.py, docs/architecture.md "Signing in"): allauth finds each
# organisation's identity provider through Pulse's adapter; no account is ever created through it,
# no token is kept, and a sign-in is started only by a form (POST, with its CSRF token).
SOCIALACCOUNT_ADAPTER = "surveys.sso.PulseSocialAccountAdapter"
ACCOUNT_ADAPTER = "surveys.sso.PulseAccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_AUTO_SIGNUP = False
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_REQUESTS_TIMEOUT = env.int("PULSE_SSO_TIMEOUT_SECONDS", default=10)
# The second factor (surveys/services/mfa.py): the issuer an authenticator app shows beside its codes.
OTP_TOTP_ISSUER = env("PULSE_MFA_ISSUER", default="Pulse")
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "landing"
LOGOUT_REDIRECT_URL = "login"

# The languages Pulse ships (docs/i18n.md): the interface, e-mails and the item bank in each.
# A person's language is the one saved on them (the roster's `language` column, or the chooser),
# else the one they chose on this browser (a cookie), else their browser's Accept-Language.
LANGUAGE_CODE = "en-gb"
LANGUAGES = [
    ("en-gb", "English"),
    ("fi", "Suomi"),
    ("de", "Deutsch"),
    ("fr", "Français"),
    ("es", "Español"),
    ("ar", "العربية"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The chooser's choice in this browser, for a year; signed-in people's is saved on them too.
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = env("DJANGO_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Uploads (roster files) are parsed in memory or handed to a task; keep them bounded.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
#: A declared body above this is refused with 413 before it is read: the largest roster file
#: (20 MB) with room for its multipart envelope.
PULSE_MAX_REQUEST_BODY = 21 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# E-mail: printed to the console unless EMAIL_URL (smtp://user:pass@host:587) is set.
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
if EMAIL_BACKEND == "django.core.mail.backends.console.EmailBackend" and not DEBUG:
    # Mail printed to a deployment's logs must not carry working answering links.
    EMAIL_BACKEND = "surveys.core.mail.RedactingConsoleBackend"
for _key in ("EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD", "EMAIL_FILE_PATH"):
    if _email.get(_key):
        globals()[_key] = _email[_key]
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Pulse <pulse@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Celery: with no broker configured, every task runs eagerly in the calling process.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = CELERY_BROKER_URL or "memory://"
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_ACKS_LATE = True
# A task whose worker process died is given back to the queue at once, not dropped (with acks
# late alone, a killed pool child's message was acknowledged and lost).
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Redis hands an unacknowledged message to another worker after this long: the bound on how
# late work held by a worker that vanished starts again. Every task is idempotent (each takes its
# row's lock and checks its state), so one that simply runs longer is at worst run twice, safely.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("PULSE_VISIBILITY_TIMEOUT", default=300)}
# Redis behind Sentinel (wellbeing/redis_config.py): CELERY_BROKER_URL and CACHE_URL list the
# sentinels (`sentinel://host-a:26379;sentinel://host-b:26379/0`), REDIS_SENTINEL_MASTER names
# the master they watch; broker, cache and the scheduler's lock follow it when it fails over.
REDIS_SENTINEL_MASTER = env("REDIS_SENTINEL_MASTER", default="pulse")
_broker_sentinels = sentinels_parse(CELERY_BROKER_URL)
if _broker_sentinels is not None:
    CELERY_BROKER_TRANSPORT_OPTIONS["master_name"] = REDIS_SENTINEL_MASTER
    if _broker_sentinels.password:
        CELERY_BROKER_TRANSPORT_OPTIONS["sentinel_kwargs"] = {"password": _broker_sentinels.password}
# One active scheduler however many are started: Celery beat with RedBeat keeps its schedule in
# the broker's Redis under a lock, which one beat holds and renews every loop; the others wait,
# and one takes over at most PULSE_BEAT_LOCK_SECONDS after the holder is gone.
if CELERY_BROKER_URL.startswith(("redis://", "rediss://", "sentinel://")):
    CELERY_BEAT_SCHEDULER = "wellbeing.beat.PulseBeatScheduler"
    CELERY_BEAT_MAX_LOOP_INTERVAL = env.int("PULSE_BEAT_LOOP_SECONDS", default=5)
    CELERY_REDBEAT_LOCK_TIMEOUT = env.int("PULSE_BEAT_LOCK_SECONDS", default=30)
    CELERY_REDBEAT_KEY_PREFIX = env("PULSE_BEAT_KEY_PREFIX", default="pulse-beat")
    for _key, _value in redbeat_config(CELERY_BROKER_URL, master=REDIS_SENTINEL_MASTER).items():
        globals()[f"CELERY_{_key.upper()}"] = _value
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
# The worker logs through LOGGING below (token redaction included) instead of its own handlers.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# The scheduled jobs (docs/architecture.md, "Jobs"). Each is idempotent, so a late or doubled beat is harmless.
# The safety nets' interval bounds how late work whose message was lost (a broker that restarted
# empty) starts; the resilience tests shorten it.
SAFETY_NET_SECONDS = env.int("PULSE_SAFETY_NET_SECONDS", default=5 * 60)
CELERY_BEAT_SCHEDULE: dict = {
    "rounds-close-due": {"task": "surveys.tasks.rounds_close_due", "schedule": 5 * 60},
    "rounds-open-due": {"task": "surveys.tasks.rounds_open_due", "schedule": 5 * 60},
    "reminders-send": {"task": "surveys.tasks.reminders_send", "schedule": 15 * 60},
    # Action plans due soon: their owners' one reminder.
    "plan-reminders-send": {"task": "surveys.tasks.plan_reminders_send", "schedule": 15 * 60},
    # HR's estimates of open rounds' participation: one per round every LIVE_HOURS, on the clock.
    "participation-snapshots-take": {"task": "surveys.tasks.participation_snapshots_take", "schedule": 5 * 60},
    # Retention: raw answers of published rounds whose time is up, a batch of rounds a run.
    "answers-purge-due": {"task": "surveys.tasks.answers_purge_due", "schedule": 60 * 60},
    # Safety net: closed rounds whose hand-over to aggregation was lost.
    "rounds-aggregate-pending": {"task": "surveys.tasks.rounds_aggregate_pending", "schedule": SAFETY_NET_SECONDS},
    # Safety net: roster imports whose task was lost, previews nobody confirmed.
    "roster-imports-tend": {"task": "surveys.tasks.roster_imports_tend", "schedule": SAFETY_NET_SECONDS},
    # Safety net: messages whose hand-over to a worker was lost, or whose worker died mid-send.
    "messages-resume": {"task": "delivery.tasks.messages_resume", "schedule": SAFETY_NET_SECONDS},
}

# What the cache holds can always be worked out again or lost without harm (a view's change
# flags, a dashboard's drawn figures, the sign-in rules' counts of wrong passwords), so a cache
# that is down or slow is a miss, logged, never an error page.
PULSE_CACHE_OPTIONS = {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1}
# Without CACHE_URL each process has a cache of its own, fine for the demo and the tests; in
# production the cache must be shared (`check --deploy` says so, surveys/core/deploy_checks.py):
# the API's rate limits and the sign-in rules' counts live there. CACHE_URL may list sentinels.
CACHES = {
    "default": (
        cache_config(env("CACHE_URL"), master=REDIS_SENTINEL_MASTER, options=PULSE_CACHE_OPTIONS)
        if env("CACHE_URL", default="")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "surveys.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "surveys.api.schema.PulseAutoSchema",
    # Requests per API key (or signed-in person): surveys.api.clients.ClientRateThrottle.
    "DEFAULT_THROTTLE_RATES": {"api": env("PULSE_API_RATE", default="1200/minute")},
    "NUM_PROXIES": PULSE_TRUSTED_PROXY_HOPS,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Pulse API",
    "DESCRIPTION": (
        "Published, aggregate results of Pulse and the organisation's roster. Never an answer: a group or a figure "
        "not shown on the pages is absent here too, with the reason. Every error is {detail, code}."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",  # served from our static files: nothing from a CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No deep links: Swagger UI puts each one inside its operation's button, a link in a button
    # that screen readers and keyboards cannot reach (axe: nested-interactive).
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
    "REDOC_DIST": "SIDECAR",
    # The docs page knows who is signed in (the site's header), and asks no one to sign in.
    "SERVE_AUTHENTICATION": ["rest_framework.authentication.SessionAuthentication"],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"RoundStatusEnum": "surveys.models.RoundStatus"},
    "TAGS": [
        {"name": "results", "description": "Published figures per team node and round, the heatmap, action plans."},
        {"name": "roster", "description": "People and teams (never answers), the roster CSV, roster imports."},
        {"name": "organisation", "description": "The team tree, surveys and their rounds."},
        {"name": "about", "description": "Who you are to the API."},
    ],
}

# Sessions in the database, each row readable only by the request holding its key.
SESSION_ENGINE = "surveys.core.sessions"
# A session ends after PULSE_SESSION_IDLE_MINUTES unused, and after PULSE_SESSION_HOURS at most
# without a request (Django's default was two weeks).
PULSE_SESSION_IDLE_MINUTES = env.int("PULSE_SESSION_IDLE_MINUTES", default=30)
SESSION_COOKIE_AGE = env.int("PULSE_SESSION_HOURS", default=12) * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Production hardening. DJANGO_HTTPS=0 only for a local, plain-HTTP run of the production
# stack (docker compose on localhost); behind TLS leave it on.
if not DEBUG and env.bool("DJANGO_HTTPS", default=True):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)

# Every handler redacts answering-link tokens (surveys/core/log_redaction.py), runserver's too.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_tokens": {"()": "surveys.core.log_redaction.RedactTokens"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_tokens"]},
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server", "filters": ["redact_tokens"]},
    },
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
}

# Monitoring (surveys/core/telemetry.py, docs/operations.md): OpenTelemetry traces and metrics
# leave the process only when an OTLP endpoint is set (OTEL_* variables, read by the exporter
# too); /metrics serves the metrics in process, only with this bearer token when it is set.
# Errors go to Sentry when a DSN is set. Answering routes are never traced, and nothing that
# leaves carries a token, an e-mail address or an answer.
OTEL_EXPORTER_OTLP_ENDPOINT = env("OTEL_EXPORTER_OTLP_ENDPOINT", default="")
PULSE_METRICS_TOKEN = env("PULSE_METRICS_TOKEN", default="")
SENTRY_DSN = env("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env("SENTRY_ENVIRONMENT", default="")
# Probes and scrapers inside the cluster speak plain HTTP to the process.
SECURE_REDIRECT_EXEMPT = [r"^health$", r"^healthz/$", r"^metrics$"]

# Headers every page gets. Templates have no inline script or style (a test checks), so the
# policy allows only Pulse's own files; Swagger UI's are served from our static files too.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
}
