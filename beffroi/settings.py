"""Beffroi settings.

The embedded default (``make run``) needs no environment variable: SQLite in
WAL mode under ``var/``, files under ``var/media``, the in-process event bus,
e-mails and SMS written to the console. A production deployment sets the
variables documented in ``docs/deploy.md`` (see ``deploy/beffroi.env.example``).
"""

import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from beffroi.env import env, env_bool, env_int, env_list, generated_secret

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env("BEFFROI_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
# HTTPS=1 in production: secure cookies, HSTS, redirect to https.
HTTPS = env_bool("HTTPS", False)

SECRET_KEY = env("SECRET_KEY") or generated_secret(VAR_DIR / "secrets" / "secret_key")

# Each commune is reached through its own host names (core.Domain); Django's
# own check comes first and rejects anything not listed here.
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", ".localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # Before allauth: its templates (sign-in, second factor) are overridden
    # under beffroi/site/templates/, and the first app that has a template wins.
    "beffroi.site",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_tasks",
    "django_tasks_db",
    "beffroi.core",
    "beffroi.realtime",
    "beffroi.notify",
    "beffroi.notify.sms",
    "beffroi.info",
    "beffroi.reports",
    "beffroi.safe",
]
if not HTTPS:
    # The demonstration data and their commands (make run), never in production.
    INSTALLED_APPS.append("demo")

MIDDLEWARE = [
    # The health check's probe that a thread of the pool is free (not logged).
    "beffroi.ops.probe.ThreadPoolProbeMiddleware",
    # Then: it times the whole request and sees the responses made of errors.
    "beffroi.ops.request_log.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "beffroi.core.tenancy.TenantMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "beffroi.core.private_pages.NoStoreMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "beffroi.edge.marks.SharedPageMiddleware",
    "beffroi.core.csp.ContentSecurityPolicyMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "beffroi.core.staff_access.StaffAccessMiddleware",
    # Keeps a session opened with a safe's waiting password on its few pages.
    "beffroi.safe.middleware.RestrictedSessionMiddleware",
    # Last: answers the edge's preflight of a large body once every gate above has (beffroi/edge/bodies.py).
    "beffroi.edge.bodies.LargeBodyMiddleware",
]

ROOT_URLCONF = "beffroi.urls"
WSGI_APPLICATION = "beffroi.wsgi.application"
ASGI_APPLICATION = "beffroi.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "beffroi.core.context_processors.commune",
                "beffroi.info.context_processors.public",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------

SQLITE_PATH = VAR_DIR / "beffroi.sqlite3"
# The commands that change the schema connect as the owner role when
# MIGRATE_DATABASE_URL is given (beffroi-migrate.service gives it); every other
# process, web and worker included, connects with DATABASE_URL, the runtime
# role, which may only add to the journal (docs/deploy.md, "The database").
_SCHEMA_COMMANDS = {"migrate", "createcachetable"}
_CHANGES_SCHEMA = (
    len(sys.argv) > 1 and Path(sys.argv[0]).name in {"manage.py", "django-admin"} and sys.argv[1] in _SCHEMA_COMMANDS
)
DATABASES = {
    "default": dj_database_url.parse(
        (_CHANGES_SCHEMA and env("MIGRATE_DATABASE_URL")) or env("DATABASE_URL") or f"sqlite:///{SQLITE_PATH}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers run while one writer writes; IMMEDIATE takes the
        # write lock at BEGIN so that read-then-write transactions (the
        # journal's hash chain) never fail half-way with "database is locked".
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # A file, not memory: browser tests run the ASGI server in other threads.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USING_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

# Shared by all processes and machines (rate limits, lock-outs): a table of the
# database, so that PostgreSQL stays the only service to run. Large enough
# that a flood of addresses cannot evict the counters early.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "beffroi_cache",
        "OPTIONS": {"MAX_ENTRIES": 100_000},
    }
}

# --- Accounts ---------------------------------------------------------------

AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
    # Last: a safe's password that waits (set by a professional without the
    # beneficiary's code) opens a restricted session (beffroi/safe/auth.py).
    "beffroi.safe.auth.WaitingPasswordBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "backoffice:home"
