"""Settings, read from the environment.

Development (the embedded default) needs nothing set: SQLite under `.data/`, tasks run in-process,
mail printed to the console. Production sets `APP_ENV=production` and must then provide a real
`SECRET_KEY` and leave `DEBUG` off, or the app refuses to start.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


APP_ENV = os.environ.get("APP_ENV", "development")
PRODUCTION = APP_ENV == "production"
DEVELOPMENT_SECRET_KEY = "development-only-key-never-use-in-production"  # noqa: S105

SECRET_KEY = os.environ.get("SECRET_KEY", DEVELOPMENT_SECRET_KEY)
DEBUG = env_bool("DEBUG", default=not PRODUCTION)

if PRODUCTION:
    if SECRET_KEY == DEVELOPMENT_SECRET_KEY or len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("APP_ENV=production needs SECRET_KEY: a random value of 50+ characters.")
    if DEBUG:
        raise ImproperlyConfigured("APP_ENV=production refuses to start with DEBUG on.")

ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "django_htmx",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "governance.accounts",
    "governance.audit",
    "features",
    "governance.policy",
    "governance.reviews",
    "governance.drift",
    "governance.evidence",
    "governance.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "governance.audit.denials.DeniedAccessLog",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "governance.security.SecurityHeadersMiddleware",  # after CSP: it sees responses before CSP does
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "governance.urls"
WSGI_APPLICATION = "governance.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATA_DIR = Path(os.environ.get("DATA_DIR", BASE_DIR / ".data"))
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{DATA_DIR / 'governance.sqlite3'}",
        conn_max_age=env_int("CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    # WAL and a busy timeout let the dev server and the in-process tasks write side by side.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE"}
    )

# Evidence packs: built packs live here; the Ed25519 key signing their manifests (PKCS8 PEM) is created on
# first use with 0600 permissions unless a key file is given.
EVIDENCE_DIR = DATA_DIR / "evidence"
EVIDENCE_SIGNING_KEY_FILE = os.environ.get("EVIDENCE_SIGNING_KEY_FILE", str(DATA_DIR / "evidence-signing-key.pem"))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["governance.accounts.backends.LockoutModelBackend"]
# Login lockout (governance/accounts/lockout.py): this many failed logins for one username from one
# address lock that pair, right password or not, for the cool-off.
LOGIN_LOCKOUT = {
    "FAILURES": env_int("GOVERNANCE_LOGIN_FAILURES", 5),
    "COOL_OFF_SECONDS": env_int("GOVERNANCE_LOGIN_COOL_OFF_SECONDS", 15 * 60),
}
# How many proxies of ours stand in front of the app (governance/accounts/addresses.py). 0: the client is
# REMOTE_ADDR and X-Forwarded-For is ignored. Behind one reverse proxy, set 1.
TRUSTED_PROXY_COUNT = env_int("GOVERNANCE_TRUSTED_PROXIES", 0)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "features:list"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION

# Strict Content-Security-Policy from Django's own middleware: no inline script anywhere.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# Celery: without a broker, tasks run in-process so the embedded default needs nothing else.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A pool process lost mid-task counts as a retry (max_retries applies), so a message that kills its
# worker every time is given up after max_retries + 1 runs instead of requeued forever.
CELERY_TASK_RETRY_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis: a message taken by a worker that dies before acknowledging it goes back on the queue after
# this many seconds, for another (or the restarted) worker. It must exceed any task's run time, countdown
# and retry delay, or Redis hands the same message to a second worker while the first still holds it.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("GOVERNANCE_CELERY_VISIBILITY_TIMEOUT", 3600)}
# Seconds between the retries of a task that failed on a passing database error (governance/celery.py).
TASK_RETRY_DELAY_SECONDS = env_int("GOVERNANCE_TASK_RETRY_DELAY", 10)
CELERY_BEAT_SCHEDULE = {
    "sweep-reviews-daily": {"task": "governance.reviews.tasks.sweep_reviews", "schedule": 24 * 3600},
    "sweep-drift-hourly": {"task": "governance.drift.tasks.sweep_drift", "schedule": 3600},
    "expire-ingest-batches-daily": {"task": "governance.drift.tasks.expire_ingest_batches", "schedule": 24 * 3600},
}

MAILERS = {
    "default": {
        "BACKEND": os.environ.get(
            "EMAIL_BACKEND",
            "django.core.mail.backends.smtp.EmailBackend"
            if PRODUCTION
            else "django.core.mail.backends.console.EmailBackend",
        ),
        "OPTIONS": {},
    }
}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "governance@localhost")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "governance.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "governance.api.pagination.StablePagination",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "governance.api.errors.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
    # One budget per token / person / address, shared by every process through the cache
    # (governance/api/throttling.py). The telemetry endpoints are outside DRF and not counted.
    "DEFAULT_THROTTLE_CLASSES": ["governance.api.throttling.ApiRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api": os.environ.get("GOVERNANCE_API_THROTTLE_RATE", "600/min") or None},
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Personalisation governance API",
    "DESCRIPTION": "Everything the browser does, for machines: registrations, reviews, drift, evidence.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # One component name per vocabulary (as governance/api/docs.py gives the served schema): without it
    # `check --deploy` warns about the schema it generates.
    "ENUM_NAME_OVERRIDES": {
        "TierEnum": "features.choices.Tier",
        "SensitivityEnum": "features.choices.Sensitivity",
        "FeatureStatusEnum": "features.choices.FeatureStatus",
        "RegistrationStatusEnum": "features.choices.RegistrationStatus",
        "FindingStatusEnum": "features.models.FindingStatus",
        "IdentityStatusEnum": "features.choices.IdentityStatus",
        "IdentityKindEnum": "features.choices.IdentityKind",
        "DestinationKindEnum": "features.choices.DestinationKind",
        "PackStatusEnum": "governance.evidence.models.PackStatus",
        "ScopeKindEnum": "governance.evidence.models.ScopeKind",
    },
}

# Registration rules: limits are settings, not literals in the code.
GOVERNANCE = {
    "EXPLANATION_MAX_CHARS": env_int("GOVERNANCE_EXPLANATION_MAX_CHARS", 200),
    "FEATURES_PER_PAGE": env_int("GOVERNANCE_FEATURES_PER_PAGE", 25),
    # Policy thresholds (DESIGN.md: thresholds are settings, not literals).
    "MAX_CREDENTIAL_LIFETIME_DAYS": env_int("GOVERNANCE_MAX_CREDENTIAL_LIFETIME_DAYS", 90),
    "SECRET_MANAGER_SCHEMES": ("vault", "awssm", "gcpsm", "azkv", "aws-secretsmanager", "op"),
    # Re-review period, in months, per approved tier (tier 0 needs no review).
    "REVIEW_PERIOD_MONTHS": {1: 12, 2: 12, 3: 6},
    # Distinct reviewers whose approval a tier needs.
    "APPROVALS_REQUIRED": {0: 1, 1: 1, 2: 1, 3: 2},
    # Machine access and telemetry.
    "API_TOKEN_MAX_DAYS": env_int("GOVERNANCE_API_TOKEN_MAX_DAYS", 90),
    # A process remembers a token that authenticated this long: a revoked token stops at once in the
    # process that revoked it, within this many seconds in the others (governance/accounts/tokens.py).
    "API_TOKEN_CACHE_SECONDS": env_int("GOVERNANCE_API_TOKEN_CACHE_SECONDS", 5),
    "OBSERVATIONS_MAX_BODY_BYTES": env_int("GOVERNANCE_OBSERVATIONS_MAX_BODY_BYTES", 5 * 1024 * 1024),
    "OBSERVATIONS_MAX_ITEMS": env_int("GOVERNANCE_OBSERVATIONS_MAX_ITEMS", 10_000),
    # Drift: a declared signal unobserved this long is "unused"; a path unseen this long resolves.
    "DRIFT_UNUSED_DAYS": env_int("GOVERNANCE_DRIFT_UNUSED_DAYS", 30),
    "DRIFT_STALE_DAYS": env_int("GOVERNANCE_DRIFT_STALE_DAYS", 14),
}

# A shared cache (Redis) in production: throttles and task coalescing hold across processes.
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": os.environ["CACHE_URL"]}
        if os.environ.get("CACHE_URL")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # Eager tasks never reach a broker, yet Celery opens a producer for them and kombu warns that it has
    # no broker host; and each inline run logs its success like a worker's. Noise on the embedded default.
    "loggers": (
        {"kombu.connection": {"level": "ERROR"}, "celery.app.trace": {"level": "WARNING"}}
        if CELERY_TASK_ALWAYS_EAGER
        else {}
    ),
}
