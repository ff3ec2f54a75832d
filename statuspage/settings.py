"""Settings for the order status page.

Every knob comes from the environment (see the table in README.md); the defaults are safe for
development: SQLite in the project folder, local-memory cache, console email.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    try:
        return int(value) if value else default
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {value!r}") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY to a long random string in production, "
            "or set DEBUG=1 for local development."
        )
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",
    "orders",
]

MIDDLEWARE = [
    "orders.fastlane.FastLaneMiddleware",  # answers and shopper pages take a shorter list (below)
    "orders.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "orders.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "orders.middleware.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "orders.middleware.RefuseUnreadableInputMiddleware",
    "orders.outages.DatabaseUnavailableMiddleware",  # innermost: sees the views' exceptions first
]
# The info API and the widget (GET, no session cookie) skip what they do not use: static files,
# sessions, locale, CSRF, auth, messages and htmx (orders/fastlane.py). Same order as above.
FAST_LANE_MIDDLEWARE = [
    "orders.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "orders.middleware.SecurityHeadersMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "orders.middleware.RefuseUnreadableInputMiddleware",
    "orders.outages.DatabaseUnavailableMiddleware",
]
# The shopper pages' GETs without a session cookie skip static files, sessions, auth and messages.
PAGE_LANE_MIDDLEWARE = [
    "orders.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "orders.middleware.SecurityHeadersMiddleware",
    "orders.middleware.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "orders.middleware.RefuseUnreadableInputMiddleware",
    "orders.outages.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "statuspage.urls"
WSGI_APPLICATION = "statuspage.wsgi.application"

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
                "orders.branding.brand_context",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
# DATABASE_URL, e.g. postgres://user:pass@host:5432/statuspage; default: SQLite next to manage.py.
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + a busy timeout keep the embedded default usable under a threaded dev server.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A server that is restarting answers at once; one that is unreachable must not hang a worker.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 3))
    # Prepared on first use by the hot paths' server-binding cursors (orders.prepared); Django's
    # own cursors bind on the client and never prepare. Off behind a pooler that cannot keep them.
    if env_bool("DATABASE_PREPARED_STATEMENTS", True):
        DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (rendered widgets and API answers, state versions) and rate-limit counters -------
# Redis is optional and never load-bearing: every Redis call gives up after REDIS_SOCKET_TIMEOUT
# seconds, and after a failure the cache is skipped for CACHE_OUTAGE_SECONDS (pages are then
# answered from the database). See README.md, "Redis".
CACHE_URL = env("CACHE_URL") or env("REDIS_URL")
REDIS_SOCKET_TIMEOUT = float(env("REDIS_SOCKET_TIMEOUT", "0.25"))
CACHE_OUTAGE_SECONDS = float(env("CACHE_OUTAGE_SECONDS", "5"))
if CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {"default": {"BACKEND": "statuspage.redis_cache.RedisCache", "LOCATION": CACHE_URL}}
elif CACHE_URL in ("", "locmem://"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    raise ImproperlyConfigured(f"CACHE_URL must be redis://…, rediss://… or locmem://, got {CACHE_URL!r}")
# Failed-guess counters must survive cache eviction: give them their own Redis database on a
# server with `maxmemory-policy noeviction` (default: the cache's Redis). Without Redis: per process.
RATELIMIT_REDIS_URL = env("RATELIMIT_REDIS_URL") or (CACHE_URL if CACHE_URL.startswith("redis") else "")
RATELIMIT_KEY_PREFIX = env("RATELIMIT_KEY_PREFIX", "rl:")
# Retry-After (s) when the counters cannot be reached and a guess is refused with a 503.
RATELIMIT_UNAVAILABLE_RETRY = env_int("RATELIMIT_UNAVAILABLE_RETRY", 30)
# A cached answer is served only while the order's published state version is unchanged. Those
# versions expire after this many seconds, so a change that could not be published (Redis down or
# refusing writes) still retires every cached answer of the order within this bound.
CACHE_STATE_SECONDS = env_int("CACHE_STATE_SECONDS", 60)
# Cached answers (widget images, info API JSON) per order per CACHE_BUDGET_SECONDS: however many
# URL variants a stranger invents, an order never fills the cache with more.
CACHE_ANSWERS_PER_ORDER = env_int("CACHE_ANSWERS_PER_ORDER", 32)
CACHE_BUDGET_SECONDS = env_int("CACHE_BUDGET_SECONDS", 300)
# Shopper pages (status page, its partials, the lookup form) are kept at most this many seconds
# (and never past the shop's midnight); they are served only while their order is unchanged.
PAGE_CACHE_SECONDS = env_int("PAGE_CACHE_SECONDS", 300)
# A PostgreSQL restart: pages answer 503 with this Retry-After (s) instead of failing.
DATABASE_UNAVAILABLE_RETRY = env_int("DATABASE_UNAVAILABLE_RETRY", 5)

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("fr", "Français"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "orders" / "locale", BASE_DIR / "orders" / "notifications" / "locale"]
TIME_ZONE = env("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static and media files ----------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Email ----------------------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)  # seconds; a hanging mail server must not stall sending
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Order status <orders@localhost>")

# --- Security -------------------------------------------------------------------------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$", r"^readyz/?$"]
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
# Site-wide "same-origin": browsers send `Origin: null` on form posts from "no-referrer" pages,
# which Django's CSRF check rightly refuses. Pages opened by a signed link (which carry it in
# their URL) set "no-referrer" themselves (orders.views.pages).
SECURE_REFERRER_POLICY = "same-origin"
if env_bool("SECURE_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = 262_144  # webhook bodies are capped at 256 KB
# Rate limits: the client IP is REMOTE_ADDR or, behind TRUSTED_PROXY_COUNT proxies that each
# append to X-Forwarded-For, the address the outermost of them saw (never the spoofable first).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
RATELIMIT_ENABLE = env_bool("RATELIMIT_ENABLE", default=True)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Status page behaviour ------------------------------------------------------------------
WIDGET_MAX_AGE = env_int("WIDGET_MAX_AGE", 300)
# Seconds a worker serves a cached answer (widget image, info API) it confirmed against the shared
# cache without asking again: bounds how long a change (or a revoked link) takes to show in other
# workers. 0 = ask every time.
CACHE_RECHECK_SECONDS = float(env("CACHE_RECHECK_SECONDS", "1"))
# Rate limits ("count/period", period in s, m, h or d): failed order verifications per client IP
# and per looked-up order, and "email me my links" requests per address and per IP.
LOOKUP_FAILURE_RATE = env("LOOKUP_FAILURE_RATE", "10/15m")
EMAIL_LINK_RATE = env("EMAIL_LINK_RATE", "3/h")
# Days raw webhook payloads and idempotency records are kept (manage.py purge_expired); 0 = forever.
RETENTION_DAYS = env_int("RETENTION_DAYS", 90)
# Failed admin sign-ins per client IP and per user name before a lockout.
ADMIN_LOGIN_FAILURE_RATE = env("ADMIN_LOGIN_FAILURE_RATE", "5/15m")
# Signed links printed by `signed_link`/admin expire after this many days (0 = never).
SIGNED_LINK_DAYS = env_int("SIGNED_LINK_DAYS", 0)
EMAIL_LOOKUP_DAYS = env_int("EMAIL_LOOKUP_DAYS", 90)
# A lookup by tracking number only considers shipments created this many days ago or later
# (carriers recycle numbers).
TRACKING_LOOKUP_DAYS = env_int("TRACKING_LOOKUP_DAYS", 180)
# Merchants' own domains: "status.shop-a.com=shop-a,status.shop-b.com=shop-b" (host=account slug).
# Pages on a mapped host carry that shop's brand and find that shop's orders only.
ACCOUNT_HOSTS = {}
for _item in env_list("ACCOUNT_HOSTS"):
    _host, _sep, _slug = _item.partition("=")
    if not _sep or not _host.strip() or not _slug.strip():
        raise ImproperlyConfigured(f"ACCOUNT_HOSTS entries look like status.shop-a.com=shop-a, got {_item!r}")
    ACCOUNT_HOSTS[_host.strip().lower()] = _slug.strip()
# Links sent by "email me my links" expire after this many days. They are sent from a background
# thread, so the answer takes as long whether or not the address has orders.
EMAILED_LINK_DAYS = env_int("EMAILED_LINK_DAYS", 30)
EMAIL_LINKS_IN_BACKGROUND = env_bool("EMAIL_LINKS_IN_BACKGROUND", default=True)
EMAIL_LINKS_DELAY_SECONDS = float(env("EMAIL_LINKS_DELAY_SECONDS", "1"))
# APIs and webhooks: requests per API key, and how far a webhook signature's timestamp may be
# from our clock (seconds, both directions).
API_KEY_RATE = env("API_KEY_RATE", "1200/m")
WEBHOOK_TOLERANCE_SECONDS = env_int("WEBHOOK_TOLERANCE_SECONDS", 300)

# --- Live carrier tracking (orders/carriers/) ----------------------------------------------------
# Credentials per carrier; a carrier without them is not polled. *_API_URL points an adapter at
# another base URL (a carrier's sandbox, or our own fake carrier in the demo and tests).
UPS_CLIENT_ID, UPS_CLIENT_SECRET = env("UPS_CLIENT_ID"), env("UPS_CLIENT_SECRET")
UPS_API_URL = env("UPS_API_URL", "https://onlinetools.ups.com")
FEDEX_CLIENT_ID, FEDEX_CLIENT_SECRET = env("FEDEX_CLIENT_ID"), env("FEDEX_CLIENT_SECRET")
FEDEX_API_URL = env("FEDEX_API_URL", "https://apis.fedex.com")
USPS_CLIENT_ID, USPS_CLIENT_SECRET = env("USPS_CLIENT_ID"), env("USPS_CLIENT_SECRET")
USPS_API_URL = env("USPS_API_URL", "https://apis.usps.com")
DHL_API_KEY = env("DHL_API_KEY")
DHL_API_URL = env("DHL_API_URL", "https://api-eu.dhl.com")
AFTERSHIP_API_KEY = env("AFTERSHIP_API_KEY")
AFTERSHIP_API_URL = env("AFTERSHIP_API_URL", "https://api.aftership.com")
# Seconds a single carrier request may take.
CARRIER_TIMEOUT = float(env("CARRIER_TIMEOUT", "10"))
# Requests per minute per carrier, shared by every worker through the cache ("code=n,…").
CARRIER_CALLS_PER_MINUTE = env("CARRIER_CALLS_PER_MINUTE", "ups=250,fedex=100,usps=60,dhl=1,aftership=300")
# Multiplies every polling interval (the demo's sandbox moves parcels every two minutes).
CARRIER_POLL_INTERVAL_SCALE = float(env("CARRIER_POLL_INTERVAL_SCALE", "1"))
# live_refresh=true: the whole inline refresh is bounded by this many seconds, and each tracking
# is asked at most once per LIVE_REFRESH_MIN_SECONDS.
LIVE_REFRESH_TIMEOUT = float(env("LIVE_REFRESH_TIMEOUT", "3"))
LIVE_REFRESH_MIN_SECONDS = env_int("LIVE_REFRESH_MIN_SECONDS", 300)

# --- Celery: background work ----------------------------------------------------------------------
# With a broker, `celery -A statuspage worker` polls carriers and `celery -A statuspage beat`
# dispatches due polls every minute. Without one, tasks run eagerly in the calling process (the
# demo, the tests and single-machine deployments, which run `manage.py poll_trackings`).
CELERY_BROKER_URL = env("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    # Eager tasks still take a producer to serialise their arguments: an in-memory transport keeps
    # kombu from warning "No hostname was supplied" on every task.
    CELERY_BROKER_URL = "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a worker that dies mid-poll leaves the task to another
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "dispatch-carrier-polls": {"task": "orders.carriers.tasks.dispatch_polls", "schedule": 60.0},
    "sweep-notifications": {"task": "orders.notifications.tasks.sweep", "schedule": 60.0},
    "purge-expired": {"task": "orders.privacy.tasks.purge_expired", "schedule": 24 * 3600.0},
    # Webhook events stored while the broker was away, or whose wake-up was lost.
    "apply-webhook-events": {"task": "orders.webhooks.tasks.apply_pending", "schedule": 15.0},
}

# --- Inbound webhooks (orders/webhooks/) ------------------------------------------------------------
# sync: each event is applied in its request (the answer says applied, stale, parked or 409).
# async: the request only verifies and stores the event (202 accepted) and Celery workers apply
# events in batches (or `manage.py apply_webhooks` without a broker). Default: async with a broker.
WEBHOOK_APPLY = env("WEBHOOK_APPLY", "sync" if CELERY_TASK_ALWAYS_EAGER else "async")
if WEBHOOK_APPLY not in ("sync", "async"):
    raise ImproperlyConfigured(f"WEBHOOK_APPLY must be sync or async, got {WEBHOOK_APPLY!r}")
# Events applied in one transaction by the batch applier.
WEBHOOK_APPLY_BATCH_SIZE = env_int("WEBHOOK_APPLY_BATCH_SIZE", 200)

# --- Notifications: shopper status emails and merchant webhooks (orders/notifications/) ----------
# Changes of one order within this many seconds become one email (with a broker; without one,
# the changes written in one transaction do).
NOTIFICATION_COALESCE_SECONDS = env_int("NOTIFICATION_COALESCE_SECONDS", 60)
NOTIFICATION_EMAIL_MAX_ATTEMPTS = env_int("NOTIFICATION_EMAIL_MAX_ATTEMPTS", 8)
# Outgoing webhooks: per-request timeout, how long a delivery is retried, when a failing endpoint
# is switched off, how long a rotated secret keeps signing alongside the new one.
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10)
WEBHOOK_RETRY_HOURS = env_int("WEBHOOK_RETRY_HOURS", 72)
WEBHOOK_DISABLE_AFTER_DAYS = env_int("WEBHOOK_DISABLE_AFTER_DAYS", 5)
WEBHOOK_SECRET_OVERLAP_HOURS = env_int("WEBHOOK_SECRET_OVERLAP_HOURS", 24)
# Webhook URLs resolving to private, loopback or link-local addresses are refused unless this is on
# (the demo turns it on for its local receiver).
ALLOW_PRIVATE_WEBHOOK_TARGETS = env_bool("ALLOW_PRIVATE_WEBHOOK_TARGETS", default=False)

# Second factors (recipient_email=…, postal_code=…) are masked in every line, ours and the
# development server's alike (orders.privacy.logs; gunicorn.conf.py does the same for gunicorn).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "orders.request_id.RequestIdFilter"}},
    "formatters": {
        "plain": {
            "()": "orders.privacy.logs.MaskingFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
        "django.server": {
            "()": "orders.privacy.logs.MaskingServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"]},
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server"},
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # httpx logs every carrier request's URL (tracking numbers) at INFO.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
}
if CELERY_TASK_ALWAYS_EAGER:  # tasks run inside requests and commands: "Task … succeeded" is noise
    LOGGING["loggers"]["celery.app.trace"] = {"level": "WARNING"}
