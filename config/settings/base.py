"""Settings shared by every environment; values come from the environment (12-factor)."""

from __future__ import annotations

from pathlib import Path

from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

from config.env import database_from_url, env, env_bool, env_list

BASE_DIR = Path(__file__).resolve().parent.parent.parent
DATA_DIR = Path(env("OZG_DATA_DIR", str(BASE_DIR / ".data")))

SECRET_KEY = env("DJANGO_SECRET_KEY", "dev-only-not-secret-0zg-shop-local-development-key-0123456789")
DEBUG = env_bool("DJANGO_DEBUG", False)

# Municipalities get <slug>.<SHOP_BASE_DOMAIN>; the association works on the base domain itself.
SHOP_BASE_DOMAIN = env("SHOP_BASE_DOMAIN", "localhost")
SHOP_PUBLIC_PORT = env("SHOP_PUBLIC_PORT", "8000")  # only for links in e-mails of the local demo
SHOP_URL_SCHEME = env("SHOP_URL_SCHEME", "http")
# The Land this shop serves: every AGS must start with its code (14 = Sachsen).
SHOP_LAND_CODE = env("SHOP_LAND_CODE", "14")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [SHOP_BASE_DOMAIN, f".{SHOP_BASE_DOMAIN}", "127.0.0.1"])

# --- django-tenants -------------------------------------------------------------------------
# Municipal users live in their municipality's schema, staff in the public schema. Django allows
# one user model, so the user app ("accounts") and what it needs (auth, contenttypes, sessions)
# are installed in both kinds of schema; every other app is either shared or tenant.
SHARED_APPS = [
    "django_tenants",
    "tenants",
    "core",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "accounts",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "import_export",
    "simple_history",
    "shop",
    "billing",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "accounts",
    "django.contrib.sessions",
    "workspace",
]
INSTALLED_APPS = list(SHARED_APPS) + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Municipality"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
ROOT_URLCONF = "config.urls_tenants"
# Migrated once, then cloned for every new municipality (tenants/schema_clone.py).
TENANT_TEMPLATE_SCHEMA = "tenant_template"
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
TENANT_LIMIT_SET_CALLS = True

DATABASE_URL = env("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": database_from_url(DATABASE_URL)}
else:
    from config import embedded

    DATABASES = {"default": embedded.database_settings(env("OZG_DB_NAME", "ozg"))}
if env("OZG_DB_NAME") and DATABASE_URL:
    DATABASES["default"]["NAME"] = env("OZG_DB_NAME")
DATABASES["default"]["CONN_MAX_AGE"] = int(env("DB_CONN_MAX_AGE", "60"))
# Off by default: a health check is one more round trip on every request.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env_bool("DB_CONN_HEALTH_CHECKS", False)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

MIDDLEWARE = [
    "tenants.middleware.TenantMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "core.middleware.HistoryRequestMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

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
                "core.context_processors.shop",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.RoleBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "core:home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = 7 * 24 * 3600  # invitations are valid for a week
# The signed-in user is read from the cache for this long (per schema; dropped on every save).
ACCOUNTS_USER_CACHE_SECONDS = int(env("ACCOUNTS_USER_CACHE_SECONDS", "30"))

# Cookies belong to exactly the host that set them: a session from one municipality
# is never sent to another (and is stored in that municipality's own schema anyway).
SESSION_COOKIE_DOMAIN = None
# Sessions are written to the (tenant's) database and read from the cache, keyed per tenant.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
CSRF_COOKIE_DOMAIN = None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 8 * 3600

LANGUAGE_CODE = "de"
LANGUAGES = [("de", _("Deutsch")), ("en", _("Englisch"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Berlin"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = DATA_DIR / "media"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    }
}
if env("CACHE_URL"):
    CACHES["default"].update(
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": env("CACHE_URL")}
    )
# Host → tenant routing is looked up per request; this cache keeps it cheap (tenants/middleware.py).
TENANT_ROUTING_CACHE_SECONDS = int(env("TENANT_ROUTING_CACHE_SECONDS", "60"))

# --- e-mail ---------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "ozg-shop <shop@kisa.example>")
SHOP_STAFF_EMAIL = env("SHOP_STAFF_EMAIL", "bestellungen@kisa.example")
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("EMAIL_PORT", "25"))
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_FILE_PATH = str(DATA_DIR / "mail")

# --- Celery (config/celery.py) --------------------------------------------------------------
# Without CELERY_BROKER_URL a real worker still runs, on kombu's filesystem transport:
# messages are files under .data/broker, no server needed.
CELERY_BROKER_URL = env("CELERY_BROKER_URL")
BROKER_DIR = DATA_DIR / "broker"
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        # kombu waits this long before looking for new files again (default 1 s: ~2 tasks/s)
        "polling_interval": 0.01,
        "store_processed": False,
    }
    for _folder in ("queue", "processed", "control"):
        (BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
else:
    # No countdown/ETA may exceed this (Redis redelivers unacknowledged tasks after it).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")


LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "WARNING")},
    "loggers": {"ozg": {"level": env("LOG_LEVEL", "INFO"), "propagate": True}},
}

