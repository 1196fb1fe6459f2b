"""Production: everything from the environment, nothing insecure by default."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import (
    DATABASE_URL,
    MIDDLEWARE,
    STRIPE_DEV_SECRET_KEY,
    STRIPE_DEV_WEBHOOK_SECRET,
    STRIPE_ENABLED,
    env,
    env_bool,
    env_list,
)

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY muss in der Produktion gesetzt sein.")
if not DATABASE_URL:
    raise ImproperlyConfigured("DATABASE_URL muss in der Produktion gesetzt sein.")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = int(env("DJANGO_SECURE_HSTS_SECONDS", "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SHOP_URL_SCHEME = "https"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Static files straight from the application server, right after the security middleware.
MIDDLEWARE = [*MIDDLEWARE[:2], "whitenoise.middleware.WhiteNoiseMiddleware", *MIDDLEWARE[2:]]

# Stripe: never the development values from the repository. Without a secret of its own the
# webhook refuses every request (billing.stripe_gateway.verify_webhook); with Stripe enabled the
# installation does not start at all.
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", "")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", "")
if STRIPE_SECRET_KEY == STRIPE_DEV_SECRET_KEY:
    STRIPE_SECRET_KEY = ""
if STRIPE_WEBHOOK_SECRET == STRIPE_DEV_WEBHOOK_SECRET:
    STRIPE_WEBHOOK_SECRET = ""
if STRIPE_ENABLED:
    _missing = [
        name
        for name, value in (
            ("STRIPE_SECRET_KEY", STRIPE_SECRET_KEY),
            ("STRIPE_WEBHOOK_SECRET", STRIPE_WEBHOOK_SECRET),
        )
        if not value
    ]
    if _missing:
        _what = (
            "fehlen oder sind noch die Entwicklungswerte"
            if len(_missing) > 1
            else "fehlt oder ist noch der Entwicklungswert"
        )
        raise ImproperlyConfigured(
            f"STRIPE_ENABLED ist eingeschaltet, aber {' und '.join(_missing)} {_what} aus dem "
            "Repository. Bitte den API-Schlüssel und das Signaturgeheimnis des Webhooks aus dem "
            "Stripe-Dashboard setzen."
        )