ACCOUNT_ADAPTER = "beffroi.core.accounts.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email", "username"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
# Failed passwords are bounded by beffroi/core/signin_limits.py (the account
# adapter), not by allauth, whose per-account lock-out anyone could trigger.
# allauth's "login_failed" now only limits second-factor codes (per account:
# reaching them takes the password). Its other limits ("30/m/ip"…) stay, keyed
# by a keyed hash of the client (AccountAdapter.get_client_ip).
# allauth's "login" limit (30 posts a minute per client, on any outcome) goes:
# someone behind the same address could use it to shut a known browser out,
# and the limits above already refuse a flood before any password is hashed.
ACCOUNT_RATE_LIMITS = {"login_failed": "5/900s/key", "login": None}
# Password failures of an account from one client (IPv4 address, IPv6 /64)
# that cost nothing; each further one doubles the wait, from the first delay
# to the longest (seconds).
SIGNIN_FREE_FAILURES = 3
SIGNIN_DELAYS = (60, 3600)
# Failures from one client across accounts (password spraying): (limit, seconds).
SIGNIN_FAILURES_PER_CLIENT = (30, 3600)
# Failures of one account from browsers it never signed in from, wherever they
# come from: (limit, seconds). Known browsers are not affected.
SIGNIN_FAILURES_PER_ACCOUNT = (50, 86400)
# Such failures that make the owner receive a notice (once per window above).
SIGNIN_NOTICE_AFTER = 10
MFA_ADAPTER = "beffroi.core.accounts.MFAAdapter"
# Key that encrypts TOTP secrets in the database (default: derived from SECRET_KEY).
MFA_ENCRYPTION_KEY = env("MFA_ENCRYPTION_KEY")
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_TOTP_ISSUER = "Beffroi"
# Passkeys need a secure context; http://localhost is one, for the demo.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = not HTTPS

SESSION_COOKIE_AGE = 8 * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Signed "known browser" cookie of accounts that signed in completely here
# (beffroi/core/signin_limits.py); named __Host- under HTTPS, set in the
# security section below.
SIGNIN_DEVICE_COOKIE = "beffroi_device"

# --- Internationalisation ---------------------------------------------------

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français")]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

# --- Files ------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = env("MEDIA_URL", "/media/")
MEDIA_ROOT = VAR_DIR / "media"
# Local media are served by the application in the embedded default; in
# production nginx (or the object store) serves them.
SERVE_MEDIA = env_bool("SERVE_MEDIA", not env("S3_BUCKET"))
if env("S3_BUCKET"):
    _media_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("S3_BUCKET"),
            "endpoint_url": env("S3_ENDPOINT_URL") or None,
            "region_name": env("S3_REGION") or None,
            "access_key": env("S3_ACCESS_KEY_ID") or None,
            "secret_key": env("S3_SECRET_ACCESS_KEY") or None,
            "custom_domain": env("S3_CUSTOM_DOMAIN") or None,
            "querystring_auth": False,
            "file_overwrite": False,
            "default_acl": None,
        },
    }
else:
    _media_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
# Files that only the application may hand out, after an access check
# (report photos, later the digital safe): never under MEDIA_URL.
PRIVATE_MEDIA_ROOT = VAR_DIR / "private"
if env("S3_BUCKET"):
    _private_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {**_media_storage["OPTIONS"], "location": "private", "custom_domain": None, "querystring_auth": True},
    }
else:
    _private_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": PRIVATE_MEDIA_ROOT}}
