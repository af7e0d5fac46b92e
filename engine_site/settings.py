"""Django settings. Everything that differs between machines comes from the environment (env.py)."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

from . import env

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = env.data_dir()

SECRET_KEY = env.secret_key(DATA_DIR)
DEBUG = env.envbool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env.envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.envlist("CSRF_TRUSTED_ORIGINS", [])

FIELD_ENCRYPTION_KEY, FIELD_ENCRYPTION_KEY_SOURCE = env.field_encryption_key(DATA_DIR)

INSTALLED_APPS = [
    "daphne",  # must come first so `runserver` is the ASGI one
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "template_partials",
    "ninja",  # serves Swagger assets locally, so /api/v1/docs works offline
    "encrypted_model_fields",
    "trading",
    "exchanges",
    "risk",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "engine_site.urls"
ASGI_APPLICATION = "engine_site.asgi.application"
WSGI_APPLICATION = "engine_site.wsgi.application"

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
            ],
        },
    }
]


def _database() -> dict:
    url = os.environ.get("DATABASE_URL")
    if url:
        # CONN_MAX_AGE=0: under daphne every request runs on its own thread, and a kept per-thread
        # connection is a leaked one (40 concurrent clients took 87-98 and PostgreSQL refused the
        # rest). With the pool, "closing" a connection hands it back; the health check makes the pool
        # drop a connection that died (a database restart) instead of failing a request with it.
        db = dj_database_url.parse(url, conn_max_age=0, conn_health_checks=True)
    else:
        db = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(DATA_DIR / "engine.sqlite3")}
    if db["ENGINE"].endswith("sqlite3"):
        # The web thread writes the inbox while the engine writes trading state: WAL lets readers
        # and the one writer proceed together, IMMEDIATE transactions avoid upgrade deadlocks.
        db.setdefault("OPTIONS", {}).update(
            {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            }
        )
    if db["ENGINE"].endswith("postgresql"):
        # One psycopg pool per process caps its connections at DB_POOL_MAX_SIZE (README: the
        # connection budget). A request waits at most DB_POOL_TIMEOUT s for one, then gets a 503:
        # 2.5 s, so that with the database down TradingView (which waits ~3 s) still sees the 503,
        # which it re-sends; a timed-out delivery is not documented to be re-sent.
        pool = {
            "min_size": int(os.environ.get("DB_POOL_MIN_SIZE", "2")),
            "max_size": int(os.environ.get("DB_POOL_MAX_SIZE", "10")),
            "timeout": float(os.environ.get("DB_POOL_TIMEOUT", "2.5")),
        }
        if not (0 <= pool["min_size"] <= pool["max_size"] and pool["max_size"] >= 1 and pool["timeout"] > 0):
            from django.core.exceptions import ImproperlyConfigured

            raise ImproperlyConfigured(
                f"DB_POOL_*: need 0 <= min_size <= max_size, max_size >= 1 and timeout > 0, got {pool}"
            )
        db.setdefault("OPTIONS", {})["pool"] = pool
    return db


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Serve straight from the finders, so a fresh clone runs without `collectstatic`.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}
    }
else:
    # One process (`manage.py run`): engine and web share memory.
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

ENGINE_LOG_FILE = DATA_DIR / "logs" / "engine.jsonl"
ENGINE_CONFIG_FILE = DATA_DIR / "config.json"
# Webhook secret from the environment wins over config.json (handy for containers).
ENGINE_WEBHOOK_SECRET = os.environ.get("ENGINE_WEBHOOK_SECRET", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    # A skipped engine tick is counted (GET /api/v1/health), not logged once per skip.
    "filters": {"skipped_runs": {"()": "trading.engine.skips.SkippedRunDemoted"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    # Until the config is read; then `logging.level` applies, unless LOG_LEVEL is set (trading.logfile).
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "daphne": {"level": "WARNING"},
        "django.channels.server": {"level": "WARNING"},
        "apscheduler": {"level": "WARNING"},
        "apscheduler.scheduler": {"filters": ["skipped_runs"]},
        "ccxt": {"level": "WARNING"},
    },
}

# --- operator console ---------------------------------------------------------------------------
# Content-Security-Policy (django-csp): no inline scripts or styles anywhere; htmx, its ws extension
# and the console's JS are served from /static/. 'self' in connect-src covers the same-origin socket.
MIDDLEWARE.append("csp.middleware.CSPMiddleware")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
LOGOUT_REDIRECT_URL = "/accounts/login/"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Behind a TLS-terminating proxy set ENGINE_HTTPS=1: the proxy's X-Forwarded-Proto is trusted and the
# session and CSRF cookies are sent over HTTPS only.
SERVED_OVER_HTTPS = env.envbool("ENGINE_HTTPS", False)
if SERVED_OVER_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
# Sign-in throttle (dashboard.ratelimit, counted in the database): ATTEMPTS failures per (address,
# username) within the window lock that pair; past IP_ATTEMPTS per address (sign-ins or API tokens)
# the address is slowed, never locked: 1, 2, 4 … s between attempts, at most MAX_DELAY_SEC.
LOGIN_RATE_LIMIT_ATTEMPTS = int(os.environ.get("LOGIN_RATE_LIMIT_ATTEMPTS", "5"))
LOGIN_RATE_LIMIT_IP_ATTEMPTS = int(os.environ.get("LOGIN_RATE_LIMIT_IP_ATTEMPTS", "100"))
LOGIN_RATE_LIMIT_WINDOW_SEC = int(os.environ.get("LOGIN_RATE_LIMIT_WINDOW_SEC", "300"))
LOGIN_RATE_LIMIT_MAX_DELAY_SEC = int(os.environ.get("LOGIN_RATE_LIMIT_MAX_DELAY_SEC", "60"))
# Request bodies over this are refused with 413 before they are read (engine_site.bodylimit, in front
# of Django and inside daphne); the webhook keeps its own 64 KiB. Django's form-data check agrees.
REQUEST_BODY_MAX_BYTES = 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_BODY_MAX_BYTES