# --- django-import-export -------------------------------------------------------------------
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "add"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_SKIP_ADMIN_LOG = False
# Off: it only strips "=" and makes every cell text. Our resources neutralise text cells
# starting with = + - @ (tab, CR) with an apostrophe instead (core/resources.py).
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = False

# Subscriptions end at the end of a calendar year; a cancellation needs at least this many
# months' notice before that day, else it takes effect a year later (shop/subscriptions.py).
SUBSCRIPTION_NOTICE_MONTHS = int(env("SUBSCRIPTION_NOTICE_MONTHS", "3"))

# Tenant migrations: record once, replay in every identical schema (tenants/migration_executor.py).
GET_EXECUTOR_FUNCTION = "tenants.migration_executor.get_executor"

CELERY_BEAT_SCHEDULE = {
    "provisioning-sweeper": {"task": "shop.tasks.sweep_outbox_task", "schedule": 60.0},
    # Assistants whose subscription ended yesterday are deactivated early in the morning.
    "deactivate-ended-instances": {
        "task": "workspace.tasks.deactivate_ended_instances_task",
        "schedule": crontab(hour=0, minute=30),
    },
    # Maintenance is billed per calendar year in advance (FUNDING.md), on 1 January.
    "yearly-billing-run": {
        "task": "billing.tasks.yearly_billing_run_task",
        "schedule": crontab(month_of_year=1, day_of_month=1, hour=2, minute=0),
    },
    # Stripe events that were stored but not processed (worker down) are processed again.
    "stripe-events-sweeper": {"task": "billing.tasks.sweep_stripe_events_task", "schedule": 300.0},
}

# --- invoicing (billing/invoicing.py, billing/documents/) -------------------------------------
# The seller on every invoice and XRechnung: the municipal IT association.
SELLER = {
    "name": env("SELLER_NAME", "Kommunale Informationsverarbeitung Sachsen (KISA)"),
    "legal_form": env("SELLER_LEGAL_FORM", "Zweckverband, Körperschaft des öffentlichen Rechts"),
    "street": env("SELLER_STREET", "Eilenburger Straße 1a"),
    "postal_code": env("SELLER_POSTAL_CODE", "04317"),
    "city": env("SELLER_CITY", "Leipzig"),
    "country": "DE",
    "vat_id": env("SELLER_VAT_ID", "DE141498360"),
    "email": env("SELLER_EMAIL", "rechnung@kisa.example"),
    "phone": env("SELLER_PHONE", "+49 341 26806-0"),
    "contact": env("SELLER_CONTACT", "Finanzbuchhaltung"),
    "iban": env("SELLER_IBAN", "DE02120300000000202051"),
    "bic": env("SELLER_BIC", "BYLADEM1001"),
    "bank": env("SELLER_BANK", "Deutsche Kreditbank Berlin"),
}
# Payment term of invoices in days.
INVOICE_PAYMENT_DAYS = int(env("INVOICE_PAYMENT_DAYS", "30"))

# --- Stripe (billing/stripe_gateway.py) ----------------------------------------------------
# Without STRIPE_API_BASE the official API is used; tests and the demo point it at localstripe.
# The defaults are for development only and public in the repository: production settings
# refuse them (config/settings/production.py).
STRIPE_DEV_SECRET_KEY = "sk_test_ozgshop"
STRIPE_DEV_WEBHOOK_SECRET = "whsec_ozgshop_local"
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", STRIPE_DEV_SECRET_KEY)
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", STRIPE_DEV_WEBHOOK_SECRET)
STRIPE_API_BASE = env("STRIPE_API_BASE", "")
# Webhook timestamps further off than this (in either direction) are rejected.
STRIPE_WEBHOOK_TOLERANCE_SECONDS = int(env("STRIPE_WEBHOOK_TOLERANCE_SECONDS", "300"))
STRIPE_ENABLED = env_bool("STRIPE_ENABLED", False)
# The SDK retries network errors and 5xx itself, with the same idempotency key.
STRIPE_MAX_NETWORK_RETRIES = int(env("STRIPE_MAX_NETWORK_RETRIES", "2"))
# Keeps idempotency keys of installations sharing one Stripe account apart (e.g. staging).
STRIPE_IDEMPOTENCY_PREFIX = env("STRIPE_IDEMPOTENCY_PREFIX", "")