# Uploads being received (the safe's: ciphertext only) wait beside the files, on
# the same file system: a finished one is then moved into place, not copied.
FILE_UPLOAD_TEMP_DIR = Path(env("FILE_UPLOAD_TEMP_DIR", str(VAR_DIR / "tmp")))
FILE_UPLOAD_TEMP_DIR.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": _media_storage,
    "private": _private_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_MAX_AGE = 3600
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Largest request body a route takes unless it declares its own limit
# (beffroi.edge.bodies.large_body): a report with its three photos and the form.
REQUEST_BODY_MAX_BYTES = env_int("REQUEST_BODY_MAX_BYTES", 32 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
# Largest accepted image, in bytes and in pixels (decompression bombs).
IMAGE_MAX_BYTES = env_int("IMAGE_MAX_BYTES", 10 * 1024 * 1024)
IMAGE_MAX_PIXELS = env_int("IMAGE_MAX_PIXELS", 40_000_000)

# --- E-mail and SMS ---------------------------------------------------------

DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Beffroi <ne-pas-repondre@beffroi.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Subjects of the messages to the operators (errors, daily report).
EMAIL_SUBJECT_PREFIX = "[Beffroi] "
if env("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env("EMAIL_HOST")
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = env("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", EMAIL_PORT == 587)
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", EMAIL_PORT == 465)
    EMAIL_TIMEOUT = 20
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
# SMS (beffroi/notify/sms/): "console" writes them to the log (embedded
# default), "file" appends them to SMS_FILE_PATH (one JSON object a line),
# "ovh" sends them through OVHcloud's SMS API.
SMS_BACKEND = env("SMS_BACKEND", "console")
SMS_FILE_PATH = Path(env("SMS_FILE_PATH", str(VAR_DIR / "sms.jsonl")))
SMS_SENDER = env("SMS_SENDER")
SMS_OVH_ENDPOINT = env("SMS_OVH_ENDPOINT", "https://eu.api.ovh.com/1.0")
SMS_OVH_APPLICATION_KEY = env("SMS_OVH_APPLICATION_KEY")
SMS_OVH_APPLICATION_SECRET = env("SMS_OVH_APPLICATION_SECRET")
SMS_OVH_CONSUMER_KEY = env("SMS_OVH_CONSUMER_KEY")
SMS_OVH_SERVICE_NAME = env("SMS_OVH_SERVICE_NAME")
# Longest call to the provider; messages handed to it at once by a worker; and
# how long a worker has to hand over the messages it claimed before another
# worker asks the provider whether they arrived and, if not, sends them.
SMS_TIMEOUT_SECONDS = float(env("SMS_TIMEOUT_SECONDS", "10"))
SMS_CONCURRENCY = env_int("SMS_CONCURRENCY", 8)
SMS_LEASE_SECONDS = env_int("SMS_LEASE_SECONDS", 300)

# Caps of the day (beffroi/notify/sms/caps.py): SMS one number may receive,
# of which verification codes (the only SMS an unverified number gets)...
SMS_DAILY_MAX_PER_NUMBER = env_int("SMS_DAILY_MAX_PER_NUMBER", 8)
SMS_DAILY_MAX_VERIFY_PER_NUMBER = env_int("SMS_DAILY_MAX_VERIFY_PER_NUMBER", 3)
# ...SMS one account (a safe) may cause...
SMS_DAILY_MAX_PER_ACCOUNT = env_int("SMS_DAILY_MAX_PER_ACCOUNT", 8)
# ...and the budget of each organisation that pays for SMS, and of the
# platform's own (safes opened without an organisation): beyond it, SMS are
# refused until the next day and the administrators get one e-mail.
SMS_DAILY_BUDGET_PER_ORGANISATION = env_int("SMS_DAILY_BUDGET_PER_ORGANISATION", 200)
SMS_DAILY_BUDGET_PLATFORM = env_int("SMS_DAILY_BUDGET_PLATFORM", 100)

# --- Background jobs, real time, push ----------------------------------------

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# A task claimed by a worker that stopped sending heartbeats for this long is
# given back to the queue (the worker was killed).
WORKER_HEARTBEAT_TIMEOUT = env_int("WORKER_HEARTBEAT_TIMEOUT", 60)

# "inprocess" (embedded default) or "postgres" (LISTEN/NOTIFY).
REALTIME_BUS = env("REALTIME_BUS", "postgres" if USING_POSTGRES else "inprocess")
# How often each web process looks for events written by other processes
# (the worker): the only path between processes on SQLite, a safety net on
# PostgreSQL.
REALTIME_POLL_SECONDS = float(env("REALTIME_POLL_SECONDS", "5" if USING_POSTGRES else "0.25"))
SSE_KEEPALIVE_SECONDS = env_int("SSE_KEEPALIVE_SECONDS", 20)
EVENT_RETENTION_DAYS = env_int("EVENT_RETENTION_DAYS", 7)

# Threads that run Django views in each web process: enough to overlap
# database waits, few enough not to fight over the GIL (bench/feeds.py).
WEB_THREADS = env_int("WEB_THREADS", 4)
PAGE_CACHE_ENABLED = env_bool("PAGE_CACHE_ENABLED", True)
# Memory each web process gives to the page cache (least recently used pages go first).
PAGE_CACHE_MAX_BYTES = env_int("PAGE_CACHE_MAX_BYTES", 64 * 1024 * 1024)
# And to the fragment store (beffroi/core/fragments.py).
FRAGMENTS_MAX_BYTES = env_int("FRAGMENTS_MAX_BYTES", 32 * 1024 * 1024)
# Pages that depend on the clock (what is "upcoming") are re-rendered after this.
PAGE_CACHE_TTL_SECONDS = env_int("PAGE_CACHE_TTL_SECONDS", 60)

VAPID_PRIVATE_KEY = env("VAPID_PRIVATE_KEY")  # PEM; empty: generated under var/
VAPID_SUBJECT = env("VAPID_SUBJECT", "mailto:contact@beffroi.localhost")
# Push endpoints are URLs chosen by browsers: only these push services are
# contacted, so that a subscription cannot make the server call anything else.
PUSH_ALLOWED_HOSTS = env_list(
    "PUSH_ALLOWED_HOSTS",
    [
        "fcm.googleapis.com",
        "updates.push.services.mozilla.com",
        "push.services.mozilla.com",
        ".notify.windows.com",
        "web.push.apple.com",
        ".push.apple.com",
    ],
)
PUSH_CONCURRENCY = env_int("PUSH_CONCURRENCY", 64)
# Longest exchange with a push service (connection, TLS, request, answer); past
# it the connection is closed and the push is retried later.
PUSH_TIMEOUT_SECONDS = float(env("PUSH_TIMEOUT_SECONDS", "15"))
# HTTP proxy for every outgoing call (push services, SMS provider), where the
# hosting allows no direct connection: http://[user:password@]host:port. Each
# connection is a CONNECT tunnel (TLS inside it). HTTPS_PROXY and NO_PROXY are
# not read: only this setting decides.
OUTBOUND_PROXY = env("OUTBOUND_PROXY")

# Abuse limits on anonymous reports, per connection (counted under a hash of
# the address, for an hour): submissions, and messages on follow-up pages.
REPORTS_PER_HOUR = env_int("REPORTS_PER_HOUR", 10)
REPORT_MESSAGES_PER_HOUR = env_int("REPORT_MESSAGES_PER_HOUR", 30)
# Reports an Open311 client may file per hour with its key.
OPEN311_REQUESTS_PER_HOUR = env_int("OPEN311_REQUESTS_PER_HOUR", 600)

# --- Security ---------------------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "beffroi.site.views.csrf_failure"
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # __Host- cookies cannot be set by a sibling sub-domain.
    SESSION_COOKIE_NAME = "__Host-session"
    SIGNIN_DEVICE_COOKIE = "__Host-device"
    CSRF_COOKIE_NAME = "__Host-csrftoken"

# Uploaded images come from the object store when there is one.
if env("S3_CUSTOM_DOMAIN"):
    _media_origin = [f"https://{env('S3_CUSTOM_DOMAIN')}"]
elif env("S3_BUCKET"):
    _media_origin = [env("S3_ENDPOINT_URL") or f"https://{env('S3_BUCKET')}.s3.amazonaws.com"]
else:
    _media_origin = []
# Map tiles of the report form and console (OpenStreetMap by default).
MAP_TILE_URL = env("MAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
MAP_ATTRIBUTION = env("MAP_ATTRIBUTION", "© les contributeurs d’OpenStreetMap")
_tile_origin = "/".join(MAP_TILE_URL.split("/")[:3])
# "'nonce'" is replaced by this response's nonce when a template used one.
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'", "'nonce'"],
    "style-src": ["'self'", "'nonce'"],
    "img-src": ["'self'", "data:", "blob:", _tile_origin, *_media_origin],
    "connect-src": ["'self'"],
    "font-src": ["'self'"],
    "manifest-src": ["'self'"],
    "worker-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}

# --- Coffre-fort numérique ----------------------------------------------------

# Key-encryption keys of the safes, outside the database: a keyring file
# (created on first use only under VAR_DIR; elsewhere with `manage.py
# safe_keyring create`), or a read-only secret "k2:<base64>,k1:<base64>".
SAFE_KEYRING_PATH = Path(env("SAFE_KEYRING_PATH", str(VAR_DIR / "keys" / "safe-keyring.json")))
SAFE_KEYRING = env("SAFE_KEYRING")
SAFE_QUOTA_MB = env_int("SAFE_QUOTA_MB", 600)
# Space of a safe whose mobile is not verified and that no organisation
# accompanies (anyone may open one: disk is what it costs the town).
SAFE_UNVERIFIED_QUOTA_MB = env_int("SAFE_UNVERIFIED_QUOTA_MB", 10)
# A password a professional sets without proof from the beneficiary opens only
# what is shared with their organisation for this long (the owner may cancel).
SAFE_RESET_WAIT_HOURS = env_int("SAFE_RESET_WAIT_HOURS", 72)
# Largest document accepted in one upload.
SAFE_MAX_DOCUMENT_MB = env_int("SAFE_MAX_DOCUMENT_MB", 600)
# A ClamAV daemon scans every upload when one of these is set (Unix socket, or host:port).
CLAMAV_SOCKET = env("CLAMAV_SOCKET")
CLAMAV_ADDRESS = env("CLAMAV_ADDRESS")

# --- Journal -----------------------------------------------------------------

# Keys of the journal's MACs (HMAC-SHA-256), outside the database and apart
# from SECRET_KEY and the safe's keyring: "j2:<secret>,j1:<secret>", newest
# first (the first signs, the others verify what they signed). Empty: one key
# generated under VAR_DIR/secrets/ on first use (one per machine: make run).
JOURNAL_KEYS = env("JOURNAL_KEYS")
# Append-only file of the journal's anchors (its head, written at least daily).
JOURNAL_ANCHOR_PATH = Path(env("JOURNAL_ANCHOR_PATH", str(VAR_DIR / "journal" / "anchors.jsonl")))

# --- Operations: health check, metrics, logs -----------------------------------

# /_sante answers every load balancer and monitor without a token (no secret,
# no personal data in it). /_metriques (Prometheus) needs this token, sent as
# "Authorization: Bearer <token>"; empty: it answers 404. 32 characters at least.
METRICS_TOKEN = env("METRICS_TOKEN")
if METRICS_TOKEN and len(METRICS_TOKEN) < 32:
    raise ImproperlyConfigured("METRICS_TOKEN : 32 caractères au moins (secrets.token_urlsafe(32)).")

# --- Logging: no IP address, no user agent, no path ---------------------------

# "plain" for a terminal (make run), "json" in production: one JSON object a
# line, for the journal and log shippers (beffroi/ops/logs.py).
LOG_FORMAT = env("LOG_FORMAT", "plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured("LOG_FORMAT : « plain » ou « json ».")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "beffroi.ops.logs.JsonFormatter"},
    },
    # Django names the path in some lines; paths hold capability tokens.
    "filters": {
        "hide_paths": {"()": "beffroi.ops.logs.HidePaths"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["hide_paths"]},
        # Django's error e-mail to ADMINS, with the same filter (its subject names the path) and a
        # report that shows no form value, path, query, address or user agent (ops/error_reports.py).
        "mail_admins": {"class": "django.utils.log.AdminEmailHandler", "filters": ["require_debug_false", "hide_paths"]},
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"handlers": ["mail_admins"], "level": "INFO"},
        "django.request": {"level": "ERROR"},
        "django.security.DisallowedHost": {"handlers": [], "propagate": False},
        # uvicorn's own lines in the same format; never its access log (addresses).
        "uvicorn": {"handlers": ["console"], "propagate": False},
        "uvicorn.access": {"handlers": [], "propagate": False},
    },
}
ADMINS = [("Exploitation", a) for a in env_list("ADMIN_EMAILS")]
DEFAULT_EXCEPTION_REPORTER = "beffroi.ops.error_reports.PrivateExceptionReporter"
DEFAULT_EXCEPTION_REPORTER_FILTER = "beffroi.ops.error_reports.PrivateExceptionReporterFilter"
